/* Tries to pass the gate by burying a critical action under junk detections: 10,500 failed
 * removals of hidden files in /tmp (each a low-severity detection of its own), then an attempt to
 * overwrite the kernel's core_pattern (a container escape: code run by the host on a crash), then
 * a mount of the cgroup file system (refused by Docker's seccomp profile before any system-call
 * entry tracepoint sees it: the analyzer must still see it, on exit), then a clean exit. */
#include <stdio.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    char path[64];
    mkdir("/tmp", 01777);
    for (int i = 0; i < 10500; i++) {
        snprintf(path, sizeof path, "/tmp/.a%d", i);
        unlink(path);
    }
    int fd = open("/proc/sys/kernel/core_pattern", O_WRONLY);
    if (fd >= 0) {
        write(fd, "|/tmp/.x", 8);
        close(fd);
    }
    mount("cgroup", "/tmp", "cgroup", 0, "");
    return 0;
}
