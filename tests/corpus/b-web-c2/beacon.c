/* An HTTP beacon stand-in: checks in three times with a plain socket on 127.0.0.1:8080 (nothing
 * listens: refused), as an implant does with its C2 server. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
    for (int i = 0; i < 3; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return 1;
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons(8080);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            const char req[] = "GET /tasks HTTP/1.0\r\n\r\n";
            if (write(fd, req, sizeof req - 1) < 0) perror("[corpus] write");
        } else {
            perror("[corpus] beacon");
        }
        close(fd);
        usleep(200000);
    }
    return 0;
}
