#!/usr/bin/env bash
# Measure loading the offline image factory's images into the VM's containerd without a
# registry: `docker save` on the host, streamed over SSH into `ctr -n k8s.io images import`
# (which also unpacks). Read-only on the host's Docker: it only saves images.
#
# usage: lab/vm/measure-image-load.sh [OUT_DIR] [IMAGE...]
#        (default images: pause, kube-proxy, node; the VM must be up, built with
#         SVCLAB_VM_EXTRA_PACKAGES="containerd runc" and a disk big enough, e.g. SVCLAB_VM_DISK_SIZE=12G)
# Results (key=value) go to OUT_DIR/measure-image-load.result.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/vm/common.sh
source "$here/common.sh" "${1:-}"
shift || true
images=("$@")
[ ${#images[@]} -gt 0 ] || images=(svclab.local/pause:3.10.1 svclab.local/kube-proxy:v1.35.4 svclab.local/node:v1.35.4)

pid=$(vm_pid) || die "no VM runs from $VM_OUT; start it: lab/vm/boot.sh $VM_OUT"
vm_ssh 'command -v ctr >/dev/null && systemctl is-active -q containerd' \
  || die "no running containerd in the VM; build with SVCLAB_VM_EXTRA_PACKAGES=\"containerd runc\""
result="$VM_OUT/measure-image-load.result"
: >"$result"
rec() { echo "$1=$2" | tee -a "$result"; }

for img in "${images[@]}"; do
  docker image inspect "$img" >/dev/null 2>&1 || die "no image $img on the host (python -m svclab.images)"
  key=$(echo "$img" | sed 's|.*/||; s|[:.-]|_|g')
  mib=$(( $(docker image inspect -f '{{.Size}}' "$img") / 1048576 ))
  t=$(date +%s.%N)
  docker save "$img" | vm_ssh 'ctr -n k8s.io images import --all-platforms - >/dev/null'
  rec "${key}_mib" "$mib"
  rec "${key}_import_s" "$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
done
vm_ssh 'ctr -n k8s.io images ls -q; df -m / | tail -1' | sed 's/^/  guest: /'
rec guest_disk_used_mib "$(vm_ssh "df -m / | awk 'NR == 2 { print \$3 }'")"
