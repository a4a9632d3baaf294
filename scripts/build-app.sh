#!/usr/bin/env bash
# Build the desktop app: the UI (ui/dist), then the Tauri binary with the UI embedded and the
# Linux packages (.deb, .rpm) with the models and ONNX Runtime inside. Assumes setup.sh has run.
# The results are under $CARGO_TARGET_DIR/release/. `--no-bundle`: the app only, no packages.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
( cd ui && npm run --silent build )
# `tauri build` compiles with the custom-protocol feature (the UI embedded, not a dev server).
if [ "${1:-}" = "--no-bundle" ]; then what=(--no-bundle); else what=(--bundles deb rpm); fi
ui/node_modules/.bin/tauri build "${what[@]}" --ci
