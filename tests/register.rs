//! The register must never lie or lose data (issue 10): each test is one defect found by a
//! hostile or clumsy use of the CLI, run on a real database file and, where it matters, the real
//! clip. Every test failed before its fix.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use calamine::{open_workbook_auto, Reader};
use common::{datasets, enrol_stage, enrolled_stage, fails, fixture, serve_stream, status_of, stderr_of, students_of, with_consent, Env};
use diesel::prelude::*;
use serde_json::Value;

const CLIP: &str = "video_hamilton/short_hamilton_clip.mp4";

fn sha(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

fn today() -> String {
    chrono::Local::now().date_naive().to_string()
}

/// The raw bytes of the database and of its write-ahead log, as anyone with the file reads them.
// ---- 1. Export destroys files ----------------------------------------------------------

#[test]
fn an_export_never_overwrites_the_database_or_an_existing_file() {
    let env = Env::on_file();
    let roster = env.write("roster.csv", "student_id,first_name,last_name,class\nS1,Ada,Lovelace,7B\n");
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    env.cmd().args(["override", "--class", "7B", "--date", "2026-11-02", "--student", "S1", "--status", "excused", "--reason", "trip"]).assert().success();
    let db = env.db();
    let range = ["--from", "2026-11-01", "--to", "2026-11-30"];
    // Onto the database itself, and onto the files SQLite keeps beside it.
    for target in [db.clone(), rollcall::storage::sidecar(&db, "-wal"), db.parent().unwrap().join(".").join("rollcall.sqlite3")] {
        let err = fails(&env, &["export", "--class", "7B", range[0], range[1], range[2], range[3], "--force", "--out", target.to_str().unwrap()], 1);
        assert!(err.contains("Rollcall's own database"), "{err}");
    }
    let report = env.json(&["report", "--class", "7B", "--date", "2026-11-02"]);
    assert_eq!(status_of(&report, "S1"), "excused", "the database is intact");

    // An existing file is kept unless --force.
    let out = env.dir.path().join("november.xlsx");
    std::fs::write(&out, "last month's sheet").unwrap();
    let err = fails(&env, &["export", "--class", "7B", range[0], range[1], range[2], range[3], "--out", out.to_str().unwrap()], 1);
    assert!(err.contains("already exists") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "last month's sheet");
    env.cmd().args(["export", "--class", "7B"]).args(range).arg("--force").arg("--out").arg(&out).assert().success();
    let mut wb = open_workbook_auto(&out).unwrap();
    assert!(wb.worksheet_range("Attendance grid").is_ok());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o077, 0, "exports are private to their owner");
    }
}

#[test]
fn a_failed_export_leaves_the_old_file_as_it_was() {
    let env = Env::new();
    let Some(mnt) = small_disk(&env) else { return };
    let roster = env.write("roster.csv", "student_id,first_name,last_name,class\nS1,Ada,Lovelace,7B\n");
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    env.cmd().args(["override", "--class", "7B", "--date", "2026-11-02", "--student", "S1", "--status", "excused", "--reason", "trip"]).assert().success();
    let out = mnt.path.join("export.xlsx");
    env.cmd().args(["export", "--class", "7B", "--from", "2026-11-01", "--to", "2026-11-30", "--out"]).arg(&out).assert().success();
    let before = sha(&out);
    // Fill the disk, then export again over the good file.
    let _ = std::fs::write(mnt.path.join("filler"), vec![0u8; 2 << 20]);
    let err = fails(&env, &["export", "--class", "7B", "--from", "2026-11-01", "--to", "2026-11-30", "--force", "--out", out.to_str().unwrap()], 1);
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(sha(&out), before, "the old workbook is untouched");
    let leftovers: Vec<_> = std::fs::read_dir(&mnt.path).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".rollcall-")).collect();
    assert!(leftovers.is_empty(), "no half-written temporary file is left");
}

#[test]
fn detect_never_draws_over_its_own_input() {
    let env = Env::new();
    let input = env.dir.path().join("photo.png");
    std::fs::copy(fixture("astronaut.png"), &input).unwrap();
    let before = sha(&input);
    let err = fails(&env, &["detect", input.to_str().unwrap(), "--force", "--annotate", input.to_str().unwrap()], 1);
    assert!(err.contains("input pictures"), "{err}");
    assert_eq!(sha(&input), before);
}

/// A 1 MB tmpfs standing in for a full disk (needs root, as CI and the dev machines run).
struct SmallDisk {
    path: PathBuf,
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.path).status();
    }
}

fn small_disk(env: &Env) -> Option<SmallDisk> {
    let mnt = env.dir.path().join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"]).arg(&mnt).status().is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("NOTICE: cannot mount a small tmpfs here (not root?); skipping the full-disk test");
        return None;
    }
    Some(SmallDisk { path: mnt })
}

// ---- 2. False absences ---------------------------------------------------------------------

/// No session, no absence: the day's report shows no register taken.
fn assert_no_register(env: &Env) {
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(report["session_held"], false, "{report}");
    assert_eq!(report["counts"]["absent"], 0, "{report}");
}

#[test]
fn a_run_that_could_not_watch_records_no_absence() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    let clip = d.join(CLIP);
    let clip = clip.to_str().unwrap();

    // A still picture is not a camera.
    let photo = d.join("video_hamilton/reference/alex_lacamoire.png");
    let err = fails(&env, &["run", "--class", "Stage", "--source", photo.to_str().unwrap()], 1);
    assert!(err.contains("still picture"), "{err}");
    // The same picture under a video's name.
    let disguised = env.dir.path().join("photo.avi");
    std::fs::copy(&photo, &disguised).unwrap();
    let err = fails(&env, &["run", "--class", "Stage", "--source", disguised.to_str().unwrap()], 1);
    assert!(err.contains("still picture") || err.contains("cannot open"), "{err}");
    assert_no_register(&env);

    // Enrolled with fp16, run with int8: nobody can be recognised, and it says why.
    let err = fails(&env, &["run", "--class", "Stage", "--embedder", "int8", "--source", clip], 1);
    assert!(err.contains("no faces enrolled with the int8") && err.contains("2 student(s) enrolled with fp16"), "{err}");
    assert!(!err.contains("nobody in class Stage is enrolled"), "{err}");
    assert_no_register(&env);

    // Nothing detected in 275 frames (faces smaller than the smallest face size asked for).
    let err = fails(&env, &["run", "--class", "Stage", "--min-face", "400", "--source", clip], 1);
    assert!(err.contains("no face was detected in 275 picture(s)") && err.contains("no absence was recorded"), "{err}");
    assert_no_register(&env);
    // Sizes out of range are usage errors.
    let err = fails(&env, &["run", "--class", "Stage", "--min-face", "1000000000", "--source", clip], 2);
    assert!(err.contains("from 20 to 400"), "{err}");

    // --until a time already past, on a live source.
    let now = chrono::Local::now().time();
    if now > chrono::NaiveTime::from_hms_opt(0, 2, 0).unwrap() {
        let past = (now - chrono::Duration::minutes(1)).format("%H:%M").to_string();
        let err = fails(&env, &["run", "--class", "Stage", "--until", &past, "--source", "http://127.0.0.1:9/cam"], 1);
        assert!(err.contains("has already passed"), "{err}");
    }
    assert_no_register(&env);

    // Nobody enrolled at all.
    let empty = Env::new();
    let roster = empty.write("roster.csv", "student_id,first_name,last_name,class\nS1,A,B,Stage\n");
    empty.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let err = fails(&empty, &["run", "--class", "Stage", "--source", clip], 1);
    assert!(err.contains("nobody in class Stage is enrolled yet"), "{err}");
    assert_no_register(&empty);

    // A second run that sees nothing leaves an earlier, real register as it was.
    let run = env.json(&["run", "--class", "Stage", "--source", clip]);
    assert_eq!(run["marked_total"], 2, "{run}");
    fails(&env, &["run", "--class", "Stage", "--min-face", "400", "--source", clip], 1);
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!((report["session_held"].clone(), report["session_open"].clone()), (Value::Bool(true), Value::Bool(false)), "{report}");
    assert_eq!(status_of(&report, "ABS"), "absent");
}

#[test]
fn a_stream_that_answers_but_sends_no_picture_records_no_absence() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    // A "camera" that accepts the connection and never sends anything.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut kept = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(40);
        while Instant::now() < until {
            if let Ok((s, _)) = listener.accept() {
                kept.push(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let url = format!("http://127.0.0.1:{port}/cam");
    let err = fails(&env, &["run", "--class", "Stage", "--max-seconds", "15", "--source", &url], 1);
    assert!(err.contains("cannot open") || err.contains("never delivered"), "{err}");
    assert_no_register(&env);
    drop(held);
}

// ---- 3. Lateness silently dropped -------------------------------------------------------------

#[test]
fn another_start_is_another_lesson_and_a_watched_lesson_keeps_its_start() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    let clip = d.join(CLIP);
    let out = env.cmd().args(["--json", "run", "--class", "Stage", "--start", "00:00", "--max-frames", "120", "--source"]).arg(&clip).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("lesson 00:00") && stderr_of(&out).contains("(starts 00:00"), "{}", stderr_of(&out));
    // A second lesson of the class the same day is a register of its own: never merged.
    let out = env.cmd().args(["run", "--class", "Stage", "--start", "00:05", "--max-frames", "120", "--source"]).arg(&clip).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    let lessons = report["lessons"].as_array().unwrap();
    assert_eq!(lessons.iter().map(|l| l["lesson"].as_str().unwrap()).collect::<Vec<_>>(), ["00:00", "00:05"], "{report}");
    for l in lessons {
        let lmm = l["students"].as_array().unwrap().iter().find(|s| s["student_id"] == "LMM").unwrap();
        assert_eq!(lmm["status"], "late", "each lesson judged against its own start: {l}");
        assert_eq!(l["counts"]["absent"], lessons[0]["counts"]["absent"], "{l}");
    }
    let absent = lessons[0]["counts"]["absent"].as_u64().unwrap();
    assert!(absent >= 1, "ABS is never in the clip: {report}");
    assert_eq!(report["counts"]["absent"].as_u64(), Some(2 * absent), "the day counts every lesson: {report}");
    // Without --start and with no timetable, a run continues the day's register (the latest
    // lesson), and the banner prints the start its marks were judged against.
    env.cmd().args(["class", "Stage", "--start", "07:45"]).assert().success();
    let out = env.cmd().args(["run", "--class", "Stage", "--max-frames", "30", "--source"]).arg(&clip).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("(starts 00:05"), "{}", stderr_of(&out));
    // A timetabled lesson that a camera has watched keeps its start: another start inside it
    // is refused, not silently merged or ignored.
    let weekday = chrono::Local::now().format("%A").to_string();
    let tt = env.write("timetable.csv", &format!("class,weekday,start,end,room,camera\nStage,{weekday},00:00,23:59,Hall,\n"));
    env.cmd().args(["timetable", "import"]).arg(&tt).assert().success();
    let err = fails(&env, &["run", "--class", "Stage", "--start", "00:30", "--source", clip.to_str().unwrap()], 1);
    assert!(err.contains("started at 00:00") && err.contains("a different start (00:30) is refused"), "{err}");
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(report["lessons"][0]["starts_at"].as_str().unwrap().get(11..16), Some("00:00"), "{report}");
}

#[test]
fn a_register_kept_by_hand_takes_its_start_from_the_first_camera_run() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    // A correction before the lesson opens the day's register at midnight (the class has no start).
    env.cmd().args(["override", "--class", "Stage", "--date", "today", "--student", "ABS", "--status", "excused", "--reason", "dentist"]).assert().success();
    env.cmd().args(["run", "--class", "Stage", "--source"]).arg(d.join(CLIP)).assert().success();
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(status_of(&report, "LMM"), "present", "judged against the run's start, not midnight: {report}");
    assert_eq!(status_of(&report, "ABS"), "excused");
    let audit = env.json(&["audit"]);
    assert!(audit["audit"].as_array().unwrap().iter().any(|e| e["action"] == "session_start" && e["old_value"] == "00:00"), "{audit}");
}

// ---- 4. Deleted biometrics stay in the file ----------------------------------------------------

#[test]
fn a_deleted_student_leaves_no_biometric_bytes_and_no_reusable_id() {
    let Some(d) = datasets() else { return };
    let env = Env::new();
    let roster = env.write(
        "roster.csv",
        "student_id,first_name,last_name,class,consent,consent_by,consent_date\n2000,Keep,Me,7B,,,\n2001,Zebedee,Quintavalle,7B,granted,Mary Quintavalle,2026-09-01\n",
    );
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let lfw = d.join("lfw_dev/images/deepfunneled/Abel_Pacheco");
    let photos: Vec<PathBuf> = [1, 2, 4].iter().map(|i| lfw.join(format!("Abel_Pacheco_000{i}.jpg"))).collect();
    env.cmd().args(["enroll", "2001"]).args(&photos).assert().success();
    env.cmd()
        .args(["override", "--class", "7B", "--date", "2026-11-02", "--student", "2001", "--status", "excused", "--reason", "psychiatric appointment"])
        .assert()
        .success();
    let (row, templates): (i32, Vec<Vec<u8>>) = {
        let mut conn = env.conn();
        #[derive(QueryableByName)]
        struct Blob {
            #[diesel(sql_type = diesel::sql_types::Binary)]
            embedding: Vec<u8>,
            #[diesel(sql_type = diesel::sql_types::Integer)]
            student_id: i32,
        }
        let rows: Vec<Blob> = diesel::sql_query("SELECT embedding, student_id FROM enrolments").load(&mut conn).unwrap();
        (rows[0].student_id, rows.into_iter().map(|b| b.embedding).collect())
    };
    assert_eq!(templates.len(), 3);
    assert!(env.contents().has(&templates[0][..64]), "the test reads the raw file the right way");

    env.cmd().args(["delete-student", "2001"]).assert().success();
    let raw = env.contents();
    for t in &templates {
        for window in t.chunks(64) {
            assert!(!raw.has(window), "template bytes survive in the database");
        }
    }
    for text in ["Zebedee", "Quintavalle", "psychiatric appointment", "Mary Quintavalle"] {
        assert!(!raw.has(text.as_bytes()), "{text:?} survives in the database");
    }
    // The audit log says a deletion happened, by school id, without the deleted person's text.
    let audit = env.json(&["audit"]);
    let entries = audit["audit"].as_array().unwrap();
    let deletion = entries.iter().find(|e| e["action"] == "delete_student").unwrap();
    assert_eq!(deletion["student_id"], "2001");
    let over = entries.iter().find(|e| e["action"] == "override_status").unwrap();
    assert!(!over["reason"].as_str().unwrap().contains("psychiatric"), "{over}");

    // A child imported next never takes the deleted child's row (so nothing written about the
    // deleted one can come to point at them).
    let next = env.write("next.csv", "student_id,first_name,last_name,class\n2002,New,Child,7B\n");
    env.cmd().args(["roster", "import"]).arg(&next).assert().success();
    let mut conn = env.conn();
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        id: i32,
    }
    let new: Vec<Id> = diesel::sql_query("SELECT id FROM students WHERE student_id = '2002'").load(&mut conn).unwrap();
    assert!(new[0].id > row, "row id {row} was reused");
    let audit = env.json(&["audit"]);
    assert!(audit["audit"].as_array().unwrap().iter().all(|e| e["student_id"] != "2002"), "{audit}");
}

// ---- 5. Small hostile files ---------------------------------------------------------------------

/// A roster workbook with four header cells, one student, and one more cell at `far` (row, column).
fn workbook_with_far_cell(path: &Path, far: (u32, u16)) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["student_id", "first_name", "last_name", "class"].iter().enumerate() {
        ws.write(0, c as u16, *h).unwrap();
    }
    for (c, v) in ["S1", "Ada", "Lovelace", "7B"].iter().enumerate() {
        ws.write(1, c as u16, *v).unwrap();
    }
    ws.write(far.0, far.1, "x").unwrap();
    wb.save(path).unwrap();
    assert!(std::fs::metadata(path).unwrap().len() < 10_000, "a small file");
}

#[test]
fn a_roster_sheet_with_a_far_away_cell_is_read_by_the_rows_present() {
    let env = Env::new();
    // One cell at XFD1048576 (the last cell a sheet has): read as the cells present, quickly.
    let far = env.dir.path().join("far.xlsx");
    workbook_with_far_cell(&far, (1_048_575, 16_383));
    let started = Instant::now();
    let v = env.json(&["roster", "import", far.to_str().unwrap()]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(v["changes"]["added"].as_array().unwrap().len(), 1, "{v}");
    // A cell in a roster column a million rows down: refused with a sentence, nothing imported.
    let env = Env::new();
    let deep = env.dir.path().join("deep.xlsx");
    workbook_with_far_cell(&deep, (1_048_575, 0));
    let err = fails(&env, &["roster", "import", deep.to_str().unwrap()], 1);
    assert!(err.contains("row 1048576") && err.contains("at most 200000"), "{err}");
    assert_eq!(env.json(&["students"])["students"].as_array().unwrap().len(), 0);
}

/// A PNG that declares `w` x `h` pixels in a few dozen bytes (its data is a token).
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    fn crc(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc(&body).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn a_picture_that_declares_gigapixels_is_refused_before_decoding() {
    let env = Env::new();
    let huge = env.dir.path().join("huge.png");
    std::fs::write(&huge, png_declaring(20_000, 20_000)).unwrap();
    let out = env.cmd().args(["detect", "--json"]).arg(&huge).arg(fixture("astronaut.png")).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["errors"][0]["error"].as_str().unwrap().contains("400 megapixels"), "{v}");
    assert_eq!(v["processed"], 1);

    let roster = env.write("roster.csv", &with_consent("student_id,first_name,last_name,class\nS1,A,B,7B\n"));
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let err = fails(&env, &["enroll", "S1", huge.to_str().unwrap()], 1);
    assert!(err.contains("megapixels"), "{err}");
}

#[test]
fn thread_counts_and_face_sizes_are_bounded() {
    let env = Env::new();
    let img = fixture("astronaut.png");
    let err = fails(&env, &["--threads", "10000", "detect", img.to_str().unwrap()], 2);
    assert!(err.contains("10000"), "{err}");
    fails(&env, &["--threads", "0", "detect", img.to_str().unwrap()], 2);
    let err = fails(&env, &["--min-face", "1000000000", "detect", img.to_str().unwrap()], 2);
    assert!(err.contains("from 20 to 400"), "{err}");
    env.cmd().args(["--threads", "2", "--min-face", "40", "detect"]).arg(&img).assert().success();
}

// ---- 6. Roster import rewrites history silently ---------------------------------------------------

#[test]
fn a_roster_import_lists_and_audits_every_change_and_keeps_past_marks_with_their_class() {
    let env = Env::new();
    let first = env.write("first.csv", "student_id,first_name,last_name,class\n1001,Ada,Lovelace,7B\n1002,Alexander,Hamilton,7B\n");
    env.cmd().args(["roster", "import"]).arg(&first).assert().success();
    env.cmd()
        .args(["override", "--class", "7B", "--date", "2026-11-02", "--student", "1002", "--status", "present", "--reason", "register on paper"])
        .assert()
        .success();
    env.cmd()
        .args(["override", "--class", "7B", "--date", "2026-11-03", "--student", "1001", "--status", "present", "--reason", "register on paper"])
        .assert()
        .success();

    let second = env.write("second.csv", "student_id,first_name,last_name,class\n1002,Alexander,Renamed,9C\n1003,New,Pupil,9C\n");
    let dry = env.json(&["roster", "import", "--dry-run", second.to_str().unwrap()]);
    let changes = &dry["changes"];
    assert_eq!(changes["added"].as_array().unwrap().len(), 1, "{dry}");
    let change = &changes["changed"][0];
    assert_eq!(change["student_id"], "1002");
    assert_eq!(change["name"], serde_json::json!(["Alexander Hamilton", "Alexander Renamed"]));
    assert_eq!(change["class"], serde_json::json!(["7B", "9C"]));
    assert_eq!(changes["classes_created"], serde_json::json!(["9C"]));
    let text = String::from_utf8(env.cmd().args(["roster", "import", "--dry-run"]).arg(&second).output().unwrap().stdout).unwrap();
    assert!(text.contains("rename 1002: Alexander Hamilton -> Alexander Renamed") && text.contains("move 1002: 7B -> 9C"), "{text}");
    assert_eq!(env.json(&["students"])["students"].as_array().unwrap().len(), 2, "a dry run changes nothing");

    env.cmd().args(["roster", "import"]).arg(&second).assert().success();
    let audit = env.json(&["audit"]);
    let actions: Vec<&str> = audit["audit"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"roster_rename") && actions.contains(&"roster_move"), "{actions:?}");

    // The past register stays with the class and day it was taken in.
    let nov2 = env.json(&["report", "--class", "7B", "--date", "2026-11-02"]);
    assert_eq!(status_of(&nov2, "1002"), "present", "{nov2}");
    let nov3 = env.json(&["report", "--class", "7B", "--date", "2026-11-03"]);
    assert_eq!(status_of(&nov3, "1002"), "absent", "an absence in 7B stays in 7B's register: {nov3}");
    let history = env.json(&["history", "--student", "1002", "--from", "2026-11-01", "--to", "2026-11-30"]);
    assert_eq!(history["days"].as_array().unwrap().len(), 2, "{history}");
    assert_eq!(history["days"][0]["class"], "7B");
    let out = env.dir.path().join("7b.xlsx");
    env.cmd().args(["export", "--class", "7B", "--from", "2026-11-01", "--to", "2026-11-30", "--out"]).arg(&out).assert().success();
    let mut wb = open_workbook_auto(&out).unwrap();
    let grid = wb.worksheet_range("Attendance grid").unwrap();
    assert!(grid.rows().any(|r| r[0].to_string() == "1002" && r[2].to_string() == "P"), "the export keeps 1002's mark in 7B");
    // Today 1002 is on 9C's register, not 7B's.
    let today9c = env.json(&["report", "--class", "9C", "--date", "today"]);
    assert!(students_of(&today9c).iter().any(|s| s["student_id"] == "1002"));
    let today7b = env.json(&["report", "--class", "7B", "--date", "today"]);
    assert!(students_of(&today7b).iter().all(|s| s["student_id"] != "1002"));

    // --remove-missing: a 7B roster without 1001 takes them off 7B from today.
    let third = env.write("third.csv", "student_id,first_name,last_name,class\n1004,Other,Pupil,7B\n");
    let dry = env.json(&["roster", "import", "--dry-run", third.to_str().unwrap()]);
    assert_eq!(dry["changes"]["missing"][0][0], "1001", "students of the file's classes not in it are listed: {dry}");
    assert_eq!(dry["changes"]["missing_leave"], false);
    env.cmd().args(["roster", "import", "--remove-missing"]).arg(&third).assert().success();
    let students = env.json(&["students"]);
    let s1001 = students["students"].as_array().unwrap().iter().find(|s| s["student_id"] == "1001").unwrap();
    assert!(s1001["class"].is_null(), "1001 left 7B: {s1001}");
    assert_eq!(status_of(&env.json(&["report", "--class", "7B", "--date", "2026-11-03"]), "1001"), "present", "and keeps 7B's past register");
}

/// A roster import is one transaction: killed at any moment (on a server, its connection drops
/// inside the transaction), the register holds the whole roster or none of it.
#[test]
fn a_roster_import_killed_midway_leaves_all_of_it_or_nothing() {
    let env = Env::new();
    env.cmd().args(["roster", "import"]).arg(env.write("first.csv", "student_id,first_name,last_name,class\nS1,Ada,Lovelace,7B\n")).assert().success();
    let mut csv = String::from("student_id,first_name,last_name,class\n");
    for i in 0..50_000 {
        csv.push_str(&format!("K{i:05},First{i},Last{i},Year-{}\n", i / 25));
    }
    let big = env.write("big.csv", &csv);
    let count = || env.json(&["students"])["students"].as_array().unwrap().len();
    let mut killed_midway = 0;
    for delay_ms in [150u64, 400, 800, 1500, 3000, 6000, 12000] {
        let finished = env.kill_after(&["roster".as_ref(), "import".as_ref(), big.as_os_str()], Duration::from_millis(delay_ms));
        let n = count();
        assert!(n == 1 || n == 50_001, "{n} students after an import killed at {delay_ms} ms");
        if n == 1 && !finished {
            killed_midway += 1;
        }
        if n == 50_001 {
            break;
        }
    }
    eprintln!("imports killed before they finished: {killed_midway}");
    assert!(killed_midway > 0, "no import was killed before it finished: make the test's roster bigger");
    env.cmd().args(["roster", "import"]).arg(&big).assert().success();
    assert_eq!(count(), 50_001);
}

#[test]
fn a_long_import_never_aborts_a_running_roll() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    let clip = d.join(CLIP);
    let bin = assert_cmd::cargo::cargo_bin("rollcall");
    let run = std::process::Command::new(bin)
        .envs(env.vars())
        .args(["--json", "run", "--class", "Stage", "--no-mood", "--source"])
        .arg(&clip)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // As soon as the session is open, another program (an import) takes the write lock for 8 s.
    let mut conn = env.conn();
    let started = Instant::now();
    loop {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let open: Vec<N> = diesel::sql_query("SELECT count(*) AS n FROM sessions WHERE closed_at IS NULL").load(&mut conn).unwrap_or_default();
        if open.first().is_some_and(|n| n.n > 0) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the session never opened");
        std::thread::sleep(Duration::from_millis(20));
    }
    let import = env.hold_write_lock();
    std::thread::sleep(Duration::from_secs(8));
    import.release();
    let out = run.wait_with_output().unwrap();
    assert!(out.status.success(), "the roll gave up: {}", stderr_of(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["marked_total"], 2, "{v}");
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(status_of(&report, "LMM"), "present");
    assert_eq!(status_of(&report, "ALC"), "present");
}

// ---- 7. Mood off keeps mood --------------------------------------------------------------------

fn sheets(path: &Path) -> Vec<String> {
    open_workbook_auto(path).unwrap().sheet_names()
}

#[test]
fn switching_mood_off_keeps_it_out_of_exports_and_purge_deletes_it() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    let clip = d.join(CLIP);
    env.cmd().args(["settings", "set", "mood", "on"]).assert().success();
    env.cmd().args(["run", "--class", "Stage", "--source"]).arg(&clip).assert().success();
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert!(students_of(&report).iter().any(|s| s["mood"].is_string()), "{report}");
    let export = |name: &str| {
        let out = env.dir.path().join(name);
        env.cmd().args(["export", "--class", "Stage", "--from", &today(), "--to", &today(), "--out"]).arg(&out).assert().success();
        out
    };
    assert!(sheets(&export("on.xlsx")).contains(&"Mood".to_string()));

    let out = env.cmd().args(["settings", "set", "mood", "off"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("still stored") && String::from_utf8_lossy(&out.stdout).contains("--purge"));
    let off = export("off.xlsx");
    assert_eq!(sheets(&off), vec!["Summary", "Attendance grid", "Daily detail"]);
    let mut wb = open_workbook_auto(&off).unwrap();
    let detail = wb.worksheet_range("Daily detail").unwrap();
    assert!(!detail.rows().next().unwrap().iter().any(|c| c.to_string() == "Mood"), "no mood column");
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert!(students_of(&report).iter().all(|s| s["mood"].is_null()), "{report}");

    let purged = env.json(&["settings", "set", "mood", "off", "--purge"]);
    assert!(purged["moods_purged"].as_u64().unwrap() >= 2, "{purged}");
    env.cmd().args(["settings", "set", "mood", "on"]).assert().success();
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert!(students_of(&report).iter().all(|s| s["mood"].is_null()), "deleted for good: {report}");
    assert!(env.json(&["audit"])["audit"].as_array().unwrap().iter().any(|e| e["action"] == "purge_moods"));
}

#[test]
fn the_cli_runs_without_mood_unless_the_school_switched_it_on() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    let run = env.json(&["run", "--class", "Stage", "--source", d.join(CLIP).to_str().unwrap()]);
    assert_eq!(run["mood"], false, "{run}");
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(report["mood"], false);
    assert!(students_of(&report).iter().all(|s| s["mood"].is_null()), "{report}");
}

// ---- 8. Smaller things --------------------------------------------------------------------------

#[test]
fn a_windows_excel_csv_imports_with_its_names_intact() {
    let env = Env::new();
    // Excel's "CSV" on a Western Windows: Windows-1252 (é = 0xE9, ø = 0xF8).
    let cp1252 = env.dir.path().join("cp1252.csv");
    std::fs::write(&cp1252, b"student_id,first_name,last_name,class\r\nW1,Jos\xe9,Ng\xf8,7B\r\n").unwrap();
    let v = env.json(&["roster", "import", cp1252.to_str().unwrap()]);
    assert_eq!(v["encoding"], "windows-1252");
    // Excel's "Unicode text" / UTF-16 with a byte-order mark.
    let utf16 = env.dir.path().join("utf16.csv");
    let text = "student_id,first_name,last_name,class\nW2,Zoë,Ł\u{f3}dź,7B\n";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    std::fs::write(&utf16, bytes).unwrap();
    env.cmd().args(["roster", "import"]).arg(&utf16).assert().success();
    let students = env.json(&["students"]);
    let names: Vec<String> = students["students"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["first_name"].as_str().unwrap(), s["last_name"].as_str().unwrap()))
        .collect();
    assert!(names.contains(&"José Ngø".to_string()) && names.contains(&"Zoë Łódź".to_string()), "{names:?}");
}

#[test]
fn names_that_would_break_exports_or_terminals_are_refused_at_import() {
    let env = Env::new();
    let long = env.write("long.csv", &format!("student_id,first_name,last_name,class\nL1,{},B,7B\n", "n".repeat(40_000)));
    let out = env.cmd().args(["roster", "import"]).arg(&long).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("40000 characters long (at most 100)"));
    let control = env.write("control.csv", "student_id,first_name,last_name,class\nC1,Evil\u{1b}[2J,Name,7B\n");
    let out = env.cmd().args(["roster", "import"]).arg(&control).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("control characters") && !stdout.contains('\u{1b}'), "{stdout}");
    assert_eq!(env.json(&["students"])["students"].as_array().unwrap().len(), 0);
}

#[test]
fn a_truncated_photo_is_refused_with_a_sentence() {
    let env = Env::new();
    let whole = std::fs::read(fixture("astronaut_exif_rotated.jpg")).unwrap();
    let cut = env.dir.path().join("cut.jpg");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let out = env.cmd().args(["detect", "--json"]).arg(&cut).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["errors"][0]["error"].as_str().unwrap().contains("incomplete"), "{v}");
    let roster = env.write("roster.csv", &with_consent("student_id,first_name,last_name,class\nS1,A,B,7B\n"));
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let err = fails(&env, &["enroll", "S1", cut.to_str().unwrap()], 1);
    assert!(err.contains("incomplete"), "{err}");
}

#[test]
fn the_same_face_cannot_be_enrolled_as_two_students() {
    let Some(d) = datasets() else { return };
    let env = Env::new();
    let roster = env.write("roster.csv", &with_consent("student_id,first_name,last_name,class\nA1,Abel,Pacheco,7B\nA2,Someone,Else,7B\n"));
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let photo = d.join("lfw_dev/images/deepfunneled/Abel_Pacheco/Abel_Pacheco_0001.jpg");
    let second = d.join("lfw_dev/images/deepfunneled/Abel_Pacheco/Abel_Pacheco_0002.jpg");
    env.cmd().args(["enroll", "A1"]).arg(&photo).arg(&second).assert().success();
    let err = fails(&env, &["enroll", "A2", photo.to_str().unwrap()], 1);
    assert!(err.contains("already enrolled as A1 (Abel Pacheco"), "{err}");
    // Another photo of the same man, too.
    let other = d.join("lfw_dev/images/deepfunneled/Abel_Pacheco/Abel_Pacheco_0004.jpg");
    let err = fails(&env, &["enroll", "A2", other.to_str().unwrap()], 1);
    assert!(err.contains("already enrolled as A1"), "{err}");
    // Twins: the office says so.
    env.cmd().args(["enroll", "A2", "--allow-lookalike"]).arg(&other).assert().success();
}

#[test]
fn a_database_in_a_missing_folder_or_on_a_device_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder").join("school.sqlite3");
    let out = assert_cmd::Command::cargo_bin("rollcall").unwrap().arg("--db").arg(&missing).arg("students").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("does not exist"), "{}", stderr_of(&out));
    assert!(!missing.parent().unwrap().exists(), "the folder was not created");
    let out = assert_cmd::Command::cargo_bin("rollcall").unwrap().args(["--db", "/dev/null", "students"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("not a file") && !stderr_of(&out).contains("full"), "{}", stderr_of(&out));
}

#[cfg(unix)]
#[test]
fn the_database_and_what_rollcall_writes_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let Some(d) = datasets() else { return };
    let env = enrol_stage(Env::on_file(), &d);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // Keep a reader open so that the -wal and -shm files stay while we look.
    let _reader = env.sql();
    env.cmd().args(["run", "--class", "Stage", "--max-frames", "60", "--source"]).arg(d.join(CLIP)).assert().success();
    assert_eq!(mode(&env.db()), 0o600);
    for side in ["-wal", "-shm"] {
        let p = rollcall::storage::sidecar(&env.db(), side);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{side}");
        }
    }
    let folder = env.dir.path().join("annotated");
    env.cmd().args(["detect", "--annotate"]).arg(&folder).arg(fixture("astronaut.png")).arg(fixture("astronaut_exif_rotated.jpg")).assert().success();
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(mode(&folder.join("astronaut.annotated.png")), 0o600);
    // A database an earlier version left readable by others is closed to them when opened.
    std::fs::set_permissions(env.db(), std::fs::Permissions::from_mode(0o644)).unwrap();
    env.cmd().arg("students").assert().success();
    assert_eq!(mode(&env.db()), 0o600);
}

#[test]
fn a_camera_password_is_never_stored() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    let port = 19000 + (std::process::id() % 1000) as u16;
    let mut camera = serve_stream(&d.join(CLIP), port);
    std::thread::sleep(Duration::from_millis(800));
    let url = format!("http://admin:Sup3rSecret@127.0.0.1:{port}/cam");
    let out = env.cmd().args(["--json", "run", "--class", "Stage", "--no-mood", "--max-seconds", "6", "--source", &url]).output().unwrap();
    let _ = camera.kill();
    let _ = camera.wait();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"], format!("http://admin:***@127.0.0.1:{port}/cam"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Sup3rSecret") && !stderr_of(&out).contains("Sup3rSecret"));
    assert!(!env.contents().has(b"Sup3rSecret"), "the password is in the database");
}

#[test]
fn a_killed_run_is_closed_on_the_next_start_and_keeps_its_moods() {
    let Some(d) = datasets() else { return };
    let env = enrolled_stage(&d);
    env.cmd().args(["settings", "set", "mood", "on"]).assert().success();
    let port = 20000 + (std::process::id() % 1000) as u16;
    // A camera that goes on (the clip looped), so the run is still going when it is killed.
    let mut camera = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "quiet", "-re", "-stream_loop", "-1", "-i"])
        .arg(d.join(CLIP))
        .args(["-an", "-c:v", "mjpeg", "-q:v", "5", "-f", "mpjpeg", "-listen", "1"])
        .arg(format!("http://127.0.0.1:{port}/cam"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let bin = assert_cmd::cargo::cargo_bin("rollcall");
    let mut run = std::process::Command::new(bin)
        .envs(env.vars())
        .args(["run", "--class", "Stage", "--max-seconds", "120", "--source"])
        .arg(format!("http://127.0.0.1:{port}/cam"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for a mood summary to be written while the session runs, then kill it without warning.
    let started = Instant::now();
    let mood_written = loop {
        let r = env.json(&["report", "--class", "Stage", "--date", "today"]);
        if r["session_open"] == true && students_of(&r).iter().any(|s| s["mood"].is_string()) {
            break true;
        }
        if started.elapsed() > Duration::from_secs(60) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    run.kill().unwrap();
    run.wait().unwrap();
    let _ = camera.kill();
    let _ = camera.wait();
    assert!(mood_written, "no mood summary was written while the session ran");
    // The next start closes the killed run's session; its marks and moods are there.
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(report["session_open"], false, "{report}");
    assert_eq!(status_of(&report, "LMM"), "present");
    let lmm = students_of(&report).iter().find(|s| s["student_id"] == "LMM").unwrap();
    assert!(lmm["mood"].is_string(), "{lmm}");
}

#[test]
fn exit_codes_follow_the_readme_table() {
    let env = Env::new();
    let img = fixture("astronaut.png");
    // 0 done.
    env.cmd().arg("detect").arg(&img).assert().code(0);
    // 2 wrong usage.
    env.cmd().arg("frobnicate").assert().code(2);
    env.cmd().args(["report", "--class", "7B", "--date", "someday"]).assert().code(2);
    // 1 failed.
    env.cmd().args(["report", "--class", "9Z", "--date", "today"]).assert().code(1);
    // 3 done in part.
    let bad = env.write("bad.jpg", "not a picture");
    env.cmd().arg("detect").arg(&img).arg(&bad).assert().code(3);
    // An evaluation that could use none of its images measured nothing: failed, not 0.
    let pairs = env.write("pairs.csv", "path_a,path_b,same\nnope1.jpg,nope2.jpg,1\nnope3.jpg,nope4.jpg,0\n");
    let out = env.cmd().args(["eval", "verify", "--pairs"]).arg(&pairs).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("nothing was measured"));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let bin = assert_cmd::cargo::cargo_bin("rollcall");
    let mut child =
        std::process::Command::new(bin).args(["embed", "--json"]).arg(fixture("astronaut.png")).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // `| head -c 0`: the reader goes away before anything is printed.
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
    assert_eq!(status.code(), Some(0), "{err}");
    let _ = std::io::stdout().flush();
}
