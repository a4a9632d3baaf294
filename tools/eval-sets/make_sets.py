#!/usr/bin/env python3
"""Build the recognition evaluation sets from ../shared/datasets (nothing is copied into the repo).

  python3 tools/eval-sets/make_sets.py [--datasets DIR] [--out DIR] [--rollcall BIN]

Writes, under OUT (default ~/.cache/rollcall/eval-sets):
  lfw/labels.csv          LFW dev people with >= 3 photos (known and never-enrolled people are drawn
                          from these by `rollcall eval identify --min-images 3 --unknown-ids N`)
  lfw/distractors.csv     LFW dev people with 1-2 photos: enrolled with one photo each to grow the
                          gallery to school size (`--distractors`)
  lfw/distractors-381.csv 381 of them (a fixed draw): 195 + 381 = 576 enrolled, the size of the
                          school-size set in issue 16 (LFW people never shown here, 2 photos each);
                          also the rest of the school around a class (`--other-classes`)
  tight112/...            the same photos cropped tight around the detected face and resized to
                          112 x 112 px, as aligned face crops are (labels.csv, distractors.csv, images/)
  others/labels.csv       every other shared identity set in one (deepface_celebs, face_recognition_examples,
                          openface_examples, compreface_persons, facenet_pytorch_test_images' raw photos
                          without angelina_jolie, who is deepface_p01): people with >= 3 photos
  others/distractors.csv  their people with 1-2 photos, one photo each

Paths in the CSVs are absolute. LFW's documented label errors (lfw_dev/README.md) and the people
whose photos are near-duplicates of another name's (found by embedding every photo: cosine > 0.8
across names) are left out: they are errors in the data, not look-alikes.
The crops need Pillow (pip install pillow) and the built CLI (cargo build --release --bin rollcall).
"""
import argparse, csv, json, os, random, subprocess, sys
from collections import defaultdict

# lfw_dev/README.md "Known label errors", and cross-name near-duplicates found with FaceNet
# (Hasan_Wirayuda = Hassan_Wirajuda; Shinya_Taniguchi / Takahiro_Mori and Carlos_Ruckauf /
# Eduardo_Duhalde share photos).
LABEL_ERRORS = {
    "Recep_Tayyip_Erdogan", "Abdullah_Gul", "Anja_Paerson", "Janica_Kostelic", "Bart_Hendricks", "Ricky_Ray",
    "Carlos_Beltran", "Raul_Ibanez", "Emmy_Rossum", "Eva_Amurri", "Michael_Schumacher", "Mahmoud_Abbas",
    "Hasan_Wirayuda", "Hassan_Wirajuda", "Shinya_Taniguchi", "Takahiro_Mori", "Carlos_Ruckauf", "Eduardo_Duhalde",
}


def write(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "identity"])
        w.writerows(rows)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default=os.path.join(root, "..", "shared", "datasets"))
    ap.add_argument("--out", default=os.path.expanduser("~/.cache/rollcall/eval-sets"))
    ap.add_argument("--rollcall", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target")), "release", "rollcall"))
    a = ap.parse_args()
    lfw = os.path.abspath(os.path.join(a.datasets, "lfw_dev"))
    by = defaultdict(list)
    for r in csv.DictReader(open(os.path.join(lfw, "labels.csv"))):
        if r["identity"] not in LABEL_ERRORS:
            by[r["identity"]].append(os.path.join(lfw, r["path"]))
    labels = [(p, k) for k, v in sorted(by.items()) if len(v) >= 3 for p in v]
    distractors = [(v[0], k) for k, v in sorted(by.items()) if len(v) < 3]
    write(os.path.join(a.out, "lfw", "labels.csv"), labels)
    write(os.path.join(a.out, "lfw", "distractors.csv"), distractors)
    # A fixed draw (not the first 381 by name: names cluster by first letter, not by face).
    few = sorted(random.Random(576).sample(distractors, 381), key=lambda d: d[1])
    write(os.path.join(a.out, "lfw", "distractors-381.csv"), few)
    print(f"lfw: {len({k for _, k in labels})} people with >= 3 photos ({len(labels)} photos), {len(distractors)} distractors", file=sys.stderr)

    # The other identity sets, names prefixed by their set (a name is only unique within its set).
    others = defaultdict(list)
    for name in ["deepface_celebs", "face_recognition_examples", "openface_examples", "compreface_persons", "facenet_pytorch_test_images"]:
        folder = os.path.abspath(os.path.join(a.datasets, name))
        for r in csv.DictReader(open(os.path.join(folder, "labels.csv"))):
            if name == "facenet_pytorch_test_images" and (r.get("variant") != "raw" or r["identity"] == "angelina_jolie"):
                continue
            others[f"{name}:{r['identity']}"].append(os.path.join(folder, r["path"]))
    write(os.path.join(a.out, "others", "labels.csv"), [(p, k) for k, v in sorted(others.items()) if len(v) >= 3 for p in v])
    write(os.path.join(a.out, "others", "distractors.csv"), [(v[0], k) for k, v in sorted(others.items()) if len(v) < 3])
    print(f"others: {sum(len(v) >= 3 for v in others.values())} people with >= 3 photos, {sum(len(v) < 3 for v in others.values())} distractors", file=sys.stderr)

    from PIL import Image
    every = sorted({p for p, _ in labels + distractors})
    tight = os.path.join(a.out, "tight112")
    boxes = {}
    for i in range(0, len(every), 400):
        chunk = every[i:i + 400]
        out = subprocess.run([a.rollcall, "--json", "detect", *chunk], capture_output=True, text=True)
        if out.returncode not in (0, 3):
            sys.exit(f"rollcall detect failed: {out.stderr}")
        for img in json.loads(out.stdout)["images"]:
            faces = img["faces"]
            if not faces:
                continue
            cx, cy = img["width"] / 2, img["height"] / 2
            f = min(faces, key=lambda f: ((f["x1"] + f["x2"]) / 2 - cx) ** 2 + ((f["y1"] + f["y2"]) / 2 - cy) ** 2)
            boxes[img["path"]] = f
    def crop(src):
        f = boxes.get(src)
        if f is None:
            return None
        rel = os.path.relpath(src, lfw)
        dst = os.path.join(tight, "images", rel.replace(".jpg", ".png"))
        if not os.path.exists(dst):
            side = max(f["x2"] - f["x1"], f["y2"] - f["y1"])
            cx, cy = (f["x1"] + f["x2"]) / 2, (f["y1"] + f["y2"]) / 2
            box = (round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            Image.open(src).convert("RGB").crop(box).resize((112, 112), Image.BILINEAR).save(dst)
        return dst
    write(os.path.join(tight, "labels.csv"), [(c, k) for p, k in labels if (c := crop(p))])
    write(os.path.join(tight, "distractors.csv"), [(c, k) for p, k in distractors if (c := crop(p))])
    write(os.path.join(tight, "distractors-381.csv"), [(c, k) for p, k in few if (c := crop(p))])
    print(f"tight112: {len(boxes)} faces cropped to 112 px under {tight}", file=sys.stderr)


if __name__ == "__main__":
    main()
