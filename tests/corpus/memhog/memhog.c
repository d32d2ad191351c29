/* Allocates and touches memory until the kernel's OOM killer stops it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    for (;;) {
        char *p = malloc(8 << 20);
        if (!p) { sleep(1); continue; }
        memset(p, 0xa5, 8 << 20);
    }
}
