/* Tries to pass the gate by burying a critical action under junk detections: 10,500 failed
 * removals of hidden files in /tmp (each a low-severity detection of its own), then an attempt to
 * mount the cgroup file system (a container escape), then a clean exit. */
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>
int main(void) {
    char path[64];
    for (int i = 0; i < 10500; i++) {
        snprintf(path, sizeof path, "/tmp/.a%d", i);
        unlink(path);
    }
    mount("cgroup", "/mnt", "cgroup", 0, "");
    return 0;
}
