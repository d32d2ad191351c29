/* MALICIOUS-behaviour corpus sample (harmless): the PwnKit (CVE-2021-4034) trigger shape, pkexec
 * executed with an empty argument list. In the corpus image /usr/bin/pkexec is a symlink to
 * busybox, which only prints "applet not found"; no module is built or loaded. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    char *argv[] = {NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};

    execve("/usr/bin/pkexec", argv, envp);
    perror("execve /usr/bin/pkexec");
    return 1;
}
