#!/bin/sh
# Start-up script: print the environment the server starts with (secrets would not belong here).
set -eu
echo "$0: environment:"
env | sort | sed 's/^/    /'
