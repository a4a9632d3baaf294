#!/usr/bin/env bash
# Set everything up (idempotent) and run the whole test suite:
#  1. the core: every benchmark once in test mode, unit tests, integration tests on real faces
#     from ../shared/datasets (ROLLCALL_DATASETS overrides), the CLI end to end; the storage,
#     attendance and CLI tests again with their registers on a throw-away PostgreSQL
#     (scripts/pg-cluster.sh), and the tests of a school's server there;
#  2. the UI: type check, vitest component tests, the built UI in headless Chromium (IPC mocked);
#  3. the desktop app: built once with its .deb/.rpm, the packages checked (the unpacked app loads
#     its bundled engine), the .deb installed on a clean Debian root where both self-tests must
#     pass (needs root or sudo: it chroots), then the real app in its webview under Xvfb (tauri-driver): a session
#     on the video_hamilton clip, reports, a correction, an Excel export read back, the register
#     moved to the test server from Settings (a session marks there), screenshots
#     of every page in test-output/screenshots/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
export ROLLCALL_DATASETS="${ROLLCALL_DATASETS:-$ROOT/../shared/datasets}"
# Tests write their own temporary databases; keep them (and any app data) out of the user's folders.
export XDG_DATA_HOME="${XDG_DATA_HOME:-$(mktemp -d)}"
# No credential store on a test machine: the databases' key is a private file (made on first use).
export ROLLCALL_KEY_FILE="${ROLLCALL_KEY_FILE:-$XDG_DATA_HOME/rollcall-test.key}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TOOLS="${ROLLCALL_TOOLS:-$HOME/.cache/rollcall/tools}"
step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "a throw-away PostgreSQL server for the tests of a school's server"
PG_DIR="$(mktemp -d)"
chmod 755 "$PG_DIR" # the server runs as an unprivileged user, which must reach its folder
trap 'bash "$ROOT/scripts/pg-cluster.sh" stop "$PG_DIR/pg"; rm -rf "$PG_DIR"' EXIT
ROLLCALL_TEST_POSTGRES="$(bash scripts/pg-cluster.sh start "$PG_DIR/pg")"
export ROLLCALL_TEST_POSTGRES

step "core: benchmarks (test mode), unit, integration and CLI tests"
# The sizing bench's test mode makes its small district on the file and on the test server too.
ROLLCALL_BENCH_POSTGRES="$ROLLCALL_TEST_POSTGRES" cargo test --release -p rollcall --benches
cargo test --release -p rollcall --lib --bins --tests

step "core again with every test school's register on the PostgreSQL server"
# The storage, attendance and CLI tests a second time (tests about the file itself keep a file).
ROLLCALL_TEST_BACKEND=postgres cargo test --release -p rollcall \
  --test attendance --test register --test privacy --test security --test lessons --test timetable --test cli --test serve
cargo build --release -p rollcall --bin rollcall

step "UI: type check, component tests, headless Chromium with the IPC mocked"
( cd ui && npx tsc --noEmit && npx vitest run && npx vite build --mode mock --logLevel warn && node --test e2e/mocked-ui.test.mjs )

step "desktop app: build, packages"
bash scripts/build-app.sh
bash scripts/check-package.sh

step "desktop app: the .deb on a clean Debian (debootstrap), both self-tests, an upgrade, a removal"
bash scripts/check-clean-install.sh

step "desktop app: end to end in the real webview"
ROLLCALL_APP="$TARGET/release/rollcall-app" ROLLCALL_CLI="$TARGET/release/rollcall" TAURI_DRIVER="$TOOLS/bin/tauri-driver" \
  xvfb-run -a -s "-screen 0 1280x800x24" node --test --test-concurrency=1 ui/e2e/app.test.mjs
echo "screenshots: $ROOT/test-output/screenshots/" >&2
