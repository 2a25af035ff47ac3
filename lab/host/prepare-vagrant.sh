#!/usr/bin/env bash
# The Vagrant lab's host side (`bash lab/host/prepare.sh --vagrant` runs it): Debian's vagrant,
# vagrant-libvirt (RubyGems is not reachable: the packaged plugin is the only one), libvirt and
# qemu. Idempotent. Network hygiene: libvirt's "default" network NATs to the outside, so when
# this script installs libvirt it takes that network's autostart away before libvirtd first
# starts (svclab's labs make their own isolated networks). A libvirt the host had before is left
# as it is.
set -euo pipefail
say() { printf 'prepare (vagrant): %s\n' "$*"; }

pkgs=()
command -v vagrant >/dev/null || pkgs+=(vagrant)
[ -d /usr/share/vagrant-plugins/plugins.d ] && grep -rqs vagrant-libvirt /usr/share/vagrant-plugins/plugins.d \
  || pkgs+=(vagrant-libvirt)
fresh_libvirt=0
if ! command -v libvirtd >/dev/null; then pkgs+=(libvirt-daemon-system dnsmasq-base); fresh_libvirt=1; fi
command -v qemu-system-x86_64 >/dev/null || pkgs+=(qemu-system-x86)
command -v qemu-img >/dev/null || pkgs+=(qemu-utils)
if [ ${#pkgs[@]} -gt 0 ]; then
  say "installing ${pkgs[*]}"
  # nothing starts during the install (no network is up before its autostart is taken away)
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; own_policy=1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
else
  say "vagrant, vagrant-libvirt, libvirt and qemu already installed"
fi
if [ "$fresh_libvirt" = 1 ] && [ -e /etc/libvirt/qemu/networks/autostart/default.xml ]; then
  rm -f /etc/libvirt/qemu/networks/autostart/default.xml
  say "libvirt's NAT network 'default' will not autostart (svclab's labs never NAT out)"
fi

if ! virsh -c qemu:///system version >/dev/null 2>&1; then
  say "starting libvirtd"
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl start virtlogd libvirtd
  else
    pgrep -x virtlogd >/dev/null || virtlogd -d
    pgrep -x libvirtd >/dev/null || libvirtd -d
  fi
  for _ in $(seq 60); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.5; done
fi
virsh -c qemu:///system version >/dev/null 2>&1 || { say "libvirtd does not answer on qemu:///system"; exit 1; }
say "libvirt answers: $(virsh -c qemu:///system version | awk '/Running hypervisor/ {print $3, $4}')"
