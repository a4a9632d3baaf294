#!/usr/bin/env bash
# Set everything up (idempotent) and run Rollcall's main job.
# For now that is the face engine on a sample photo; the desktop app replaces it when it lands.
# Usage: bash scripts/run.sh [IMAGE...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
cargo build --release --bin rollcall
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/rollcall"
images=("$@")
[ ${#images[@]} -gt 0 ] || images=(tests/fixtures/astronaut.png)
out="${CARGO_TARGET_DIR:-$ROOT/target}/annotated"
"$BIN" detect "${images[@]}" --annotate "$out"
"$BIN" expression "${images[@]}"
echo "annotated copies: $out/" >&2
