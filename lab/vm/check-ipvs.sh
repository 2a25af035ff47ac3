#!/usr/bin/env bash
# Prove the running VM has a working IPVS data plane, and measure the emulation slowdown.
#
# usage: lab/vm/check-ipvs.sh [OUT_DIR]        (the VM must be up: lab/vm/boot.sh)
# It adds dummy virtual servers (10.1.2.3:80 -> 10.1.2.4:80, masquerade) in the guest's IPVS
# table, lists them and deletes them again: a table entry only, nothing is ever contacted.
# Results (key=value) are also written to OUT_DIR/check-ipvs.result.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/vm/common.sh
source "$here/common.sh" "${1:-}"

pid=$(vm_pid) || die "no VM runs from $VM_OUT; start it: lab/vm/boot.sh $VM_OUT"
vm_ssh true || die "the VM (pid $pid) does not answer SSH on 127.0.0.1:$VM_SSH_PORT"
result="$VM_OUT/check-ipvs.result"
: >"$result"
rec() { echo "$1=$2" >>"$result"; say "$1 = $2"; }

say "--- IPVS in the guest ---"
vm_ssh bash -s <<'GUEST'
set -euo pipefail
vs=10.1.2.3:80
cleanup() { ipvsadm -D -t "$vs" 2>/dev/null || true; }
trap cleanup EXIT
echo "# uname -r: $(uname -r)"
echo "# lsmod | grep ip_vs"
lsmod | grep ip_vs
echo "# ipvsadm -A -t $vs -s rr && ipvsadm -a -t $vs -r 10.1.2.4:80 -m && ipvsadm -Ln"
ipvsadm -A -t "$vs" -s rr
ipvsadm -a -t "$vs" -r 10.1.2.4:80 -m
ipvsadm -Ln
ipvsadm -Ln | grep -q 'TCP  10.1.2.3:80 rr' || { echo "virtual server missing" >&2; exit 1; }
ipvsadm -Ln | grep -q -- '-> 10.1.2.4:80 *Masq' || { echo "real server missing" >&2; exit 1; }
echo "# cat /proc/net/ip_vs"
cat /proc/net/ip_vs
ipvsadm -D -t "$vs"
echo "# every scheduler the seeds list (plus wrr): add, read back, delete"
for s in rr wrr lc dh sh sed nq; do
  ipvsadm -A -t "$vs" -s "$s"
  ipvsadm -a -t "$vs" -r 10.1.2.4:80 -m
  got=$(ipvsadm -Ln | awk '$1 == "TCP" && $2 == "10.1.2.3:80" {print $3}')
  ipvsadm -D -t "$vs"
  [ "$got" = "$s" ] || { echo "scheduler $s: ipvsadm shows '$got'" >&2; exit 1; }
  printf '%s ok  ' "$s"
done
echo
[ -z "$(ipvsadm -Ln | awk '$1 == "TCP" || $1 == "UDP"')" ] || { echo "IPVS table not empty" >&2; exit 1; }
echo "# ipvsadm -Ln after cleanup"; ipvsadm -Ln
echo "# network: links and routes (only the qemu link, no default route)"
ip -br link; ip route
if ip route | grep -q '^default'; then echo "guest has a default route" >&2; exit 1; fi
GUEST
rec ipvs ok
rec ipvs_schedulers "rr wrr lc dh sh sed nq"

say "--- emulation slowdown (best of 3; bash in the guest vs bash on the host) ---"
bench() {  # prints "<seconds for 100x /bin/true> <seconds for a 200000-step shell loop>"
  cat <<'B'
TIMEFORMAT=%R
best() { local b=999 t; for _ in 1 2 3; do t=$( { time "$@" >/dev/null; } 2>&1 ); b=$(awk -v a="$b" -v c="$t" 'BEGIN{print (c<a)?c:a}'); done; echo "$b"; }
spawn() { for _ in $(seq 1 100); do /bin/true; done; }
loop() { for _ in $(seq 1 200000); do :; done; }
echo "$(best spawn) $(best loop)"
B
}
read -r g_spawn g_loop < <(bench | vm_ssh bash -s)
read -r h_spawn h_loop < <(bench | bash -s)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0) ? a / b : 0 }'; }
rec true_x100_guest_s "$g_spawn"
rec true_x100_host_s "$h_spawn"
rec true_x100_slowdown "$(ratio "$g_spawn" "$h_spawn")"
rec loop_200k_guest_s "$g_loop"
rec loop_200k_host_s "$h_loop"
rec loop_200k_slowdown "$(ratio "$g_loop" "$h_loop")"

say "--- memory ---"
read -r g_total g_used < <(vm_ssh "free -m | awk '/^Mem:/ {print \$2, \$3}'")
rec guest_mem_total_mib "$g_total"
rec guest_mem_used_mib "$g_used"
rec qemu_rss_mib "$(awk '/^VmRSS:/ {printf "%d", $2/1024}' "/proc/$pid/status")"
[ -s "$VM_OUT/boot-to-ssh.seconds" ] && rec boot_to_ssh_s "$(cat "$VM_OUT/boot-to-ssh.seconds")"
say "all checks passed; results in $result"
