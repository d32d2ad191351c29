#!/bin/sh
# Benign: a typical container entrypoint. Check the user, render the configuration from a
# template, prepare the log directory, then hand over to the (short-lived) service.
set -e
if [ "$(/bin/id -u)" = "0" ]; then echo "[entrypoint] running as root"; fi
LISTEN=${LISTEN:-127.0.0.1:9000}
WORKERS=$(/bin/nproc)
/bin/sed -e "s/LISTEN/$LISTEN/" -e "s/WORKERS/$WORKERS/" /etc/app/app.conf.tmpl > /etc/app/app.conf
/bin/mkdir -p /var/log/app /run/app
echo "$(/bin/date) starting" >> /var/log/app/app.log
echo $$ > /run/app/app.pid
/bin/cat /etc/app/app.conf
exec /bin/sleep 1
