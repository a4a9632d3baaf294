#!/usr/bin/env bash
# Build the desktop app: the UI (ui/dist), then the Tauri binary with the UI embedded and the
# Linux packages (.deb, .rpm) with the models, ONNX Runtime and the `rollcall` CLI inside. Assumes setup.sh has run.
# The results are under $CARGO_TARGET_DIR/release/. `--no-bundle`: the app only, no packages;
# `--bundles LIST`: other bundles (the Windows and macOS workflow: `msi,nsis`, `app`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
( cd ui && npm run --silent build )
# The command-line program ships beside the app (`rollcall self-test`, scripted use): Tauri
# bundles it as an external binary named for the target it was built for.
cargo build --release -p rollcall --bin rollcall
triple="$(rustc -vV | sed -n 's/^host: //p')"
ext=""; case "$triple" in *windows*) ext=".exe";; esac
mkdir -p src-tauri/binaries
cp "${CARGO_TARGET_DIR:-$ROOT/target}/release/rollcall$ext" "src-tauri/binaries/rollcall-$triple$ext"
# `tauri build` compiles with the custom-protocol feature (the UI embedded, not a dev server).
case "${1:-}" in
  --no-bundle) what=(--no-bundle) ;;
  --bundles) what=(--bundles "${2:?--bundles needs a list}") ;;
  *) what=(--bundles deb rpm) ;;
esac
ui/node_modules/.bin/tauri build "${what[@]}" --ci
