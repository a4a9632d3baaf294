#!/usr/bin/env bash
# Idempotent setup for a fresh Debian/Ubuntu machine: system packages (core, desktop app, tests),
# the ONNX Runtime library (from the PyPI wheel, sha256-checked), the checks that the models are
# intact, the UI's npm packages (from package-lock.json) and tauri-driver for the app's tests.
# Safe to run again: every step is skipped when its result is already in place.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ORT_VERSION=1.31.1
ORT_WHEEL=onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl
ORT_WHEEL_SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
ORT_LIB_SHA256=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3
VENDOR="$ROOT/vendor/onnxruntime/linux-x86_64"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# --- system packages -------------------------------------------------------------
APT_CORE=(build-essential pkg-config clang libclang-dev libopencv-dev python3 python3-pip unzip ca-certificates)
# The desktop app (Tauri 2 on WebKitGTK) and its bundles; rpm builds the .rpm.
APT_APP=(libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev libxdo-dev libssl-dev libsoup-3.0-dev file rpm)
# Tests: a video stream server, a virtual display, the webview's WebDriver, a browser for the UI,
# debootstrap for the clean-system install check, a PostgreSQL server for the storage tests on a
# school's server (scripts/pg-cluster.sh runs a throw-away one; no server of the package's own).
APT_TEST=(ffmpeg xvfb xauth webkit2gtk-driver chromium imagemagick fonts-dejavu-core debootstrap postgresql)
missing=()
for p in "${APT_CORE[@]}" "${APT_APP[@]}" "${APT_TEST[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing system packages: ${missing[*]}"
  if [[ " ${missing[*]} " == *" postgresql "* ]] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    # The tests start their own server; the package's default cluster would only run for nothing.
    $SUDO mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "system packages present"
fi

# --- Rust toolchain --------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust with rustup (https://rustup.rs) and run this again" >&2
  exit 1
fi

# --- ONNX Runtime shared library (from the PyPI wheel; no other host is reachable) ----
lib="$VENDOR/libonnxruntime.so.$ORT_VERSION"
if [ -f "$lib" ] && echo "$ORT_LIB_SHA256  $lib" | sha256sum -c --status; then
  log "ONNX Runtime $ORT_VERSION present"
else
  log "fetching ONNX Runtime $ORT_VERSION from PyPI"
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet "onnxruntime==$ORT_VERSION" --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --python-version 3.11 -d "$tmp"
  echo "$ORT_WHEEL_SHA256  $tmp/$ORT_WHEEL" | sha256sum -c --status || {
    echo "sha256 mismatch for $ORT_WHEEL: refusing to use it" >&2; exit 1; }
  mkdir -p "$VENDOR"
  unzip -q -o -j "$tmp/$ORT_WHEEL" "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" -d "$VENDOR"
  echo "$ORT_LIB_SHA256  $lib" | sha256sum -c --status || {
    echo "sha256 mismatch for libonnxruntime.so.$ORT_VERSION" >&2; exit 1; }
  ln -sf "libonnxruntime.so.$ORT_VERSION" "$VENDOR/libonnxruntime.so"
  rm -rf "$tmp"
fi

# --- models ------------------------------------------------------------------------
( cd models && sha256sum -c --quiet SHA256SUMS ) || {
  echo "a file in models/ does not match models/SHA256SUMS: restore it with git checkout models/" >&2; exit 1; }
log "models verified"

# --- the UI's packages (exact versions from ui/package-lock.json) ---------------------
if ! command -v node >/dev/null 2>&1 || ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "Node.js 20.19 or newer is needed for the UI (found: $(node --version 2>/dev/null || echo none)); install it and run this again" >&2
  exit 1
fi
stamp="ui/node_modules/.rollcall-lock-sha256"
want="$(sha256sum ui/package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  log "UI packages present"
else
  log "installing UI packages (npm ci)"
  ( cd ui && npm ci --no-audit --no-fund --loglevel=error )
  echo "$want" > "$stamp"
fi

# --- tauri-driver (WebDriver for the real app), built from crates.io once ------------------
TOOLS="${ROLLCALL_TOOLS:-$HOME/.cache/rollcall/tools}"
if [ -x "$TOOLS/bin/tauri-driver" ]; then
  log "tauri-driver present"
else
  log "building tauri-driver 2.1.0 (once)"
  cargo install tauri-driver --version 2.1.0 --locked --root "$TOOLS" --quiet
fi
