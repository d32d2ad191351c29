/* Fileless execution: copy a program into an anonymous memory file and execute it from there. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
    int mfd = memfd_create("kworker", MFD_CLOEXEC);
    int src = open("/bin/busybox", O_RDONLY);
    if (mfd < 0 || src < 0) return 1;
    char buf[65536];
    ssize_t n;
    while ((n = read(src, buf, sizeof buf)) > 0) {
        if (write(mfd, buf, (size_t)n) != n) return 1;
    }
    close(src);
    char *argv[] = {"true", NULL};
    char *envp[] = {NULL};
    fexecve(mfd, argv, envp);
    return 2;
}
