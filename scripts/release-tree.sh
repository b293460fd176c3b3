#!/usr/bin/env bash
# Writes into OUT what a release tag holds (binaries never live on main): the action files of both
# forms (action.yml; host/action.yml with its launcher), the Dockerfile, README.md and LICENSE when
# present, the docs/ pages the README links to, the rollout binaries it can find at bin/linux-<arch>/rollout (Docker's TARGETARCH names,
# which the launcher maps RUNNER_ARCH X64/ARM64 to), and SHA256SUMS over every file.
#
# Binaries, for each of amd64 and arm64, the first that exists:
#   $ROLLOUT_BIN_AMD64 / $ROLLOUT_BIN_ARM64             a path given by the caller
#   target/<x86_64|aarch64>-unknown-linux-musl/dist/rollout   the static build the release ships
#   target/release/rollout                              this machine's build, for its own arch only
#                                                       (glibc: it runs on Debian bookworm)
# Usage: scripts/release-tree.sh OUT   (OUT must be missing or empty)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:?usage: scripts/release-tree.sh OUT}
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "release-tree: $out is not empty; give a new or empty folder" >&2
  exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

install -m 0644 action.yml Dockerfile "$out/"
mkdir -p "$out/host"
install -m 0644 host/action.yml host/launcher.js host/post.js "$out/host/"
for doc in README.md LICENSE; do
  if [ -f "$doc" ]; then install -m 0644 "$doc" "$out/"; fi
done
# The README's links resolve on the tag too (the Marketplace and a pinned sha show the tag's README).
if [ -d docs ]; then
  mkdir -p "$out/docs"
  install -m 0644 docs/*.md "$out/docs/"
fi

case $(uname -m) in
  x86_64) here=amd64 ;;
  aarch64 | arm64) here=arm64 ;;
  *) here= ;;
esac
found=0
for arch in amd64 arm64; do
  case $arch in amd64) triple=x86_64 var=ROLLOUT_BIN_AMD64 ;; arm64) triple=aarch64 var=ROLLOUT_BIN_ARM64 ;; esac
  candidates=("${!var:-}" "$root/target/$triple-unknown-linux-musl/dist/rollout")
  [ "$arch" = "$here" ] && candidates+=("$root/target/release/rollout")
  for bin in "${candidates[@]}"; do
    if [ -n "$bin" ] && [ -f "$bin" ]; then
      mkdir -p "$out/bin/linux-$arch"
      install -m 0755 "$bin" "$out/bin/linux-$arch/rollout"
      echo "release-tree: bin/linux-$arch/rollout from ${bin#"$root"/} ($(stat -c %s "$bin") bytes)"
      found=$((found + 1))
      break
    fi
  done
done
if [ "$found" = 0 ]; then
  echo "release-tree: no rollout binary found; build first (cargo build --release --locked)" >&2
  exit 1
fi

(cd "$out" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)
echo "release-tree: wrote $out ($(wc -l < "$out/SHA256SUMS") files in SHA256SUMS)"
