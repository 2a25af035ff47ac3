#!/usr/bin/env bash
# A cluster svclab did not build, made by hand on this machine, for `svclab run --lab existing:...`
# (issue 14's check): kind with svclab's node image and a config of our own, kube-proxy in
# nftables mode, the pod network (labnet) and a CoreDNS applied by hand, no MetalLB, no lab zone.
#
# Network hygiene, by hand too: the nodes sit on a Docker network of their own with masquerading
# off and a DOCKER-USER rule that drops whatever its bridge would forward elsewhere; the CoreDNS
# applied here answers only cluster.local and forwards nothing.
#   usage: [PROXY_MODE=nftables|iptables|ipvs|none] handmade-cluster.sh up|down
#   (KUBECONFIG written to /tmp/handmade.kubeconfig; PROXY_MODE=none: a cluster with no kube-proxy)
set -euo pipefail
NAME=handmade
NET=handmade
SUBNET=172.30.0.0/24
KIND=${SVCLAB_CACHE:-$HOME/.cache/svclab}/bin/kind
KUBECTL=${SVCLAB_CACHE:-$HOME/.cache/svclab}/k8s-v1.35.4/kubectl
export KUBECONFIG=/tmp/handmade.kubeconfig
IMAGE=svclab.local/node:v1.35.4

bridge() { echo "br-$(docker network inspect -f '{{.Id}}' "$NET" | cut -c1-12)"; }

if [ "${1:-}" = down ]; then
  KIND_EXPERIMENTAL_DOCKER_NETWORK=$NET "$KIND" delete cluster --name "$NAME" || true
  if docker network inspect "$NET" >/dev/null 2>&1; then
    iptables -D DOCKER-USER -i "$(bridge)" ! -o "$(bridge)" -m comment --comment handmade -j DROP || true
    docker network rm "$NET"
  fi
  rm -f "$KUBECONFIG"
  exit 0
fi

docker network inspect "$NET" >/dev/null 2>&1 || docker network create --subnet "$SUBNET" \
  -o com.docker.network.bridge.enable_ip_masquerade=false "$NET"
iptables -C DOCKER-USER -i "$(bridge)" ! -o "$(bridge)" -m comment --comment handmade -j DROP 2>/dev/null \
  || iptables -I DOCKER-USER -i "$(bridge)" ! -o "$(bridge)" -m comment --comment handmade -j DROP

cat > /tmp/handmade-kind.yaml <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  kubeProxyMode: ${PROXY_MODE:-nftables}
  podSubnet: 10.120.0.0/16
  serviceSubnet: 10.140.0.0/16
  disableDefaultCNI: true
nodes:
- role: control-plane
- role: worker
- role: worker
kubeadmConfigPatches:
- |
  kind: InitConfiguration
  skipPhases: [preflight, addon/coredns$([ "${PROXY_MODE:-}" = none ] && echo ", addon/kube-proxy")]
- |
  kind: ClusterConfiguration
  imageRepository: svclab.local
  etcd:
    local:
      imageTag: 3.6.8-0
- |
  kind: KubeletConfiguration
  failCgroupV1: false
YAML
KIND_EXPERIMENTAL_DOCKER_NETWORK=$NET "$KIND" get clusters | grep -qx "$NAME" || \
KIND_EXPERIMENTAL_DOCKER_NETWORK=$NET "$KIND" create cluster --name "$NAME" --image "$IMAGE" \
  --config /tmp/handmade-kind.yaml --kubeconfig "$KUBECONFIG"

# the pod network and a CoreDNS, by hand: svclab's manifests rendered for this cluster's subnets,
# with the lab zone taken out of the Corefile (this cluster has none)
python - <<'PY' > /tmp/handmade-addons.yaml
from dataclasses import replace
from svclab.core.spec import LabSpec
from svclab.labs.addons import LAB_ZONE, addons_manifest
spec = replace(LabSpec(), pod_subnet="10.120.0.0/16", service_subnet="10.140.0.0/16")
text = addons_manifest(spec)
print("\n".join(l for l in text.splitlines() if f"lab.zone {LAB_ZONE}" not in l))
PY
"$KUBECTL" apply -f /tmp/handmade-addons.yaml
if [ "${PROXY_MODE:-}" = none ]; then
  # no kube-proxy, so nothing serves the API's ClusterIP: like a CNI that replaces kube-proxy, the
  # pod network is told the API server's own address
  API=$("$KUBECTL" get node "$NAME-control-plane" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')
  "$KUBECTL" -n kube-system set env daemonset/labnet KUBERNETES_SERVICE_HOST="$API" KUBERNETES_SERVICE_PORT=6443
fi
"$KUBECTL" wait --for=condition=Ready nodes --all --timeout=180s
# (with no kube-proxy nothing reaches the API's ClusterIP, so CoreDNS never gets ready: not waited for)
[ "${PROXY_MODE:-}" = none ] || "$KUBECTL" -n kube-system rollout status deployment/coredns --timeout=180s
