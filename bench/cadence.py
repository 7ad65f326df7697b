#!/usr/bin/env python3
"""make bench, part 2: CPU per tick at the daemon's own cadence, and memory.

For N = 1,000 and 10,000 real kernel cgroups (v1 pids hierarchy, in a parent
of its own, removed afterwards), three programs run in turn at the same
100 ms cadence for the same wall time, and each is measured the same way:
its process CPU (utime + stime of every thread, /proc/PID/stat) over that
wall time, divided by the ticks in it.

  - C, 3 files: bench/baseline.c --cadence reading pids.current, pids.max, pids.events
    (kept-open descriptors, pread), as a poller that reads them all;
  - C, 1 file: the same reading pids.current alone, the floor;
  - dockward: the real daemon, poll_interval 100ms, no engine.

Then dockward's anonymous memory (/proc/PID/smaps_rollup "Anonymous", not
RSS, which counts shared library pages). Rounds are interleaved; the best
(lowest) of each program is printed, with the spread.

Last, with the tests' private engine: first refused fork -> pids-exhausted
entry for BENCH_BOMBS (20) fork bombs under --pids-limit 30, with
poll_interval 5s, from the kernel's own time of the refusal (its journal
line's _SOURCE_MONOTONIC_TIMESTAMP) to the entry's __MONOTONIC_TIMESTAMP.
"""
import json, os, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import BIN, IMAGE, SOCK, build_baseline, cgroup_tree, docker, drop_tree, make_cgroups  # noqa: E402

SIZES = [int(x) for x in os.environ.get("BENCH_SIZES", "1000,10000").split(",")]
ROUNDS = int(os.environ.get("BENCH_CADENCE_ROUNDS", "2"))
WALL = float(os.environ.get("BENCH_CADENCE_SECONDS", "20"))
WARMUP = 5.0   # discovery and the first opens happen here; the steady state is measured
PERIOD_MS = 100


HZ = os.sysconf("SC_CLK_TCK")


def cpu_ns(pid):
    """utime + stime of the whole process, every thread's, the exited ones'
    too (/proc/PID/schedstat would count the main thread alone, and the
    daemon works on Dispatch's worker threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // HZ


def anon_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Anonymous:"):
                return int(line.split()[1])
    sys.exit(f"bench: no Anonymous line in /proc/{pid}/smaps_rollup")


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def measure(proc):
    """CPU ns per tick over WALL seconds of steady state; the process must live through it."""
    time.sleep(WARMUP)
    if proc.poll() is not None:
        sys.exit(f"bench: {proc.args[0]} exited early ({proc.returncode})")
    t0, c0 = time.monotonic(), cpu_ns(proc.pid)
    time.sleep(WALL)
    t1, c1 = time.monotonic(), cpu_ns(proc.pid)
    if proc.poll() is not None:
        sys.exit(f"bench: {proc.args[0]} exited during the measurement ({proc.returncode})")
    ticks = (t1 - t0) * 1000 / PERIOD_MS
    return (c1 - c0) / ticks


def ticker(binary, parent, files, n):
    p = subprocess.Popen([binary, "--cadence", str(files), str(PERIOD_MS), str(int(WARMUP + WALL + 2)),
                          os.path.join(parent, "docker")], stdout=subprocess.PIPE, text=True)
    per_tick = measure(p)
    out, _ = p.communicate(timeout=30)
    seen = dict(kv.split("=") for kv in out.split())
    if int(seen["containers"]) != n:
        sys.exit(f"bench: the {files}-file ticker found {seen['containers']} cgroups, not {n}")
    return per_tick, int(seen["kept_open"])


def daemon(root_dir, n):
    d = tempfile.mkdtemp(prefix="dockward-cadence-")
    cfg = os.path.join(d, "dockward.yml")
    with open(cfg, "w") as f:
        f.write(f"cgroup:\n  root: {root_dir}\ndocker:\n  socket: /nonexistent/dockward-bench.sock\n"
                f"pids:\n  poll_interval: {PERIOD_MS}ms\n")
    p = subprocess.Popen([os.path.join(BIN, "dockward"), "run", "--config", cfg, "--log-level", "warning"],
                         stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr"), "w"))
    try:
        per_tick = measure(p)
        anon = anon_kib(p.pid)
        # It watches them all: one kept-open pids.current each, beside its own few.
        if fds(p.pid) < n:
            sys.exit(f"bench: the daemon holds {fds(p.pid)} descriptors for {n} cgroups: it is not watching them all")
        return per_tick, anon
    finally:
        p.terminate()
        p.wait(5)
        shutil.rmtree(d, ignore_errors=True)


def journal_json(*args):
    out = subprocess.run(["journalctl", "-o", "json", "--no-pager", *args], capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def refusal_latency(bombs):
    if not os.path.exists(SOCK):
        sys.exit(f"bench: no engine at {SOCK} (make test-services)")
    d = tempfile.mkdtemp(prefix="dockward-latency-")
    cfg = os.path.join(d, "dockward.yml")
    with open(cfg, "w") as f:
        f.write("pids:\n  poll_interval: 5s\n  unlimited: ignore\n")
    p = subprocess.Popen([os.path.join(BIN, "dockward"), "run", "--config", cfg, "--log-level", "warning"],
                         stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr"), "w"),
                         env=dict(os.environ, DOCKER_HOST=f"unix://{SOCK}"))
    lat = []
    try:
        time.sleep(3)
        for i in range(bombs):
            name = f"dockward-bench-kbomb-{os.getpid()}-{i}"
            cid = docker("run", "-d", "--network", "none", "--pids-limit", "30", "--name", name, IMAGE,
                         "sh", "-c", "b() { b | b & }; b; sleep 3600")
            entry, kernel, deadline = None, None, time.time() + 15
            while time.time() < deadline and (entry is None or kernel is None):
                time.sleep(0.2)
                if entry is None:
                    found = journal_json(f"_PID={p.pid}", "DOCKWARD_ALERT=pids-exhausted", f"CONTAINER_NAME={name}")
                    entry = found[0] if found else None
                if kernel is None:
                    lines = [e for e in journal_json("-k", "-n", "300", "_TRANSPORT=kernel")
                             if cid in e.get("MESSAGE", "") and "fork rejected" in e.get("MESSAGE", "")]
                    kernel = lines[0] if lines else None
            docker("rm", "-f", name)
            if entry is None or kernel is None:
                sys.exit(f"bench: bomb {i}: entry {'found' if entry else 'missing'}, kernel line {'found' if kernel else 'missing'}")
            lat.append((int(entry["__MONOTONIC_TIMESTAMP"]) - int(kernel["_SOURCE_MONOTONIC_TIMESTAMP"])) / 1e3)
        lat.sort()
        print(f"latency  first refused fork -> pids-exhausted entry, poll_interval 5s, {bombs} fork bombs: "
              f"median {statistics.median(lat):.1f} ms, mean {statistics.mean(lat):.1f} ms, max {lat[-1]:.1f} ms")
    finally:
        p.terminate()
        p.wait(5)
        shutil.rmtree(d, ignore_errors=True)


def main():
    binary = build_baseline()
    parent, root_dir = cgroup_tree("cadence")
    have = []
    print(f"cadence  {PERIOD_MS} ms ticks, process CPU over {WALL:.0f} s each, {ROUNDS} interleaved rounds, best shown")
    try:
        for n in SIZES:
            make_cgroups(parent, n, have)
            three, one, ours, anon = [], [], [], []
            for _ in range(ROUNDS):
                t3, kept3 = ticker(binary, parent, 3, n)
                t1, _ = ticker(binary, parent, 1, n)
                td, a = daemon(root_dir, n)
                three.append(t3); one.append(t1); ours.append(td); anon.append(a)
            c3, c1, dw = min(three), min(one), min(ours)
            note = "" if kept3 == n else f" [3-file ticker: open-file limit, {kept3} kept open, {n - kept3} reopened each tick]"
            print(f"cadence  N={n:>5}: C 3 files {c3 / 1e3:8.1f} us/tick | C 1 file {c1 / 1e3:8.1f} us/tick | "
                  f"dockward {dw / 1e3:8.1f} us/tick (spread {min(ours) / 1e3:.0f}-{max(ours) / 1e3:.0f}) | "
                  f"dockward / C 3 files {dw / c3:.2f}x, / C 1 file {dw / c1:.2f}x | "
                  f"dockward anonymous memory {max(anon) / 1024:.1f} MiB{note}")
    finally:
        drop_tree(parent, root_dir)
    refusal_latency(int(os.environ.get("BENCH_BOMBS", "20")))


if __name__ == "__main__":
    if sys.argv[1:] == ["latency"]:  # only the last part
        refusal_latency(int(os.environ.get("BENCH_BOMBS", "20")))
    else:
        main()
