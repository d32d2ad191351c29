/* A stand-in for curl in a sandbox without network: it opens no socket and resolves nothing,
 * it only reports the failure a real curl would. Its command line is what the corpus shows. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *url = "";
    for (int i = 1; i < argc; i++)
        if (strstr(argv[i], "://")) url = argv[i];
    fprintf(stderr, "curl: (7) Failed to connect to %s: Network is unreachable\n", url);
    return 7;
}
