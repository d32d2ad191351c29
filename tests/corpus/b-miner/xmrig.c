/* A stand-in for a miner: prints a banner and tries to reach its "pool" on this machine's
 * loopback (127.0.0.1:3333), whatever pool the command line names. Harmless. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    printf("[corpus] fake miner %s, %d args\n", argv[0], argc);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(3333);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) perror("[corpus] pool connect");
    close(fd);
    return 0;
}
