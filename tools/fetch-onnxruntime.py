#!/usr/bin/env python3
"""Fetch the ONNX Runtime 1.31.1 library for one platform from its PyPI wheel (the only host the
build machines reach), check the sha256 of the wheel and of the library, and put the library in
vendor/onnxruntime/<platform>/, where the app's bundle config and the runtime lookup expect it.

Used by the Windows and macOS release builds (.github/workflows/desktop.yml); Linux uses
scripts/setup.sh, which does the same for linux-x86_64.
Usage: python3 tools/fetch-onnxruntime.py windows-x86_64|macos-arm64|linux-x86_64
"""
import hashlib
import pathlib
import subprocess
import sys
import tempfile
import zipfile

VERSION = "1.31.1"
PLATFORMS = {
    # platform dir: (pip platform tag, wheel sha256, library inside the wheel, library sha256)
    "windows-x86_64": ("win_amd64", "c3d91b5de31e2fc82d71bd65b2b22bddee8b49057a3a36338e9a868e0ea90c05",
                       "onnxruntime/capi/onnxruntime.dll", "8482d2ee174e28504f99730fb01d6861575870283de4ed3a897ad39170d9a9b9"),
    "macos-arm64": ("macosx_14_0_arm64", "60b6b69bfe580eab576cacc5d132a0e9cf2a37fcfd18d46dd191042b1d1ed0d7",
                    f"onnxruntime/capi/libonnxruntime.{VERSION}.dylib", "f8b06155feece624e55e49124340eea279da812529ae6fbc46a9f2be9c9cad2e"),
    "linux-x86_64": ("manylinux_2_28_x86_64", "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f",
                     f"onnxruntime/capi/libonnxruntime.so.{VERSION}", "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3"),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> None:
    platform = sys.argv[1]
    tag, wheel_sha, member, lib_sha = PLATFORMS[platform]
    root = pathlib.Path(__file__).resolve().parent.parent
    out = root / "vendor" / "onnxruntime" / platform / pathlib.PurePosixPath(member).name
    if out.exists() and sha256(out.read_bytes()) == lib_sha:
        print(f"{out} present")
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", f"onnxruntime=={VERSION}", "--no-deps", "--only-binary=:all:",
                        "--platform", tag, "--python-version", "3.11", "-d", tmp, "-q"], check=True)
        wheel = next(pathlib.Path(tmp).glob("*.whl"))
        if sha256(wheel.read_bytes()) != wheel_sha:
            sys.exit(f"sha256 mismatch for {wheel.name}: refusing to use it")
        data = zipfile.ZipFile(wheel).read(member)
        if sha256(data) != lib_sha:
            sys.exit(f"sha256 mismatch for {member}")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    print(f"{out} written")


if __name__ == "__main__":
    main()
