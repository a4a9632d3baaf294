//! `rollcall self-test` end to end: a working installation passes every check, and each thing
//! an installation can lack gives its own sentence and exit status 1 (issue 15).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// `rollcall self-test` on a register in its own temporary folder (the data folder check).
fn self_test(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("rollcall").unwrap();
    cmd.arg("self-test").arg("--db").arg(dir.join("data/rollcall.sqlite3"));
    cmd
}

/// A models folder like the shipped one, each file linked, except `change` (copied and, with
/// `corrupt`, one byte changed; without it, left out).
fn models_copy(dir: &Path, change: &str, corrupt: bool) -> PathBuf {
    let out = dir.join("models");
    for entry in walk(&models()) {
        let rel = entry.strip_prefix(models()).unwrap();
        let to = out.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        if rel == Path::new(change) {
            if corrupt {
                let mut bytes = std::fs::read(&entry).unwrap();
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0x55;
                std::fs::write(&to, bytes).unwrap();
            }
        } else {
            std::os::unix::fs::symlink(&entry, &to).unwrap();
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}

fn failed(out: &std::process::Output) -> (Value, String) {
    assert_eq!(out.status.code(), Some(1), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    (serde_json::from_slice(&out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no check {name}: {report}"))
}

#[test]
fn a_working_installation_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let out = self_test(dir.path()).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    let names: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ONNX Runtime", "models", "face engine", "video", "database", "database key", "data folder"]);
    for c in report["checks"].as_array().unwrap() {
        assert_eq!(c["outcome"], "ok", "{c}");
    }
    // The setup's library is the pinned build; the photo's face matched its reference; the
    // H.264 video went through OpenCV's FFmpeg backend, as a camera stream does.
    assert!(check(&report, "ONNX Runtime")["found"].as_str().unwrap().contains("the pinned build"));
    assert!(check(&report, "face engine")["found"].as_str().unwrap().contains("1 face"));
    let video = check(&report, "video")["found"].as_str().unwrap();
    assert!(video.contains("20 frames") && video.contains("FFMPEG") && video.contains("1 face in frame 5"), "{video}");
    // Nothing was written where the register lives.
    assert_eq!(std::fs::read_dir(dir.path().join("data")).unwrap().count(), 0);

    let text = self_test(dir.path()).assert().success().get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&text).contains("All 7 checks passed"));
}

#[test]
fn a_missing_model_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let models = models_copy(dir.path(), "facenet512_fp16.onnx", false);
    let out = self_test(dir.path()).args(["--json", "--models"]).arg(&models).output().unwrap();
    let (report, stderr) = failed(&out);
    assert_eq!(check(&report, "models")["outcome"], "failed");
    assert_eq!(check(&report, "face engine")["outcome"], "skipped");
    let want = format!("model file {} is missing", models.join("facenet512_fp16.onnx").display());
    assert!(stderr.contains(&want), "{stderr}");
}

#[test]
fn a_model_with_the_wrong_hash_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let models = models_copy(dir.path(), "mtcnn/rnet.onnx", true);
    let out = self_test(dir.path()).args(["--json", "--models"]).arg(&models).output().unwrap();
    let (report, stderr) = failed(&out);
    assert_eq!(check(&report, "models")["outcome"], "failed");
    assert!(stderr.contains("is not the expected MTCNN R-Net (sha256"), "{stderr}");
    assert!(stderr.contains("rnet.onnx"), "{stderr}");
}

#[test]
fn a_missing_onnx_runtime_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = self_test(dir.path()).arg("--json").env("ROLLCALL_ORT_LIB", dir.path().join("libonnxruntime.so")).output().unwrap();
    let (report, stderr) = failed(&out);
    assert_eq!(check(&report, "ONNX Runtime")["outcome"], "failed");
    assert_eq!(check(&report, "face engine")["outcome"], "skipped");
    // What does not need it still runs: the video opens, the database works.
    assert_eq!(check(&report, "video")["outcome"], "ok");
    assert_eq!(check(&report, "database")["outcome"], "ok");
    assert!(stderr.contains("ONNX Runtime library not found"), "{stderr}");
    assert!(stderr.contains("ROLLCALL_ORT_LIB"), "{stderr}");
}

#[test]
fn an_unusable_data_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the data folder should be (what root meets too: permissions do not stop it).
    std::fs::write(dir.path().join("data"), "not a folder").unwrap();
    let out = self_test(dir.path()).arg("--json").output().unwrap();
    let (report, stderr) = failed(&out);
    assert_eq!(check(&report, "data folder")["outcome"], "failed");
    assert!(stderr.contains("is a file, not a folder"), "{stderr}");

    // A folder this user cannot read (only meaningful where permissions apply: not as root).
    if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o000)).unwrap();
        let out = self_test(dir.path()).arg("--json").output().unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
        let (_, stderr) = failed(&out);
        assert!(stderr.contains("cannot be read"), "{stderr}");
    }
}
