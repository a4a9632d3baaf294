#!/usr/bin/env bash
# Set everything up (idempotent) and run the whole test suite: every benchmark once in test mode
# (so they keep compiling and running), then unit tests, integration tests on real faces from
# ../shared/datasets (ROLLCALL_DATASETS overrides), and the CLI end to end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
export ROLLCALL_DATASETS="${ROLLCALL_DATASETS:-$ROOT/../shared/datasets}"
# Tests write their own temporary databases; keep them (and any app data) out of the user's folders.
export XDG_DATA_HOME="${XDG_DATA_HOME:-$(mktemp -d)}"
cargo test --release --benches
cargo test --release --lib --bins --tests
