/* The floor dockward is measured against: read the counter files of every
 * cgroup under PARENT with pread on kept-open descriptors, parse the
 * numbers, nothing else. Where the open-file limit cannot hold every
 * descriptor, the cgroups past it are read with open/read/close.
 *
 * Two modes:
 *   baseline PARENT TICKS
 *       pids.current, pids.max and pids.events as fast as it can, TICKS
 *       times, timed in thread CPU (bench/run.py, against dockward-bench):
 *       -> containers=N ticks=T median_ns=... mean_ns=... min_ns=... kept_open=K
 *   baseline --cadence FILES PERIOD_MS SECONDS PARENT
 *       every PERIOD_MS for SECONDS, reading FILES files a cgroup (3: all
 *       three, as a poller of every counter; 1: pids.current alone), as the
 *       daemon does; bench/cadence.py measures its process CPU:
 *       -> containers=N ticks=T kept_open=K
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

static const char *files[3] = {"pids.current", "pids.max", "pids.events"};

struct tree {
    int n, kept, nfiles;
    int *fds;      /* nfiles per cgroup, -1 past the open-file budget */
    char **dirs;
};

/* CPU time of this thread, not wall time: on a shared, noisy machine a
 * preempted tick would otherwise count another process's work. */
static long long thread_ns(void) {
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

/* Opens NFILES counter files of every cgroup under PARENT, within the
 * open-file budget (the limit raised as dockward does, minus 256). */
static int open_tree(const char *parent, int nfiles, struct tree *t) {
    struct rlimit rl = {1 << 20, 1 << 20};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    long budget = ((long)rl.rlim_cur - 256) / nfiles;
    DIR *d = opendir(parent);
    if (!d) { perror(parent); return -1; }
    int cap = 1024;
    t->n = 0; t->kept = 0; t->nfiles = nfiles;
    t->fds = malloc(sizeof(int) * 3 * cap);
    t->dirs = malloc(sizeof(char *) * cap);
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        if (t->n == cap) {
            cap *= 2;
            t->fds = realloc(t->fds, sizeof(int) * 3 * cap);
            t->dirs = realloc(t->dirs, sizeof(char *) * cap);
        }
        snprintf(path, sizeof path, "%s/%s", parent, e->d_name);
        t->dirs[t->n] = strdup(path);
        for (int f = 0; f < nfiles; f++) {
            t->fds[t->n * 3 + f] = -1;
            if (t->kept >= budget) continue;
            snprintf(path, sizeof path, "%s/%s/%s", parent, e->d_name, files[f]);
            t->fds[t->n * 3 + f] = open(path, O_RDONLY | O_CLOEXEC);
            if (t->fds[t->n * 3 + f] < 0) { perror(path); return -1; }
        }
        if (t->kept < budget) t->kept++;
        t->n++;
    }
    closedir(d);
    return 0;
}

/* One tick: every file of every cgroup. */
static long long read_tree(const struct tree *t) {
    char buf[256], path[4096];
    long long sum = 0;
    for (int i = 0; i < t->n; i++) {
        for (int f = 0; f < t->nfiles; f++) {
            int fd = t->fds[i * 3 + f];
            if (fd >= 0) { sum += read_one(fd, buf); continue; }
            snprintf(path, sizeof path, "%s/%s", t->dirs[i], files[f]);
            fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) { sum += read_one(fd, buf); close(fd); }
        }
    }
    return sum;
}

static int hot_loop(const char *parent, int ticks) {
    struct tree t;
    if (open_tree(parent, 3, &t) != 0) return 1;
    long long *took = malloc(sizeof(long long) * ticks);
    volatile long long sink = 0;
    for (int i = 0; i < ticks + 3; i++) {
        long long start = thread_ns();
        sink += read_tree(&t);
        if (i >= 3) took[i - 3] = thread_ns() - start;
    }
    qsort(took, ticks, sizeof(long long), cmp);
    long long sum = 0;
    for (int i = 0; i < ticks; i++) sum += took[i];
    printf("containers=%d ticks=%d median_ns=%lld mean_ns=%lld min_ns=%lld kept_open=%d\n", t.n, ticks, took[ticks / 2],
           sum / ticks, took[0], t.kept);
    return 0;
}

static int cadence(int nfiles, long period_ms, int seconds, const char *parent) {
    struct tree t;
    if (open_tree(parent, nfiles, &t) != 0) return 1;
    volatile long long sink = 0;
    struct timespec next, end;
    clock_gettime(CLOCK_MONOTONIC, &next);
    end = next;
    end.tv_sec += seconds;
    int ticks = 0;
    for (;;) {
        sink += read_tree(&t);
        ticks++;
        next.tv_nsec += period_ms * 1000000L;
        while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
        if (next.tv_sec > end.tv_sec || (next.tv_sec == end.tv_sec && next.tv_nsec >= end.tv_nsec)) break;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    printf("containers=%d ticks=%d kept_open=%d\n", t.n, ticks, t.kept);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "--cadence") == 0) {
        int nfiles = atoi(argv[2]);
        if (nfiles != 1 && nfiles != 3) { fprintf(stderr, "FILES is 1 or 3\n"); return 2; }
        return cadence(nfiles, atol(argv[3]), atoi(argv[4]), argv[5]);
    }
    if (argc == 3) return hot_loop(argv[1], atoi(argv[2]));
    fprintf(stderr, "usage: baseline PARENT TICKS | baseline --cadence FILES PERIOD_MS SECONDS PARENT\n");
    return 2;
}
