#!/usr/bin/env bash
# Check a built Rollcall.app (macOS): every Mach-O file inside links only to the system
# (/usr/lib, /System) or to files inside the bundle (@executable_path, @loader_path, @rpath
# that resolve there). A Homebrew path here means the app starts only on the Mac that built it.
# Usage: scripts/check-macos-bundle.sh path/to/Rollcall.app   (run by .github/workflows/desktop.yml)
set -euo pipefail
app="${1:?usage: $0 Rollcall.app}"
bad=0
checked=0
while IFS= read -r -d '' f; do
  file -b "$f" | grep -q 'Mach-O' || continue
  checked=$((checked + 1))
  dir="$(dirname "$f")"
  # The first line names the file; for a library the second is its own install name.
  while read -r dep _; do
    case "$dep" in
      /usr/lib/*|/System/Library/*) ;;
      @executable_path/*) [ -e "$app/Contents/MacOS/${dep#@executable_path/}" ] || { echo "$f: $dep is not in the bundle"; bad=1; } ;;
      @loader_path/*) [ -e "$dir/${dep#@loader_path/}" ] || { echo "$f: $dep is not in the bundle"; bad=1; } ;;
      @rpath/*) [ -e "$app/Contents/Frameworks/${dep#@rpath/}" ] || [ -e "$dir/${dep#@rpath/}" ] || { echo "$f: $dep does not resolve inside the bundle"; bad=1; } ;;
      *) [ "$(basename "$dep")" = "$(basename "$f")" ] || { echo "$f: links $dep, outside the bundle and the system"; bad=1; } ;;
    esac
  done < <(otool -L "$f" | tail -n +2)
done < <(find "$app" -type f -print0)
[ "$checked" -gt 0 ] || { echo "no Mach-O file found in $app"; exit 1; }
if [ "$bad" -ne 0 ]; then echo "bundle check FAILED: $app links libraries outside itself"; exit 1; fi
echo "bundle check passed: $checked Mach-O files in $app link only the system and the bundle"
