#!/usr/bin/env python3
"""make bench: dockward's poll path against the syscall floor, on real cgroups.

1. Creates N kernel cgroups under the v1 pids hierarchy in a parent of its own
   (/sys/fs/cgroup/pids/dockward-bench-PID/docker/<id>), removed afterwards.
2. For each N, in one run and interleaved: the C baseline (pread on kept-open
   descriptors, bench/baseline.c) and dockward's own poll path
   (dockward-bench: discovery, counter reads, detectors), best median of rounds
   with that round's mean; each must report polling all N containers.
Any measurement that cannot be trusted (a count that is off, a dead daemon,
no VmRSS, missing entries) stops the run with an error instead of a number.
BENCH_BIN: the folder of dockward and dockward-bench (default .build/release).
3. The real daemon for 60 s at N=1000 (CPU share, RSS, RSS growth) and 20 s
   at N=10000 (RSS), measured only once it reports (sd_notify STATUS) watching
   every container, and checked alive and still watching them at the end.
4. With the tests' private engine: create-event -> journal latency for 50
   socket-mounting containers, for 10 containers of each host-control case
   (volumes, hard link, host PID, data root, privileged, block device), and
   fork-bomb start -> pids-exhausted.
"""
import json, os, re, secrets, shutil, socket, stat, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIDS = "/sys/fs/cgroup/pids"
SIZES = [int(x) for x in os.environ.get("BENCH_SIZES", "1000,10000").split(",")]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DAEMON_SECONDS = int(os.environ.get("BENCH_DAEMON_SECONDS", "60"))
SOCK = os.environ.get("DOCKWARD_TEST_DOCKER_SOCKET", "/run/dockward-test/docker.sock")
IMAGE = "local/busybox:test"
HZ = os.sysconf("SC_CLK_TCK")
BIN = os.environ.get("BENCH_BIN", os.path.join(ROOT, ".build", "release"))
BUILD = os.path.join(ROOT, ".build-bench")


class BenchError(Exception):
    """A measurement that cannot be trusted: the run stops with this message."""


def kv(line):
    return {k: int(v) for k, v in (p.split("=") for p in line.split())}


def measured(program, line, n):
    """The key=value report of one poll run, refused unless it polled all n containers."""
    r = kv(line)
    for key in ("containers", "median_ns", "mean_ns"):
        if key not in r:
            raise BenchError(f"{program} printed no {key}=: {line.strip()!r}")
    if r["containers"] != n:
        raise BenchError(f"{program} polled {r['containers']} containers, not the {n} made for it: {line.strip()!r}")
    return r


def make_cgroups(parent, n, have):
    docker = os.path.join(parent, "docker")
    for _ in range(n - len(have)):
        path = os.path.join(docker, secrets.token_hex(32))
        os.mkdir(path)
        with open(os.path.join(path, "pids.max"), "w") as f:
            f.write("1000")  # a limit, so no pids-unlimited alert per cgroup
        have.append(path)


def remove_cgroups(parent):
    docker = os.path.join(parent, "docker")
    if os.path.isdir(docker):
        for name in os.listdir(docker):
            p = os.path.join(docker, name)
            if os.path.isdir(p):
                os.rmdir(p)
        os.rmdir(docker)
    if os.path.isdir(parent):
        os.rmdir(parent)


def proc_cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no VmRSS line (a zombie, or not a process any more)")


class Notify:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET: the daemon
    says READY=1 and STATUS=watching N containers, ... there."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dockward-bench-notify-")
        self.path = os.path.join(self.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.ready = False
        self.status = None

    def read(self, until=lambda: False, timeout=0.0):
        """Reads messages until until() holds or timeout seconds pass; returns until()."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            self.sock.settimeout(max(left, 0.001))
            try:
                msg = self.sock.recv(4096).decode("utf-8", "replace")
            except (socket.timeout, BlockingIOError):
                return until()
            for line in msg.split("\n"):
                if line == "READY=1":
                    self.ready = True
                elif line.startswith("STATUS="):
                    self.status = line[len("STATUS="):]
            if until():
                return True

    def watching(self):
        m = re.match(r"watching (\d+) containers", self.status or "")
        return int(m.group(1)) if m else None

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def proc_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def start_daemon(config_text, env_extra=None):
    d = tempfile.mkdtemp(prefix="dockward-bench-")
    cfg = os.path.join(d, "dockward.yml")
    with open(cfg, "w") as f:
        f.write(config_text)
    env = dict(os.environ)
    env.update(env_extra or {})
    err = open(os.path.join(d, "stderr"), "w")
    p = subprocess.Popen([os.path.join(BIN, "dockward"), "run", "--config", cfg, "--log-level", "warning"],
                         stdout=subprocess.DEVNULL, stderr=err, env=env)
    return p, d


def check_alive(p, d, what):
    if p.poll() is not None:
        with open(os.path.join(d, "stderr")) as f:
            tail = f.read()[-2000:]
        raise BenchError(f"the daemon exited ({p.returncode}) {what}; it said:\n{tail}")


def daemon_run(root_dir, seconds, label, expected):
    notify = Notify()
    p, d = start_daemon(f"cgroup:\n  root: {root_dir}\ndocker:\n  socket: /nonexistent/dockward-bench.sock\n",
                        {"NOTIFY_SOCKET": notify.path})
    try:
        # Measure a daemon that is up and watching every container, not one
        # that failed to start or found nothing.
        if not notify.read(lambda: notify.ready and notify.watching() == expected, timeout=120):
            check_alive(p, d, "before it was ready")
            raise BenchError(f"the daemon never reported watching {expected} containers (READY={notify.ready}, "
                             f"last STATUS={notify.status!r})")
        time.sleep(5)  # first discovery and opens happen here; measure the steady state
        check_alive(p, d, "before the measurement")
        t0, c0, rss0 = time.monotonic(), proc_cpu_ticks(p.pid), proc_rss_kib(p.pid)
        time.sleep(seconds)
        t1, c1, rss1 = time.monotonic(), proc_cpu_ticks(p.pid), proc_rss_kib(p.pid)
        check_alive(p, d, "during the measurement")
        notify.read()
        if notify.watching() != expected:
            raise BenchError(f"the daemon watched {notify.watching()} containers at the end, not {expected} "
                             f"(STATUS={notify.status!r})")
        cpu = (c1 - c0) / HZ / (t1 - t0) * 100
        print(f"daemon   {label}: {cpu:.3f}% of one core over {t1 - t0:.0f} s, watching {expected} containers, "
              f"RSS {rss0 / 1024:.1f} MiB -> {rss1 / 1024:.1f} MiB, {proc_fds(p.pid)} descriptors")
    finally:
        p.terminate()
        p.wait(5)
        notify.close()
        shutil.rmtree(d, ignore_errors=True)


def docker(*args):
    env = dict(os.environ, DOCKER_HOST=f"unix://{SOCK}")
    return subprocess.run(["docker", *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def journal(pid, **fields):
    args = ["journalctl", "-o", "json", "--no-pager", f"_PID={pid}"] + [f"{k}={v}" for k, v in fields.items()]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"{' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def host_control_latency(p, d, names, per_case=10):
    """Create event -> entry for each host-control case: containers created
    (never started) with a named volume or inline volume options that bind
    the socket's folder, a folder holding a hard link of the socket,
    --pid=host with SYS_PTRACE, the engine's data root, --privileged and a
    host block device."""
    folder = os.path.dirname(SOCK)
    tag = f"{os.getpid()}"
    links = os.path.join(folder, f"dockward-bench-hl-{tag}")
    os.makedirs(links, exist_ok=True)
    os.link(SOCK, os.path.join(links, "engine.sock"))
    volume = f"dockward-bench-vol-{tag}"
    docker("volume", "create", "--driver", "local", "--opt", "type=none", "--opt", "o=bind", "--opt", f"device={folder}", volume)
    data_root = docker("info", "--format", "{{.DockerRootDir}}")
    device = next((f"/dev/{n}" for n in sorted(os.listdir("/dev"))
                   if stat.S_ISBLK(os.lstat(f"/dev/{n}").st_mode)), None)
    cases = [
        ("named volume", "socket-mount", ["-v", f"{volume}:/x"]),
        ("inline volume", "socket-mount", ["--mount", f"type=volume,dst=/x,volume-opt=type=none,volume-opt=o=bind,volume-opt=device={folder}"]),
        ("hard link", "socket-mount", ["-v", f"{links}:/x"]),
        ("host PID + ptrace", "host-pid", ["--pid", "host", "--cap-add", "SYS_PTRACE"]),
        ("data root", "engine-state-mount", ["-v", f"{data_root}:/x:ro"]),
        ("privileged", "privileged", ["--privileged"]),
    ] + ([("block device", "block-device", ["--device", device])] if device else [])
    try:
        made = {}
        for label, kind, options in cases:
            for i in range(per_case):
                name = f"dockward-bench-hc-{tag}-{len(made)}"
                names.append(name)
                made[name] = (label, kind)
                docker("create", "--network", "none", "--name", name, *options, IMAGE, "true")
        deadline = time.time() + 30
        found = {}
        while time.time() < deadline and len(found) < len(made):
            for e in journal(p.pid):
                name = e.get("CONTAINER_NAME")
                if name in made and e.get("DOCKWARD_ALERT") == made[name][1]:
                    found[name] = e
            time.sleep(0.5)
        check_alive(p, d, "while host-control containers were created")
        for label, kind, _ in cases:
            lat = [int(e["__REALTIME_TIMESTAMP"]) * 1000 - int(e["ENGINE_EVENT_NANO"])
                   for n, e in found.items() if made[n][0] == label and "ENGINE_EVENT_NANO" in e]
            if len(lat) != per_case:
                raise BenchError(f"latency: {label}: {len(lat)}/{per_case} {kind} entries within 30 s")
            print(f"latency  {label:<18} -> {kind:<19} {per_case}/{per_case} reported, median "
                  f"{statistics.median(lat) / 1e6:.1f} ms, max {max(lat) / 1e6:.1f} ms")
    finally:
        for name in list(names):
            if name.startswith(f"dockward-bench-hc-{tag}-"):
                subprocess.run(["docker", "rm", "-f", "-v", name], env=dict(os.environ, DOCKER_HOST=f"unix://{SOCK}"),
                               capture_output=True)
        subprocess.run(["docker", "volume", "rm", "-f", volume], env=dict(os.environ, DOCKER_HOST=f"unix://{SOCK}"),
                       capture_output=True)
        shutil.rmtree(links, ignore_errors=True)


def latency():
    if not os.path.exists(SOCK):
        raise BenchError(f"latency: no engine at {SOCK} (make test-services)")
    p, d = start_daemon("pids:\n  unlimited: ignore\n", {"DOCKER_HOST": f"unix://{SOCK}"})
    names = []
    try:
        time.sleep(2)
        for i in range(50):
            name = f"dockward-bench-sock-{os.getpid()}-{i}"
            names.append(name)
            docker("create", "--network", "none", "--name", name, "-v", f"{SOCK}:/var/run/docker.sock", IMAGE, "true")
        deadline = time.time() + 30
        entries = []
        while time.time() < deadline:
            entries = [e for e in journal(p.pid, DOCKWARD_ALERT="socket-mount") if e.get("CONTAINER_NAME") in names]
            if len(entries) >= 50:
                break
            time.sleep(0.5)
        check_alive(p, d, "while containers were created")
        lat = [int(e["__REALTIME_TIMESTAMP"]) * 1000 - int(e["ENGINE_EVENT_NANO"]) for e in entries if "ENGINE_EVENT_NANO" in e]
        if len(entries) != 50 or len(lat) != 50:
            raise BenchError(f"latency: {len(entries)}/50 socket-mount entries within 30 s, {len(lat)} with ENGINE_EVENT_NANO")
        print(f"latency  socket-mount, create event -> journal entry: {len(entries)}/50 reported, "
              f"median {statistics.median(lat) / 1e6:.1f} ms, mean {statistics.mean(lat) / 1e6:.1f} ms, "
              f"max {max(lat) / 1e6:.1f} ms")
        host_control_latency(p, d, names)
        bomb = f"dockward-bench-bomb-{os.getpid()}"
        names.append(bomb)
        docker("run", "-d", "--network", "none", "--pids-limit", "50", "--name", bomb, IMAGE, "sh", "-c",
               "sleep 3600 & (b() { b | b & }; b); wait")  # in a subshell: a refused fork cannot end the container
        started = docker("inspect", "-f", "{{.State.StartedAt}}", bomb)
        # RFC 3339 with nanoseconds; Python's fromisoformat takes microseconds.
        date, frac = started.rstrip("Z").split(".")
        start_us = int(time.mktime(time.strptime(date, "%Y-%m-%dT%H:%M:%S")) - time.timezone) * 1_000_000 + int(frac[:6].ljust(6, "0"))
        deadline = time.time() + 20
        found = []
        while time.time() < deadline and not found:
            found = journal(p.pid, DOCKWARD_ALERT="pids-exhausted", CONTAINER_NAME=bomb)
            time.sleep(0.2)
        if found:
            print(f"latency  fork bomb start -> pids-exhausted entry: {(int(found[0]['__REALTIME_TIMESTAMP']) - start_us) / 1e3:.0f} ms "
                  f"(poll interval 1 s)")
        else:
            check_alive(p, d, "while the fork bomb ran")
            raise BenchError("latency: no pids-exhausted entry for the fork bomb within 20 s")
    finally:
        for n in names:
            subprocess.run(["docker", "rm", "-f", n], env=dict(os.environ, DOCKER_HOST=f"unix://{SOCK}"),
                           capture_output=True)
        p.terminate()
        p.wait(5)
        shutil.rmtree(d, ignore_errors=True)


def build_baseline():
    """bench/baseline.c, built here (root and the v1 pids hierarchy checked first)."""
    if os.geteuid() != 0 or not os.path.isdir(PIDS):
        sys.exit(f"bench: needs root and the v1 pids hierarchy at {PIDS}")
    os.makedirs(BUILD, exist_ok=True)
    baseline = os.path.join(BUILD, "baseline")
    subprocess.run(["cc", "-O2", "-o", baseline, os.path.join(ROOT, "bench", "baseline.c")], check=True)
    return baseline


def cgroup_tree(tag):
    """A parent of the bench's own under the pids hierarchy, and a cgroup
    root for the daemon whose `pids` is that parent; remove with drop_tree."""
    parent = os.path.join(PIDS, f"dockward-{tag}-{os.getpid()}")
    os.mkdir(parent)
    os.mkdir(os.path.join(parent, "docker"))
    root_dir = tempfile.mkdtemp(prefix=f"dockward-{tag}-root-")
    os.symlink(parent, os.path.join(root_dir, "pids"))
    return parent, root_dir


def drop_tree(parent, root_dir):
    os.unlink(os.path.join(root_dir, "pids"))
    os.rmdir(root_dir)
    remove_cgroups(parent)


def main():
    baseline = build_baseline()
    parent, root_dir = cgroup_tree("bench")
    have = []
    print(f"dockward bench, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, kernel {os.uname().release}, "
          f"cgroup v1 pids, {ROUNDS} interleaved rounds, best median")
    try:
        for n in SIZES:
            make_cgroups(parent, n, have)
            ticks = max(20, 200_000 // n)
            c_runs, s_runs = [], []
            for _ in range(ROUNDS):
                c_runs.append(measured("C baseline", subprocess.run([baseline, os.path.join(parent, "docker"), str(ticks)],
                                                                    check=True, capture_output=True, text=True).stdout, n))
                s_runs.append(measured("dockward-bench", subprocess.run([os.path.join(BIN, "dockward-bench"), parent, str(ticks)],
                                                                        check=True, capture_output=True, text=True).stdout, n))
            # Best median of the rounds, and that round's mean: a mean far
            # above the median shows the periodic rescans.
            cr = min(c_runs, key=lambda r: r["median_ns"])
            sr = min(s_runs, key=lambda r: r["median_ns"])
            c, cm = cr["median_ns"], cr["mean_ns"]
            s, sm = sr["median_ns"], sr["mean_ns"]
            rss = max(r["rss_kib"] for r in s_runs)
            kept = min(r.get("kept_open", n) for r in c_runs)
            note = "" if kept == n else f" [open-file limit: {kept} kept open, {n - kept} reopened each tick, both sides]"
            print(f"poll     N={n:>5}: C baseline median {c / 1e3:9.1f} us/tick, mean {cm / 1e3:9.1f} "
                  f"({c / n / 1e3:.2f} us/container) | dockward median {s / 1e3:9.1f} us/tick, mean {sm / 1e3:9.1f} "
                  f"({s / n / 1e3:.2f} us/container) | ratio {s / c:.2f}x (means {sm / cm:.2f}x) | "
                  f"RSS {rss / 1024:.1f} MiB{note}")
        if 1000 in SIZES:
            for path in have[1000:]:
                os.rmdir(path)
            have = have[:1000]
            daemon_run(root_dir, DAEMON_SECONDS, "N= 1000, 1 s polls", 1000)
        if 10000 in SIZES:
            make_cgroups(parent, 10000, have)
            daemon_run(root_dir, 20, "N=10000, 1 s polls", 10000)
        latency()
    except BenchError as e:
        sys.exit(f"bench: FAILED: {e}")
    finally:
        drop_tree(parent, root_dir)


if __name__ == "__main__":
    main()
