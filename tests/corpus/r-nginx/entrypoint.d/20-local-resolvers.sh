#!/bin/sh
# Start-up script: turn the name servers of /etc/resolv.conf into an nginx "resolver" directive
# (conf.d/resolvers.conf), so that upstream names could be resolved at run time. IPv6 addresses
# are bracketed; with no name server nothing is written.
set -eu
out=/etc/nginx/conf.d/resolvers.conf
servers=$(awk '
	$1 == "nameserver" && NF >= 2 {
		addr = $2
		sub(/%.*/, "", addr)          # drop an IPv6 zone
		if (addr ~ /:/) addr = "[" addr "]"
		list = list (list == "" ? "" : " ") addr
	}
	END { print list }
' /etc/resolv.conf 2>/dev/null || true)
if [ -z "$servers" ]; then
	echo "$0: no name server in /etc/resolv.conf, no resolver configured"
	rm -f "$out"
	exit 0
fi
printf '# written at start-up from /etc/resolv.conf\nresolver %s valid=30s ipv6=off;\n' "$servers" >"$out"
echo "$0: resolver $servers"
