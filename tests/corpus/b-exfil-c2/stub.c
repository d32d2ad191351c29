/* Stand-in for a tool the image does not carry (rclone, aws, curl, ngrok, ...): it only says so
 * and exits 0. It never opens a socket, so the real-looking host names in the sample's command
 * lines are never contacted. Part of a MALICIOUS-behaviour corpus sample that is harmless. */
#include <stdio.h>

int main(int argc, char **argv) {
    (void)argc;
    fprintf(stderr, "[corpus] stub %s: not a real tool, nothing done\n", argv[0]);
    return 0;
}
