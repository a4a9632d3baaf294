//! Liveness in the live loop, through the CLI on real video: a photo of an enrolled student
//! played as a camera (the "buddy punching" attack, made here from the shared reference photo) is
//! not marked in block mode and is marked but flagged in warn mode; the Hamilton clip's two live
//! people are marked in both.

mod common;

use common::{datasets, enrolled_stage, Env};
use serde_json::Value;

/// The reference photo of LMM as 4 s of H.264 at 10 fps, framed in 640x480 as a camera sees a
/// photo held up (the face with its surroundings).
fn photo_as_video(env: &Env, d: &std::path::Path) -> std::path::PathBuf {
    let out = env.dir.path().join("photo.mp4");
    let photo = d.join("video_hamilton/reference/lin_manuel_miranda.png");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-loop", "1", "-i"])
        .arg(&photo)
        .args(["-t", "4", "-r", "10", "-vf", "scale=320:-2,pad=640:480:(ow-iw)/2:(oh-ih)/2", "-pix_fmt", "yuv420p", "-c:v", "libx264"])
        .arg(&out)
        .status()
        .expect("ffmpeg (installed by scripts/setup.sh)");
    assert!(ok.success());
    out
}

fn spoof_audits(env: &Env) -> Vec<Value> {
    let audit = env.json(&["audit"]);
    audit["audit"].as_array().unwrap().iter().filter(|e| e["action"] == "liveness_spoof").cloned().collect()
}

fn run(env: &Env, source: &std::path::Path, start: &str, mode: &str) -> String {
    let out = env.cmd().args(["run", "--class", "Stage", "--start", start, "--liveness", mode, "--source"]).arg(source).assert().success();
    String::from_utf8_lossy(&out.get_output().stderr).to_string()
}

fn lesson_status(env: &Env, lesson: &str, id: &str) -> String {
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    let lesson = report["lessons"].as_array().unwrap().iter().find(|l| l["lesson"] == lesson).unwrap_or_else(|| panic!("no lesson {lesson}: {report}"));
    lesson["students"].as_array().unwrap().iter().find(|s| s["student_id"] == id).unwrap()["status"].as_str().unwrap().to_string()
}

#[test]
fn a_photo_played_as_a_camera_is_not_marked_in_block_mode_and_is_flagged_in_warn_mode() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    let video = photo_as_video(&env, &d);

    let said = run(&env, &video, "08:00", "block");
    assert!(said.contains("liveness block"), "{said}");
    assert!(said.contains("possible photo or screen held up, looking like Lin-Manuel Miranda: not marked"), "{said}");
    assert_eq!(lesson_status(&env, "08:00", "LMM"), "absent");
    let audits = spoof_audits(&env);
    assert_eq!(audits.len(), 1, "{audits:?}");
    assert_eq!(audits[0]["student_id"], "LMM");
    assert_eq!(audits[0]["new_value"], "not marked");
    let reason = audits[0]["reason"].as_str().unwrap();
    assert!(reason.contains("photo.mp4") && reason.contains("a still picture"), "{reason}");

    let said = run(&env, &video, "09:00", "warn");
    assert!(said.contains("looking like Lin-Manuel Miranda: marked, flagged for review"), "{said}");
    assert_ne!(lesson_status(&env, "09:00", "LMM"), "absent");
    let audits = spoof_audits(&env);
    assert_eq!(audits.len(), 2);
    assert_eq!(audits[1]["new_value"], "marked, flagged for review");

    // Off: not checked, marked, nothing audited.
    run(&env, &video, "10:00", "off");
    assert_ne!(lesson_status(&env, "10:00", "LMM"), "absent");
    assert_eq!(spoof_audits(&env).len(), 2);

    // The flagged mark says so wherever the register is read: the day report (JSON and text) and
    // the Excel export; the unflagged marks do not.
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    let review = |lesson: &str| {
        let l = report["lessons"].as_array().unwrap().iter().find(|l| l["lesson"] == lesson).unwrap();
        l["students"].as_array().unwrap().iter().find(|s| s["student_id"] == "LMM").unwrap()["review"].clone()
    };
    assert!(review("09:00").as_str().is_some_and(|r| r.contains("possible photo or screen held up")), "{report}");
    assert_eq!((review("08:00"), review("10:00")), (Value::Null, Value::Null));
    let text = env.cmd().args(["report", "--class", "Stage", "--date", "today"]).assert().success();
    let text = String::from_utf8_lossy(&text.get_output().stdout).to_string();
    assert_eq!(text.matches("possible photo or screen held up").count(), 1, "{text}");
    let xlsx = env.dir.path().join("stage.xlsx");
    env.cmd().args(["export", "--class", "Stage", "--from", "today", "--to", "today", "--out"]).arg(&xlsx).assert().success();
    let mut wb = calamine::open_workbook_auto(&xlsx).unwrap();
    let detail = calamine::Reader::worksheet_range(&mut wb, "Daily detail").unwrap();
    let header: Vec<String> = detail.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    let check = header.iter().position(|h| h == "Check").expect("a Check column");
    let flagged: Vec<(String, String)> =
        detail.rows().skip(1).filter(|r| !r[check].to_string().is_empty()).map(|r| (r[1].to_string(), r[2].to_string())).collect();
    assert_eq!(flagged, vec![("09:00".to_string(), "LMM".to_string())]);
}

/// A camera enrolment (the app's Capture) of a picture the model judges a photo or a screen is
/// refused with a sentence saying so, and nothing is enrolled; with the check off it is taken.
#[test]
fn a_camera_enrolment_of_a_photo_or_screen_is_refused() {
    use rollcall::enrolment::{enrol_image, EnrolOptions};
    use rollcall::vision::{liveness::THRESHOLD, load_image, AnalyzerOptions, DetectOptions, FaceAnalyzer};
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    let mut analyzer = FaceAnalyzer::load(&AnalyzerOptions { expressions: false, ..AnalyzerOptions::default() }).unwrap();
    let options = EnrolOptions { allow_lookalike: true };
    let spoof_dev = d.join("spoof_dev");
    let mut rdr = csv::Reader::from_path(spoof_dev.join("labels.csv")).unwrap();
    let before = env.json(&["students"]);
    // The printed photos of whole pictures (CelebA-Spoof): the first one the model judges a
    // spoof and that passes every other enrolment check.
    let mut refused = None;
    for r in rdr.records().map(Result::unwrap).filter(|r| &r[1] == "spoof" && &r[4] == "frame") {
        let Ok(image) = load_image(&spoof_dev.join(&r[0])) else { continue };
        let faces = analyzer.detect(&image, &DetectOptions::default()).unwrap();
        let [face] = faces[..] else { continue };
        let Some(score) = analyzer.liveness.as_mut().unwrap().judge(&image, &[face]).unwrap()[0].score() else { continue };
        if score >= THRESHOLD {
            continue;
        }
        match enrol_image(&mut env.store(), &mut analyzer, "ALC", &image, "capture", options).unwrap() {
            Err(why) if why.contains("photo or a screen held up") => {
                refused = Some(image);
                break;
            }
            _ => continue,
        }
    }
    let image = refused.expect("a printed photo in spoof_dev the model judges a spoof");
    assert_eq!(env.json(&["students"]), before, "nothing enrolled");
    env.cmd().args(["settings", "set", "liveness", "off"]).assert().success();
    assert!(enrol_image(&mut env.store(), &mut analyzer, "ALC", &image, "capture", options).unwrap().is_ok());
}

#[test]
fn the_clips_two_live_people_are_marked_in_block_and_in_warn_mode() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    let clip = d.join("video_hamilton/short_hamilton_clip.mp4");
    for (start, mode) in [("08:00", "block"), ("09:00", "warn")] {
        let said = run(&env, &clip, start, mode);
        assert!(!said.contains("possible photo"), "{mode}: {said}");
        for id in ["LMM", "ALC"] {
            assert_ne!(lesson_status(&env, start, id), "absent", "{id} in {mode} mode: {said}");
        }
    }
    assert!(spoof_audits(&env).is_empty());
    // The school's setting is what `run` uses without --liveness; a wrong value is refused.
    env.cmd().args(["settings", "set", "liveness", "sometimes"]).assert().failure();
    env.cmd().args(["settings", "set", "liveness", "block"]).assert().success();
    let out = env.cmd().args(["run", "--class", "Stage", "--start", "10:00", "--max-frames", "5", "--source"]).arg(&clip).assert().success();
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("liveness block"));
}

/// A missing liveness model: the session says the check is unavailable and runs as "off" (the
/// students are marked), never silently.
#[test]
fn without_the_liveness_model_a_session_says_so_and_runs_unchecked() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    let models = env.dir.path().join("models");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    for entry in walk(&shipped) {
        let rel = entry.strip_prefix(&shipped).unwrap();
        if rel != std::path::Path::new("liveness_minifasnet.onnx") {
            std::fs::create_dir_all(models.join(rel).parent().unwrap()).unwrap();
            std::fs::copy(&entry, models.join(rel)).unwrap();
        }
    }
    let clip = d.join("video_hamilton/short_hamilton_clip.mp4");
    let out = env
        .cmd()
        .arg("--models")
        .arg(&models)
        .args(["run", "--class", "Stage", "--start", "08:00", "--liveness", "block", "--source"])
        .arg(&clip)
        .assert()
        .success();
    let said = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(said.contains("liveness unavailable"), "{said}");
    assert!(said.contains("the liveness check is unavailable") && said.contains("liveness_minifasnet.onnx"), "{said}");
    assert_ne!(lesson_status(&env, "08:00", "LMM"), "absent", "{said}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
