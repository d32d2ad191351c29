#!/bin/sh
# Benign: a build step. Unpack sources, patch them, lay out an install tree, pack the result.
set -e
/bin/mkdir -p /tmp/build /tmp/dist/usr/local/bin /tmp/dist/usr/local/share/hello
/bin/tar -xzf /opt/hello-1.0.tgz -C /tmp/build
cd /tmp/build/hello
/bin/sed -i 's/VERSION 0/VERSION 1/' src/version.h
/bin/sed -e 's/return VERSION/return VERSION + 0/' src/main.c > src/main.c.new
/bin/mv src/main.c.new src/main.c
/bin/find /tmp/build -name '*.c' -o -name '*.h'
/bin/cp src/main.c src/version.h /tmp/dist/usr/local/share/hello/
printf '#!/bin/sh\necho hello 1.0\n' > /tmp/dist/usr/local/bin/hello
/bin/chmod 755 /tmp/dist/usr/local/bin/hello
/bin/touch /tmp/build/hello/.built
/bin/tar -czf /tmp/hello-1.0-dist.tgz -C /tmp/dist .
/bin/ls -l /tmp/hello-1.0-dist.tgz
/bin/rm -rf /tmp/build /tmp/dist
echo "[corpus] build done"
