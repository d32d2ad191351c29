#!/bin/sh
# Entrypoint of the r-node corpus image, in the manner of the official node image: a first argument
# that is an option or a script file is given to node. With node as the command, the readiness
# probe is started first.
set -eu

probe() {
	i=0
	while [ "$i" -lt 100 ]; do
		if curl -fsS -o /dev/null http://127.0.0.1:3000/healthz 2>/dev/null; then
			echo "ready: node answered GET /healthz with 200"
			return 0
		fi
		i=$((i + 1))
		sleep 0.2
	done
	echo "probe: node did not answer within 20 s" >&2
}

case "${1:-}" in
-*) set -- node "$@" ;;
*.js | *.mjs | *.cjs) if [ -f "$1" ]; then set -- node "$@"; fi ;;
esac
if [ "${1:-}" = node ]; then
	{ probe || true; } &
fi
exec "$@"
