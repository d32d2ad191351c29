#!/bin/sh
# Deobfuscate/decode and run (T1140). The payloads only echo.
# "echo \"[corpus] stage one\"" in base64:
echo 'ZWNobyAiW2NvcnB1c10gc3RhZ2Ugb25lIgo=' | /bin/base64 -d | /bin/sh
/bin/sh -c 'echo ZWNobyAiW2NvcnB1c10gc3RhZ2UgdHdvIgo= | base64 -d | sh'
# "echo hi" as hex, through xxd -r -p
echo '6563686f2068690a' | /bin/xxd -r -p | /bin/sh
echo "[corpus] deobfuscation done"
