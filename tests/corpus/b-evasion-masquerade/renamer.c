/* MALICIOUS-behaviour corpus helper (harmless): renames its own task like a kernel thread with
 * prctl(PR_SET_NAME, "kworker/0:1"), then acts under that name (reads /etc/hostname, writes its
 * pid to /tmp/.kw.pid), and finally execs busybox with argv[0] set to "[kworker/u8:2]" (busybox
 * only answers "applet not found"). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(void) {
    char buf[64];
    if (prctl(PR_SET_NAME, "kworker/0:1", 0, 0, 0) != 0) perror("prctl");
    int fd = open("/etc/hostname", O_RDONLY);
    if (fd >= 0) {
        (void)!read(fd, buf, sizeof buf);
        close(fd);
    }
    fd = open("/tmp/.kw.pid", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        int n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
        (void)!write(fd, buf, (size_t)n);
        close(fd);
    }
    char *argv[] = {"[kworker/u8:2]", NULL};
    execv("/bin/busybox", argv);
    perror("execv");
    return 1;
}
