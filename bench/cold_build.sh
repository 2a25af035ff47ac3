#!/usr/bin/env bash
# Benchmark: the image factory from nothing: empty Go module and build caches, an empty
# svclab cache, every Docker image rebuilt (--force). Leaves the real caches alone.
# Prints the factory's per-step times and the total.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /var/tmp/svclab-cold-XXXX)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
start=$(date +%s)
GOMODCACHE="$tmp/gomod" GOCACHE="$tmp/gocache" SVCLAB_CACHE="$tmp/svclab" \
  python -m svclab.images --force 2>&1 | grep -E 'built|images:'
echo "cold image build: $(( $(date +%s) - start )) s on $(nproc) cores"
