#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): T1560.002 Archive via Library. The user's
# (fake) documents are packed three ways without an archiving program, then deleted.
set -u
mkdir -p /tmp/.c
python3 -m zipfile -c /tmp/.c/docs.zip /home/alice/Documents
python3 -c "import tarfile; t = tarfile.open('/tmp/.c/home.tgz', 'w:gz'); t.add('/home/alice'); t.close()"
perl -MArchive::Tar -e "Archive::Tar->create_archive('/tmp/.c/docs.tar', 0, glob('/home/alice/Documents/*'))"
ls -l /tmp/.c
rm -rf /tmp/.c
echo "[corpus] archive via library done"
