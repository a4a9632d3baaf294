//! `rollcall serve` (issue 13, parts 2 and 3): the timetable's lessons taken by themselves,
//! several rooms at once on one engine, on a clock the test controls (a rehearsal of today's
//! timetable); a camera that refuses never stops the others; SIGTERM closes every session.

mod common;

use std::time::{Duration, Instant};

use calamine::{open_workbook, Reader, Xlsx};
use common::{datasets, serve_stream, Env};
use serde_json::Value;

const CLIP: &str = "video_hamilton/short_hamilton_clip.mp4";

/// LMM is in every class; ALC in Stage; ABS (never on camera) in Band.
const SCHOOL: &str = "student_id,first_name,last_name,class,consent,consent_by,consent_date\n\
LMM,Lin-Manuel,Miranda,Stage,granted,Luz Miranda,2026-09-01\n\
LMM,Lin-Manuel,Miranda,Band,granted,Luz Miranda,2026-09-01\n\
LMM,Lin-Manuel,Miranda,Choir,granted,Luz Miranda,2026-09-01\n\
ALC,Alex,Lacamoire,Stage,granted,A Lacamoire,2026-09-01\n\
ABS,Absent,Student,Band,,,\n";

fn school(d: &std::path::Path) -> Env {
    let env = Env::new();
    let roster = env.write("school.csv", SCHOOL);
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let refs = d.join("video_hamilton/reference");
    env.cmd().args(["enroll", "LMM"]).arg(refs.join("lin_manuel_miranda.png")).assert().success();
    env.cmd().args(["enroll", "ALC"]).arg(refs.join("alex_lacamoire.png")).assert().success();
    env
}

fn today() -> String {
    chrono::Local::now().format("%A").to_string()
}

fn marked_in(lesson: &Value, id: &str) -> bool {
    lesson["students"].as_array().unwrap().iter().any(|s| s["student_id"] == id && (s["status"] == "present" || s["status"] == "late"))
}

#[test]
fn serve_takes_two_lessons_of_two_classes_sharing_a_student_from_the_timetable() {
    let Some(d) = datasets() else { return };
    let env = school(&d);
    let clip = d.join(CLIP);
    let cam = clip.to_str().unwrap();
    let day = today();
    let tt = env.write(
        "week.csv",
        &format!(
            "class,weekday,start,end,room,camera\n\
             Stage,{day},09:00,09:10,Hall,{cam}\nBand,{day},09:00,09:10,Music,{cam}\n\
             Stage,{day},09:30,09:40,Hall,{cam}\nBand,{day},09:30,09:40,Music,{cam}\n"
        ),
    );
    env.cmd().args(["timetable", "import"]).arg(&tt).assert().success();
    let log = env.dir.path().join("serve.log");
    // A minute of the timetable per second: both rooms open at 08:45, the clip (10 s) plays
    // through in each, the next lessons open at 09:15, and the rehearsal ends at 09:45.
    let out = env
        .cmd()
        .args(["--json", "serve", "--rehearse-from", "08:43", "--rate", "60", "--stop-at", "09:45", "--log"])
        .arg(&log)
        .timeout(Duration::from_secs(240))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rooms = summary["rooms"].as_array().unwrap();
    assert_eq!(rooms.len(), 4, "{summary}");
    for r in rooms {
        assert!(r["error"].is_null(), "{r}");
        assert!(r["marked"].as_u64().unwrap() >= 1, "{r}");
    }
    for (class, others) in [("Stage", "ALC"), ("Band", "ABS")] {
        let report = env.json(&["report", "--class", class, "--date", "today"]);
        let lessons = report["lessons"].as_array().unwrap();
        assert_eq!(lessons.iter().map(|l| l["lesson"].as_str().unwrap()).collect::<Vec<_>>(), ["09:00", "09:30"], "{report}");
        for l in lessons {
            assert_eq!((l["held"].as_bool(), l["open"].as_bool()), (Some(true), Some(false)), "{l}");
            // The shared student is marked in both classes, in each lesson.
            assert!(marked_in(l, "LMM"), "{class}: {l}");
            if others == "ALC" {
                assert!(marked_in(l, "ALC"), "{l}");
            } else {
                assert_eq!(l["students"].as_array().unwrap().iter().find(|s| s["student_id"] == "ABS").unwrap()["status"], "absent");
            }
        }
        // The day is both lessons; the Excel export has a column per lesson with the same marks.
        let total: u64 = report["counts"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(total, 4, "two students in two lessons: {report}");
        let file = env.dir.path().join(format!("{class}.xlsx"));
        env.cmd().args(["export", "--class", class, "--from", "today", "--to", "today", "--out"]).arg(&file).assert().success();
        let mut wb: Xlsx<_> = open_workbook(&file).unwrap();
        let grid = wb.worksheet_range("Attendance grid").unwrap();
        for row in grid.rows().skip(1).filter(|r| !r[0].to_string().is_empty()) {
            let id = row[0].to_string();
            for (k, l) in lessons.iter().enumerate() {
                let status = l["students"].as_array().unwrap().iter().find(|s| s["student_id"] == id.as_str()).unwrap()["status"].as_str().unwrap().to_string();
                assert_eq!(row[2 + k].to_string(), status[..1].to_uppercase(), "{class} {id} lesson {k}");
            }
        }
    }
    let text = std::fs::read_to_string(&log).unwrap();
    for line in ["serving the timetable", "room starting", "session open", "marked", "room ended", "stopped"] {
        assert!(text.contains(line), "the log has {line:?}:\n{text}");
    }
}

#[test]
fn sigterm_closes_every_room_and_a_camera_that_refuses_stops_no_other() {
    let Some(d) = datasets() else { return };
    let env = school(&d);
    let clip = d.join(CLIP);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut stream = serve_stream(&clip, port);
    // A port nobody listens on: the camera that refuses.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let day = today();
    let tt = env.write(
        "week.csv",
        &format!(
            "class,weekday,start,end,room,camera\n\
             Stage,{day},09:00,10:00,Hall,http://127.0.0.1:{port}/cam\n\
             Band,{day},09:00,10:00,Music,{}\n\
             Choir,{day},09:00,10:00,Chapel,http://127.0.0.1:{dead}/cam\n",
            clip.display()
        ),
    );
    env.cmd().args(["timetable", "import"]).arg(&tt).assert().success();
    let log = env.dir.path().join("serve.log");
    let mut serve = std::process::Command::new(assert_cmd::cargo::cargo_bin("rollcall"))
        .envs(env.vars())
        .args(["--json", "serve", "--rehearse-from", "09:05", "--log"])
        .arg(&log)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the live stream's room to mark LMM (and the file's room to be done).
    let until = Instant::now() + Duration::from_secs(120);
    let marked = |class: &str| {
        let r = env.json(&["report", "--class", class, "--date", "today"]);
        r["lessons"].as_array().unwrap().iter().any(|l| l["held"] == true && marked_in(l, "LMM"))
    };
    while !(marked("Stage") && marked("Band")) {
        assert!(Instant::now() < until, "no marks from the live rooms:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        assert!(serve.try_wait().unwrap().is_none(), "serve ended early");
        std::thread::sleep(Duration::from_millis(500));
    }
    let kill = std::process::Command::new("kill").args(["-TERM", &serve.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = serve.wait_with_output().unwrap();
    let _ = stream.kill();
    let _ = stream.wait();
    assert!(out.status.success(), "SIGTERM is a clean stop: {}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rooms = summary["rooms"].as_array().unwrap();
    let choir = rooms.iter().find(|r| r["class"] == "Choir").expect("the refusing camera's room is reported");
    assert!(choir["error"].as_str().unwrap().contains("cannot open") || choir["error"].as_str().unwrap().contains("never delivered"), "{choir}");
    let stage = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(stage["session_open"], false, "the live room's session was closed: {stage}");
    assert_eq!(env.json(&["report", "--class", "Choir", "--date", "today"])["session_held"], false, "no register where the camera never opened");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("asked to stop") && text.contains("room failed"), "{text}");
}

#[test]
fn the_gate_from_the_timetable_registers_each_student_in_their_next_lesson() {
    let Some(d) = datasets() else { return };
    // On the real clock (a mark is judged at the moment it is made): the gate opens this minute,
    // the classes' lessons, with no camera of their own, start after it (Choir has none today:
    // its day register).
    let now = chrono::Local::now().naive_local().time();
    if now > chrono::NaiveTime::from_hms_opt(23, 0, 0).unwrap() {
        return;
    }
    let at = |m: i64| (now + chrono::Duration::minutes(m)).format("%H:%M").to_string();
    let env = school(&d);
    let cam = d.join(CLIP);
    let day = today();
    let tt = env.write(
        "week.csv",
        &format!(
            "class,weekday,start,end,room,camera
             *,{day},{},{},Main gate,{}
             Stage,{day},{},{},Hall,
Band,{day},{},{},Music,
",
            at(0),
            at(20),
            cam.display(),
            at(30),
            at(50),
            at(30),
            at(50)
        ),
    );
    env.cmd().args(["timetable", "import"]).arg(&tt).assert().success();
    let listed = env.json(&["timetable"]);
    assert_eq!(listed["lessons"][0]["class"], "*", "{listed}");
    let log = env.dir.path().join("serve.log");
    let mut serve = std::process::Command::new(assert_cmd::cargo::cargo_bin("rollcall"))
        .envs(env.vars())
        .args(["--json", "serve", "--log"])
        .arg(&log)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lesson_of = |class: &str| {
        let report = env.json(&["report", "--class", class, "--date", "today"]);
        report["lessons"].as_array().unwrap().iter().find(|l| l["lesson"] == at(30).as_str()).cloned().unwrap_or_else(|| panic!("{report}"))
    };
    let until = Instant::now() + Duration::from_secs(120);
    while !(marked_in(&lesson_of("Stage"), "ALC") && marked_in(&lesson_of("Band"), "LMM")) {
        assert!(Instant::now() < until, "nobody marked from the gate:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        assert!(serve.try_wait().unwrap().is_none(), "serve ended early");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(std::process::Command::new("kill").args(["-TERM", &serve.id().to_string()]).status().unwrap().success());
    let out = serve.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rooms = summary["rooms"].as_array().unwrap();
    assert_eq!(rooms.len(), 1, "{summary}");
    assert_eq!(rooms[0]["class"], "Entrance (Main gate)", "{summary}");
    for (class, present, absent) in [("Stage", &["LMM", "ALC"][..], &[][..]), ("Band", &["LMM"][..], &["ABS"][..])] {
        let lesson = lesson_of(class);
        for id in present {
            let s = lesson["students"].as_array().unwrap().iter().find(|s| s["student_id"] == *id).unwrap();
            assert_eq!(s["status"], "present", "{class} {id}: at the gate before the lesson: {lesson}");
        }
        for id in absent {
            let status = &lesson["students"].as_array().unwrap().iter().find(|s| s["student_id"] == *id).unwrap()["status"];
            assert!(status.is_null() || status == "absent", "{lesson}");
        }
    }
    let choir = env.json(&["report", "--class", "Choir", "--date", "today"]);
    assert!(choir["lessons"].as_array().unwrap().iter().any(|l| marked_in(l, "LMM")), "{choir}");
}
