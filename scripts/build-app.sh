#!/usr/bin/env bash
# Build the desktop app: the UI (ui/dist), then the Tauri binary with the UI embedded and the
# Linux packages (.deb, .rpm) with the models and ONNX Runtime inside. Assumes setup.sh has run.
# Prints nothing but the build; the results are under $CARGO_TARGET_DIR/release/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
( cd ui && npm run --silent build )
# `tauri build` compiles with the custom-protocol feature (the UI embedded, not a dev server).
ui/node_modules/.bin/tauri build --bundles deb rpm --ci
