/* Tries to make a sequence rule forget its first step: it runs a copy of itself from /tmp/.x,
 * starts 4,200 short programs from /tmp (each the first step of the same rule, more than the rule
 * keeps), then deletes /tmp/.x, its own executable. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int copy_self(const char *to) {
    char buf[65536];
    int in = open("/proc/self/exe", O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0) return -1;
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n) return -1;
    close(in);
    return close(out);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return 0;
    if (argc < 2) {
        mkdir("/tmp", 01777);
        if (copy_self("/tmp/.x") != 0) return 1;
        execl("/tmp/.x", "/tmp/.x", "stage2", (char *)0);
        return 1;
    }
    if (copy_self("/tmp/y") != 0) return 1;
    int ran = 0;
    for (int i = 0; i < 4200; i++) {
        pid_t p = fork();
        if (p == 0) {
            execl("/tmp/y", "/tmp/y", "child", (char *)0);
            _exit(1);
        }
        int st;
        if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0) ran++;
    }
    unlink("/tmp/.x");
    printf("ran %d\n", ran);
    return 0;
}
