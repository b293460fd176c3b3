#!/usr/bin/env bash
# The project's test command (README): unit, end-to-end and fault tests on the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --workspace --locked "$@"
