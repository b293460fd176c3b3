#!/usr/bin/env bash
# Runs the overhead benchmark on the release build; `--quick` (CI) also checks request counts.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--quick" ]; then
  exec python3 benches/overhead.py --quick --check benches/requests.txt
fi
exec python3 benches/overhead.py "$@"
