/* MALICIOUS-behaviour corpus sample, harmless: renames itself like a kernel thread with
 * prctl(PR_SET_NAME) (T1036.004), the way miners hide in ps, then does its "work" under that
 * name (reads its own status) and exits. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(void) {
    if (prctl(PR_SET_NAME, "kworker/0:2", 0, 0, 0) != 0)
        perror("prctl");
    char buf[256];
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        close(fd);
        printf("[corpus] now %.40s\n", buf);
    }
    return 0;
}
