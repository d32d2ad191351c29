/* Deletes its own executable once running (T1070.004). */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = 0;
    if (unlink(self) != 0) { perror("[corpus] unlink"); return 1; }
    printf("[corpus] %s removed itself\n", self);
    return 0;
}
