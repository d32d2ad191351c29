#!/bin/sh
# Benign: a data-processing job over a generated CSV in /tmp.
set -e
/bin/seq 1 500 | /bin/awk 'BEGIN { srand(7); print "id,region,amount" } { printf "%d,%s,%d\n", $1, (($1 % 3) ? "eu" : "us"), int(rand() * 100) }' > /tmp/sales.csv
/bin/tail -n +2 /tmp/sales.csv | /bin/cut -d, -f2 | /bin/sort | /bin/uniq -c > /tmp/by-region.txt
/bin/awk -F, 'NR > 1 { s[$2] += $3 } END { for (r in s) print r, s[r] }' /tmp/sales.csv | /bin/sort > /tmp/totals.txt
/bin/grep -c ',eu,' /tmp/sales.csv
/bin/head -n 3 /tmp/sales.csv
/bin/wc -l /tmp/sales.csv /tmp/by-region.txt /tmp/totals.txt
/bin/cat /tmp/by-region.txt /tmp/totals.txt
/bin/rm -f /tmp/sales.csv /tmp/by-region.txt /tmp/totals.txt
echo "[corpus] report done"
