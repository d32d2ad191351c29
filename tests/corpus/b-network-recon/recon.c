/* MALICIOUS-behaviour corpus sample, harmless: network reconnaissance and abuse shapes against
 * addresses that are never reached (127.0.0.1, where nothing listens, and the documentation range
 * 192.0.2.0/24, unreachable in the sandbox). It opens a packet socket and a raw ICMP socket
 * (T1040, T1095), scans 30 local ports (T1046), sweeps 12 hosts (T1018), tries 32 SSH logins
 * (T1110) and creates 240 short-lived processes in a burst (T1499.001). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void try_connect(const char *ip, int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    connect(s, (struct sockaddr *)&a, sizeof a);
    close(s);
}

int main(void) {
    int p = socket(AF_PACKET, SOCK_RAW, htons(0x0003));
    printf("[corpus] packet socket: %d\n", p);
    if (p >= 0)
        close(p);
    int r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    printf("[corpus] raw icmp socket: %d\n", r);
    if (r >= 0)
        close(r);
    for (int port = 1; port <= 30; port++)
        try_connect("127.0.0.1", port);
    char ip[32];
    for (int h = 1; h <= 12; h++) {
        snprintf(ip, sizeof ip, "192.0.2.%d", h);
        try_connect(ip, 80);
    }
    for (int i = 0; i < 32; i++)
        try_connect("192.0.2.22", 22);
    int made = 0;
    for (int i = 0; i < 240; i++) {
        pid_t c = fork();
        if (c == 0)
            _exit(0);
        if (c > 0) {
            made++;
            waitpid(c, NULL, 0);
        }
    }
    printf("[corpus] recon done, %d processes\n", made);
    return 0;
}
