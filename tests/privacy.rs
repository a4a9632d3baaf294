//! Consent and data protection (issue 11), through the `rollcall` binary on real database files,
//! real faces and the real clip: enrolment gated on consent, withdrawal deleting templates (from
//! the file's free pages too) and stopping the camera, registration by hand, the retention purge,
//! a student's data export checked against its published schema, and the privacy report.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{contains, datasets, enrolled_stage, fails, status_of, students_of, with_consent, Env, ROSTER};
use diesel::prelude::*;
use serde_json::Value;

const CLIP: &str = "video_hamilton/short_hamilton_clip.mp4";

fn lfw(d: &std::path::Path, name: &str, i: u32) -> PathBuf {
    d.join(format!("lfw_dev/images/deepfunneled/{name}/{name}_{i:04}.jpg"))
}

#[derive(QueryableByName)]
struct Blob {
    #[diesel(sql_type = diesel::sql_types::Binary)]
    embedding: Vec<u8>,
}

fn templates(env: &Env) -> Vec<Vec<u8>> {
    let mut conn = env.conn();
    diesel::sql_query("SELECT embedding FROM enrolments").load::<Blob>(&mut conn).unwrap().into_iter().map(|b| b.embedding).collect()
}

fn photos_of(env: &Env, id: &str) -> i64 {
    let v = env.json(&["students"]);
    v["students"].as_array().unwrap().iter().find(|s| s["student_id"] == id).unwrap()["enrolled_photos"].as_i64().unwrap()
}

#[test]
fn enrolment_without_consent_is_refused_for_photos_and_a_folder_and_stores_nothing() {
    let Some(d) = datasets() else { return };
    let env = Env::new();
    let roster = env.write("roster.csv", "student_id,first_name,last_name,class\nA1,Abel,Pacheco,7B\nA2,Ana,Other,7B\n");
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let photo = lfw(&d, "Abel_Pacheco", 1);
    let err = fails(&env, &["enroll", "A1", photo.to_str().unwrap()], 1);
    assert!(err.contains("no consent on record for A1 (Abel Pacheco)") && err.contains("rollcall consent A1 grant"), "{err}");
    // A folder of one sub-folder per student id.
    let dir = env.dir.path().join("photos");
    std::fs::create_dir_all(dir.join("A1")).unwrap();
    std::fs::copy(&photo, dir.join("A1/1.jpg")).unwrap();
    let err = fails(&env, &["enroll", "--dir", dir.to_str().unwrap()], 1);
    assert!(err.contains("no consent on record for A1"), "{err}");
    assert_eq!(photos_of(&env, "A1"), 0);
    assert!(templates(&env).is_empty(), "nothing is stored");

    // A parent's consent, then the child's own objection: whatever the consent, nothing is processed.
    env.cmd().args(["consent", "A1", "grant", "--by", "Ana Pacheco", "--relation", "mother", "--date", "2026-09-01", "--how", "paper-form"]).assert().success();
    env.cmd().args(["consent", "A1", "object", "--by", "student", "--date", "2026-09-02", "--note", "said no at the door"]).assert().success();
    let err = fails(&env, &["enroll", "A1", photo.to_str().unwrap()], 1);
    assert!(err.contains("an objection stands for A1 (Abel Pacheco) (the student on 2026-09-02)"), "{err}");
    assert!(templates(&env).is_empty());
    let list = env.json(&["consent", "--class", "7B"]);
    let a1 = list["students"].as_array().unwrap().iter().find(|s| s["student_id"] == "A1").unwrap();
    assert_eq!(a1["state"], "objected");
    assert_eq!(a1["history"].as_array().unwrap().len(), 2, "the history keeps both events");
    let a2 = list["students"].as_array().unwrap().iter().find(|s| s["student_id"] == "A2").unwrap();
    assert_eq!(a2["state"], "none");
}

#[test]
fn consent_with_a_future_date_an_unknown_student_or_nobody_named_is_refused_and_nothing_is_written() {
    let env = Env::new();
    let roster = env.write("roster.csv", "student_id,first_name,last_name,class\nA1,Abel,Pacheco,7B\n");
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let err = fails(&env, &["consent", "A1", "grant", "--by", "Ana Pacheco", "--date", "2999-01-01"], 1);
    assert!(err.contains("2999-01-01 is in the future"), "{err}");
    let err = fails(&env, &["consent", "ZZ9", "grant", "--by", "Ana Pacheco", "--date", "2026-09-01"], 1);
    assert!(err.contains("unknown student \"ZZ9\""), "{err}");
    // Who and when are required (a usage error).
    let err = fails(&env, &["consent", "A1", "grant", "--date", "2026-09-01"], 2);
    assert!(err.contains("--by"), "{err}");
    let err = fails(&env, &["consent", "A1", "withdraw", "--by", "  ", "--date", "2026-09-01"], 1);
    assert!(err.contains("say who"), "{err}");
    let history = env.json(&["consent", "A1"]);
    assert_eq!(history["state"], "none");
    assert!(history["history"].as_array().unwrap().is_empty());
    let audit = env.json(&["audit"]);
    // The first command created the office account (audited); nothing else was written.
    assert!(audit["audit"].as_array().unwrap().iter().all(|e| e["action"] == "account_created"), "nothing was written: {audit}");
}

#[test]
fn grant_enrol_withdraw_deletes_the_templates_for_good_and_the_camera_stops_marking_them() {
    let Some(d) = datasets() else { return };
    // LMM's parent consents on the roster; ALC's consent comes from the CLI.
    let env = Env::new();
    let roster = env.write(
        "roster.csv",
        "student_id,first_name,last_name,class,consent,consent_by,consent_date\nLMM,Lin-Manuel,Miranda,Stage,granted,Luz Miranda,2026-09-01\nALC,Alex,Lacamoire,Stage,,,\nABS,Absent,Student,Stage,,,\n",
    );
    let out = env.cmd().args(["roster", "import", "--dry-run"]).arg(&roster).assert().success().get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&out).contains("consent LMM: granted by Luz Miranda on 2026-09-01"), "the dry run shows consent");
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    env.cmd().args(["consent", "ALC", "grant", "--by", "Pat Lacamoire", "--relation", "father", "--date", "2026-09-03"]).assert().success();
    let refs = d.join("video_hamilton/reference");
    env.cmd().args(["enroll", "LMM"]).arg(refs.join("lin_manuel_miranda.png")).assert().success();
    env.cmd().args(["enroll", "ALC"]).arg(refs.join("alex_lacamoire.png")).assert().success();
    let before = templates(&env);
    assert_eq!(before.len(), 2);
    let lmm_template = before.iter().find(|t| env.contents().has(&t[..64])).unwrap().clone();

    let out = env.json(&["consent", "LMM", "withdraw", "--by", "Luz Miranda", "--relation", "mother", "--date", "today", "--how", "e-mail"]);
    assert_eq!(out["templates_deleted"], 1, "{out}");
    assert_eq!(out["after"], "withdrawn");
    assert_eq!(photos_of(&env, "LMM"), 0);
    assert_eq!(photos_of(&env, "ALC"), 1);
    // Not in the database: on a file, free pages and write-ahead log included.
    let left = templates(&env);
    let raw = env.contents();
    for t in before.iter().filter(|t| !left.contains(t)) {
        for window in t.chunks(64) {
            assert!(!raw.has(window), "template bytes survive in the database");
        }
    }
    assert!(!left.contains(&lmm_template) || left.len() == 1);
    let audit = env.json(&["audit"]);
    let actions: Vec<&str> = audit["audit"].as_array().unwrap().iter().filter(|e| e["student_id"] == "LMM").map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["consent_granted", "consent_withdrawn"], "{audit}");
    // Enrolling again is refused while consent is withdrawn.
    let err = fails(&env, &["enroll", "LMM", refs.join("lin_manuel_miranda.png").to_str().unwrap()], 1);
    assert!(err.contains("consent for LMM (Lin-Manuel Miranda) was withdrawn by Luz Miranda"), "{err}");

    // The clip: only ALC is marked by the camera; LMM stays on the roll, to be marked by hand.
    env.cmd().args(["run", "--class", "Stage", "--source"]).arg(d.join(CLIP)).assert().success();
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(status_of(&report, "ALC"), "present");
    assert_eq!(status_of(&report, "LMM"), "absent");
    let row = |id: &str| students_of(&report).iter().find(|s| s["student_id"] == id).unwrap().clone();
    assert_eq!(row("LMM")["by_hand"], true);
    assert_eq!(row("ALC")["how"], "camera");
    assert_eq!(report["lessons"][0]["to_mark_by_hand"], 2, "LMM and ABS: {report}");
    // A person marks them: the register says how.
    env.add_teacher("Ms Smith", &["Stage"]);
    env.cmd_as("Ms Smith", common::TEACHER_PASSWORD).args(["mark", "--class", "Stage", "--student", "LMM", "--status", "present"]).assert().success();
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    let lmm = students_of(&report).iter().find(|s| s["student_id"] == "LMM").unwrap();
    assert_eq!((lmm["status"].as_str(), lmm["how"].as_str()), (Some("present"), Some("by hand")));
    assert_eq!(report["lessons"][0]["to_mark_by_hand"], 1);
    let audit = env.json(&["audit"]);
    assert!(audit["audit"].as_array().unwrap().iter().any(|e| e["action"] == "mark_by_hand" && e["actor"] == "Ms Smith"));
    // The Excel export says how each mark was made.
    let today = chrono::Local::now().date_naive().to_string();
    let xlsx = env.dir.path().join("stage.xlsx");
    env.cmd().args(["export", "--class", "Stage", "--from", &today, "--to", &today, "--out"]).arg(&xlsx).assert().success();
    let mut wb = calamine::open_workbook_auto(&xlsx).unwrap();
    let detail = calamine::Reader::worksheet_range(&mut wb, "Daily detail").unwrap();
    let header = detail.rows().position(|r| r.iter().any(|c| c.to_string() == "How")).unwrap();
    let how_col = detail.rows().nth(header).unwrap().iter().position(|c| c.to_string() == "How").unwrap();
    let how_of = |id: &str| detail.rows().find(|r| r[2].to_string() == id).map(|r| r[how_col].to_string()).unwrap();
    assert_eq!((how_of("LMM").as_str(), how_of("ALC").as_str(), how_of("ABS").as_str()), ("by hand", "camera", ""));
}

#[test]
fn a_withdrawal_while_the_roll_runs_stops_the_camera_marking_them() {
    use rollcall::attendance::{Roll, RollOptions};
    use rollcall::source::{FrameSource, Next, SourceSpec};
    use rollcall::vision::{AnalyzerOptions, FaceAnalyzer};
    let Some(d) = datasets() else { return };
    let env = Env::new();
    let roster = env.write("roster.csv", ROSTER);
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let mut store = env.store();
    let mut analyzer = FaceAnalyzer::load(&AnalyzerOptions { expressions: false, ..AnalyzerOptions::default() }).unwrap();
    let refs = d.join("video_hamilton/reference");
    let work = [("LMM".to_string(), refs.join("lin_manuel_miranda.png")), ("ALC".to_string(), refs.join("alex_lacamoire.png"))];
    rollcall::enrolment::enrol_photos(&mut store, &mut analyzer, &work, Default::default(), |_| {}).unwrap();
    let class = store.class("Stage").unwrap();
    let now = chrono::Local::now().naive_local();
    let options =
        RollOptions { mood: false, gallery_check_every: Duration::ZERO, detect: rollcall::vision::DetectOptions::min_face(40.0), ..RollOptions::default() };
    let mut roll = Roll::start(&mut store, &class, rollcall::storage::LessonSlot::at(now.time()), now, "clip", options).unwrap();
    assert_eq!(roll.recognizer().len(), 2);
    // The withdrawal arrives from another program (the office's app) before the two walk in.
    let mut office = env.store();
    let today = now.date();
    let request = rollcall::consent::ConsentRequest {
        kind: rollcall::consent::ConsentKind::Withdrawn,
        by: "Luz Miranda".into(),
        relation: Some("mother".into()),
        date: today,
        how: None,
        note: None,
    };
    rollcall::privacy::record_consent(&mut office, "LMM", request, "office").unwrap();
    let mut source = FrameSource::open(SourceSpec::parse(d.join(CLIP).to_str().unwrap())).unwrap();
    let mut frame = opencv::core::Mat::default();
    loop {
        match source.next(&mut frame).unwrap() {
            Next::Frame { .. } => {}
            Next::End => break,
            other => panic!("{other:?}"),
        }
        roll.process(&mut store, &mut analyzer, &frame, now).unwrap();
    }
    assert_eq!(roll.recognizer().len(), 1, "the roll forgot the withdrawn student");
    assert_eq!(roll.marked(), 1);
    drop(roll);
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(status_of(&report, "ALC"), "present");
    assert_ne!(status_of(&report, "LMM"), "present", "marked by the camera after the withdrawal");
}

/// Sets a template's enrolment time (as if enrolled long ago and never recognised since).
fn age_templates(env: &Env, student_id: &str, days: i64) {
    let mut conn = env.conn();
    let at = (chrono::Local::now().naive_local() - chrono::Duration::days(days)).format("%Y-%m-%d %H:%M:%S").to_string();
    diesel::sql_query(format!("UPDATE enrolments SET created_at = '{at}' WHERE student_id = (SELECT id FROM students WHERE student_id = '{student_id}')"))
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(format!("UPDATE students SET last_recognised_at = NULL WHERE student_id = '{student_id}'")).execute(&mut conn).unwrap();
}

#[test]
fn purge_deletes_exactly_what_the_retention_settings_say_and_reports_counts() {
    let Some(d) = datasets() else { return };
    let env = Env::new();
    let roster = env.write("roster.csv", &with_consent("student_id,first_name,last_name,class\nK1,Keep,Me,7B\nL1,Leaves,Soon,7B\nS1,Stale,Face,7B\n"));
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    env.cmd().args(["enroll", "K1"]).arg(lfw(&d, "Abel_Pacheco", 1)).arg(lfw(&d, "Abel_Pacheco", 2)).assert().success();
    env.cmd().args(["enroll", "L1"]).arg(lfw(&d, "Akhmed_Zakayev", 1)).assert().success();
    env.cmd().args(["enroll", "S1"]).arg(lfw(&d, "Al_Sharpton", 1)).arg(lfw(&d, "Al_Sharpton", 2)).assert().success();
    // S1 enrolled 400 days ago and never recognised since; L1 leaves (today), while the school
    // keeps leavers' templates a week: not deleted at the import.
    age_templates(&env, "S1", 400);
    env.cmd().args(["settings", "set", "retention_left_days", "7"]).assert().success();
    let next = env.write("next.csv", &with_consent("student_id,first_name,last_name,class\nK1,Keep,Me,7B\nS1,Stale,Face,7B\n"));
    env.cmd().args(["roster", "import", "--remove-missing"]).arg(&next).assert().success();
    assert_eq!(photos_of(&env, "L1"), 1);
    assert_eq!(env.json(&["purge", "--dry-run"])["templates_of_students_who_left"], 0, "not due for 7 days");
    env.cmd().args(["settings", "set", "retention_left_days", "0"]).assert().success();
    // Mood summaries: one of a register 40 days ago (past the 30 days), one of today's.
    {
        let mut store = env.store();
        let class = store.class("7B").unwrap();
        let k1 = store.student("K1").unwrap();
        let old = chrono::Local::now().date_naive() - chrono::Duration::days(40);
        let today = chrono::Local::now().date_naive();
        for day in [old, today] {
            let s = store.manual_session(&class, day, rollcall::storage::LessonSlot::at(chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap())).unwrap();
            store.save_mood(s.id, k1.id, 12, "happy", r#"{"happy":1.0}"#).unwrap();
        }
    }
    let counts = |v: &Value| {
        (
            v["templates_of_students_who_left"].as_u64().unwrap(),
            v["templates_unrecognised"].as_u64().unwrap(),
            v["mood_summaries"].as_u64().unwrap(),
            v["sessions"].as_u64().unwrap(),
        )
    };
    let dry = env.json(&["purge", "--dry-run"]);
    assert_eq!(counts(&dry), (1, 2, 1, 0), "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(templates(&env).len(), 5, "a dry run deletes nothing");
    let done = env.json(&["purge"]);
    assert_eq!(counts(&done), (1, 2, 1, 0), "{done}");
    assert!(!done.to_string().contains("Leaves") && !done.to_string().contains("L1"), "counts, never who: {done}");
    assert_eq!((photos_of(&env, "K1"), photos_of(&env, "L1"), photos_of(&env, "S1")), (2, 0, 0));
    // The student who left is archived, not deleted: their register stays.
    let l1 = env.json(&["students"])["students"].as_array().unwrap().iter().find(|s| s["student_id"] == "L1").unwrap().clone();
    assert_eq!(l1["class"], Value::Null);
    // Nothing more is due; the run is audited.
    assert_eq!(counts(&env.json(&["purge", "--dry-run"])), (0, 0, 0, 0));
    let audit = env.json(&["audit"]);
    let purges: Vec<&Value> = audit["audit"].as_array().unwrap().iter().filter(|e| e["action"] == "purge").collect();
    assert_eq!(purges.len(), 1, "a dry run is not a purge");
    assert!(purges[0]["reason"].as_str().unwrap().contains("1 template(s) of students who left, 2 not recognised, 1 mood summaries"), "{}", purges[0]);

    // The retention settings are the school's, checked like every setting.
    assert!(fails(&env, &["settings", "set", "retention_mood_days", "forever"], 1).contains("from 0 to 3650"));
    assert!(fails(&env, &["settings", "set", "retention_unmatched_days", "2000"], 1).contains("BIPA"));
    env.cmd().args(["settings", "set", "retention_unmatched_days", "30"]).assert().success();
    let report = String::from_utf8(env.cmd().args(["privacy-report"]).assert().success().get_output().stdout.clone()).unwrap();
    assert!(report.contains("Face templates not recognised for 30 days are deleted."), "{report}");
    assert!(report.contains("| 7B | 2 | 2 | 0 | 0 | 0 | 0 |"), "{report}");
    assert!(report.contains("Last purge:"), "{report}");
    assert!(report.contains("Mood recognition is off"), "{report}");
}

#[test]
fn a_purge_killed_midway_leaves_a_consistent_database_and_the_next_one_finishes() {
    let Some(d) = datasets() else { return };
    let env = Env::new();
    // 3,000 students who left, each with real templates: a purge with work to do.
    let mut csv = String::from("student_id,first_name,last_name,class,consent,consent_by,consent_date\n");
    for i in 0..3000 {
        csv.push_str(&format!("P{i},First{i},Last{i},9Z,granted,A Parent,2026-09-01\n"));
    }
    env.cmd().args(["roster", "import"]).arg(env.write("big.csv", &csv)).assert().success();
    env.cmd().args(["enroll", "P0"]).arg(lfw(&d, "Abel_Pacheco", 1)).assert().success();
    {
        let mut conn = env.conn();
        for _ in 0..4 {
            diesel::sql_query(
                "INSERT INTO enrolments (student_id, model_id, embedding, source, face_size, created_at) SELECT s.id, e.model_id, e.embedding, e.source, e.face_size, e.created_at FROM students s, (SELECT * FROM enrolments LIMIT 1) e",
            )
            .execute(&mut conn)
            .unwrap();
        }
        if env.server.is_none() {
            diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).unwrap();
        }
    }
    // They leave while the policy keeps leavers' templates a month; then the school shortens it.
    env.cmd().args(["settings", "set", "retention_left_days", "30"]).assert().success();
    let leave = env.write("leave.csv", "student_id,first_name,last_name,class\nP0,First0,Last0,9Z\n");
    env.cmd().args(["roster", "import", "--remove-missing"]).arg(&leave).assert().success();
    env.cmd().args(["settings", "set", "retention_left_days", "0"]).assert().success();
    let total = templates(&env).len();
    assert!(total > 10_000, "{total}");
    let due = env.json(&["purge", "--dry-run"])["templates_of_students_who_left"].as_u64().unwrap() as usize;
    assert_eq!(due, total - 5, "all but P0's");
    let mut killed_midway = 0;
    for delay_ms in [50u64, 150, 400, 900] {
        let finished = env.kill_after(&["purge".as_ref()], Duration::from_millis(delay_ms));
        // On a server the kill drops the connection in the middle of the purge's transaction.
        if env.server.is_none() {
            let mut conn = env.sql();
            #[derive(QueryableByName)]
            struct Check {
                #[diesel(sql_type = diesel::sql_types::Text)]
                integrity_check: String,
            }
            let check: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(&mut conn).unwrap();
            assert_eq!(check[0].integrity_check, "ok");
        }
        let now = templates(&env).len();
        // All or nothing: one transaction.
        assert!(now == total || now == 5, "{now} of {total} templates after a purge killed at {delay_ms} ms");
        if now == total && !finished {
            killed_midway += 1;
        }
        if now == 5 {
            break;
        }
    }
    eprintln!("purges killed before they finished: {killed_midway}");
    assert!(killed_midway > 0, "no purge was killed before it finished: make the test's purge bigger");
    let done = env.json(&["purge"]);
    let left_after = templates(&env).len();
    assert_eq!(left_after, 5, "{done}");
    assert_eq!(env.json(&["purge", "--dry-run"])["templates_of_students_who_left"], 0);
}

#[test]
fn a_students_data_export_holds_everything_and_matches_the_published_schema() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    env.cmd().args(["run", "--class", "Stage", "--max-frames", "120", "--source"]).arg(d.join(CLIP)).assert().success();
    env.cmd().args(["override", "--class", "Stage", "--date", "today", "--student", "ALC", "--status", "excused", "--reason", "trip"]).assert().success();
    let out = env.dir.path().join("alc.json");
    env.cmd().args(["export-student", "ALC", "--out"]).arg(&out).assert().success();
    let err = fails(&env, &["export-student", "ALC", "--out", out.to_str().unwrap()], 1);
    assert!(err.contains("already exists"), "{err}");
    let v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schemas/student-export.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| format!("{} at {}", e, e.instance_path)).collect();
    assert!(errors.is_empty(), "{errors:?}");
    // And the schema does check: a file with the vectors in it is not valid.
    let mut bad = v.clone();
    bad["face_templates"]["templates"][0]["embedding"] = serde_json::json!([0.1, 0.2]);
    assert!(!validator.is_valid(&bad));

    assert_eq!(v["student"]["student_id"], "ALC");
    assert_eq!(v["classes"][0]["class"], "Stage");
    assert_eq!(v["consent_state"], "granted");
    assert_eq!(v["consent"][0]["by"], "A Lacamoire");
    assert_eq!(v["marks"][0]["how"], "corrected");
    assert_eq!(v["marks"][0]["camera_status"], "present");
    assert_eq!(v["face_templates"]["count"], 1);
    assert!(v["audit"].as_array().unwrap().iter().any(|e| e["action"] == "override_status"));
    let text = std::fs::read_to_string(&out).unwrap();
    let t = templates(&env);
    assert!(!text.contains("embedding") && t.iter().all(|t| !contains(text.as_bytes(), &t[..16])), "no template vector in the export");
}

#[test]
fn a_student_who_leaves_is_archived_and_their_face_data_deleted_at_once() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    env.cmd().args(["run", "--class", "Stage", "--max-frames", "120", "--source"]).arg(d.join(CLIP)).assert().success();
    let out = env.json(&["leave", "LMM"]);
    assert_eq!(out["classes_left"][0], "Stage");
    assert_eq!(out["templates_deleted"], 1, "{out}");
    assert_eq!(photos_of(&env, "LMM"), 0);
    let students = env.json(&["students"]);
    let lmm = students["students"].as_array().unwrap().iter().find(|s| s["student_id"] == "LMM").unwrap().clone();
    assert_eq!(lmm["class"], Value::Null, "archived: in no class, still on record");
    // Today's register still has them (they were in the class when it was taken).
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(status_of(&report, "LMM"), "present");
    let err = fails(&env, &["leave", "LMM"], 1);
    assert!(err.contains("already left"), "{err}");
    // A roster import that takes a student off deletes their templates the same way.
    let next = env.write("next.csv", "student_id,first_name,last_name,class\nABS,Absent,Student,Stage\n");
    let out = String::from_utf8(env.cmd().args(["roster", "import", "--remove-missing"]).arg(&next).assert().success().get_output().stdout.clone()).unwrap();
    assert!(out.contains("1 face template(s) of students who left deleted"), "{out}");
    assert_eq!(photos_of(&env, "ALC"), 0);
    let audit = env.json(&["audit"]);
    let actions: Vec<&str> = audit["audit"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"left_school") && actions.contains(&"purge_leavers"), "{actions:?}");
    assert!(!actions.contains(&"purge"), "the daily purge is still due: {actions:?}");
}

#[test]
fn consent_forms_received_for_a_class_are_recorded_together_or_not_at_all() {
    use rollcall::consent::{ConsentKind, ConsentRequest};
    let env = Env::new();
    let roster = env.write("roster.csv", "student_id,first_name,last_name,class\nS1,Ada,Lovelace,7B\nS2,Alan,Turing,7B\nS3,Grace,Hopper,7B\n");
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let mut store = env.store();
    let request = ConsentRequest {
        kind: ConsentKind::Granted,
        by: "parent or guardian (signed form)".into(),
        relation: None,
        date: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        how: Some("paper form".into()),
        note: None,
    };
    // One unknown id among them: nothing is recorded for anyone.
    let err = rollcall::privacy::record_consent_bulk(&mut store, &["S1".into(), "ZZ9".into()], request.clone(), "office").unwrap_err();
    assert!(err.to_string().contains("unknown student \"ZZ9\""), "{err}");
    let states = |env: &Env| -> Vec<String> {
        let mut v: Vec<String> = env.json(&["consent", "--class", "7B"])["students"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| format!("{}={}", s["student_id"].as_str().unwrap(), s["state"].as_str().unwrap()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(states(&env), ["S1=none", "S2=none", "S3=none"]);
    assert_eq!(rollcall::privacy::record_consent_bulk(&mut store, &["S1".into(), "S2".into()], request, "office").unwrap(), 2);
    assert_eq!(states(&env), ["S1=granted", "S2=granted", "S3=none"]);
}
