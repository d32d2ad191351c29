#!/bin/sh
# File deletion (T1070.004): a program removes its own executable, a script run directly removes
# itself, a script run as "sh script" removes itself, and a hidden temp file is cleaned up.
/opt/updater
(cd /opt && ./updater2)
/opt/cleanup.sh
/bin/sh /opt/job.sh
echo x > /tmp/.tmpstage
/bin/rm -rf /tmp/.tmpstage
echo "[corpus] self-delete done"
