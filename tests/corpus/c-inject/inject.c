/* Process injection against its own child: ptrace attach + POKEDATA, /proc/PID/mem for writing,
 * process_vm_writev. Own children only: nothing outside the sample is touched. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
static volatile long target_word = 42;
int main(void) {
    pid_t child = fork();
    if (child == 0) {
        for (;;) pause();
    }
    usleep(100000);
    if (ptrace(PTRACE_ATTACH, child, 0, 0) == 0) {
        waitpid(child, NULL, 0);
        ptrace(PTRACE_POKEDATA, child, (void *)&target_word, (void *)7L);
        ptrace(PTRACE_DETACH, child, 0, 0);
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", child);
    int fd = open(path, O_RDWR);
    if (fd >= 0) close(fd);
    long v = 9;
    struct iovec local = {&v, sizeof v}, remote = {(void *)&target_word, sizeof v};
    process_vm_writev(child, &local, 1, &remote, 1, 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}
