#!/usr/bin/env python3
"""A small CRI client for the Kubernetes-node guest test (scripts/k8snode-test-guest.sh).

It speaks the CRI (runtime.v1) over containerd's socket the way kubelet does,
with Debian's python3-grpcio and raw bytes: the few messages it needs are
encoded and decoded here by hand (field numbers from kubernetes cri-api,
pkg/apis/runtime/v1/api.proto). It also writes the OCI image archives the
test imports with `ctr images import` (the guest has no registry).

    cri-client.py version
    cri-client.py run-pod SPEC.json      # a sandbox and its containers, started
    cri-client.py daemonset-pod MANIFESTS.json NAME UID OUT.json
                                         # run-pod's SPEC of a DaemonSet's pod, as kubelet makes it
    cri-client.py remove-pod SANDBOX-ID  # StopPodSandbox, then RemovePodSandbox
    cri-client.py stop-container ID SECONDS  # StopContainer with a grace period
    cri-client.py pods                   # "<sandbox-id> <namespace>/<name> <uid> <state>"
    cri-client.py containers             # "<id> <sandbox-id> <name> <state>"
    cri-client.py image-status IMAGE     # its id, or exit 1
    cri-client.py oci-archive ROOTFS NAME OUT.tar CMD...

run-pod's SPEC: {"name", "namespace", "uid", "cgroup_parent",
"containers": [{"name", "image", "command": [...], "mounts": [[host, ctr], ...]}]}.
It prints "sandbox <id>" and "container <name> <id>" lines. Pods use the
node's network namespace unless "host_network" is false, their own PID
namespace per container, and carry kubelet's labels. A SPEC may also say
what daemonset-pod fills in: "host_pid", "labels", "annotations", "ports",
and per container "args", "env", "mounts" with a third, read-only, item,
"security_context" and "resources" (see container_config).

daemonset-pod reads the documents `kubectl kustomize` renders (as a JSON
list) and turns the DaemonSet's pod template into a SPEC for pod NAME with
UID as kubelet would: its volumes laid out under /var/lib/kubelet/pods/UID
(config maps, emptyDirs, etc-hosts, the termination log; hostPath types
checked), the QoS class from the requests and limits, the pod's slice as
cgroup_parent, the security context, env, args and resources in CRI terms.
It prints "<qos> <slice> <namespace> <image>".

CRI_ENDPOINT overrides the socket (unix:///run/containerd/containerd.sock),
KUBELET_ROOT_DIR kubelet's folder (/var/lib/kubelet).
A call answered UNAVAILABLE (containerd restarting) is tried again for up to
CRI_WAIT seconds (60).
"""
import hashlib
import io
import json
import os
import sys
import tarfile
import time

ENDPOINT = os.environ.get("CRI_ENDPOINT", "unix:///run/containerd/containerd.sock")
WAIT = float(os.environ.get("CRI_WAIT", "60"))
# kubelet's --root-dir.
KUBELET_DIR = os.environ.get("KUBELET_ROOT_DIR", "/var/lib/kubelet")

# --- protobuf, by hand -----------------------------------------------------------
# A message to encode is a list of (field number, value): int (varint), str or
# bytes (length-delimited), a list (an embedded message) or a dict (a
# map<string, string>: one entry message per key).


def _varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def encode(fields):
    out = bytearray()
    for num, value in fields:
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int):
            out += _varint(num << 3 | 0) + _varint(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                out += encode([(num, [(1, k), (2, v)])])
        else:
            if isinstance(value, str):
                value = value.encode()
            elif isinstance(value, list):
                value = encode(value)
            out += _varint(num << 3 | 2) + _varint(len(value)) + value
    return bytes(out)


def decode(data):
    """{field number: [values]}: ints for varints, bytes for the rest."""
    fields, i = {}, 0
    while i < len(data):
        key, i = _read_varint(data, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            value, i = _read_varint(data, i)
        elif wt == 2:
            n, i = _read_varint(data, i)
            value, i = data[i:i + n], i + n
        elif wt == 1:
            value, i = data[i:i + 8], i + 8
        elif wt == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        fields.setdefault(num, []).append(value)
    return fields


def _read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def s(fields, num):
    return fields.get(num, [b""])[0].decode()


def i(fields, num):
    return fields.get(num, [0])[0]


def m(fields, num):
    return decode(fields.get(num, [b""])[0])


def labels(fields, num):
    out = {}
    for entry in fields.get(num, []):
        e = decode(entry)
        out[s(e, 1)] = s(e, 2)
    return out


# --- gRPC --------------------------------------------------------------------------
_channel = None


def call(service, method, fields, timeout=120):
    global _channel
    import grpc
    if _channel is None:
        _channel = grpc.insecure_channel(ENDPOINT)
    rpc = _channel.unary_unary("/runtime.v1.%s/%s" % (service, method),
                               request_serializer=None, response_deserializer=None)
    deadline = time.time() + WAIT
    while True:
        try:
            return decode(rpc(encode(fields), timeout=timeout))
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.UNAVAILABLE and time.time() < deadline:
                time.sleep(0.2)
                continue
            sys.stderr.write("cri-client: %s/%s: %s: %s\n" % (service, method, err.code().name, err.details()))
            sys.exit(1)


def runtime(method, fields, timeout=120):
    return call("RuntimeService", method, fields, timeout)


# NamespaceMode
POD, CONTAINER, NODE = 0, 1, 2
# PodSandboxState, ContainerState
SANDBOX_STATES = {0: "ready", 1: "notready"}
CONTAINER_STATES = {0: "created", 1: "running", 2: "exited", 3: "unknown"}


def sandbox_config(spec):
    """PodSandboxConfig as kubelet makes it for a hostNetwork pod."""
    pod_labels = dict(spec.get("labels", {}))
    pod_labels.update({
        "io.kubernetes.pod.name": spec["name"],
        "io.kubernetes.pod.namespace": spec["namespace"],
        "io.kubernetes.pod.uid": spec["uid"],
    })
    annotations = {"kubernetes.io/config.source": "api"}
    annotations.update(spec.get("annotations", {}))
    host_network = spec.get("host_network", True)
    return [
        (1, [(1, spec["name"]), (2, spec["uid"]), (3, spec["namespace"]), (4, 0)]),  # PodSandboxMetadata
        # The pod's name as its hostname, but none for a hostNetwork pod
        # (runc refuses one without a UTS namespace of the pod's own).
        (2, None if host_network else spec["name"]),  # hostname
        (3, log_directory(spec)),  # log_directory
    ] + [
        (5, [(1, 0 if proto == "TCP" else 1), (2, port)])  # port_mappings: protocol, container_port
        for proto, port in spec.get("ports", [])
    ] + [
        (6, pod_labels),  # labels
        (7, annotations),  # annotations
        # LinuxPodSandboxConfig: cgroup_parent, security_context.namespace_options
        (8, [(1, spec["cgroup_parent"]), (2, [(1, namespace_option(spec))])]),
    ]


def namespace_option(spec):
    """NamespaceOption: network, pid, ipc, as kubelet sets them for a v1 pod."""
    host_network = spec.get("host_network", True)
    return [(1, NODE if host_network else POD), (2, NODE if spec.get("host_pid") else CONTAINER), (3, POD)]


def log_directory(spec):
    return "/var/log/pods/%s_%s_%s" % (spec["namespace"], spec["name"], spec["uid"])


def run_pod(spec):
    config = sandbox_config(spec)
    os.makedirs(log_directory(spec), exist_ok=True)
    sandbox = s(runtime("RunPodSandbox", [(1, config)]), 1)  # RunPodSandboxRequest.config
    print("sandbox %s" % sandbox, flush=True)
    for c in spec.get("containers", []):
        cconfig = container_config(spec, c)
        # CreateContainerRequest: pod_sandbox_id, config, sandbox_config
        cid = s(runtime("CreateContainer", [(1, sandbox), (2, cconfig), (3, config)]), 1)
        runtime("StartContainer", [(1, cid)])
        print("container %s %s" % (c["name"], cid), flush=True)


def container_config(spec, c):
    """ContainerConfig of one of SPEC's containers."""
    container_labels = {
        "io.kubernetes.container.name": c["name"],
        "io.kubernetes.pod.name": spec["name"],
        "io.kubernetes.pod.namespace": spec["namespace"],
        "io.kubernetes.pod.uid": spec["uid"],
    }
    annotations = {"io.kubernetes.container.restartCount": "0"}
    annotations.update(c.get("annotations", {}))
    # Mount: container_path, host_path, readonly
    mounts = [[(1, m[1]), (2, m[0]), (3, bool(m[2]) if len(m) > 2 else False)] for m in c.get("mounts", [])]
    cconfig = [
        (1, [(1, c["name"]), (2, 0)]),  # ContainerMetadata
        (2, [(1, c["image"])]),  # ImageSpec
    ]
    for arg in c.get("command", []):
        cconfig.append((3, arg))  # command
    for arg in c.get("args", []):
        cconfig.append((4, arg))  # args
    for key, value in c.get("env", []):
        cconfig.append((6, [(1, key), (2, value)]))  # envs: KeyValue
    for mount in mounts:
        cconfig.append((7, mount))  # mounts
    sc = c.get("security_context", {})
    security = [(3, namespace_option(spec))]  # LinuxContainerSecurityContext.namespace_options
    if "drop" in sc or "add" in sc:  # capabilities: add_capabilities, drop_capabilities
        security.append((1, [(1, cap) for cap in sc.get("add", [])] + [(2, cap) for cap in sc.get("drop", [])]))
    if "privileged" in sc:
        security.append((2, sc["privileged"]))
    if "run_as_user" in sc:
        security.append((5, [(1, sc["run_as_user"])]))  # Int64Value
    if "run_as_group" in sc:
        security.append((12, [(1, sc["run_as_group"])]))
    if sc.get("readonly_rootfs"):
        security.append((7, True))
    if sc.get("no_new_privs"):
        security.append((11, True))
    security += [(13, path) for path in sc.get("masked_paths", [])] + [(14, path) for path in sc.get("readonly_paths", [])]
    if "seccomp" in sc:  # SecurityProfile.profile_type: RuntimeDefault 0, Unconfined 1
        security.append((15, [(1, {"RuntimeDefault": 0, "Unconfined": 1}[sc["seccomp"]])]))
    r = c.get("resources", {})
    # LinuxContainerResources: cpu_period, cpu_quota, cpu_shares, memory_limit_in_bytes, oom_score_adj
    resources = [(n, r[k]) for n, k in [(1, "cpu_period"), (2, "cpu_quota"), (3, "cpu_shares"),
                                         (4, "memory_limit_in_bytes"), (5, "oom_score_adj")] if k in r]
    cconfig += [
        (9, container_labels),  # labels
        (10, annotations),  # annotations
        (11, "%s/0.log" % c["name"]),  # log_path
        (15, ([(1, resources)] if resources else []) + [(2, security)]),  # LinuxContainerConfig
    ]
    return cconfig


def remove_pod(sandbox):
    runtime("StopPodSandbox", [(1, sandbox)])
    runtime("RemovePodSandbox", [(1, sandbox)])


def stop_container(cid, grace):
    runtime("StopContainer", [(1, cid), (2, int(grace))], timeout=int(grace) + 60)  # container_id, timeout


def pods():
    for raw in runtime("ListPodSandbox", []).get(1, []):
        p = decode(raw)
        meta = m(p, 2)
        print("%s %s/%s %s %s" % (s(p, 1), s(meta, 3), s(meta, 1), s(meta, 2), SANDBOX_STATES.get(i(p, 3), "?")))


def containers():
    for raw in runtime("ListContainers", []).get(1, []):
        c = decode(raw)
        print("%s %s %s %s" % (s(c, 1), s(c, 2), s(m(c, 3), 1), CONTAINER_STATES.get(i(c, 6), "?")))


def version():
    v = runtime("Version", [(1, "v1")])
    print("%s %s (CRI %s)" % (s(v, 2), s(v, 3), s(v, 4)))


def image_status(image):
    st = call("ImageService", "ImageStatus", [(1, [(1, image)])])  # ImageStatusRequest.image
    img = m(st, 1)
    if not img:
        sys.exit(1)
    print(s(img, 1))


# --- A DaemonSet's pod, as kubelet makes it -------------------------------------------
# kubelet's masked and read-only /proc and /sys paths for a container that is
# not privileged (k8s.io/kubernetes pkg/securitycontext, the default ProcMount).
MASKED_PATHS = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                "/sys/firmware", "/sys/devices/virtual/powercap"]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
# Priority classes whose pods kubelet treats as critical (oom_score_adj -997).
CRITICAL = {"system-node-critical", "system-cluster-critical"}


def quantity(q, milli=False):
    """A Kubernetes quantity as an int: millicores (milli) or bytes."""
    q = str(q)
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
             "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12}
    if q.endswith("m"):
        n = float(q[:-1]) / 1000
    else:
        n = next((float(q[:-len(u)]) * f for u, f in units.items() if q.endswith(u)), None)
        if n is None:
            n = float(q)
    return int(round(n * 1000)) if milli else int(n)


def qos_class(containers):
    """Guaranteed, Burstable or BestEffort, as the API server sets status.qosClass."""
    any_set, guaranteed = False, True
    for c in containers:
        res = c.get("resources", {})
        requests, limits = dict(res.get("limits", {})), res.get("limits", {})
        requests.update(res.get("requests", {}))
        any_set = any_set or bool(requests) or bool(limits)
        for r in ("cpu", "memory"):
            if r not in limits or quantity(requests[r], r == "cpu") != quantity(limits[r], r == "cpu"):
                guaranteed = False
    return "guaranteed" if guaranteed else ("burstable" if any_set else "besteffort")


def memory_capacity():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 1


def daemonset_pod(manifests, name, uid, out):
    with open(manifests) as f:
        docs = json.load(f)
    ds = next(d for d in docs if d and d.get("kind") == "DaemonSet")
    config_maps = {d["metadata"]["name"]: d for d in docs if d and d.get("kind") == "ConfigMap"}
    template = ds["spec"]["template"]
    pod = template["spec"]
    namespace = ds["metadata"].get("namespace", "default")
    pod_dir = "%s/pods/%s" % (KUBELET_DIR, uid)
    # The volumes, where kubelet keeps them.
    volumes = {}
    for v in pod.get("volumes", []):
        if "hostPath" in v:
            path, kind = v["hostPath"]["path"], v["hostPath"].get("type", "")
            checks = {"Socket": stat_is(path, 0o140000), "Directory": os.path.isdir(path),
                      "File": os.path.isfile(path), "": True}
            if not checks.get(kind, os.path.exists(path)):
                sys.exit("cri-client: hostPath %s is not a %s (kubelet would not start the pod)" % (path, kind))
            volumes[v["name"]] = path
        elif "configMap" in v:
            data = config_maps[v["configMap"]["name"]].get("data", {})
            # kubelet's atomic writer: the files in a timestamped folder,
            # ..data a link to it, each key a link through ..data.
            vdir = "%s/volumes/kubernetes.io~configmap/%s" % (pod_dir, v["name"])
            stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.000000000", time.gmtime())
            os.makedirs("%s/%s" % (vdir, stamp))
            for key, text in data.items():
                with open("%s/%s/%s" % (vdir, stamp, key), "w") as f:
                    f.write(text)
                os.symlink("..data/%s" % key, "%s/%s" % (vdir, key))
            os.symlink(stamp, "%s/..data" % vdir)
            volumes[v["name"]] = vdir
        elif "emptyDir" in v:
            vdir = "%s/volumes/kubernetes.io~empty-dir/%s" % (pod_dir, v["name"])
            os.makedirs(vdir)
            volumes[v["name"]] = vdir
        else:
            sys.exit("cri-client: volume %s: only hostPath, configMap and emptyDir are known here" % v["name"])
    host_network = bool(pod.get("hostNetwork"))
    if not host_network:
        # kubelet's managed /etc/hosts for a pod in its own network.
        with open("%s/etc-hosts" % pod_dir, "w") as f:
            f.write("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    qos = qos_class(pod["containers"])
    critical = pod.get("priorityClassName") in CRITICAL
    containers, ports = [], []
    for c in pod["containers"]:
        mounts = []
        for m in c.get("volumeMounts", []):
            if m.get("recursiveReadOnly", "Disabled") == "Enabled":
                # containerd 1.7 does not say it can (RuntimeHandlerFeatures).
                sys.exit("cri-client: recursiveReadOnly: Enabled needs a runtime that supports it")
            # IfPossible: kubelet asks for it only where the runtime says it can; containerd 1.7 does not.
            host = volumes[m["name"]] + ("/" + m["subPath"] if m.get("subPath") else "")
            mounts.append([host, m["mountPath"], bool(m.get("readOnly"))])
        if not host_network:
            mounts.append(["%s/etc-hosts" % pod_dir, "/etc/hosts", False])
        term = "%s/containers/%s/%s" % (pod_dir, c["name"], os.urandom(4).hex())
        os.makedirs(os.path.dirname(term), exist_ok=True)
        open(term, "w").close()
        mounts.append([term, c.get("terminationMessagePath", "/dev/termination-log"), False])
        sc = c.get("securityContext", {})
        security = {
            "drop": sc.get("capabilities", {}).get("drop", []), "add": sc.get("capabilities", {}).get("add", []),
            "privileged": bool(sc.get("privileged")),
            "readonly_rootfs": bool(sc.get("readOnlyRootFilesystem")),
            "no_new_privs": sc.get("allowPrivilegeEscalation") is False,
            "masked_paths": [] if sc.get("privileged") else MASKED_PATHS,
            "readonly_paths": [] if sc.get("privileged") else READONLY_PATHS,
        }
        for k8s, cri in (("runAsUser", "run_as_user"), ("runAsGroup", "run_as_group")):
            if k8s in sc:
                security[cri] = sc[k8s]
        profile = sc.get("seccompProfile", pod.get("securityContext", {}).get("seccompProfile"))
        if profile:
            security["seccomp"] = profile["type"]
        res = c.get("resources", {})
        limits, requests = res.get("limits", {}), dict(res.get("limits", {}))
        requests.update(res.get("requests", {}))
        resources = {"cpu_shares": max(2, quantity(requests.get("cpu", "0"), True) * 1024 // 1000)}
        if "cpu" in limits:
            resources.update(cpu_period=100000, cpu_quota=quantity(limits["cpu"], True) * 100)
        if "memory" in limits:
            resources["memory_limit_in_bytes"] = quantity(limits["memory"])
        if critical or qos == "guaranteed":
            resources["oom_score_adj"] = -997
        elif qos == "besteffort":
            resources["oom_score_adj"] = 1000
        else:
            adj = 1000 - 1000 * quantity(requests.get("memory", "0")) // memory_capacity()
            resources["oom_score_adj"] = min(max(adj, 2), 999)
        ports += [[p.get("protocol", "TCP"), p["containerPort"]] for p in c.get("ports", [])]
        containers.append({
            "name": c["name"], "image": c["image"], "command": c.get("command", []), "args": c.get("args", []),
            "env": [[e["name"], e.get("value", "")] for e in c.get("env", [])],
            "mounts": mounts, "security_context": security, "resources": resources,
            "annotations": {"io.kubernetes.container.terminationMessagePath": mounts[-1][1]},
        })
    u = uid.replace("-", "_")
    slice_name = "kubepods-pod%s.slice" % u if qos == "guaranteed" else "kubepods-%s-pod%s.slice" % (qos, u)
    spec = {
        "name": name, "namespace": namespace, "uid": uid, "cgroup_parent": slice_name,
        "host_network": host_network, "host_pid": bool(pod.get("hostPID")),
        "labels": template["metadata"].get("labels", {}), "annotations": template["metadata"].get("annotations", {}),
        "ports": ports, "containers": containers,
    }
    with open(out, "w") as f:
        json.dump(spec, f, indent=1)
    print(qos, slice_name, namespace, " ".join(c["image"] for c in containers))


def stat_is(path, kind):
    try:
        return os.stat(path).st_mode & 0o170000 == kind
    except OSError:
        return False


# --- OCI image archives --------------------------------------------------------------


def oci_archive(rootfs, name, out, cmd):
    """An OCI image layout, as a tar, with one uncompressed layer of ROOTFS."""
    layer_buf = io.BytesIO()
    with tarfile.open(fileobj=layer_buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for entry in sorted(os.listdir(rootfs)):
            t.add(os.path.join(rootfs, entry), arcname=entry)
    layer = layer_buf.getvalue()
    layer_digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }, sort_keys=True).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(layer)}],
    }, sort_keys=True).encode()
    manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    index = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": len(manifest),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]},
        }],
    }, sort_keys=True).encode()
    with tarfile.open(out, "w") as t:
        for path, data in [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index),
                           ("blobs/sha256/" + layer_digest[7:], layer), ("blobs/sha256/" + config_digest[7:], config),
                           ("blobs/sha256/" + manifest_digest[7:], manifest)]:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def main(argv):
    if not argv:
        sys.exit(__doc__)
    cmd, args = argv[0], argv[1:]
    if cmd == "version":
        version()
    elif cmd == "run-pod":
        with open(args[0]) as f:
            run_pod(json.load(f))
    elif cmd == "daemonset-pod":
        daemonset_pod(*args[:4])
    elif cmd == "remove-pod":
        remove_pod(args[0])
    elif cmd == "stop-container":
        stop_container(args[0], args[1])
    elif cmd == "pods":
        pods()
    elif cmd == "containers":
        containers()
    elif cmd == "image-status":
        image_status(args[0])
    elif cmd == "oci-archive":
        oci_archive(args[0], args[1], args[2], args[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
