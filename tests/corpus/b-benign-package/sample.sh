#!/bin/sh
# Benign: what a package manager does when it installs a library: stage files as *.new, rename
# them into place, fix modes, link the current version, drop the old one.
set -e
/bin/mkdir -p /usr/local/lib/app/1.2.0 /usr/local/bin /var/lib/app
for f in core.so util.so data.db; do
  printf 'payload of %s\n' "$f" > "/usr/local/lib/app/1.2.0/$f.new"
done
for f in core.so util.so data.db; do
  /bin/mv "/usr/local/lib/app/1.2.0/$f.new" "/usr/local/lib/app/1.2.0/$f"
done
/bin/chmod 644 /usr/local/lib/app/1.2.0/core.so /usr/local/lib/app/1.2.0/util.so /usr/local/lib/app/1.2.0/data.db
/bin/ln -sfn /usr/local/lib/app/1.2.0 /usr/local/lib/app/current
printf '#!/bin/sh\nexec /usr/local/lib/app/current/core.so "$@"\n' > /usr/local/bin/app
/bin/chmod 755 /usr/local/bin/app
echo "app 1.2.0" > /var/lib/app/installed
/bin/ls -lR /usr/local/lib/app
echo "[corpus] package installed"
