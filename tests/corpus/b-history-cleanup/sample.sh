#!/bin/sh
# Clear command history (T1070.003) and impair history logging (T1562.003).
/bin/sh -c 'unset HISTFILE; export HISTSIZE=0; echo "[corpus] history off"'
: > /root/.bash_history
/bin/rm -f /root/.zsh_history
/bin/ln -sf /dev/null /root/.ash_history
/bin/truncate -s 0 /root/.python_history
echo "[corpus] history done"
