#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): tampering that only the environment of the
# programs it starts shows. Builtins (export) are not commands: no tracer sees them run, but every
# child inherits what they set.
export HISTFILE=/dev/null                          # T1562.003: no history from here on
/bin/ls /root >/dev/null
LD_PRELOAD=/tmp/.hook.so /bin/id >/dev/null 2>&1   # T1574.006: a hook library forced on id
mkdir -p /tmp/.bin
PATH=/tmp/.bin:$PATH /bin/sh -c 'id >/dev/null'    # T1574.007: planted directory first in PATH
https_proxy=http://203.0.113.5:3128 /bin/wget -q -T 1 -O /dev/null https://updates.example.test/a 2>/dev/null  # T1090
POOL_URL=stratum+tcp://pool.example.test:3333 /bin/sleep 0                                               # T1496.001
echo "[corpus] environment tampering done"
