#!/usr/bin/env bash
# The project's test command (README): unit, end-to-end and fault tests on the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
# The proxy, TLS and host-form tests need squid, openssl and node: installed when missing, as .ci/run
# does (ROLLOUT_NO_INSTALL=1 skips this, for a machine set up otherwise).
[ "${ROLLOUT_NO_INSTALL:-}" = 1 ] || bash scripts/install-test-tools.sh
cargo test --release --workspace --locked "$@"
