#!/usr/bin/env bash
# Rebuild the self-test's photo and video (models/selftest/) from their public-domain source:
# NASA's photograph of the astronaut Eileen Collins, as scikit-image ships it in its PyPI wheel
# (skimage/data/astronaut.png; "No known copyright restrictions, released into the public
# domain"). Both downloads are sha256-checked. The reference embedding is then written by
#   rollcall embed models/selftest/face.jpg --json   (see tools/selftest-assets/reference.py)
# Encoders change between FFmpeg versions, so a rebuild may differ in bytes: update
# models/SHA256SUMS and src/self_test.rs's pins with the new files.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/models/selftest"
WHEEL=scikit_image-0.24.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
WHEEL_SHA256=fa27b3a0dbad807b966b8db2d78da734cb812ca4787f7fbb143764800ce2fa9c
PNG_SHA256=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
  --python-version 3.11 scikit-image==0.24.0 -d "$tmp"
echo "$WHEEL_SHA256  $tmp/$WHEEL" | sha256sum -c --status || { echo "sha256 mismatch: $WHEEL" >&2; exit 1; }
unzip -q -j "$tmp/$WHEEL" skimage/data/astronaut.png -d "$tmp"
echo "$PNG_SHA256  $tmp/astronaut.png" | sha256sum -c --status || { echo "sha256 mismatch: astronaut.png" >&2; exit 1; }
mkdir -p "$OUT"
# A JPEG, as a school's photos are (the 512x512 original, quality ~90).
ffmpeg -v error -y -i "$tmp/astronaut.png" -q:v 3 -fflags +bitexact -flags:v +bitexact -map_metadata -1 "$OUT/face.jpg"
# Two seconds of H.264 at 10 fps with a slow zoom, as a camera or an RTSP stream sends it: only
# OpenCV's FFmpeg plugin decodes this, which is what the self-test's video check is for.
ffmpeg -v error -y -loop 1 -i "$tmp/astronaut.png" \
  -vf "zoompan=z='1+0.004*on':x='iw/2-(iw/zoom/2)':y='ih/3-(ih/zoom/3)':d=20:s=320x320:fps=10,format=yuv420p" \
  -frames:v 20 -c:v libx264 -preset veryslow -crf 30 -fflags +bitexact -flags:v +bitexact -map_metadata -1 \
  -movflags +faststart "$OUT/face.mp4"
# The reference embedding: the photo's one face through this build's engine (fp16 FaceNet).
CLI="${CARGO_TARGET_DIR:-$ROOT/target}/release/rollcall"
[ -x "$CLI" ] || { echo "build the CLI first (cargo build --release --bin rollcall)" >&2; exit 1; }
"$CLI" embed --json --embedder fp16 "$OUT/face.jpg" | python3 -c '
import json, struct, sys
faces = json.load(sys.stdin)["faces"]
assert len(faces) == 1, f"{len(faces)} faces in the self-test photo"
e = faces[0]["embedding"]
sys.stdout.buffer.write(struct.pack("<%df" % len(e), *e))' >"$OUT/face.fp16.embedding"
( cd "$OUT" && sha256sum face.jpg face.mp4 face.fp16.embedding )
