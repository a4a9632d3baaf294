#!/usr/bin/env python3
"""Run `rollcall eval identify` over the recognition evaluation sets, seeds, track lengths and
FaceNet builds, and print one markdown table (the figures in models/README.md "Recognition").

  python3 tools/eval-sets/recognition_report.py [--sets DIR] [--seeds 0-4] [--models fp16,int8] [-- extra eval args]

Needs the sets from make_sets.py and the built CLI. Embeddings are cached (--cache) so that each
image is embedded once per model: the first run takes minutes, the rest seconds.
"""
import argparse, json, os, subprocess, sys

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default=os.path.expanduser("~/.cache/rollcall/eval-sets"))
    ap.add_argument("--datasets", default=os.path.join(root, "..", "shared", "datasets"))
    ap.add_argument("--rollcall", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target")), "release", "rollcall"))
    ap.add_argument("--seeds", default="0-4")
    ap.add_argument("--tracks", default="3,1")
    ap.add_argument("--models", default="fp16,int8")
    ap.add_argument("--only", default="", help="comma-separated set names to run")
    ap.add_argument("extra", nargs="*", help="more arguments for eval identify (after --)")
    a = ap.parse_args()
    lo, hi = (int(x) for x in a.seeds.split("-")) if "-" in a.seeds else (int(a.seeds), int(a.seeds))
    S, D = a.sets, a.datasets
    # name: (labels, args)
    sets = {
        "lfw 2 photos, 60 strangers": (f"{S}/lfw/labels.csv", ["--enroll", "2", "--min-images", "3", "--unknown-ids", "60"]),
        # The size of issue 16's school-size set (576 enrolled), between 195 and 1,631.
        "lfw + 381 distractors (576 enrolled)": (f"{S}/lfw/labels.csv", ["--enroll", "2", "--min-images", "3", "--unknown-ids", "60", "--distractors", f"{S}/lfw/distractors-381.csv"]),
        "lfw + 1,436 distractors": (f"{S}/lfw/labels.csv", ["--enroll", "2", "--min-images", "3", "--unknown-ids", "60", "--distractors", f"{S}/lfw/distractors.csv"]),
        "lfw 5 photos, >=10 each, 5 strangers": (f"{S}/lfw/labels.csv", ["--enroll", "5", "--min-images", "10", "--unknown-ids", "5"]),
        # A class, the product's most common gallery: calibrated (20 students or more), few of them.
        "lfw a class: 2 photos, >=10 each, 26 enrolled, 25 strangers": (f"{S}/lfw/labels.csv", ["--enroll", "2", "--min-images", "10", "--unknown-ids", "25"]),
        # The same classes as a class's roll sees them in a school: the recognizer knows the 381
        # other classes' students too and marks only its own (`--other-classes`).
        "lfw a class in a school: the class of 26 + 381 students of other classes": (f"{S}/lfw/labels.csv", ["--enroll", "2", "--min-images", "10", "--unknown-ids", "25", "--distractors", f"{S}/lfw/distractors-381.csv", "--other-classes"]),
        "lfw two classes in a school: the 57 + 381 students of other classes": (f"{S}/lfw/labels.csv", ["--enroll", "2", "--min-images", "6", "--unknown-ids", "40", "--distractors", f"{S}/lfw/distractors-381.csv", "--other-classes"]),
        "tight112 a class in a school: the class of 26 + 381 students of other classes": (f"{S}/tight112/labels.csv", ["--enroll", "2", "--min-images", "10", "--unknown-ids", "25", "--distractors", f"{S}/tight112/distractors-381.csv", "--other-classes"]),
        "lfw two classes: 2 photos, >=6 each, 57 enrolled, 40 strangers": (f"{S}/lfw/labels.csv", ["--enroll", "2", "--min-images", "6", "--unknown-ids", "40"]),
        "tight112 2 photos, 60 strangers": (f"{S}/tight112/labels.csv", ["--enroll", "2", "--min-images", "3", "--unknown-ids", "60"]),
        "tight112 + 1,435 distractors": (f"{S}/tight112/labels.csv", ["--enroll", "2", "--min-images", "3", "--unknown-ids", "60", "--distractors", f"{S}/tight112/distractors.csv"]),
        "tight112 5 photos, >=10 each, 5 strangers": (f"{S}/tight112/labels.csv", ["--enroll", "5", "--min-images", "10", "--unknown-ids", "5"]),
        "tight112 a class: 2 photos, >=10 each, 26 enrolled, 25 strangers": (f"{S}/tight112/labels.csv", ["--enroll", "2", "--min-images", "10", "--unknown-ids", "25"]),
        "lfw 5 photos, >=15 each, 13 strangers (17 enrolled)": (f"{S}/lfw/labels.csv", ["--enroll", "5", "--min-images", "15", "--unknown-ids", "13"]),
        "tight112 5 photos, >=15 each, 13 strangers (17 enrolled)": (f"{S}/tight112/labels.csv", ["--enroll", "5", "--min-images", "15", "--unknown-ids", "13"]),
        "deepface celebs (13 people)": (f"{D}/deepface_celebs/labels.csv", ["--enroll", "2", "--min-images", "3", "--unknown-ids", "3"]),
        "other shared sets, 2 photos, 4 strangers": (f"{S}/others/labels.csv", ["--enroll", "2", "--min-images", "3", "--unknown-ids", "4"]),
        "other shared sets + their 1-2 photo people": (f"{S}/others/labels.csv", ["--enroll", "2", "--min-images", "3", "--unknown-ids", "4", "--distractors", f"{S}/others/distractors.csv"]),
    }
    only = [s for s in a.only.split(",") if s]
    # Who was taken for whom on tracks (every seed), per set and model: a few look-alike pairs
    # (the embedding's limit) read differently from errors spread over many people (a threshold's).
    wrong = {}
    print("| set | model | track | top-1 | strangers accepted (max) | students rejected | misidentified | nearest centroid alone | threshold | full tracks: students rejected / strangers accepted |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, (labels, args) in sets.items():
        if only and not any(o in name for o in only):
            continue
        for model in a.models.split(","):
            cache = os.path.expanduser(f"~/.cache/rollcall/eval-cache-{model}.jsonl")
            for track in a.tracks.split(","):
                rows = []
                for seed in range(lo, hi + 1):
                    cmd = [a.rollcall, "eval", "identify", "--labels", labels, *args, "--track", track, "--seed", str(seed), "--embedder", model, "--cache", cache, *a.extra]
                    out = subprocess.run(cmd, capture_output=True, text=True)
                    if out.returncode not in (0, 3):
                        sys.exit(f"{' '.join(cmd)}\n{out.stderr}")
                    rows.append(json.loads(out.stdout))
                    if int(track) > 1:
                        for t in rows[-1].get("taken_for", []):
                            pair = ("stranger " if t["stranger"] else "student ") + f'{t["identity"]} as {t["taken_for"]}'
                            counts = wrong.setdefault(f"{name}, {model}", {})
                            counts[pair] = counts.get(pair, 0) + 1
                mean = lambda k: sum((r[k] or 0) for r in rows) / len(rows)
                far = [r["unknown_false_accept_rate"] or 0 for r in rows]
                # Tracks with all their photos (an identity's last track may be shorter: the live
                # roll never decides on fewer frames than a track, an evaluation runs out of photos).
                full = [b for r in rows for b in r["by_length"] if b["length"] == int(track)]
                pct = lambda a, b: 100 * sum(x[a] for x in full) / max(1, sum(x[b] for x in full))
                print(f"| {name} | {model} | {track} | {100*mean('top1_accuracy'):.1f} % | {100*mean('unknown_false_accept_rate'):.1f} % ({100*max(far):.1f}) "
                      f"| {100*mean('known_false_reject_rate'):.1f} % | {100*mean('known_misidentified_rate'):.2f} % | {100*mean('closed_set_top1'):.1f} % | {mean('threshold'):.3f} "
                      f"| {pct('known_rejected', 'known_tracks'):.1f} % / {pct('unknown_accepted', 'unknown_tracks'):.1f} % |", flush=True)
    print("\nWrong acceptances on tracks, seeds together (tracks: who, taken for whom):\n")
    for key, counts in wrong.items():
        print(f"- {key}: " + "; ".join(f"{n} {pair}" for pair, n in sorted(counts.items(), key=lambda x: -x[1])))

if __name__ == "__main__":
    main()
