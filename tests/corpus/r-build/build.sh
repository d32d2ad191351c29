#!/bin/bash
# The r-build corpus job: copy the sources to a scratch directory, build with make (gcc), run the
# program on the bundled data, then tar and gzip the results to /tmp/out.tar.gz.
set -euo pipefail

src=/usr/src/textstats
work=$(mktemp -d /tmp/build.XXXXXX)
cp -a "$src/." "$work/"
cd "$work"
echo "build: make in $work"
make -j1 CFLAGS="-O2 -Wall -Wextra"
mkdir -p out
./textstats data/*.txt >out/report.txt
./textstats --json data/*.txt >out/report.json
cp textstats out/
echo "build: $(wc -l <out/report.txt) report lines"
tar -cf /tmp/out.tar -C out .
gzip -9 -f /tmp/out.tar
tar -tzf /tmp/out.tar.gz
echo "ready: build finished, /tmp/out.tar.gz written"
