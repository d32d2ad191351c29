/* MALICIOUS-behaviour corpus helper (harmless): a stand-in for a compiler that links its own
 * output, like tcc. "tcc -o OUT SRC.c" reads SRC.c and writes OUT (mode 0755); what it writes is
 * a copy of /bin/busybox, since no real compiler is in the image. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *out = "a.out", *src = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) out = argv[++i];
        else if (argv[i][0] != '-') src = argv[i];
    }
    char buf[65536];
    ssize_t n;
    if (src) {
        int s = open(src, O_RDONLY);
        if (s < 0) return 1;
        while ((n = read(s, buf, sizeof buf)) > 0) {}
        close(s);
    }
    int in = open("/bin/busybox", O_RDONLY), o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || o < 0) return 1;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(o, buf, n) != n) return 1;
    close(in);
    return close(o) == 0 ? 0 : 1;
}
