"""Rebuild tests/fixtures from public-domain sources (needs `pip install pillow==11.0.0`).

astronaut.png: scikit-image 0.25.2's skimage/data/astronaut.png (NASA, public domain), unchanged,
  sha256 88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5; get it with
  `pip download scikit-image==0.25.2 --no-deps --only-binary=:all: --python-version 3.11
   --platform manylinux_2_17_x86_64` and unzip skimage/data/astronaut.png.
astronaut_exif_rotated.jpg: the same picture stored rotated 90 degrees counter-clockwise with EXIF
  orientation 6 ("rotate 90 CW to display"), as a phone held sideways writes it.
"""
import pathlib
from PIL import Image

here = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
img = Image.open(here / "astronaut.png").convert("RGB")
stored = img.rotate(90, expand=True)  # counter-clockwise
exif = Image.Exif()
exif[0x0112] = 6
stored.save(here / "astronaut_exif_rotated.jpg", quality=90, exif=exif.tobytes())
