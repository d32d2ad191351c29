/* Stand-in for a tool the image does not carry or must not really run (systemctl, shutdown, dd,
 * wipefs, hping3, honeygain, ...): it only says so and exits 0. Part of a MALICIOUS-behaviour
 * corpus sample that is harmless. */
#include <stdio.h>

int main(int argc, char **argv) {
    (void)argc;
    fprintf(stderr, "[corpus] stub %s: not a real tool, nothing done\n", argv[0]);
    return 0;
}
