#!/usr/bin/env bash
# Set everything up (idempotent), build the desktop app and open it.
# The database is the OS's app-data one unless ROLLCALL_DB names another file.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/build-app.sh --no-bundle
APP="${CARGO_TARGET_DIR:-$ROOT/target}/release/rollcall-app"
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "no display: Rollcall is a desktop app. Run this from a desktop session (or under xvfb-run)." >&2
  echo "The app is built at $APP; \`bash scripts/build-app.sh\` makes the .deb and .rpm." >&2
  exit 1
fi
# The database's key lives in the desktop's credential store (Secret Service); a session without
# one (no D-Bus session bus: a bare X server, a container) keeps it in a private key file.
if [ -z "${ROLLCALL_KEY_FILE:-}${ROLLCALL_PASSPHRASE:-}" ] && [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  export ROLLCALL_KEY_FILE="${XDG_CONFIG_HOME:-$HOME/.config}/rollcall/database.key"
  echo "no credential store in this session: the database key is kept in $ROLLCALL_KEY_FILE (keep a copy somewhere safe)" >&2
fi
exec "$APP"
