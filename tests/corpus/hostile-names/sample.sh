#!/bin/sh
# Names that are not UTF-8, an argv far beyond what is captured, a path longer than the buffer.
touch "$(printf '/tmp/bad-\377\376-name')"
long=$(head -c 20000 /dev/zero | tr '\0' 'A')
/bin/busybox echo "$long" > /dev/null
deep=/tmp/$(head -c 200 /dev/zero | tr '\0' 'd')/$(head -c 200 /dev/zero | tr '\0' 'e')
mkdir -p "$deep"
touch "$deep/end"
printf 'line\033[31m red\n' > "$(printf '/tmp/esc\033name')"
exit 0
