#!/usr/bin/env bash
# Check the built .deb and .rpm: the right files inside, and the packaged app starts, finds the
# models and the ONNX Runtime library inside its own bundle (not the source tree), and loads the
# face engine. The .deb is unpacked into a temporary root rather than installed, so running the
# tests never changes the machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
deb="$(ls -t "$TARGET"/release/bundle/deb/*.deb | head -1)"
rpm="$(ls -t "$TARGET"/release/bundle/rpm/*.rpm | head -1)"
fail() { echo "package check FAILED: $*" >&2; exit 1; }

need=(usr/bin/rollcall-app usr/bin/rollcall usr/lib/Rollcall/models/facenet512_fp16.onnx usr/lib/Rollcall/models/mtcnn/pnet.onnx
      usr/lib/Rollcall/models/selftest/face.jpg usr/lib/Rollcall/models/selftest/face.mp4 usr/lib/Rollcall/models/selftest/face.fp16.embedding
      usr/lib/Rollcall/vendor/onnxruntime/linux-x86_64/libonnxruntime.so.1.31.1 usr/share/applications/Rollcall.desktop)
listing="$(dpkg-deb -c "$deb")"
for f in "${need[@]}"; do grep -Eq " (\./)?$f\$" <<<"$listing" || fail "$f is not in $deb"; done
deps="$(dpkg-deb -f "$deb" Depends)"
for d in libopencv-core406 libopencv-videoio406 libwebkit2gtk-4.1-0; do grep -q "$d" <<<"$deps" || fail "$deb does not depend on $d"; done
rpm_list="$(rpm -qlp "$rpm" 2>/dev/null)"
for f in "${need[@]}"; do grep -q "^/$f\$" <<<"$rpm_list" || fail "/$f is not in $rpm"; done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/root"
export ROLLCALL_DB="$work/db.sqlite3" XDG_DATA_HOME="$work/data" XDG_CACHE_HOME="$work/cache" XDG_CONFIG_HOME="$work/config"
export ROLLCALL_LOG="rollcall=info,rollcall_app=info"
unset ROLLCALL_ORT_LIB ROLLCALL_MODELS ORT_DYLIB_PATH
started=$SECONDS
xvfb-run -a timeout 90 "$work/root/usr/bin/rollcall-app" >"$work/app.log" 2>&1 &
app=$!
# Wait until the engine has loaded (or failed), at most 90 s, then close the app. Usually 2-3 s;
# once in CI the app printed nothing for 20 s (its first line comes before any of its own work:
# a start that slow is the machine's, e.g. its page cache dropped after a build).
for _ in $(seq 180); do
  grep -qE "face engine loaded|could not|error" "$work/app.log" && break
  sleep 0.5
done
# Only the app itself (its command line starts with its path): matching xvfb-run's or timeout's
# command line too would kill xvfb-run before it stops its X server, leaving an Xvfb behind.
pkill -f "^$work/root/usr/bin/rollcall-app" 2>/dev/null || true
wait "$app" 2>/dev/null || true
grep -q "loading ONNX Runtime path=$work/root/usr/.*Rollcall/vendor/onnxruntime/linux-x86_64/libonnxruntime.so" "$work/app.log" \
  || fail "the packaged app did not load its own ONNX Runtime (after $((SECONDS - started)) s):\n$(tail -40 "$work/app.log")"
grep -q "face engine loaded.*models=$work/root/usr/.*Rollcall/models" "$work/app.log" \
  || fail "the packaged app did not load its own models:\n$(grep -v WARN "$work/app.log" | tail -20)"
[ -f "$ROLLCALL_DB" ] || fail "the packaged app did not create its database"
echo "package check passed: $(basename "$deb") ($(du -h "$deb" | cut -f1)), $(basename "$rpm") ($(du -h "$rpm" | cut -f1)); the unpacked app loaded its bundled engine" >&2
