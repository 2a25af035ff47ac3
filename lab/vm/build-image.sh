#!/usr/bin/env bash
# Build the svclab VM image: a Debian bookworm root (debootstrap, Debian's packages only, run on
# the host) with Debian's kernel (ip_vs and its schedulers are modules there), systemd, sshd and
# ipvsadm, as a raw ext4 disk plus the kernel and initrd for qemu's direct kernel boot.
#
# usage: lab/vm/build-image.sh [OUT_DIR]        (default /root/.cache/svclab/vm)
# env:   SVCLAB_DEBIAN_MIRROR (default http://deb.debian.org/debian), SVCLAB_VM_DISK_SIZE (4G),
#        SVCLAB_VM_EXTRA_PACKAGES (more Debian packages, space-separated)
# out:   OUT_DIR/disk.raw vmlinuz initrd.img id_ed25519{,.pub} image.inputs image.manifest
# Cached: does nothing when the outputs exist and the inputs (this script, common.sh, the
# package list, suite, mirror, disk size, the SSH public key) hash to the recorded value.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/vm/common.sh
source "$here/common.sh" "${1:-}"

SUITE=bookworm
MIRROR=${SVCLAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DISK_SIZE=${SVCLAB_VM_DISK_SIZE:-4G}
# iptables: kube-proxy's IPVS mode still writes iptables rules (masquerade, NodePort marks).
PACKAGES=(linux-image-amd64 systemd-sysv udev openssh-server ipvsadm ipset iproute2 kmod
  ca-certificates procps iptables curl)
# More Debian packages (space-separated), e.g. "containerd runc" for a kubelet in the VM.
read -r -a EXTRA <<<"${SVCLAB_VM_EXTRA_PACKAGES:-}"
PACKAGES+=("${EXTRA[@]}")
IPVS_MODULES=(ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh ip_vs_lc ip_vs_dh ip_vs_sed ip_vs_nq nf_conntrack)

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"
t0=$(date +%s)

# --- host tools (Debian's packages) ---------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v mke2fs >/dev/null || need+=(e2fsprogs)
command -v ssh >/dev/null || need+=(openssh-client)
if [ ${#need[@]} -gt 0 ]; then
  say "installing host packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mkdir -p "$VM_OUT"
if [ ! -s "$VM_KEY" ]; then
  say "generating the VM's root SSH key $VM_KEY"
  ssh-keygen -q -t ed25519 -N '' -C svclab-vm -f "$VM_KEY"
fi

# --- cache ----------------------------------------------------------------------------------
inputs=$( { cat "$0" "$here/common.sh"; echo "$SUITE $MIRROR $DISK_SIZE ${PACKAGES[*]}";
            cat "$VM_KEY.pub"; } | sha256sum | cut -d' ' -f1)
outputs=("$VM_OUT/disk.raw" "$VM_OUT/vmlinuz" "$VM_OUT/initrd.img")
have_all=1
for f in "${outputs[@]}"; do [ -s "$f" ] || have_all=0; done
if [ "$have_all" = 1 ] && [ "$(cat "$VM_OUT/image.inputs" 2>/dev/null)" = "$inputs" ]; then
  say "up to date: $VM_OUT (inputs $inputs); nothing to do"
  exit 0
fi
if pid=$(vm_pid); then
  die "a VM (pid $pid) runs from $VM_OUT; stop it first: lab/vm/stop.sh $VM_OUT"
fi

# --- debootstrap ----------------------------------------------------------------------------
root="$VM_OUT/rootfs.tmp"
cleanup() {
  for m in proc sys dev/pts dev; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"; done
  return 0
}
trap cleanup EXIT
cleanup
rm -rf "$root"
say "debootstrap $SUITE (minbase + ${PACKAGES[*]}) from $MIRROR into $root"
t1=$(date +%s)
if ! debootstrap --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    "$SUITE" "$root" "$MIRROR" >"$VM_OUT/debootstrap.log" 2>&1; then
  tail -20 "$VM_OUT/debootstrap.log" >&2
  die "debootstrap failed; full log: $VM_OUT/debootstrap.log"
fi
say "debootstrap done in $(( $(date +%s) - t1 )) s"

# --- configure the guest --------------------------------------------------------------------
echo svclab-vm >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsvclab-vm\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
  >"$root/etc/hosts"
printf '/dev/vda\t/\text4\tdefaults,noatime\t0\t1\n' >"$root/etc/fstab"

# qemu's user network: the guest is 10.0.2.15, the host is reached as 10.0.2.2. No gateway and
# no DNS on purpose: the VM has no route anywhere but the qemu link (restrict=on on the host side
# drops any other traffic as well).
mkdir -p "$root/etc/systemd/network"
cat >"$root/etc/systemd/network/10-lab.network" <<'NET'
[Match]
Name=en* eth*

[Network]
Address=10.0.2.15/24
LinkLocalAddressing=no
IPv6AcceptRA=no
NET

printf '%s\n' "${IPVS_MODULES[@]}" >"$root/etc/modules-load.d/ipvs.conf"

install -d -m 0700 "$root/root/.ssh"
install -m 0600 "$VM_KEY.pub" "$root/root/.ssh/authorized_keys"
mkdir -p "$root/etc/ssh/sshd_config.d"
cat >"$root/etc/ssh/sshd_config.d/svclab.conf" <<'SSHD'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
SSHD

chroot "$root" systemctl enable systemd-networkd.service ssh.service >/dev/null 2>&1
# Emulated CPU time is precious: no periodic jobs, no waiting for "network online".
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
         systemd-networkd-wait-online.service; do
  chroot "$root" systemctl mask "$u" >/dev/null 2>&1 || true
done
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

kver=$(basename "$(ls -d "$root"/lib/modules/*)")
for m in "${IPVS_MODULES[@]}"; do
  find "$root/lib/modules/$kver" -name "$m.ko*" | grep -q . || die "kernel $kver has no module $m"
done
initrd="$root/boot/initrd.img-$kver"
[ -s "$initrd" ] || die "no initrd for $kver in the image (update-initramfs did not run?)"
initrd_list=$(chroot "$root" lsinitramfs "/boot/initrd.img-$kver")
for m in virtio_blk virtio_pci ext4; do
  grep -q "/$m.ko" <<<"$initrd_list" || die "initrd $initrd lacks $m; the VM could not mount its root"
done
install -m 0644 "$root/boot/vmlinuz-$kver" "$VM_OUT/vmlinuz.tmp"
install -m 0644 "$initrd" "$VM_OUT/initrd.img.tmp"
# shellcheck disable=SC2016
chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$VM_OUT/image.manifest.tmp"

# --- disk image: raw ext4 populated straight from the folder (no loop device, no mount) ------
say "making ${DISK_SIZE} ext4 disk image (sparse) from $(du -sh "$root" | cut -f1) of files"
cleanup
rm -f "$VM_OUT/disk.raw.tmp"
mke2fs -q -t ext4 -L svclab-root -E root_owner=0:0 -d "$root" "$VM_OUT/disk.raw.tmp" "$DISK_SIZE" >/dev/null
for f in disk.raw vmlinuz initrd.img image.manifest; do mv -f "$VM_OUT/$f.tmp" "$VM_OUT/$f"; done
echo "$inputs" >"$VM_OUT/image.inputs"
rm -rf "$root"
trap - EXIT

say "kernel $kver; $(wc -l <"$VM_OUT/image.manifest") packages; disk $(du -h "$VM_OUT/disk.raw" | cut -f1) used of $DISK_SIZE"
say "built $VM_OUT in $(( $(date +%s) - t0 )) s"
