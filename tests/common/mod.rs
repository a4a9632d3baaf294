//! Shared by the integration tests: where the real data sets are, and one loaded engine.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use serde_json::Value;

/// The shared data sets (`ROLLCALL_DATASETS`, default `../shared/datasets`). When they are absent
/// a test is skipped with a notice, except under `CI=true`, where absence is a failure: CI must
/// never go green by testing nothing.
pub fn datasets() -> Option<PathBuf> {
    let dir = std::env::var_os("ROLLCALL_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets"));
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("data sets not found at {} (set ROLLCALL_DATASETS); they are required in CI", dir.display());
    }
    eprintln!("NOTICE: data sets not found at {}; skipping this test", dir.display());
    None
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A school of its own for one test: a temporary folder with the database in `school/`.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("school")).unwrap();
        Env { dir }
    }
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("school").join("rollcall.sqlite3")
    }
    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("rollcall").unwrap();
        c.env("ROLLCALL_DB", self.db());
        c
    }
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.cmd().arg("--json").args(args).assert().success().get_output().stdout.clone();
        serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
    }
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

pub const ROSTER: &str = "student_id,first_name,last_name,class\nLMM,Lin-Manuel,Miranda,Stage\nALC,Alex,Lacamoire,Stage\nABS,Absent,Student,Stage\n";

/// Import the roster and enrol the two reference people of the clip.
pub fn enrolled_stage(d: &Path) -> Env {
    let env = Env::new();
    let roster = env.write("roster.csv", ROSTER);
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let refs = d.join("video_hamilton/reference");
    env.cmd().args(["enroll", "LMM"]).arg(refs.join("lin_manuel_miranda.png")).assert().success();
    env.cmd().args(["enroll", "ALC"]).arg(refs.join("alex_lacamoire.png")).assert().success();
    env
}

pub fn status_of(report: &Value, id: &str) -> String {
    report["students"].as_array().unwrap().iter().find(|s| s["student_id"] == id).unwrap()["status"].as_str().unwrap().to_string()
}

/// Serve the clip as a live MJPEG stream over HTTP (one client), as an IP camera would.
pub fn serve_stream(clip: &Path, port: u16) -> std::process::Child {
    std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "quiet", "-re", "-i"])
        .arg(clip)
        .args(["-an", "-c:v", "mjpeg", "-q:v", "5", "-f", "mpjpeg", "-listen", "1"])
        .arg(format!("http://127.0.0.1:{port}/cam"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg (installed by scripts/setup.sh)")
}
