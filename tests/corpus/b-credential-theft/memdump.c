/* MALICIOUS-behaviour corpus sample (harmless): a /proc memory scraper in the shape of the
 * credential dumpers that read /proc/PID/maps and then /proc/PID/mem. Its only target is its own
 * child, which holds a fake secret; nothing outside the sample is read, nothing is written. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    /* The "victim": a heap buffer with a fake credential, then it waits. */
    char *secret = malloc(4096);
    if (!secret) return 1;
    memset(secret, 0, 4096);
    strcpy(secret, "DB_PASSWORD=corpus-not-a-real-secret");
    pid_t child = fork();
    if (child == 0) {
        for (;;) pause();
    }
    usleep(100000);

    char path[64];
    unsigned long start = 0, end = 0;
    snprintf(path, sizeof path, "/proc/%d/maps", child);
    FILE *maps = fopen(path, "r");
    if (maps) {
        char line[512];
        while (fgets(line, sizeof line, maps)) {
            if (strstr(line, "[heap]")) {
                sscanf(line, "%lx-%lx", &start, &end);
                break;
            }
        }
        fclose(maps);
    }
    snprintf(path, sizeof path, "/proc/%d/mem", child);
    int fd = open(path, O_RDONLY);
    int found = 0;
    if (fd >= 0 && end > start) {
        size_t len = end - start > (1u << 20) ? (1u << 20) : end - start;
        char *buf = malloc(len);
        if (buf && pread(fd, buf, len, (off_t)start) > 0 && memmem(buf, len, "PASSWORD=", 9)) found = 1;
        free(buf);
    }
    if (fd >= 0) close(fd);
    printf("[memdump] heap %lx-%lx of pid %d read, secret %s\n", start, end, child, found ? "found" : "not found");
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}
