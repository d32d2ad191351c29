#!/bin/sh
# Entrypoint of the r-redis corpus image, in the manner of the official redis image: as root, give
# whatever in /data is not the redis user's to it and re-run this script as redis through gosu; as
# redis, start the readiness probe and exec the server.
set -eu

probe() {
	i=0
	while [ "$i" -lt 100 ]; do
		if [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; then
			redis-cli -h 127.0.0.1 -p 6379 set corpus:started "$(date +%s)" >/dev/null 2>&1 || true
			echo "ready: redis answered PING with PONG"
			return 0
		fi
		i=$((i + 1))
		sleep 0.2
	done
	echo "probe: redis did not answer within 20 s" >&2
}

# A first argument that is an option or a .conf file is for redis-server.
case "${1:-}" in
-* | *.conf) set -- redis-server "$@" ;;
esac

if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
	find /data \! -user redis -exec chown redis:redis '{}' +
	exec gosu redis "$0" "$@"
fi

if [ "${1:-}" = redis-server ]; then
	umask 0077
	{ probe || true; } &
fi
exec "$@"
