#!/usr/bin/env bash
# Several rooms at once on one engine: N classes whose lessons run together, each with the
# video_hamilton clip at 640x480 as its camera (played at its own 29.97 fps, as a camera would
# deliver it), taken by `rollcall serve` in a rehearsal of today's timetable. Prints each room's
# examined frame rate, the frames it had to pass over and its marks, and the process's peak
# memory (RSS). A measurement, not a test: the figures depend on the machine.
#
#   bash tools/bench-rooms.sh [ROOMS (3)] [SECONDS OF CLIP PER ROOM (10)]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOMS="${1:-3}"
D="${ROLLCALL_DATASETS:-$ROOT/../shared/datasets}"
R="${ROLLCALL_CLI:-${CARGO_TARGET_DIR:-$ROOT/target}/release/rollcall}"
[ -x "$R" ] || { echo "build the CLI first: cargo build --release -p rollcall --bin rollcall" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export ROLLCALL_DB="$work/school/rollcall.sqlite3" ROLLCALL_KEY_FILE="$work/keys/rollcall.key"
export ROLLCALL_USER=office ROLLCALL_PASSWORD="bench password"
mkdir -p "$work/school"

# The clip scaled to 640 wide and padded to 640x480 (what a classroom camera gives).
ffmpeg -loglevel error -i "$D/video_hamilton/short_hamilton_clip.mp4" -an -vf "scale=640:-2,pad=640:480:(ow-iw)/2:(oh-ih)/2" -c:v libx264 -preset veryfast -crf 20 "$work/clip480.mp4"

{
  echo "student_id,first_name,last_name,class,consent,consent_by,consent_date"
  for k in $(seq 1 "$ROOMS"); do
    echo "LMM,Lin-Manuel,Miranda,Room$k,granted,Luz Miranda,2026-09-01"
    echo "ALC,Alex,Lacamoire,Room$k,granted,A Lacamoire,2026-09-01"
  done
} > "$work/roster.csv"
"$R" roster import "$work/roster.csv" >/dev/null
"$R" enroll LMM "$D/video_hamilton/reference/lin_manuel_miranda.png" >/dev/null
"$R" enroll ALC "$D/video_hamilton/reference/alex_lacamoire.png" >/dev/null
day="$(date +%A)"
{
  echo "class,weekday,start,end,room,camera"
  for k in $(seq 1 "$ROOMS"); do echo "Room$k,$day,09:00,09:30,R$k,$work/clip480.mp4"; done
} > "$work/week.csv"
"$R" timetable import "$work/week.csv" >/dev/null

# The rooms open at once (08:45 is a quarter before the lessons); each clip plays at its own
# speed whatever the rehearsal's rate; the rehearsal ends 20 s later, after every clip has
# played (10 s) and its room has closed.
"$R" serve --rehearse-from 08:45 --rate 3 --stop-at 08:46 --log "$work/serve.log"
echo "(the log has $(grep -c ' marked' "$work/serve.log") mark line(s))"
