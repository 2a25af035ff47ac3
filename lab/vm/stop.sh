#!/usr/bin/env bash
# Stop the svclab VM: poweroff over SSH, then, after a bounded wait, end the qemu process
# recorded in OUT_DIR/qemu.pid (and only that one).
#
# usage: lab/vm/stop.sh [OUT_DIR]              (default /root/.cache/svclab/vm)
# env:   SVCLAB_VM_STOP_TIMEOUT (60 s)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/vm/common.sh
source "$here/common.sh" "${1:-}"
TIMEOUT=${SVCLAB_VM_STOP_TIMEOUT:-60}

if ! pid=$(vm_pid); then
  say "no VM runs from $VM_OUT; nothing to stop"
  rm -f "$VM_PIDFILE" "$VM_OUT/qmp.sock"
  exit 0
fi
t0=$(date +%s)
say "powering off the VM (qemu pid $pid) over SSH"
vm_ssh 'systemctl poweroff --no-block' 2>/dev/null || say "SSH poweroff did not go through; will end qemu"
deadline=$(( t0 + TIMEOUT ))
while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 1; done
if kill -0 "$pid" 2>/dev/null; then
  say "still running after $TIMEOUT s; sending SIGTERM to qemu pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 10); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then
    say "sending SIGKILL to qemu pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
  fi
fi
rm -f "$VM_PIDFILE" "$VM_OUT/qmp.sock"
say "stopped in $(( $(date +%s) - t0 )) s"
