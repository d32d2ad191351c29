/* An event flood: open/close as fast as possible, N times. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    for (long i = 0; i < n; i++) {
        int fd = open("/flood", O_RDONLY);
        if (fd >= 0) close(fd);
    }
    return 0;
}
