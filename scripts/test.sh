#!/usr/bin/env bash
# Set everything up (idempotent) and run the whole test suite: unit tests, integration tests on
# real faces from ../shared/datasets (ROLLCALL_DATASETS overrides), the CLI end to end, and one
# pass of every benchmark in test mode (so they keep compiling and running).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
export ROLLCALL_DATASETS="${ROLLCALL_DATASETS:-$ROOT/../shared/datasets}"
cargo test --release --all-targets
