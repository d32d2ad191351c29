#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): identities that only prctl(PR_SET_NAME) shows.
# busybox's shell runs insmod as an applet in a forked copy of itself, without exec (T1547.006;
# the module file does not exist and the sandbox could not load it anyway), and a program
# disguises itself as a kernel worker thread (T1036.004).
insmod /tmp/.rk.ko 2>/dev/null
/usr/local/bin/disguise
echo "[corpus] applets done"
