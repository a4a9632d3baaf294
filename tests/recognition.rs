//! Recognition that holds on unseen faces and at school size (issue 16), on real faces: LFW dev
//! people enrolled with two photos each, people never enrolled, and a gallery grown with
//! distractors (other people, one photo each) as a school's would be.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{datasets, enrolled_stage, Env};
use serde_json::Value;

/// LFW's documented label errors and cross-name duplicates (as tools/eval-sets/make_sets.py).
const LABEL_ERRORS: [&str; 18] = [
    "Recep_Tayyip_Erdogan", "Abdullah_Gul", "Anja_Paerson", "Janica_Kostelic", "Bart_Hendricks", "Ricky_Ray", "Carlos_Beltran", "Raul_Ibanez", "Emmy_Rossum",
    "Eva_Amurri", "Michael_Schumacher", "Mahmoud_Abbas", "Hasan_Wirayuda", "Hassan_Wirajuda", "Shinya_Taniguchi", "Takahiro_Mori", "Carlos_Ruckauf", "Eduardo_Duhalde",
];

/// labels.csv (people with >= 3 photos) and distractors.csv (up to `distractors` people with
/// fewer, one photo each) in `dir`, from LFW dev; absolute paths.
fn lfw_sets(d: &Path, dir: &Path, people: usize, distractors: usize) -> (PathBuf, PathBuf) {
    let by = lfw_people(d);
    let labels = dir.join("labels.csv");
    let mut w = csv::Writer::from_path(&labels).unwrap();
    w.write_record(["path", "identity"]).unwrap();
    for (id, paths) in by.iter().filter(|(_, v)| v.len() >= 3).take(people) {
        for p in paths {
            w.write_record([p, id]).unwrap();
        }
    }
    w.flush().unwrap();
    let extra = dir.join("distractors.csv");
    let mut w = csv::Writer::from_path(&extra).unwrap();
    w.write_record(["path", "identity"]).unwrap();
    for (id, paths) in by.iter().filter(|(_, v)| v.len() < 3).take(distractors) {
        w.write_record([&paths[0], id]).unwrap();
    }
    w.flush().unwrap();
    (labels, extra)
}

/// LFW dev's photos by person (absolute paths, in the labels' order), without the label errors.
fn lfw_people(d: &Path) -> BTreeMap<String, Vec<String>> {
    let lfw = d.join("lfw_dev");
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut rdr = csv::Reader::from_path(lfw.join("labels.csv")).unwrap();
    for r in rdr.records() {
        let r = r.unwrap();
        if !LABEL_ERRORS.contains(&&r[1]) {
            by.entry(r[1].to_string()).or_default().push(lfw.join(&r[0]).display().to_string());
        }
    }
    by
}

fn identify(env: &Env, labels: &Path, args: &[&str]) -> Value {
    let out = env.cmd().args(["eval", "identify", "--labels"]).arg(labels).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_school_size_gallery_refuses_strangers_and_never_takes_a_student_for_another() {
    let Some(d) = datasets() else { return };
    let env = Env::new();
    let (labels, distractors) = lfw_sets(&d, env.dir.path(), usize::MAX, 600);
    let cache = env.dir.path().join("cache.jsonl");
    let common = ["--enroll", "2", "--min-images", "3", "--unknown-ids", "60", "--track", "3", "--seed", "0", "--cache"];
    let r = identify(&env, &labels, &[&common[..], &[cache.to_str().unwrap(), "--distractors", distractors.to_str().unwrap()]].concat());
    // The contract's fields are all there, plus the gallery's make-up.
    for key in ["top1_accuracy", "unknown_false_accept_rate", "known_false_reject_rate", "known_misidentified_rate", "threshold", "calibration", "closed_set_top1"] {
        assert!(r.get(key).is_some(), "{key} missing: {r}");
    }
    assert_eq!(r["distractors"], 600, "{r}");
    let known = r["identities"].as_u64().unwrap() - r["unknown_identities"].as_u64().unwrap();
    assert_eq!(r["enrolled_identities"].as_u64().unwrap(), known + 600, "{r}");
    // 795 enrolled: strangers stay out (the old single threshold let most in at this size).
    let far = r["unknown_false_accept_rate"].as_f64().unwrap();
    assert!(far <= 0.02, "strangers accepted: {far}");
    assert_eq!(r["known_misidentified_rate"], 0.0, "{r}");
    assert!(r["top1_accuracy"].as_f64().unwrap() >= 0.93, "{r}");
    // The cohort score keeps students in at this size (the runner-up alone turned 4 % away).
    assert!(r["known_false_reject_rate"].as_f64().unwrap() <= 0.03, "{r}");
    // The figures per track length add up to the whole, and tracks with all 3 photos (what the
    // live roll decides on) turn fewer students away than the 1-photo leftovers of people with 3
    // or 4 photos.
    let by = r["by_length"].as_array().unwrap();
    assert_eq!(by.len(), 3, "{r}");
    let sum = |k: &str| by.iter().map(|b| b[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(sum("known_tracks"), r["known_tracks"].as_u64().unwrap(), "{r}");
    assert_eq!(sum("unknown_tracks"), r["unknown_tracks"].as_u64().unwrap(), "{r}");
    let rate = |b: &Value| b["known_rejected"].as_f64().unwrap() / b["known_tracks"].as_f64().unwrap().max(1.0);
    assert!(rate(&by[2]) < rate(&by[0]), "{r}");
    assert!(rate(&by[2]) <= 0.015, "{r}");
    // Every wrong acceptance is listed with whom it was taken for, and every refused student
    // track under its student: the lists and the counts are the same events.
    let taken = r["taken_for"].as_array().unwrap();
    let strangers_in = taken.iter().filter(|t| t["stranger"] == true).count() as u64;
    assert_eq!(strangers_in, sum("unknown_accepted"), "{r}");
    assert_eq!(taken.len() as u64 - strangers_in, sum("known_misidentified"), "{r}");
    assert!(taken.iter().all(|t| t["identity"] != t["taken_for"] && t["similarity"].as_f64().unwrap() > 0.0), "{r}");
    let refused: u64 = r["rejected_by_identity"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(refused, sum("known_rejected"), "{r}");

    // A class of 26 (2 photos each) whose office follows the photo check: the students flagged
    // get 3 more photos, and fewer tracks are turned away on the same probes.
    let class = identify(&env, &labels, &["--enroll", "2", "--min-images", "10", "--unknown-ids", "25", "--track", "3", "--seed", "0", "--rephotograph", "3", "--cache", cache.to_str().unwrap()]);
    let before = &class["before_rephotograph"];
    assert!(class["rephotographed"].as_u64().unwrap() > 0 && before["students_flagged"] == class["rephotographed"], "{class}");
    assert!(class["known_false_reject_rate"].as_f64().unwrap() <= before["known_false_reject_rate"].as_f64().unwrap(), "{class}");
    let refused: u64 = class["rejected_by_identity"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    assert!(class["at_risk_rejected"].as_u64().unwrap() <= refused, "{class}");

    // The same class as its roll sees it in a school: the recognizer knows the other classes'
    // students too (the 600 here) and marks only the class's own. A stranger then meets a
    // school-size gallery, whose cohort refuses look-alikes a class of 26 cannot (models/README.md:
    // 2.8 % -> 0.9 % of strangers' tracks over seeds 0-4), and the class's students stay in.
    let class_args = ["--enroll", "2", "--min-images", "10", "--unknown-ids", "25", "--track", "3", "--seed", "0", "--cache", cache.to_str().unwrap()];
    let alone = identify(&env, &labels, &class_args);
    let in_school = identify(&env, &labels, &[&class_args[..], &["--distractors", distractors.to_str().unwrap(), "--other-classes"]].concat());
    assert_eq!((alone["enrolled_identities"].as_u64(), in_school["enrolled_identities"].as_u64()), (Some(26), Some(626)), "{in_school}");
    assert_eq!(in_school["other_classes"], true, "{in_school}");
    let strangers = |r: &Value| r["unknown_false_accept_rate"].as_f64().unwrap();
    assert!(strangers(&in_school) < strangers(&alone), "in a school {} vs alone {}", strangers(&in_school), strangers(&alone));
    assert!(in_school["known_false_reject_rate"].as_f64().unwrap() <= 0.03, "{in_school}");
    assert_eq!(in_school["known_misidentified_rate"], 0.0, "{in_school}");
    // Nobody is counted as taken for another class's student: the roll does not mark them.
    assert!(in_school["taken_for"].as_array().unwrap().iter().all(|t| !t["taken_for"].as_str().unwrap().starts_with("distractor:")), "{in_school}");

    // The same people without the distractors.
    let small = identify(&env, &labels, &[&common[..], &[cache.to_str().unwrap()]].concat());
    assert!(small["unknown_false_accept_rate"].as_f64().unwrap() <= 0.03, "{small}");
    assert_eq!(small["known_misidentified_rate"], 0.0, "{small}");

    // Single photos are a closed-set vote: within half a point of nearest centroid alone.
    let single = identify(&env, &labels, &["--enroll", "2", "--min-images", "3", "--track", "1", "--seed", "0", "--cache", cache.to_str().unwrap()]);
    let (top1, nearest) = (single["top1_accuracy"].as_f64().unwrap(), single["closed_set_top1"].as_f64().unwrap());
    assert!(nearest - top1 <= 0.005, "top-1 {top1} vs nearest centroid {nearest}");
    // The same in a class too small to calibrate (17 students with 5 photos each).
    let class = identify(&env, &labels, &["--enroll", "5", "--min-images", "15", "--unknown-ids", "13", "--track", "1", "--seed", "0", "--cache", cache.to_str().unwrap()]);
    assert_eq!(class["enrolled_identities"], 17, "{class}");
    let (top1, nearest) = (class["top1_accuracy"].as_f64().unwrap(), class["closed_set_top1"].as_f64().unwrap());
    assert!(nearest - top1 <= 0.005, "top-1 {top1} vs nearest centroid {nearest}");
}

#[test]
fn distractors_that_are_also_labelled_people_are_refused() {
    let Some(d) = datasets() else { return };
    let env = Env::new();
    let (labels, _) = lfw_sets(&d, env.dir.path(), 5, 0);
    let out = env.cmd().args(["eval", "identify", "--enroll", "2", "--min-images", "3", "--labels"]).arg(&labels).arg("--distractors").arg(&labels).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be other people"));
}

#[test]
fn enrolment_advises_more_photos_and_varied_ones() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    env.cmd().args(["consent", "ABS", "grant", "--by", "A Parent", "--relation", "guardian", "--date", "2026-09-01"]).assert().success();
    let out = env.json(&["enroll", "ABS", d.join("lfw_dev/images/deepfunneled/Abel_Pacheco/Abel_Pacheco_0001.jpg").to_str().unwrap()]);
    assert!(out["advice"][0].as_str().unwrap().contains("1 photo(s) enrolled; enrol 3-5 varied photos"), "{out}");
    // The same photo three times: nothing new for other days.
    let same = d.join("lfw_dev/images/deepfunneled/Abel_Pacheco/Abel_Pacheco_0001.jpg");
    let out = env.json(&["enroll", "ABS", same.to_str().unwrap(), same.to_str().unwrap()]);
    assert!(out["advice"][0].as_str().unwrap().contains("3 photos enrolled but only 1 differ"), "{out}");
    // Near-copies count once: four photos, two looks, is still too few; a third look is enough.
    let photo = |k: u32| d.join(format!("lfw_dev/images/deepfunneled/Abel_Pacheco/Abel_Pacheco_000{k}.jpg")).display().to_string();
    let out = env.json(&["enroll", "ABS", &photo(2)]);
    assert!(out["advice"][0].as_str().unwrap().contains("4 photos enrolled but only 2 differ"), "{out}");
    let out = env.json(&["enroll", "ABS", &photo(4)]);
    assert!(out["advice"].as_array().is_none_or(|a| a.is_empty() || a[0].is_null()), "{out}");
}

#[test]
fn the_photo_check_names_the_student_whose_photos_are_of_different_people_first() {
    let Some(d) = datasets() else { return };
    let env = Env::new();
    // A calibrated class (21 students, 4 photos each) and MIX, whose photos are of 3 people
    // (photos filed under the wrong student): the roll would turn MIX away.
    let people: Vec<(String, Vec<String>)> = lfw_people(&d).into_iter().filter(|(_, v)| v.len() >= 4).take(24).collect();
    let photos = env.dir.path().join("photos");
    let mut roster = String::from("student_id,first_name,last_name,class\n");
    let mut put = |id: &str, files: &[&String]| {
        std::fs::create_dir_all(photos.join(id)).unwrap();
        for (k, f) in files.iter().enumerate() {
            std::fs::copy(f, photos.join(id).join(format!("{k}.jpg"))).unwrap();
        }
        roster.push_str(&format!("{id},{id},Student,7B\n"));
    };
    for (k, (_, files)) in people[..21].iter().enumerate() {
        put(&format!("S{k:02}"), &files[..4].iter().collect::<Vec<_>>());
    }
    put("MIX", &people[21..].iter().flat_map(|(_, files)| &files[..2]).collect::<Vec<_>>());
    let roster = env.write("roster.csv", &common::with_consent(&roster));
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    // LFW photos often show a second face: those are refused (exit 3, done in part).
    let out = env.cmd().args(["--json", "enroll", "--dir", photos.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let enrolled: Value = serde_json::from_slice(&out.stdout).unwrap();
    let accepted = enrolled["accepted"].as_u64().unwrap();
    // MIX's photos k.jpg: two of each person in turn.
    let people_of_mix: std::collections::BTreeSet<u32> = enrolled["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["student_id"] == "MIX" && r["accepted"] == true)
        .map(|r| r["photo"].as_str().unwrap().rsplit('/').next().unwrap().trim_end_matches(".jpg").parse::<u32>().unwrap() / 2)
        .collect();
    assert!(people_of_mix.len() >= 2, "{enrolled}");

    let check = env.json(&["check-photos", "--class", "7B"]);
    assert_eq!((check["students"].as_u64(), check["with_photos"].as_u64(), check["photos"].as_u64()), (Some(22), Some(22), Some(accepted)), "{check}");
    assert!(check["method"].as_str().unwrap().starts_with("tracks"), "calibrated: {check}");
    let advice = check["advice"].as_array().unwrap();
    assert_eq!(advice[0]["student_id"], "MIX", "{check}");
    assert_eq!(advice[0]["at_risk"], true);
    assert!(advice[0]["advice"][0].as_str().unwrap().contains("differ from each other more than the roll allows"), "{check}");
    let at_risk = advice.iter().filter(|a| a["at_risk"] == true).count();
    assert!(at_risk <= 5, "{at_risk} of 22 flagged: {check}");
    // The entrance's roll (every class) judges the same gallery here.
    let entrance = env.json(&["check-photos"]);
    assert_eq!(entrance["advice"][0]["student_id"], "MIX", "{entrance}");
    // The roll trains the same recognizer: it says at its start how many will be asked again.
    let clip = d.join("video_hamilton/short_hamilton_clip.mp4");
    let run = env.cmd().args(["run", "--class", "7B", "--no-mood", "--max-frames", "30", "--source", clip.to_str().unwrap()]).output().unwrap();
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{log}");
    assert!(log.contains(&format!("note: {at_risk} student(s) will often be asked to look at the camera again")) && log.contains("`rollcall check-photos --class \"7B\"` names them"), "{log}");
    let text = env.cmd().args(["check-photos", "--class", "7B"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(&format!("7B: 22 student(s), 22 with photos ({accepted} photos)")) && text.contains("photograph them again first"), "{text}");
}

#[test]
fn the_strictness_setting_is_checked_and_used_by_the_roll() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    let err = env.cmd().args(["settings", "set", "strictness", "paranoid"]).output().unwrap();
    assert_eq!(err.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&err.stderr).contains("strictest"));
    env.cmd().args(["settings", "set", "strictness", "strict"]).assert().success();
    assert_eq!(env.json(&["settings"])["strictness"], "strict");
    env.cmd().args(["run", "--class", "Stage", "--strictness", "lenient", "--source", "x.mp4"]).assert().code(2);
    // The two-student class of the clip uses the fixed bar for small classes: still both marked.
    let run = env.json(&["run", "--class", "Stage", "--source", d.join("video_hamilton/short_hamilton_clip.mp4").to_str().unwrap()]);
    assert_eq!(run["marked_total"], 2, "{run}");
}
