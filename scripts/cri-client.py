#!/usr/bin/env python3
"""A small CRI client for the Kubernetes-node guest test (scripts/k8snode-test-guest.sh).

It speaks the CRI (runtime.v1) over containerd's socket the way kubelet does,
with Debian's python3-grpcio and raw bytes: the few messages it needs are
encoded and decoded here by hand (field numbers from kubernetes cri-api,
pkg/apis/runtime/v1/api.proto). It also writes the OCI image archives the
test imports with `ctr images import` (the guest has no registry).

    cri-client.py version
    cri-client.py run-pod SPEC.json      # a sandbox and its containers, started
    cri-client.py remove-pod SANDBOX-ID  # StopPodSandbox, then RemovePodSandbox
    cri-client.py pods                   # "<sandbox-id> <namespace>/<name> <uid> <state>"
    cri-client.py containers             # "<id> <sandbox-id> <name> <state>"
    cri-client.py image-status IMAGE     # its id, or exit 1
    cri-client.py oci-archive ROOTFS NAME OUT.tar CMD...

run-pod's SPEC: {"name", "namespace", "uid", "cgroup_parent",
"containers": [{"name", "image", "command": [...], "mounts": [[host, ctr], ...]}]}.
It prints "sandbox <id>" and "container <name> <id>" lines. Pods use the
node's network namespace (no CNI), their own PID namespace per container,
and carry kubelet's labels.

CRI_ENDPOINT overrides the socket (unix:///run/containerd/containerd.sock).
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
    pod_labels = {
        "io.kubernetes.pod.name": spec["name"],
        "io.kubernetes.pod.namespace": spec["namespace"],
        "io.kubernetes.pod.uid": spec["uid"],
    }
    namespaces = [(1, NODE), (2, CONTAINER), (3, POD)]  # NamespaceOption: network, pid, ipc
    return [
        (1, [(1, spec["name"]), (2, spec["uid"]), (3, spec["namespace"]), (4, 0)]),  # PodSandboxMetadata
        # No hostname: kubelet sets none for a hostNetwork pod (runc refuses
        # one without a UTS namespace of the pod's own).
        (3, log_directory(spec)),  # log_directory
        (6, pod_labels),  # labels
        (7, {"kubernetes.io/config.source": "api"}),  # annotations
        # LinuxPodSandboxConfig: cgroup_parent, security_context.namespace_options
        (8, [(1, spec["cgroup_parent"]), (2, [(1, namespaces)])]),
    ]


def log_directory(spec):
    return "/var/log/pods/%s_%s_%s" % (spec["namespace"], spec["name"], spec["uid"])


def run_pod(spec):
    config = sandbox_config(spec)
    os.makedirs(log_directory(spec), exist_ok=True)
    sandbox = s(runtime("RunPodSandbox", [(1, config)]), 1)  # RunPodSandboxRequest.config
    print("sandbox %s" % sandbox, flush=True)
    for c in spec.get("containers", []):
        container_labels = {
            "io.kubernetes.container.name": c["name"],
            "io.kubernetes.pod.name": spec["name"],
            "io.kubernetes.pod.namespace": spec["namespace"],
            "io.kubernetes.pod.uid": spec["uid"],
        }
        mounts = [[(1, ctr), (2, host), (3, False)] for host, ctr in c.get("mounts", [])]
        cconfig = [
            (1, [(1, c["name"]), (2, 0)]),  # ContainerMetadata
            (2, [(1, c["image"])]),  # ImageSpec
        ]
        for arg in c["command"]:
            cconfig.append((3, arg))  # command
        for mount in mounts:
            cconfig.append((7, mount))  # mounts
        cconfig += [
            (9, container_labels),  # labels
            (10, {"io.kubernetes.container.restartCount": "0"}),  # annotations
            (11, "%s/0.log" % c["name"]),  # log_path
            # LinuxContainerConfig.security_context.namespace_options
            (15, [(2, [(3, [(1, NODE), (2, CONTAINER), (3, POD)])])]),
        ]
        # CreateContainerRequest: pod_sandbox_id, config, sandbox_config
        cid = s(runtime("CreateContainer", [(1, sandbox), (2, cconfig), (3, config)]), 1)
        runtime("StartContainer", [(1, cid)])
        print("container %s %s" % (c["name"], cid), flush=True)


def remove_pod(sandbox):
    runtime("StopPodSandbox", [(1, sandbox)])
    runtime("RemovePodSandbox", [(1, sandbox)])


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
    elif cmd == "remove-pod":
        remove_pod(args[0])
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
