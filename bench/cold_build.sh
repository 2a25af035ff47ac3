#!/usr/bin/env bash
# Benchmark: the image factory from nothing: empty Go module and build caches, an empty
# svclab cache, every Docker image rebuilt (--force). Leaves the real caches alone.
# Prints the factory's per-step times and the total. Arguments go to the factory: with
# `--k8s-version 1.35 1.37` the steps named -v1.37.2 are what one more version costs.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /var/tmp/svclab-cold-XXXX)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
start=$(date +%s)
GOMODCACHE="$tmp/gomod" GOCACHE="$tmp/gocache" SVCLAB_CACHE="$tmp/svclab" \
  python -m svclab.images --force "$@" 2>&1 | tee "$tmp/build.log" | grep -E 'built|images:'
echo "cold image build: $(( $(date +%s) - start )) s on $(nproc) cores"
# per Kubernetes version: the seconds of the steps named after it
grep -oE 'built +[^ ]+-v1\.[0-9]+\.[0-9]+ +[0-9.]+' "$tmp/build.log" \
  | awk '{n = split($2, p, "-"); v[p[n]] += $3} END {for (k in v) printf "steps of %s: %.0f s\n", k, v[k]}'
