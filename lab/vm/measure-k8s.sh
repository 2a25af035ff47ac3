#!/usr/bin/env bash
# Measure what Kubernetes' own Go binaries cost inside the VM (TCG emulation) against the same
# binaries on the host, to size the two shapes of issue 6:
#   host and guest: etcd + kube-apiserver from start to ready (a control plane's core);
#   guest only:     kube-proxy in IPVS mode from start to its first virtual server (the
#                   `kubernetes` ClusterIP), then one new Service (ClusterIP + NodePort +
#                   externalIP) from `kubectl create` to its IPVS virtual servers.
# The host never runs kube-proxy (it would write the host's iptables). Every listener is on
# 127.0.0.1 (etcd 12379/12380, kube-apiserver 16443); nothing leaves the machine or the VM.
#
# usage: lab/vm/measure-k8s.sh [OUT_DIR]        (the VM must be up: lab/vm/boot.sh)
# env:   SVCLAB_K8S_BIN (/root/.cache/svclab/k8s-v1.35.4), SVCLAB_ETCD_BIN (/root/.cache/svclab/bin/etcd)
# Results (key=value) go to OUT_DIR/measure-k8s.result.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/vm/common.sh
source "$here/common.sh" "${1:-}"
BIN=${SVCLAB_K8S_BIN:-/root/.cache/svclab/k8s-v1.35.4}
ETCD=${SVCLAB_ETCD_BIN:-/root/.cache/svclab/bin/etcd}

pid=$(vm_pid) || die "no VM runs from $VM_OUT; start it: lab/vm/boot.sh $VM_OUT"
for b in "$BIN/kube-apiserver" "$BIN/kube-proxy" "$BIN/kubectl" "$ETCD"; do
  [ -x "$b" ] || die "$b is missing; build it first: python -m svclab.images"
done
for p in 12379 12380 16443; do
  ! ss -Hltn "sport = :$p" | grep -q . || die "host port 127.0.0.1:$p is taken; cannot measure on the host"
done
result="$VM_OUT/measure-k8s.result"
: >"$result"

stage=$(mktemp -d /tmp/svclab-vm-k8s.XXXXXX)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/k8s"
ln -s "$BIN/kube-apiserver" "$BIN/kube-proxy" "$BIN/kubectl" "$ETCD" "$stage/k8s/"
openssl genrsa -out "$stage/k8s/sa.key" 2048 2>/dev/null
openssl rsa -in "$stage/k8s/sa.key" -pubout -out "$stage/k8s/sa.pub" 2>/dev/null
echo 'svclab-measure-token,admin,admin,system:masters' >"$stage/k8s/tokens.csv"
cat >"$stage/k8s/run.sh" <<'RUN'
# run.sh WORKDIR ADVERTISE_IP MODE(apiserver|full): prints key=value lines
set -euo pipefail
W=$1 ADV=$2 MODE=$3
cd "$W"
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
rss() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status"; }
waitfor() {  # waitfor SECONDS CMD...: poll CMD every 0.5 s
  local end=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.5
  done
}
fail() { echo "FAILED: $1" >&2; tail -20 "$2" >&2; exit 1; }
rm -rf etcd-data certs
cat >kubeconfig <<KC
apiVersion: v1
kind: Config
clusters: [{name: m, cluster: {server: "https://127.0.0.1:16443", insecure-skip-tls-verify: true}}]
users: [{name: m, user: {token: svclab-measure-token}}]
contexts: [{name: m, context: {cluster: m, user: m}}]
current-context: m
KC
k() { ./kubectl --kubeconfig kubeconfig "$@"; }

t0=$(now)
./etcd --name default --data-dir etcd-data \
  --listen-client-urls http://127.0.0.1:12379 --advertise-client-urls http://127.0.0.1:12379 \
  --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
  --initial-cluster default=http://127.0.0.1:12380 >etcd.log 2>&1 &
pids+=($!); etcd_pid=$!
waitfor 300 curl -fsS http://127.0.0.1:12379/health || fail "etcd not healthy" etcd.log
echo "etcd_ready_s=$(since "$t0")"
t1=$(now)
./kube-apiserver --etcd-servers=http://127.0.0.1:12379 \
  --bind-address=127.0.0.1 --advertise-address="$ADV" --secure-port=16443 --cert-dir="$W/certs" \
  --service-cluster-ip-range=10.96.0.0/16 --service-node-port-range=30000-32767 \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$W/sa.pub" --service-account-signing-key-file="$W/sa.key" \
  --token-auth-file="$W/tokens.csv" --authorization-mode=AlwaysAllow >apiserver.log 2>&1 &
pids+=($!); api_pid=$!
waitfor 900 curl -fsSk -H 'Authorization: Bearer svclab-measure-token' https://127.0.0.1:16443/readyz \
  || fail "kube-apiserver not ready" apiserver.log
echo "apiserver_ready_s=$(since "$t1")"
t=$(now); k get --raw /version >/dev/null; echo "kubectl_get_version_s=$(since "$t")"
sleep 5
echo "apiserver_rss_mib=$(rss "$api_pid")"
echo "etcd_rss_mib=$(rss "$etcd_pid")"
[ "$MODE" = full ] || exit 0

# kube-proxy in IPVS mode; its Node first, with the VM's address, as a kubelet would register it.
k create -f - >/dev/null <<NODE
apiVersion: v1
kind: Node
metadata: {name: svclab-vm, labels: {kubernetes.io/hostname: svclab-vm}}
NODE
k patch node svclab-vm --subresource=status --type=merge \
  -p "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$ADV\"}]}}" >/dev/null
t2=$(now)
./kube-proxy --kubeconfig kubeconfig --proxy-mode ipvs --ipvs-scheduler rr \
  --hostname-override svclab-vm --cluster-cidr 10.244.0.0/16 \
  --metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256 >kube-proxy.log 2>&1 &
pids+=($!); kp_pid=$!
waitfor 600 sh -c 'ipvsadm -Ln | grep -q "^TCP  10.96.0.1:443 rr"' || fail "no IPVS virtual server for 10.96.0.1:443" kube-proxy.log
echo "kube_proxy_first_vs_s=$(since "$t2")"
ip -br addr show kube-ipvs0 >&2

t3=$(now)
k create -f - >/dev/null <<SVC
apiVersion: v1
kind: Service
metadata: {name: demo, namespace: default}
spec:
  type: NodePort
  selector: {app: demo}
  externalIPs: [10.1.2.10]
  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
SVC
cip=$(k get svc demo -o jsonpath='{.spec.clusterIP}')
np=$(k get svc demo -o jsonpath='{.spec.ports[0].nodePort}')
want() { ipvsadm -Ln | grep -q "^TCP  $cip:80 rr" && ipvsadm -Ln | grep -q "^TCP  $ADV:$np rr" \
  && ipvsadm -Ln | grep -q "^TCP  10.1.2.10:80 rr"; }
waitfor 300 want || fail "Service demo ($cip:80, NodePort $np, externalIP) not in IPVS" kube-proxy.log
echo "service_create_to_ipvs_s=$(since "$t3")"
ipvsadm -Ln >&2
ip -br addr show kube-ipvs0 >&2
echo "kube_proxy_rss_mib=$(rss "$kp_pid")"
RUN

say "--- host: etcd + kube-apiserver ---"
mkdir "$stage/host"
cp -P "$stage"/k8s/* "$stage/host/"
bash "$stage/k8s/run.sh" "$stage/host" 127.0.0.1 apiserver | sed 's/^/host_/' | tee -a "$result"

say "--- copying binaries into the VM (tar over SSH) ---"
t=$(date +%s.%N)
tar -C "$stage/k8s" -chf - . | vm_ssh 'rm -rf /root/k8s && mkdir -p /root/k8s && tar -C /root/k8s -xf -'
echo "copy_binaries_s=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" | tee -a "$result"
echo "copy_binaries_mib=$(du -L -cm "$stage"/k8s/* | awk 'END { print $1 }')" | tee -a "$result"

say "--- guest: etcd + kube-apiserver + kube-proxy (IPVS) ---"
vm_ssh 'bash /root/k8s/run.sh /root/k8s 10.0.2.15 full' | sed 's/^/guest_/' | tee -a "$result"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0) ? a / b : 0 }'; }
g=$(awk -F= '$1 == "guest_apiserver_ready_s" { print $2 }' "$result")
h=$(awk -F= '$1 == "host_apiserver_ready_s" { print $2 }' "$result")
echo "apiserver_ready_slowdown=$(ratio "$g" "$h")" | tee -a "$result"
say "done; results in $result"
