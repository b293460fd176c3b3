#!/usr/bin/env bash
# What the tests need beyond Rust, installed when missing, so that `bash scripts/test.sh` passes on a
# fresh machine: git, openssl (the TLS tests), squid (the proxy tests) and node (the host form's
# launcher tests). Further Debian packages may be named as arguments (.ci/run adds what its
# container tests need). Debian and Ubuntu only (apt-get, as root or through sudo); elsewhere it
# names what to install and stops.
set -euo pipefail

have() {
  if command -v dpkg >/dev/null 2>&1; then
    dpkg -s "$1" >/dev/null 2>&1
  else
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]
  fi
}

need=()
for pkg in git openssl squid "$@"; do
  have "$pkg" || need+=("$pkg")
done
# The host form's launcher runs on the runner's node (any build of 18 or later will do).
command -v node >/dev/null 2>&1 || need+=(nodejs)
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "the tests need ${need[*]}; install them with your package manager and run again" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "the tests need ${need[*]}: run 'apt-get install ${need[*]}' as root, then run again" >&2
    exit 1
  fi
  sudo=(sudo)
fi
echo "installing what the tests need: ${need[*]}"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
