/* A ticker at the daemon's cadence: every PERIOD_MS it reads, with pread on
 * kept-open descriptors, FILES counter files of every cgroup under PARENT
 * (3: pids.current, pids.max, pids.events, as a poller that reads them all;
 * 1: pids.current alone) and parses the numbers, nothing else, for SECONDS.
 * Where the open-file limit cannot hold every descriptor, the cgroups past it
 * are read with open/read/close. bench/cadence.py measures its process CPU
 * over the same wall time as the daemon's.
 *
 *   ticker PARENT FILES PERIOD_MS SECONDS  ->  containers=N ticks=T kept_open=K
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static long long parse(const char *buf, ssize_t n) {
    long long v = 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) v = v * 10 + (buf[i] - '0');
    return v;
}

static long long read_one(int fd, char *buf) {
    ssize_t r = pread(fd, buf, 256, 0);
    if (r <= 0) return 0;
    return parse(buf[0] == 'm' ? buf + 4 : buf, r);
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: ticker PARENT FILES PERIOD_MS SECONDS\n"); return 2; }
    int nfiles = atoi(argv[2]);
    long period_ns = atol(argv[3]) * 1000000L;
    int seconds = atoi(argv[4]);
    if (nfiles != 1 && nfiles != 3) { fprintf(stderr, "FILES is 1 or 3\n"); return 2; }
    struct rlimit rl = {1 << 20, 1 << 20};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    long budget = ((long)rl.rlim_cur - 256) / nfiles;
    static const char *files[3] = {"pids.current", "pids.max", "pids.events"};
    DIR *d = opendir(argv[1]);
    if (!d) { perror(argv[1]); return 1; }
    int cap = 1024, n = 0, kept = 0;
    int *fds = malloc(sizeof(int) * 3 * cap);
    char **dirs = malloc(sizeof(char *) * cap);
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        if (n == cap) {
            cap *= 2;
            fds = realloc(fds, sizeof(int) * 3 * cap);
            dirs = realloc(dirs, sizeof(char *) * cap);
        }
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        dirs[n] = strdup(path);
        for (int f = 0; f < nfiles; f++) {
            fds[n * 3 + f] = -1;
            if (kept >= budget) continue;
            snprintf(path, sizeof path, "%s/%s/%s", argv[1], e->d_name, files[f]);
            fds[n * 3 + f] = open(path, O_RDONLY | O_CLOEXEC);
            if (fds[n * 3 + f] < 0) { perror(path); return 1; }
        }
        if (kept < budget) kept++;
        n++;
    }
    closedir(d);
    char buf[256];
    volatile long long sink = 0;
    struct timespec next, end;
    clock_gettime(CLOCK_MONOTONIC, &next);
    end = next;
    end.tv_sec += seconds;
    int ticks = 0;
    for (;;) {
        for (int i = 0; i < n; i++) {
            for (int f = 0; f < nfiles; f++) {
                int fd = fds[i * 3 + f];
                if (fd >= 0) { sink += read_one(fd, buf); continue; }
                snprintf(path, sizeof path, "%s/%s", dirs[i], files[f]);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd >= 0) { sink += read_one(fd, buf); close(fd); }
            }
        }
        ticks++;
        next.tv_nsec += period_ns;
        while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
        if (next.tv_sec > end.tv_sec || (next.tv_sec == end.tv_sec && next.tv_nsec >= end.tv_nsec)) break;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    printf("containers=%d ticks=%d kept_open=%d\n", n, ticks, kept);
    return 0;
}
