/* A fork-and-exec storm: N children one after another, each executing this program again with a
 * long command line (16 arguments of 200 bytes: 3.2 KiB, within what the probes read of an argv), to make the analyzer hold many processes and
 * many copies of big argv. Prints "storm N" with the children that ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return 0;
    long n = argc > 1 ? atol(argv[1]) : 100000;
    static char big[16][201];
    char *args[19];
    args[0] = "/storm";
    args[1] = "child";
    for (int i = 0; i < 16; i++) {
        memset(big[i], 'a' + i % 26, 200);
        big[i][200] = 0;
        args[2 + i] = big[i];
    }
    args[18] = NULL;
    long ran = 0;
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            execv("/storm", args);
            _exit(1);
        }
        int st;
        if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0) ran++;
    }
    printf("storm %ld\n", ran);
    return 0;
}
