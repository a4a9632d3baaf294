//! The `rollcall` binary end to end: every command and the evaluation contracts, on small real
//! subsets, plus the errors a user meets when something is missing.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::{datasets, fixture};
use serde_json::Value;

fn rollcall() -> Command {
    Command::cargo_bin("rollcall").unwrap()
}

fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

#[test]
fn detect_reports_faces_and_goes_on_past_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.jpg");
    std::fs::write(&bad, "not an image").unwrap();
    let annotated = dir.path().join("out");
    let out = rollcall()
        .args(["detect", "--json", "--annotate"])
        .arg(&annotated)
        .arg(fixture("astronaut.png"))
        .arg(&bad)
        .arg(fixture("astronaut_exif_rotated.jpg"))
        .assert()
        // Done in part: one input could not be used.
        .code(3)
        .get_output()
        .clone();
    let v = json_of(&out.stdout);
    assert_eq!(v["processed"], 2);
    assert_eq!(v["failed"], 1);
    assert!(v["errors"][0]["path"].as_str().unwrap().ends_with("broken.jpg"));
    assert_eq!(v["images"][0]["faces"].as_array().unwrap().len(), 1);
    let face = &v["images"][0]["faces"][0];
    assert!((face["x1"].as_f64().unwrap() - 179.8).abs() < 2.0);
    assert_eq!(face["landmarks"].as_array().unwrap().len(), 5);
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.jpg"));
    assert!(annotated.join("astronaut.annotated.png").is_file());
}

#[test]
fn embed_prints_512_values_per_face() {
    let out = rollcall().args(["embed", "--json"]).arg(fixture("astronaut.png")).assert().success().get_output().clone();
    let v = json_of(&out.stdout);
    let e = v["faces"][0]["embedding"].as_array().unwrap();
    assert_eq!(e.len(), 512);
    let norm: f64 = e.iter().map(|x| x.as_f64().unwrap().powi(2)).sum();
    assert!((norm - 1.0).abs() < 1e-3);
    assert!(v["model"].as_str().unwrap().starts_with("facenet512"));
}

#[test]
fn compare_same_and_different_people() {
    let Some(d) = datasets() else { return };
    let lfw = d.join("lfw_dev/images/deepfunneled");
    let run = |a: &str, b: &str| {
        json_of(&rollcall().args(["compare", "--json"]).arg(lfw.join(a)).arg(lfw.join(b)).assert().success().get_output().stdout)
    };
    let same = run("Abel_Pacheco/Abel_Pacheco_0001.jpg", "Abel_Pacheco/Abel_Pacheco_0004.jpg");
    assert_eq!(same["same"], true, "{same}");
    let diff = run("Abel_Pacheco/Abel_Pacheco_0001.jpg", "Akhmed_Zakayev/Akhmed_Zakayev_0001.jpg");
    assert_eq!(diff["same"], false, "{diff}");
    // Rotation by EXIF is undone: the upright and the sideways-stored photo are the same person.
    let v = json_of(
        &rollcall()
            .args(["compare", "--json"])
            .arg(fixture("astronaut.png"))
            .arg(fixture("astronaut_exif_rotated.jpg"))
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert!(v["cosine"].as_f64().unwrap() > 0.9, "{v}");
    // The int8 build decides the same (same threshold: LFW chose 0.368 for fp16, 0.363 for int8).
    let int8 = |a: &str, b: &str| {
        json_of(&rollcall().args(["compare", "--json", "--embedder", "int8"]).arg(lfw.join(a)).arg(lfw.join(b)).assert().success().get_output().stdout)
    };
    assert_eq!(int8("Abel_Pacheco/Abel_Pacheco_0001.jpg", "Abel_Pacheco/Abel_Pacheco_0004.jpg")["same"], true);
    assert_eq!(int8("Abel_Pacheco/Abel_Pacheco_0001.jpg", "Akhmed_Zakayev/Akhmed_Zakayev_0001.jpg")["same"], false);
    let bad = rollcall().args(["compare", "--embedder", "int4"]).arg(fixture("astronaut.png")).arg(fixture("astronaut.png")).assert().failure().get_output().clone();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("embedder must be fp16 or int8"));
}

#[test]
fn compare_with_no_face_says_so() {
    let Some(d) = datasets() else { return };
    let out = rollcall()
        .arg("compare")
        .arg(fixture("astronaut.png"))
        .arg(d.join("group_photos_dev/images/mtcnn_no-faces.jpg"))
        .assert()
        .failure()
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no face found in"));
}

#[test]
fn expression_labels_every_face_with_all_probabilities() {
    let out = rollcall().args(["expression", "--json"]).arg(fixture("astronaut.png")).assert().success().get_output().clone();
    let v = json_of(&out.stdout);
    let f = &v["images"][0]["faces"][0];
    // She is smiling broadly.
    assert_eq!(f["expression"], "happy", "{f}");
    assert_eq!(f["probabilities"].as_object().unwrap().len(), 7);
}

/// Write a CSV whose paths point into the data set (absolute paths are allowed: they do not
/// change by being joined to the CSV's folder).
fn subset_csv(dir: &Path, name: &str, header: &str, rows: &[String]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    p
}

#[test]
fn eval_verify_on_a_subset_of_lfw_pairs() {
    let Some(d) = datasets() else { return };
    let lfw = d.join("lfw_dev");
    let mut rdr = csv::Reader::from_path(lfw.join("pairs.csv")).unwrap();
    let all: Vec<_> = rdr.records().map(|r| r.unwrap()).collect();
    // 30 same and 30 different pairs, no fold column: 10 random folds.
    let mut rows: Vec<String> = Vec::new();
    for same in ["1", "0"] {
        for r in all.iter().filter(|r| &r[2] == same).take(30) {
            rows.push(format!("{},{},{}", lfw.join(&r[0]).display(), lfw.join(&r[1]).display(), same));
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let csv = subset_csv(tmp.path(), "pairs.csv", "path_a,path_b,same", &rows);
    let v = json_of(&rollcall().args(["eval", "verify", "--pairs"]).arg(&csv).assert().success().get_output().stdout);
    assert_eq!(v["pairs"], 60);
    assert_eq!(v["folds"], 10);
    assert!(v["accuracy"].as_f64().unwrap() >= 0.9, "{v}");
    for key in ["accuracy_std", "tar_at_far_1e-3", "threshold", "no_face"] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
}

#[test]
fn eval_detect_on_the_voc_boxes() {
    let Some(d) = datasets() else { return };
    let csv = d.join("detection_dlib_voc_train/boxes.csv");
    let v = json_of(&rollcall().args(["eval", "detect", "--boxes"]).arg(&csv).assert().success().get_output().stdout);
    assert!(v["recall"].as_f64().unwrap() >= 0.95, "{v}");
    assert!(v["precision"].as_f64().unwrap() >= 0.9, "{v}");
    assert_eq!(v["faces"], 18);
    assert!(v["ms_per_image"].as_f64().unwrap() > 0.0);
}

#[test]
fn eval_expression_on_a_subset_of_fer() {
    let Some(d) = datasets() else { return };
    let fer = d.join("fer2013_publictest");
    let mut rdr = csv::Reader::from_path(fer.join("labels.csv")).unwrap();
    let mut rows: Vec<String> = rdr
        .records()
        .map(|r| r.unwrap())
        .enumerate()
        .filter(|(i, _)| i % 18 == 0)
        .map(|(_, r)| format!("{},{}", fer.join(&r[0]).display(), &r[1]))
        .collect();
    rows.push(format!("{},contempt", fer.join("images/happy").display())); // label outside the 7
    let tmp = tempfile::tempdir().unwrap();
    let csv = subset_csv(tmp.path(), "labels.csv", "path,expression", &rows);
    let v = json_of(&rollcall().args(["eval", "expression", "--labels"]).arg(&csv).assert().success().get_output().stdout);
    assert_eq!(v["skipped_labels"], 1);
    assert!(v["accuracy"].as_f64().unwrap() > 0.5, "{v}");
    assert_eq!(v["confusion"].as_array().unwrap().len(), 7);
    assert!(v["per_class_recall"]["happy"].as_f64().unwrap() > 0.6);
}

#[test]
fn eval_expression_with_detection_on_full_photos() {
    let Some(d) = datasets() else { return };
    let csv = d.join("inspireface_emotion_samples/labels.csv");
    let v = json_of(&rollcall().args(["eval", "expression", "--detect", "--labels"]).arg(&csv).assert().success().get_output().stdout);
    assert_eq!(v["no_face"], 0, "{v}");
    assert!(v["evaluated"].as_u64().unwrap() >= 3);
}

#[test]
fn a_missing_runtime_library_says_where_it_looked_and_what_to_run() {
    let out = rollcall()
        .env("ROLLCALL_ORT_LIB", "/nonexistent/libonnxruntime.so")
        .arg("detect")
        .arg(fixture("astronaut.png"))
        .assert()
        .failure()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/libonnxruntime.so") && err.contains("scripts/setup.sh"), "{err}");
}

#[test]
fn missing_or_tampered_models_are_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    // No models at all.
    let out = rollcall().arg("--models").arg(tmp.path()).arg("detect").arg(fixture("astronaut.png")).assert().failure().get_output().clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no models folder found"), "{}", String::from_utf8_lossy(&out.stderr));
    // A wrong file where R-Net should be.
    std::fs::create_dir_all(tmp.path().join("mtcnn")).unwrap();
    std::fs::copy(models.join("mtcnn/pnet.onnx"), tmp.path().join("mtcnn/pnet.onnx")).unwrap();
    std::fs::copy(models.join("mtcnn/pnet.onnx"), tmp.path().join("mtcnn/rnet.onnx")).unwrap();
    let out = rollcall().arg("--models").arg(tmp.path()).arg("detect").arg(fixture("astronaut.png")).assert().failure().get_output().clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rnet.onnx") && err.contains("sha256") && err.contains("git checkout models/"), "{err}");
}

#[test]
fn eval_identify_enrols_decides_and_rejects_strangers() {
    let Some(d) = datasets() else { return };
    let csv = d.join("deepface_celebs/labels.csv");
    let v = json_of(
        &rollcall()
            .args(["eval", "identify", "--enroll", "2", "--unknown-ids", "2", "--track", "2", "--min-images", "4", "--labels"])
            .arg(&csv)
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    for key in ["top1_accuracy", "unknown_false_accept_rate", "known_false_reject_rate", "threshold", "known_tracks", "unknown_tracks"] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["unknown_identities"], 2);
    assert!(v["top1_accuracy"].as_f64().unwrap() >= 0.7, "{v}");
    assert!(v["known_misidentified_rate"].as_f64().unwrap() <= 0.1, "{v}");
}
