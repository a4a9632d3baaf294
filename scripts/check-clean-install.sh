#!/usr/bin/env bash
# Install the built .deb on a clean Debian system and run both self-tests there: a minimal root
# of the build machine's own release, made by debootstrap from the distribution's packages, with
# nothing of the build machine in it (no OpenCV, no Rust, no source tree). apt installs the .deb
# and resolves its Depends as it would on a school's PC; then `rollcall self-test` and
# `rollcall-app --self-test` (under Xvfb) must both pass inside it. Needs root (or sudo): it
# chroots. The base system is kept in ~/.cache/rollcall as debootstrap's tarball (still the
# distribution's packages, checked by debootstrap against the release's signed lists), so a
# second run does not download it again; the downloaded .debs are cached beside it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
CACHE="${ROLLCALL_CACHE:-$HOME/.cache/rollcall}"
if [ "$(id -u)" -ne 0 ]; then exec sudo --preserve-env=CARGO_TARGET_DIR,ROLLCALL_CACHE,ROLLCALL_DEBIAN_MIRROR,HOME bash "$0" "$@"; fi
started=$(date +%s)
deb="$(ls -t "$TARGET"/release/bundle/deb/*.deb 2>/dev/null | head -1)"
[ -n "$deb" ] || { echo "no .deb under $TARGET/release/bundle/deb: run scripts/build-app.sh first" >&2; exit 1; }
. /etc/os-release
release="${VERSION_CODENAME:?this script needs a Debian release with a codename}"
# The machine's own Debian mirror (a school's or CI's proxy), else Debian's.
sources() { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null || true; }
mirror="${ROLLCALL_DEBIAN_MIRROR:-$(sources | grep -oE '^(URIs:|deb) +https?://[^ ]+' | grep -v security | head -1 | awk '{print $2}' || true)}"
mirror="${mirror:-http://deb.debian.org/debian}"
security="$(sources | grep -oE '^(URIs:|deb) +https?://[^ ]+security[^ ]*' | head -1 | awk '{print $2}' || true)"
log() { printf '\033[1m[clean-install]\033[0m %s\n' "$*" >&2; }
fail() { echo "clean-install check FAILED: $*" >&2; exit 1; }
command -v debootstrap >/dev/null || fail "debootstrap is not installed (scripts/setup.sh installs it)"

work="$(mktemp -d /var/tmp/rollcall-clean.XXXXXX)"
sysroot="$work/root"
cleanup() {
  for m in dev/pts dev proc sys var/cache/apt/archives; do
    mountpoint -q "$sysroot/$m" 2>/dev/null && umount -l "$sysroot/$m" || true
  done
  # Never remove a tree that still has the host's /dev or /proc mounted inside it.
  if grep -q " $work/" /proc/mounts; then echo "left $work in place: something is still mounted in it" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

mkdir -p "$CACHE/apt-archives/partial"
tarball="$CACHE/debootstrap-$release-minbase.tgz"
if [ ! -s "$tarball" ]; then
  log "downloading a minimal $release from $mirror (once; kept in $tarball)"
  debootstrap --variant=minbase --make-tarball="$tarball.part" "$release" "$work/tarball" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap could not download $release from $mirror"; }
  mv "$tarball.part" "$tarball"
fi
log "a clean $release root from the base system"
debootstrap --variant=minbase --unpack-tarball="$tarball" "$release" "$sysroot" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap could not make the $release root"; }
{
  echo "deb $mirror $release main"
  echo "deb $mirror $release-updates main"
  [ -n "$security" ] && echo "deb $security $release-security main"
} >"$sysroot/etc/apt/sources.list"
mount -t proc proc "$sysroot/proc"
mount -t sysfs sys "$sysroot/sys"
mount --bind /dev "$sysroot/dev"
mount --bind /dev/pts "$sysroot/dev/pts"
mount --bind "$CACHE/apt-archives" "$sysroot/var/cache/apt/archives"
cp /etc/resolv.conf "$sysroot/etc/resolv.conf" 2>/dev/null || true
cp "$deb" "$sysroot/tmp/"
in_root() { chroot "$sysroot" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 "$@"; }

log "apt install ./$(basename "$deb") (apt resolves its Depends) and Xvfb to run the app on"
in_root apt-get update -qq >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2; fail "apt-get update failed in the clean root"; }
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" xvfb xauth >>"$work/apt.log" 2>&1 \
  || { tail -30 "$work/apt.log" >&2; fail "apt could not install $(basename "$deb") on a clean $release"; }
installed=$(in_root dpkg-query -W -f='${binary:Package}\n' | wc -l)
in_root sh -c '! ls /usr/include/opencv4 >/dev/null 2>&1 && ! command -v cargo >/dev/null && ! command -v rustc >/dev/null' \
  || fail "the clean root has OpenCV's headers or a Rust toolchain: it is not clean"
log "$installed packages in the clean root (no OpenCV headers, no Rust, no source tree)"

# No credential store (no desktop session) in a chroot: the key is a private file, as on a
# headless PC. Both self-tests run from the installed files only.
log "rollcall self-test (the CLI, from /usr/bin)"
in_root env ROLLCALL_KEY_FILE=/root/rollcall.key rollcall self-test || fail "rollcall self-test failed in the clean root"
log "rollcall-app --self-test (the app, under Xvfb)"
in_root env ROLLCALL_KEY_FILE=/root/rollcall.key xvfb-run -a rollcall-app --self-test || fail "rollcall-app --self-test failed in the clean root"
# Upgrades keep the data: a register made by this version, the same package under a newer version
# installed over it, the register still opens with its account and setting; removing the package
# leaves the register where it is (the user's data folder, never the install folder).
log "upgrade over an installed version, then remove: the register stays"
export_env=(env ROLLCALL_KEY_FILE=/root/rollcall.key ROLLCALL_USER=office ROLLCALL_PASSWORD=upgrade-check-password)
in_root "${export_env[@]}" rollcall settings set mood off >/dev/null || fail "could not make a register with the installed CLI"
pkg="$(dpkg-deb -f "$deb" Package)"; old="$(dpkg-deb -f "$deb" Version)"
dpkg-deb -R "$deb" "$work/repack"
sed -i "s/^Version: .*/Version: $old+upgrade1/" "$work/repack/DEBIAN/control"
dpkg-deb -b -Zxz "$work/repack" "$sysroot/tmp/upgrade.deb" >/dev/null
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/upgrade.deb >>"$work/apt.log" 2>&1 || fail "the upgrade did not install"
now="$(in_root dpkg-query -W -f='${Version}' "$pkg")"
[ "$now" = "$old+upgrade1" ] || fail "the upgrade left version $now installed"
mood="$(in_root "${export_env[@]}" rollcall settings --json | grep -o '"mood":"[a-z]*"' || true)"
[ "$mood" = '"mood":"off"' ] || fail "after the upgrade the register does not hold its setting (got: ${mood:-nothing})"
in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "$pkg" >>"$work/apt.log" 2>&1 || fail "apt could not remove $pkg"
in_root test ! -e /usr/bin/rollcall-app || fail "rollcall-app is still there after removal"
in_root test -s /root/.local/share/rollcall/rollcall.sqlite3 || fail "removing the package removed the register"
log "upgraded $old -> $now with the register and its setting kept; removed, the register stays in /root/.local/share/rollcall"

log "passed in $(( $(date +%s) - started )) s: $(basename "$deb") installs on a clean $release and both self-tests pass"
