/* Tries to blind the network sinkhole before its real traffic: more DNS questions than the
 * sinkhole reports, more open connections than it holds, and one connection sending as fast as it
 * can while a DNS question must still be answered. Then it resolves a name and fetches a URL: the
 * sinkhole must still answer. It prints what it got so the test can check. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sockaddr_in resolver;

static void read_resolver(void) {
    char line[256];
    FILE *f = fopen("/etc/resolv.conf", "r");
    memset(&resolver, 0, sizeof resolver);
    resolver.sin_family = AF_INET;
    resolver.sin_port = htons(53);
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char addr[64];
        if (sscanf(line, "nameserver %63s", addr) == 1 && inet_pton(AF_INET, addr, &resolver.sin_addr) == 1) break;
    }
    fclose(f);
}

/* A DNS A question for name; returns its length. */
static int question(unsigned char *q, const char *name, unsigned short id) {
    int n = 12;
    memset(q, 0, 12);
    q[0] = id >> 8; q[1] = id & 0xff; q[2] = 1; q[5] = 1;
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        int len = dot ? (int)(dot - p) : (int)strlen(p);
        q[n++] = len;
        memcpy(q + n, p, len);
        n += len;
        p += len + (dot ? 1 : 0);
    }
    q[n++] = 0;
    q[n++] = 0; q[n++] = 1; q[n++] = 0; q[n++] = 1;
    return n;
}

/* Resolves name; 0 and the first A address on success. */
static int resolve(int s, const char *name, unsigned short id, int timeout_ms, struct in_addr *out) {
    unsigned char q[512], a[512];
    int n = question(q, name, id);
    if (sendto(s, q, n, 0, (struct sockaddr *)&resolver, sizeof resolver) != n) return -1;
    struct pollfd p = {.fd = s, .events = POLLIN};
    while (poll(&p, 1, timeout_ms) == 1) {
        int m = recv(s, a, sizeof a, 0);
        if (m >= n + 16 && a[0] == q[0] && a[1] == q[1]) {
            memcpy(out, a + m - 4, 4);
            return 0;
        }
    }
    return -1;
}

static int connect_to(struct in_addr a, int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = a};
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (s >= 0) close(s);
        return -1;
    }
    return s;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    read_resolver();
    int dns = socket(AF_INET, SOCK_DGRAM, 0);
    struct in_addr a;
    char name[128];
    /* 1. More questions than the sinkhole reports (20,000). */
    int answered = 0;
    for (int i = 0; i < 21000; i++) {
        snprintf(name, sizeof name, "q%d.flood.test", i);
        if (resolve(dns, name, (unsigned short)i, 1000, &a) == 0) answered++;
    }
    printf("flood-answers %d\n", answered);
    /* 2. More open connections than the sinkhole holds (256), kept open and silent. */
    struct in_addr target;
    inet_pton(AF_INET, "198.51.100.7", &target);
    int held = 0;
    for (int i = 0; i < 300; i++) {
        if (connect_to(target, 8000 + i) >= 0) held++;
        usleep(200);
    }
    printf("held %d\n", held);
    /* 3. One fast sender; a DNS question must still be answered meanwhile. */
    pid_t child = fork();
    if (child == 0) {
        static char junk[65536];
        memset(junk, 'A', sizeof junk);
        int s = connect_to(target, 9999);
        for (int i = 0; s >= 0 && i < 400; i++)
            if (send(s, junk, sizeof junk, MSG_NOSIGNAL) < 0) break;
        _exit(0);
    }
    usleep(100000);
    printf("dns-during-stream %s\n", resolve(dns, "during.stream.test", 60001, 2000, &a) == 0 ? "ok" : "none");
    waitpid(child, NULL, 0);
    /* 4. The real traffic, after it all. */
    if (resolve(dns, "after.flood.test", 60002, 2000, &a) != 0) {
        printf("after-flood none\n");
        return 0;
    }
    int s = connect_to(a, 80);
    const char req[] = "GET /after HTTP/1.1\r\nHost: after.flood.test\r\n\r\n";
    char buf[256] = {0};
    if (s >= 0 && send(s, req, sizeof req - 1, 0) > 0) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 3000) == 1) recv(s, buf, sizeof buf - 1, 0);
    }
    printf("after-flood %s\n", strncmp(buf, "HTTP/1.1 200", 12) == 0 ? "http-200" : "none");
    return 0;
}
