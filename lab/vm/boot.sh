#!/usr/bin/env bash
# Boot the svclab VM headless under qemu (software emulation, TCG) and wait until SSH answers.
#
# usage: lab/vm/boot.sh [OUT_DIR]              (default /root/.cache/svclab/vm)
# env:   SVCLAB_VM_SSH_PORT (2222), SVCLAB_VM_SMP (2), SVCLAB_VM_MEM_MB (4096),
#        SVCLAB_VM_BOOT_TIMEOUT (600 s), SVCLAB_VM_KEEP_DISK=1 to keep the previous run's writes
#
# Network: qemu user-mode networking with restrict=on: the guest cannot reach the host or
# anything beyond it; the only way in is the explicit forward 127.0.0.1:PORT -> guest:22.
# Disk: a qcow2 overlay over the built disk.raw, made fresh at each boot (disk.raw stays pristine).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/vm/common.sh
source "$here/common.sh" "${1:-}"

SMP=${SVCLAB_VM_SMP:-2}
MEM=${SVCLAB_VM_MEM_MB:-4096}
TIMEOUT=${SVCLAB_VM_BOOT_TIMEOUT:-600}
overlay="$VM_OUT/overlay.qcow2"

for f in disk.raw vmlinuz initrd.img id_ed25519; do
  [ -s "$VM_OUT/$f" ] || die "$VM_OUT/$f is missing; build the image first: lab/vm/build-image.sh $VM_OUT"
done
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing (lab/vm/build-image.sh installs it)"

if pid=$(vm_pid); then
  if vm_ssh true 2>/dev/null; then
    say "already running: pid $pid, ssh -p $VM_SSH_PORT -i $VM_KEY root@127.0.0.1"
    exit 0
  fi
  die "qemu pid $pid runs from $VM_OUT but SSH does not answer; stop it: lab/vm/stop.sh $VM_OUT"
fi
if ss -Hltn "sport = :$VM_SSH_PORT" | grep -q .; then
  die "127.0.0.1:$VM_SSH_PORT is taken by another program; set SVCLAB_VM_SSH_PORT"
fi

if [ "${SVCLAB_VM_KEEP_DISK:-0}" = 1 ] && [ -s "$overlay" ] && [ "$overlay" -nt "$VM_OUT/disk.raw" ]; then
  say "keeping the previous overlay $overlay"
else
  rm -f "$overlay"
  qemu-img create -q -f qcow2 -F raw -b "$VM_OUT/disk.raw" "$overlay"
fi

: >"$VM_CONSOLE"
rm -f "$VM_PIDFILE" "$VM_OUT/qmp.sock"
say "starting qemu (tcg, $SMP vCPU, $MEM MiB); console: $VM_CONSOLE"
t0=$(date +%s.%N)
qemu-system-x86_64 \
  -name svclab-vm \
  -machine q35 -accel tcg,thread=multi -cpu max -smp "$SMP" -m "$MEM" \
  -nodefaults -no-user-config -display none -no-reboot \
  -kernel "$VM_OUT/vmlinuz" -initrd "$VM_OUT/initrd.img" \
  -append "root=/dev/vda rw console=ttyS0 mitigations=off panic=5 quiet loglevel=4" \
  -drive "file=$overlay,if=virtio,format=qcow2,cache=writeback,discard=unmap" \
  -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$VM_SSH_PORT-:22" \
  -device virtio-net-pci,netdev=n0 \
  -device virtio-rng-pci \
  -serial "file:$VM_CONSOLE" -monitor none \
  -qmp "unix:$VM_OUT/qmp.sock,server=on,wait=off" \
  -daemonize -pidfile "$VM_PIDFILE"
pid=$(cat "$VM_PIDFILE")
say "qemu pid $pid; waiting up to $TIMEOUT s for SSH on 127.0.0.1:$VM_SSH_PORT"

deadline=$(( $(date +%s) + TIMEOUT ))
until vm_ssh true 2>/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -30 "$VM_CONSOLE" >&2 || true
    die "qemu exited before SSH answered (console above: $VM_CONSOLE)"
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    tail -30 "$VM_CONSOLE" >&2 || true
    die "no SSH after $TIMEOUT s; the VM is left running (pid $pid) for a look; stop it: lab/vm/stop.sh $VM_OUT"
  fi
  sleep 2
done
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
echo "$secs" >"$VM_OUT/boot-to-ssh.seconds"
say "SSH answers after $secs s (qemu start to first successful login)"
vm_ssh 'systemd-analyze 2>/dev/null | head -1; uname -r' | sed 's/^/  guest: /' || true
say "ssh: ssh -p $VM_SSH_PORT -i $VM_KEY -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1"
