#!/bin/bash
# One node of svclab's Vagrant lab, provisioned by Vagrant's shell provisioner as root. Every
# step checks before it acts, so `vagrant provision` runs it again safely. The Vagrantfile
# passes the settings as environment variables. Nothing is downloaded: svclab's box holds
# every binary and image; a RHEL-family box must bring its OS packages and get svclab's
# binaries and images from a payload (untested here: no such box is reachable on svclab's CI).
set -euo pipefail

say() { echo "svclab-provision ($NODE_NAME): $*"; }
fail() { echo "svclab-provision ($NODE_NAME) failed: $*" >&2; exit 1; }  # svclab quotes it

if [ -f /etc/redhat-release ]; then family=el; elif [ -f /etc/debian_version ]; then family=debian; else family=other; fi
[ "$family" != other ] || fail "this box is neither Debian nor RHEL-family; svclab provisions only those."

# -- what a node needs before Kubernetes: SELinux and firewalld (EL), modules, sysctls, no swap
if [ "$family" = el ]; then
  if command -v setenforce >/dev/null && [ "$(getenforce)" = Enforcing ]; then
    setenforce 0
    sed -i 's/^SELINUX=enforcing/SELINUX=permissive/' /etc/selinux/config
  fi
  if systemctl is-enabled firewalld >/dev/null 2>&1; then systemctl disable --now firewalld; fi
fi
missing=""
for cmd in kubeadm kubelet kubectl containerd ipvsadm ip; do
  command -v "$cmd" >/dev/null || missing="$missing $cmd"
done
[ -z "$missing" ] || fail "the box lacks:$missing (svclab's box has them; a RHEL-family box needs them installed, svclab downloads nothing)."

modules=(overlay br_netfilter nf_conntrack ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_sh
         ip_vs_dh ip_vs_sed ip_vs_nq)
printf '%s\n' "${modules[@]}" > /etc/modules-load.d/svclab.conf
for m in "${modules[@]}"; do modprobe "$m"; done
cat > /etc/sysctl.d/90-svclab.conf <<EOF
net.ipv4.ip_forward = 1
net.bridge.bridge-nf-call-iptables = 1
EOF
sysctl -q --system
swapoff -a

# -- the lab NIC (found by its MAC), its address kept across boots, and the lab's names
nic=$(ip -o link | awk -F': ' -v mac="$LAB_MAC" 'tolower($0) ~ mac {print $2; exit}')
[ -n "$nic" ] || fail "no NIC with the lab MAC $LAB_MAC."
ip addr replace "$NODE_IP/$LAB_PREFIX" dev "$nic"
ip link set "$nic" up
if [ -d /etc/systemd/network ] && systemctl is-enabled systemd-networkd >/dev/null 2>&1; then
  printf '[Match]\nMACAddress=%s\n\n[Network]\nAddress=%s/%s\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' \
    "$LAB_MAC" "$NODE_IP" "$LAB_PREFIX" > /etc/systemd/network/20-svclab-lab.network
elif command -v nmcli >/dev/null; then
  nmcli -t -f NAME con show | grep -qx svclab-lab || nmcli con add type ethernet con-name svclab-lab ifname "$nic" \
    ipv4.method manual ipv4.addresses "$NODE_IP/$LAB_PREFIX" ipv6.method disabled >/dev/null
fi
{
  printf '127.0.0.1\tlocalhost\n'
  echo "$HOSTS" | tr ',' '\n' | awk '{printf "%s\t%s\n", $1, $2}'
} > /etc/hosts

systemctl enable --now containerd >/dev/null 2>&1
systemctl enable kubelet >/dev/null 2>&1

registration() {  # nodeRegistration shared by init and join
  cat <<EOF
nodeRegistration:
  name: $NODE_NAME
  criSocket: unix:///run/containerd/containerd.sock
  kubeletExtraArgs:
  - name: node-ip
    value: "$NODE_IP"
EOF
}

if [ "$ROLE" = master ]; then
  if [ -f /etc/kubernetes/admin.conf ]; then
    say "kubeadm init ran before: the control plane is kept"
  else
    mkdir -p /etc/svclab
    {
      cat <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: "$NODE_IP"
bootstrapTokens:
- token: "$TOKEN"
  ttl: 24h0m0s
  usages: [signing, authentication]
  groups: [system:bootstrappers:kubeadm:default-node-token]
skipPhases:  # svclab installs its own CoreDNS (no forwarding) with its add-ons; nothing to pull
- preflight
- addon/coredns
timeouts:  # kubeadm's defaults (4 min) assume real CPUs; these machines may run under emulation
  controlPlaneComponentHealthCheck: 20m0s
  kubeletHealthCheck: 20m0s
  kubernetesAPICall: 5m0s
  etcdAPICall: 5m0s
EOF
      registration
      cat <<EOF
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: "$KUBERNETES_VERSION"
imageRepository: "$IMAGE_REPOSITORY"
controlPlaneEndpoint: "$MASTER_IP:6443"
apiServer:
  certSANs: ["$MASTER_IP"]
etcd:
  local:
    imageTag: "$ETCD_TAG"
networking:
  podSubnet: "$POD_SUBNET"
  serviceSubnet: "$SERVICE_SUBNET"
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: "$PROXY_MODE"
ipvs:
  scheduler: "$IPVS_SCHEDULER"
  strictARP: true
EOF
    } > /etc/svclab/kubeadm.yaml
    say "kubeadm init (kube-proxy $PROXY_MODE, scheduler $IPVS_SCHEDULER)"
    kubeadm init --config /etc/svclab/kubeadm.yaml
  fi
  if [ -n "${ADDONS:-}" ]; then
    say "applying svclab's lab add-ons"
    kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f "$ADDONS"
  fi
else
  if [ -f /etc/kubernetes/kubelet.conf ]; then
    say "joined before: kept"
  else
    # the master may still be coming up (machines are brought up in parallel): a bounded wait for
    # its API port (bash's /dev/tcp: svclab's box has no curl); kubeadm join retries discovery too
    for _ in $(seq 1 240); do
      timeout 5 bash -c "exec 3<>/dev/tcp/$MASTER_IP/6443" 2>/dev/null && break
      sleep 5
    done
    mkdir -p /etc/svclab
    {
      cat <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: "$MASTER_IP:6443"
    token: "$TOKEN"
    unsafeSkipCAVerification: true  # a lab on its own isolated network; the token is per lab
skipPhases: [preflight]
timeouts:  # the master may still be starting under emulation when a worker is ready to join
  discovery: 20m0s
  tlsBootstrap: 20m0s
  kubernetesAPICall: 5m0s
EOF
      registration
    } > /etc/svclab/join.yaml
    say "kubeadm join $MASTER_IP:6443"
    kubeadm join --config /etc/svclab/join.yaml
  fi
fi
