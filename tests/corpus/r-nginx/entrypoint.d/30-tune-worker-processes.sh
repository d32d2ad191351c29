#!/bin/sh
# Start-up script: set worker_processes to the CPUs the container may use (its CFS quota, from
# cgroup v2 cpu.max or v1 cpu.cfs_quota_us; otherwise the online CPUs), rewriting nginx.conf.
set -eu
conf=/etc/nginx/nginx.conf
cpus=$(nproc)
quota=""
if [ -r /sys/fs/cgroup/cpu.max ]; then
	quota=$(awk '$1 != "max" { printf "%d", ($1 + $2 - 1) / $2 }' /sys/fs/cgroup/cpu.max)
elif [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] && [ -r /sys/fs/cgroup/cpu/cpu.cfs_period_us ]; then
	quota=$(awk -v q="$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)" -v p="$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)" \
		'BEGIN { if (q > 0 && p > 0) printf "%d", (q + p - 1) / p }')
fi
if [ -n "$quota" ] && [ "$quota" -gt 0 ] && [ "$quota" -lt "$cpus" ]; then
	cpus=$quota
fi
current=$(awk '$1 == "worker_processes" { gsub(/;/, "", $2); print $2; exit }' "$conf")
if [ "$current" = "$cpus" ]; then
	exit 0
fi
sed -i.bak "s/^\([[:space:]]*worker_processes\)[[:space:]][^;]*;/\1 $cpus;/" "$conf"
echo "$0: worker_processes $current -> $cpus"
