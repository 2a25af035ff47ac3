#!/usr/bin/env bash
# Prepare this host for the svclab kind lab. Idempotent: each step checks first and
# does nothing when the host already has what the step gives.
#   - a Docker engine (Debian's docker.io), started when none answers;
#   - an OCI runtime wrapper, only where the capability bounding set lacks capabilities
#     that privileged containers (kind nodes) ask for;
#   - debootstrap, which the image factory uses to make the Debian base image;
#   - qemu, only where the kernel has no ip_vs: the IPVS lab then runs its IPVS node in a VM;
#   - with --vagrant, also Vagrant, vagrant-libvirt and libvirt (prepare-vagrant.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log=/var/log/svclab-dockerd.log
say() { printf 'prepare: %s\n' "$*"; }
case "${1:-}" in
  ""|--vagrant) ;;
  *) say "unknown option ${1} (the only one is --vagrant, for the Vagrant lab's libvirt and Vagrant)"; exit 2 ;;
esac

if [ "$(id -u)" != 0 ]; then
  say "must run as root (it installs packages and starts dockerd)"; exit 1
fi

need_pkgs=()
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
# No ip_vs in this kernel (not loaded, no module): the IPVS lab runs its IPVS node in a qemu VM.
vm_pkgs=()
if [ ! -e /proc/net/ip_vs ] && ! modinfo ip_vs >/dev/null 2>&1; then
  command -v qemu-system-x86_64 >/dev/null || vm_pkgs+=(qemu-system-x86)
  command -v qemu-img >/dev/null || vm_pkgs+=(qemu-utils)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
else
  say "docker.io and debootstrap already installed"
fi
if [ ${#vm_pkgs[@]} -gt 0 ]; then
  say "no ip_vs in kernel $(uname -r): installing ${vm_pkgs[*]} for the IPVS VM"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${vm_pkgs[@]}" >/dev/null
fi

# Capabilities a privileged container asks for but the bounding set lacks.
bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
full=$(awk '/^CapBnd:/ {print $2}' /proc/1/status)
missing=0
if [ $((16#$bnd & (1 << 24))) -eq 0 ]; then missing=1; fi  # CAP_SYS_RESOURCE
want_runtime=""
if [ "$missing" = 1 ]; then
  install -D -m 0755 "$here/runc-capdrop" /usr/local/libexec/svclab/runc-capdrop
  want_runtime=svclab-runc
  say "bounding set ${bnd} (pid 1: ${full}) lacks CAP_SYS_RESOURCE: containers run through runc-capdrop"
else
  say "bounding set has every capability: no runtime wrapper"
fi

conf=/etc/docker/daemon.json
mkdir -p /etc/docker
if [ -n "$want_runtime" ]; then
  want='{"runtimes":{"svclab-runc":{"path":"/usr/local/libexec/svclab/runc-capdrop"}},"default-runtime":"svclab-runc"}'
else
  want='{}'
fi
changed=0
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  printf '%s' "$want" > "$conf"; changed=1
fi

if docker info >/dev/null 2>&1; then
  if [ "$changed" = 1 ]; then
    say "daemon.json changed: restarting dockerd"
    pkill -x dockerd || true
    for _ in $(seq 50); do pgrep -x dockerd >/dev/null || break; sleep 0.2; done
  else
    say "Docker engine answers: $(docker version -f '{{.Server.Version}}')"
  fi
fi
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (log: $log)"
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl restart docker
  else
    nohup dockerd >>"$log" 2>&1 &
  fi
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { say "dockerd did not answer within 60 s; last lines of $log:"; tail -n 20 "$log"; exit 1; }
  say "Docker engine $(docker version -f '{{.Server.Version}}') answers"
fi

# kind nodes run systemd and many watchers; the defaults are too small for three nodes.
for kv in fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512; do
  key=${kv%%=*}; val=${kv#*=}
  cur=$(sysctl -n "$key" 2>/dev/null || echo 0)
  if [ "$cur" -lt "$val" ]; then sysctl -qw "$kv" || say "could not set $kv"; fi
done
if [ "${1:-}" = --vagrant ]; then bash "$here/prepare-vagrant.sh"; fi
say "host ready"
