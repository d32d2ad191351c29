#!/bin/sh
# MALICIOUS-behaviour corpus sample (harmless): after finding cloud keys and a mounted runtime
# socket, a sample maps the container host, the cluster, the cloud account and the directory.
# Every CLI is a do-nothing busybox symlink; names are under .test, addresses are documentation
# ranges (192.0.2.0/24) or 127.0.0.1.
q() { "$@" >/dev/null 2>&1 || true; }
B=/usr/local/bin

# am I in a container, which pod and namespace (T1613)
q /bin/ls -la /.dockerenv
q /bin/cat /proc/1/cgroup
q /bin/ls /var/run/secrets/kubernetes.io/serviceaccount
q /bin/cat /var/run/secrets/kubernetes.io/serviceaccount/namespace
# the other containers and the cluster (T1613)
q $B/docker -H unix:///var/run/docker.sock ps -a
q $B/crictl pods
q $B/kubectl get pods -A -o wide
q $B/kubectl auth can-i --list
q /bin/wget -q -T 1 -O- http://127.0.0.1:10255/pods
# the cloud account: identities, groups, services, machines, storage (T1087.004, T1069.003,
# T1526, T1580, T1619)
q $B/aws sts get-caller-identity
q $B/aws iam list-users
q $B/aws iam list-groups
q $B/gcloud iam service-accounts list
q $B/az ad group list
q $B/aws lambda list-functions --region us-east-1
q $B/gcloud services list --enabled
q $B/az resource list
q $B/aws ec2 describe-instances --region us-east-1
q $B/gcloud compute instances list
q $B/az vm list -d
q $B/aws s3 ls s3://backups.example.test/ --recursive
q $B/gsutil ls -r gs://exports.example.test
q $B/rclone lsd remote:
# where the public address is located (T1614)
q $B/curl -s https://ipinfo.io/json
# the directory: users and groups (T1087.002, T1069.002)
q $B/ldapsearch -x -H ldap://dc1.corp.example.test -b dc=corp,dc=example,dc=test '(objectClass=user)' sAMAccountName
q $B/ldapsearch -x -H ldap://dc1.corp.example.test -b dc=corp,dc=example,dc=test '(&(objectClass=group)(cn=Domain Admins))' member
q $B/wbinfo -u
# hosts and services of the network (T1018, T1046)
q $B/nmap -sn 192.0.2.0/24
q $B/nmap -sV -p 22,443,2375,6443,10250 192.0.2.10
# virtual machines on a hypervisor host (T1673)
q $B/virsh -c qemu:///system list --all
q $B/VBoxManage list runningvms
echo "[corpus] cloud discovery done"
