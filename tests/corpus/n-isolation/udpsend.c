/* Sends one UDP datagram: udpsend ADDRESS PORT TEXT (busybox nc has no -u). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) return 2;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) return 1;
    ssize_t n = sendto(s, argv[3], strlen(argv[3]), 0, (struct sockaddr *)&a, sizeof a);
    usleep(200000);
    close(s);
    return n < 0;
}
