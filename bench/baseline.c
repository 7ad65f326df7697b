/* The floor dockward is measured against: read pids.current, pids.max and
 * pids.events of every cgroup under PARENT with pread on kept-open
 * descriptors, parse the numbers, nothing else. Where the open-file limit
 * cannot hold every descriptor, the cgroups past it are read with
 * open/read/close, as dockward does (the same budget: limit minus 256, four
 * descriptors a cgroup).
 *
 *   baseline PARENT TICKS   ->  containers=N ticks=T median_ns=... mean_ns=... min_ns=...
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* CPU time of this thread, not wall time: on a shared, noisy machine a
 * preempted tick would otherwise count another process's work. */
static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long parse(const char *buf, ssize_t n) {
    long long v = 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) v = v * 10 + (buf[i] - '0');
    return v;
}

static int cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long long read_one(int fd, char *buf) {
    ssize_t r = pread(fd, buf, 256, 0);
    if (r <= 0) return 0;
    return parse(buf[0] == 'm' ? buf + 4 : buf, r);
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: baseline PARENT TICKS\n"); return 2; }
    int ticks = atoi(argv[2]);
    /* three descriptors per cgroup: raise the limit as dockward does */
    struct rlimit rl = {1 << 20, 1 << 20};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    long budget = ((long)rl.rlim_cur - 256) / 4;
    DIR *d = opendir(argv[1]);
    if (!d) { perror(argv[1]); return 1; }
    int cap = 1024, n = 0, kept = 0;
    int *fds = malloc(sizeof(int) * 3 * cap);
    char **dirs = malloc(sizeof(char *) * cap);
    struct dirent *e;
    char path[4096];
    static const char *files[3] = {"pids.current", "pids.max", "pids.events"};
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        if (n == cap) {
            cap *= 2;
            fds = realloc(fds, sizeof(int) * 3 * cap);
            dirs = realloc(dirs, sizeof(char *) * cap);
        }
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        dirs[n] = strdup(path);
        for (int f = 0; f < 3; f++) {
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
    long long *took = malloc(sizeof(long long) * ticks);
    char buf[256];
    volatile long long sink = 0;
    for (int t = 0; t < ticks + 3; t++) {
        long long start = now_ns();
        for (int i = 0; i < n; i++) {
            for (int f = 0; f < 3; f++) {
                int fd = fds[i * 3 + f];
                if (fd >= 0) { sink += read_one(fd, buf); continue; }
                snprintf(path, sizeof path, "%s/%s", dirs[i], files[f]);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd >= 0) { sink += read_one(fd, buf); close(fd); }
            }
        }
        if (t >= 3) took[t - 3] = now_ns() - start;
    }
    qsort(took, ticks, sizeof(long long), cmp);
    long long sum = 0;
    for (int t = 0; t < ticks; t++) sum += took[t];
    printf("containers=%d ticks=%d median_ns=%lld mean_ns=%lld min_ns=%lld kept_open=%d\n", n, ticks, took[ticks / 2],
           sum / ticks, took[0], kept);
    return 0;
}
