//! Shared by the integration tests: where the real data sets are, and one loaded engine.
#![allow(dead_code)]

use std::path::PathBuf;

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
