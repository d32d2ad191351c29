#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): masquerading (T1036.*), obfuscation (T1027.*),
# hidden files (T1564.001) and system binary proxy execution (T1218). Every program "run" from a
# disguised name is a copy of busybox, which only answers "applet not found"; stubs stand in for
# upx, openssl, gpg and useradd. No network is used at all.
echo "[corpus] evasion-masquerade starting"
/bin/mkdir -p /tmp/.sys /var/lib/.sys

# T1036.003 renamed utility, T1036.004 daemon name from a writable dir: busybox as "sshd"
/bin/cp /bin/busybox /tmp/.sys/sshd
/tmp/.sys/sshd -D 2>/dev/null
/bin/ln -s /bin/busybox /var/tmp/kthreadd
/var/tmp/kthreadd 2>/dev/null

# T1036.004 task renamed like a kernel thread (prctl), argv[0] "[kworker/u8:2]"
/opt/tools/renamer 2>/dev/null

# T1036.005 hidden program among system programs, a "library" that is a program
/bin/cp /bin/busybox /usr/bin/.dbus-helper
/usr/bin/.dbus-helper 2>/dev/null
/bin/cp /bin/busybox /tmp/stage
/bin/mv /tmp/stage /usr/sbin/.cron
/bin/cp /bin/busybox /usr/local/lib/libsystemd-shared.so.2
/usr/local/lib/libsystemd-shared.so.2 2>/dev/null

# T1036.006 space after the file name
/bin/cp /bin/busybox "/tmp/invoice.txt "
"/tmp/invoice.txt " 2>/dev/null

# T1036.008 document and image file types
/bin/cp /bin/busybox /tmp/logo.png
/tmp/logo.png 2>/dev/null
printf '#!/bin/sh\necho "[corpus] the jpg ran as a script"\n' > /tmp/notes.jpg
/bin/sh /tmp/notes.jpg

# T1036.002 right-to-left override: "report<RLO>fdp.sh" displays as "reporths.pdf"
rlo=$(printf '\342\200\256')
f="/tmp/report${rlo}fdp.sh"
printf '#!/bin/sh\necho "[corpus] the RLO script ran"\n' > "$f"
/bin/chmod +x "$f"
"$f"
/bin/mv "$f" "/tmp/invoice${rlo}fdp.sh"

# T1036.010 account name imitating root (useradd is a stub)
/usr/sbin/useradd -M -s /bin/sh r00t 2>/dev/null

# T1036.009 the payload detached into a session of its own
/bin/setsid -f /tmp/.sys/sshd 2>/dev/null

# T1027.001 binary padding, then the padded program run
/bin/cp /bin/busybox /tmp/upd
/bin/head -c 2048 /dev/urandom >> /tmp/upd
/tmp/upd 2>/dev/null
/bin/dd if=/dev/zero of=/tmp/upd bs=512 count=1 oflag=append conv=notrunc 2>/dev/null

# T1027.002 software packing (upx is a stub)
/usr/bin/upx -9 -q -o /tmp/upd.packed /tmp/upd 2>/dev/null

# T1027.004 compile after delivery: source dropped in a hidden temp dir, built, run
printf 'int main(void) { return 0; }\n' > /tmp/.sys/k.c
/usr/bin/tcc -o /tmp/.sys/k /tmp/.sys/k.c
/tmp/.sys/k 2>/dev/null

# T1218 shells through trusted utilities (stdin is empty: each shell exits at once)
/bin/find /tmp -maxdepth 0 -exec /bin/sh \; < /dev/null
/bin/awk 'BEGIN { system("/bin/sh") }' < /dev/null
/bin/tar -cf /dev/null /tmp/notes.jpg --checkpoint=1 --checkpoint-action=exec=/bin/sh 2>/dev/null

# T1027.013 encrypted payload decrypted (openssl and gpg are stubs; busybox unzip refuses -P)
/usr/bin/openssl enc -d -aes-256-cbc -pbkdf2 -in /tmp/.sys/p.enc -out /tmp/.sys/p -k corpus 2>/dev/null
/usr/bin/gpg --batch --passphrase corpus -d /tmp/.sys/p.gpg 2>/dev/null
/bin/unzip -P corpus /tmp/.sys/p.zip 2>/dev/null

# T1027.010 command obfuscation
/bin/sh -c 'cat${IFS}/etc/hostname'
/bin/sh -c "eval \"\$(echo 'imaohw' | rev)\""
/bin/sh -c "w''h''o''am''i"

# T1027.011 fileless storage in /dev/shm
/bin/cp /bin/busybox /dev/shm/.k 2>/dev/null
/dev/shm/.k 2>/dev/null
printf 'echo "[corpus] script from /dev/shm ran"\n' > /dev/shm/s 2>/dev/null
/bin/sh /dev/shm/s 2>/dev/null

# T1564.001 hidden files and directories
/bin/mkdir "/tmp/..." "/var/tmp/. "
/bin/cp /bin/busybox /var/lib/.sys/upd
/var/lib/.sys/upd 2>/dev/null

echo "[corpus] evasion-masquerade done"
exit 0
