# shellcheck shell=bash disable=SC2034,SC2029
# Shared settings for lab/vm/*.sh (sourced, not run).
# The VM owns a Debian kernel with ip_vs; it is driven over SSH on 127.0.0.1 only.
VM_OUT=${1:-${SVCLAB_VM_DIR:-/root/.cache/svclab/vm}}
VM_SSH_PORT=${SVCLAB_VM_SSH_PORT:-2222}
VM_KEY="$VM_OUT/id_ed25519"
VM_PIDFILE="$VM_OUT/qemu.pid"
VM_CONSOLE="$VM_OUT/console.log"
VM_SSH_OPTS=(-i "$VM_KEY" -p "$VM_SSH_PORT"
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
  -o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=5 -o ServerAliveCountMax=6)

say() { printf '%s: %s\n' "$(basename "$0" .sh)" "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }

vm_ssh() { ssh "${VM_SSH_OPTS[@]}" root@127.0.0.1 "$@"; }

vm_pid() {  # prints the pid of a running VM started by boot.sh, or fails
  [ -s "$VM_PIDFILE" ] || return 1
  local pid; pid=$(cat "$VM_PIDFILE")
  kill -0 "$pid" 2>/dev/null || return 1
  grep -q qemu-system "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}
