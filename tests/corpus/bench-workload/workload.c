/* Benchmark workload: OPENS open/close pairs, then FORKS fork+exec of itself (which exits at once).
 * Prints {"elapsed_ns": N, "opens": O, "forks": F} measured around the work only, so container
 * start-up is not part of the figure.
 * `workload rate R S`: R opens a second (paced each millisecond) for S seconds, for the flood
 * benchmark; prints {"elapsed_ns": N, "opens": O, "rate": achieved opens per second}. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "noop") == 0) return 0;
    if (argc > 3 && strcmp(argv[1], "rate") == 0) {
        long rate = atol(argv[2]);
        long secs = atol(argv[3]);
        long per_ms = rate / 1000 > 0 ? rate / 1000 : 1;
        long long t0 = now_ns(), end = t0 + secs * 1000000000LL, tick = t0;
        long done = 0;
        while (now_ns() < end) {
            for (long i = 0; i < per_ms; i++) {
                int fd = open("/workload", O_RDONLY);
                if (fd >= 0) close(fd);
            }
            done += per_ms;
            tick += 1000000LL;
            long long wait = tick - now_ns();
            if (wait > 0) {
                struct timespec ts = {0, (long)wait};
                nanosleep(&ts, NULL);
            }
        }
        long long t1 = now_ns();
        printf("{\"elapsed_ns\": %lld, \"opens\": %ld, \"rate\": %.0f}\n", t1 - t0, done,
               (double)done * 1e9 / (double)(t1 - t0));
        return 0;
    }
    long opens = argc > 1 ? atol(argv[1]) : 200000;
    long forks = argc > 2 ? atol(argv[2]) : 2000;
    long long t0 = now_ns();
    for (long i = 0; i < opens; i++) {
        int fd = open("/workload", O_RDONLY);
        if (fd >= 0) close(fd);
    }
    for (long i = 0; i < forks; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            execl("/workload", "workload", "noop", (char *)NULL);
            _exit(127);
        }
        if (pid > 0) waitpid(pid, NULL, 0);
    }
    long long t1 = now_ns();
    printf("{\"elapsed_ns\": %lld, \"opens\": %ld, \"forks\": %ld}\n", t1 - t0, opens, forks);
    return 0;
}
