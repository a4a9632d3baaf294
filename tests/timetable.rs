//! The weekly timetable through the CLI (issue 13, part 2): import with a dry run, a class's week
//! replaced as a whole, every problem with its row and nothing changed, lessons from a workbook
//! whose times are Excel times, one lesson added, changed or removed, and who may see and change it.

mod common;

use common::{fails, Env, TEACHER_PASSWORD};
use serde_json::Value;

const ROSTER: &str = "student_id,first_name,last_name,class\nS1,Ada,Lovelace,7B\nS2,Alan,Turing,7C\n";
const WEEK: &str =
    "class,weekday,start,end,room,camera\n7B,Monday,09:00,09:50,12,0\n7B,Monday,14:00,14:50,12,0\n7C,Tue,10:00,10:50,14,rtsp://cam:secret@10.0.0.14/stream\n";

fn school() -> Env {
    let env = Env::new();
    let roster = env.write("roster.csv", ROSTER);
    env.cmd().args(["roster", "import", roster.to_str().unwrap()]).assert().success();
    env
}

fn lessons(env: &Env, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["timetable"];
    all.extend(args);
    env.json(&all)["lessons"].as_array().unwrap().clone()
}

#[test]
fn a_dry_run_then_an_import_then_the_same_file_again() {
    let env = school();
    let week = env.write("week.csv", WEEK);
    let dry = env.json(&["timetable", "import", week.to_str().unwrap(), "--dry-run"]);
    assert_eq!(dry["applied"], false);
    assert_eq!(dry["changes"]["added"].as_array().unwrap().len(), 3, "{dry}");
    assert!(lessons(&env, &[]).is_empty(), "a dry run changes nothing");

    let done = env.json(&["timetable", "import", week.to_str().unwrap()]);
    assert_eq!(done["applied"], true);
    let week_now = lessons(&env, &[]);
    assert_eq!(week_now.len(), 3);
    // Two lessons of one class on one day: the same class registered at 09:00 and at 14:00.
    assert_eq!(
        (week_now[0]["class"].as_str(), week_now[0]["weekday"].as_str(), week_now[0]["start"].as_str(), week_now[0]["end"].as_str()),
        (Some("7B"), Some("Mon"), Some("09:00"), Some("09:50"))
    );
    assert_eq!(week_now[1]["start"], "14:00");
    // A stream's password is never printed.
    assert_eq!(week_now[2]["camera"], "rtsp://cam:***@10.0.0.14/stream");
    assert_eq!(lessons(&env, &["--class", "7C"]).len(), 1);

    let again = env.json(&["timetable", "import", week.to_str().unwrap()]);
    assert_eq!(again["changes"]["unchanged"], 3);
    assert_eq!(again["changes"]["added"].as_array().unwrap().len(), 0);
    let audit = env.json(&["audit"]);
    assert!(audit["audit"].as_array().unwrap().iter().any(|e| e["action"] == "timetable"), "{audit}");
}

#[test]
fn a_file_replaces_the_week_of_the_classes_it_names_only() {
    let env = school();
    env.cmd().args(["timetable", "import", env.write("week.csv", WEEK).to_str().unwrap()]).assert().success();
    // 7B's new week: one lesson moved, one gone. 7C is not in the file and keeps its lesson.
    let moved = env.write("7b.csv", "class,day,start,end,room\n7B,Wed,11:00,11:50,12\n");
    let v = env.json(&["timetable", "import", moved.to_str().unwrap()]);
    assert_eq!(v["changes"]["removed"].as_array().unwrap().len(), 2, "{v}");
    let week = lessons(&env, &[]);
    let got: Vec<(&str, &str, &str)> =
        week.iter().map(|l| (l["class"].as_str().unwrap(), l["weekday"].as_str().unwrap(), l["start"].as_str().unwrap())).collect();
    assert_eq!(got, [("7B", "Wed", "11:00"), ("7C", "Tue", "10:00")]);
}

#[test]
fn problems_are_listed_by_row_and_nothing_changes() {
    let env = school();
    env.cmd().args(["timetable", "import", env.write("week.csv", WEEK).to_str().unwrap()]).assert().success();
    let bad = env.write(
        "bad.csv",
        // 9Z is unknown; 7B's two lessons overlap; 7B's second lesson is in 7C's room (14) at
        // 7C's stored time; a day that is not one.
        "class,weekday,start,end,room\n9Z,Mon,09:00,09:50,1\n7B,Mon,09:00,10:00,12\n7B,Mon,09:30,10:30,13\n7B,Tue,10:15,11:00,14\n7B,Someday,12:00,13:00,12\n",
    );
    let err = fails(&env, &["timetable", "import", bad.to_str().unwrap()], 1);
    assert!(err.contains("4 problem(s)"), "{err}");
    let out = env.cmd().args(["--json", "timetable", "import", bad.to_str().unwrap()]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<(u64, String)> =
        v["problems"].as_array().unwrap().iter().map(|p| (p["row"].as_u64().unwrap(), p["problem"].as_str().unwrap().to_string())).collect();
    assert!(rows[0].0 == 2 && rows[0].1.contains("unknown class \"9Z\""), "{rows:?}");
    assert!(rows[1].0 == 4 && rows[1].1.contains("overlaps row 3"), "{rows:?}");
    assert!(rows[2].0 == 5 && rows[2].1.contains("already in the timetable"), "{rows:?}");
    assert!(rows[3].0 == 6 && rows[3].1.contains("not a day of the week"), "{rows:?}");
    assert_eq!(lessons(&env, &[]).len(), 3, "nothing changed");
}

#[test]
fn a_workbook_with_excel_times() {
    let env = school();
    let path = env.dir.path().join("week.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let time = rust_xlsxwriter::Format::new().set_num_format("hh:mm");
    for (c, h) in ["Class", "Weekday", "Start", "End", "Room"].iter().enumerate() {
        ws.write(0, c as u16, *h).unwrap();
    }
    ws.write(1, 0, "7B").unwrap();
    ws.write(1, 1, "Thursday").unwrap();
    // What Excel keeps when 08:45 and 09:35 are typed: fractions of a day, shown as times.
    ws.write_number_with_format(1, 2, 8.75 / 24.0, &time).unwrap();
    ws.write_number_with_format(1, 3, (9.0 + 35.0 / 60.0) / 24.0, &time).unwrap();
    ws.write(1, 4, 12).unwrap();
    wb.save(&path).unwrap();
    env.cmd().args(["timetable", "import", path.to_str().unwrap()]).assert().success();
    let week = lessons(&env, &[]);
    assert_eq!(
        (week[0]["weekday"].as_str(), week[0]["start"].as_str(), week[0]["end"].as_str(), week[0]["room"].as_str()),
        (Some("Thu"), Some("08:45"), Some("09:35"), Some("12"))
    );
}

#[test]
fn a_teacher_sees_their_classes_lessons_and_cannot_import() {
    let env = school();
    let week = env.write("week.csv", WEEK);
    env.cmd().args(["timetable", "import", week.to_str().unwrap()]).assert().success();
    env.add_teacher("Ms Smith", &["7B"]);
    let out = env.cmd_as("Ms Smith", TEACHER_PASSWORD).args(["--json", "timetable"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["lessons"].as_array().unwrap().iter().all(|l| l["class"] == "7B"), "{v}");
    assert_eq!(v["lessons"].as_array().unwrap().len(), 2);
    let refused = env.cmd_as("Ms Smith", TEACHER_PASSWORD).args(["timetable", "import", week.to_str().unwrap()]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("office account"), "{}", String::from_utf8_lossy(&refused.stderr));
}

#[test]
fn one_lesson_added_changed_and_removed_checked_against_the_rest_of_the_week() {
    let env = school();
    env.cmd().args(["timetable", "import", env.write("week.csv", WEEK).to_str().unwrap()]).assert().success();
    fn add<'a>(args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["timetable", "add"];
        all.extend(args);
        all
    }
    // Added: a third lesson of 7B on Monday, in its own room.
    let v = env.json(&add(&["--class", "7B", "--day", "Mon", "--start", "11:00", "--end", "11:50", "--room", "12"]));
    assert_eq!((v["lesson"]["weekday"].as_str(), v["lesson"]["start"].as_str()), (Some("Mon"), Some("11:00")), "{v}");
    assert_eq!(lessons(&env, &["--class", "7B"]).len(), 3);

    // Refused, each with its reason, nothing changed: 7B overlapping itself, 7C in 7B's room at
    // 7B's time, an unknown class, a lesson ending before it starts, removing a lesson not there.
    let err = fails(&env, &add(&["--class", "7B", "--day", "Monday", "--start", "09:30", "--end", "10:20"]), 1);
    assert!(err.contains("7B Mon 09:30-10:20 overlaps 7B Mon 09:00-09:50") && err.contains("nothing was changed"), "{err}");
    let err = fails(&env, &add(&["--class", "7C", "--day", "Mon", "--start", "14:10", "--end", "14:40", "--room", "12"]), 1);
    assert!(err.contains("room \"12\" has two classes at once"), "{err}");
    let err = fails(&env, &add(&["--class", "9Z", "--day", "Mon", "--start", "08:00", "--end", "08:30"]), 1);
    assert!(err.contains("unknown class \"9Z\""), "{err}");
    let err = fails(&env, &add(&["--class", "7C", "--day", "Mon", "--start", "08:00", "--end", "07:30"]), 1);
    assert!(err.contains("ends (07:30) before it starts (08:00)"), "{err}");
    let err = fails(&env, &["timetable", "remove", "--class", "7B", "--day", "Fri", "--start", "09:00"], 1);
    assert!(err.contains("no longer in the timetable"), "{err}");
    assert_eq!(lessons(&env, &[]).len(), 4);

    // Changed as the Timetable page does: 7C's lesson moves room; the page shows its stream with
    // the password hidden, and sending that back unchanged keeps the stored address.
    {
        use rollcall::timetable::{edit_lesson, LessonInput, LessonRef};
        let mut store = env.store();
        let was = LessonRef { class: "7C".into(), weekday: "Tue".into(), start: "10:00".into(), room: String::new() };
        let now = LessonInput {
            class: "7C".into(),
            weekday: "Tue".into(),
            start: "10:00".into(),
            end: "10:50".into(),
            room: "15".into(),
            camera: "rtsp://cam:***@10.0.0.14/stream".into(),
        };
        let shown = edit_lesson(&mut store, Some(&was), Some(&now), "office").unwrap().unwrap();
        assert_eq!(shown.camera, "rtsp://cam:***@10.0.0.14/stream");
        let stored = store.timetable(Some("7C")).unwrap();
        assert_eq!((stored[0].room.as_str(), stored[0].camera.as_str()), ("15", "rtsp://cam:secret@10.0.0.14/stream"));
        // The lesson changed within its own slot: no overlap with its old self.
        let later = LessonInput { end: "11:10".into(), ..now };
        edit_lesson(&mut store, Some(&was), Some(&later), "office").unwrap();
        assert_eq!(store.timetable(Some("7C")).unwrap()[0].end.format("%H:%M").to_string(), "11:10");
    }

    // Removed; each change is in the audit log, without a stream's address.
    env.cmd().args(["timetable", "remove", "--class", "7B", "--day", "Mon", "--start", "11:00"]).assert().success();
    assert_eq!(lessons(&env, &["--class", "7B"]).len(), 2);
    let audit = env.json(&["audit"]);
    let edits: Vec<&Value> = audit["audit"].as_array().unwrap().iter().filter(|e| e["action"] == "timetable_lesson").collect();
    assert_eq!(edits.len(), 4, "{audit}");
    assert!(!audit.to_string().contains("secret") && !audit.to_string().contains("rtsp"), "{audit}");

    // A teacher cannot change the timetable.
    env.add_teacher("Ms Smith", &["7B"]);
    let refused = env.cmd_as("Ms Smith", TEACHER_PASSWORD).args(["timetable", "remove", "--class", "7B", "--day", "Mon", "--start", "09:00"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(lessons(&env, &["--class", "7B"]).len(), 2);
}

#[test]
fn the_entrances_hours_are_rows_of_class_star_one_per_gate_at_a_time() {
    let env = school();
    let week = env.write(
        "gate.csv",
        "class,weekday,start,end,room,camera\n*,Mon,08:15,08:45,Main gate,0\n*,Mon,08:15,08:45,North gate,1\n*,Mon,08:30,09:00,Main gate,0\n7B,Mon,09:00,09:50,12,\n",
    );
    // One gate with two hours at once is a problem; two gates at once are not; `*` is no unknown class.
    let out = env.cmd().args(["--json", "timetable", "import", week.to_str().unwrap()]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems: Vec<(u64, &str)> = v["problems"].as_array().unwrap().iter().map(|p| (p["row"].as_u64().unwrap(), p["problem"].as_str().unwrap())).collect();
    assert_eq!(problems.len(), 1, "{v}");
    assert!(
        problems[0].0 == 4 && problems[0].1.contains("entrance Main gate Mon 08:30-09:00 overlaps row 2") && problems[0].1.contains("a room each"),
        "{problems:?}"
    );
    let fixed =
        env.write("gate.csv", "class,weekday,start,end,room,camera\n*,Mon,08:15,08:45,Main gate,0\n*,Mon,08:15,08:45,North gate,1\n7B,Mon,09:00,09:50,12,\n");
    env.cmd().args(["timetable", "import", fixed.to_str().unwrap()]).assert().success();
    let listed = lessons(&env, &[]);
    assert_eq!(listed.iter().filter(|l| l["class"] == "*").count(), 2, "{listed:?}");
    let text = env.cmd().args(["timetable"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(text.lines().any(|l| l.starts_with("entrance") && l.contains("08:15-08:45  room Main gate")), "{text}");
    // One gate's hour removed by its room, another added; a file without `*` rows keeps them.
    env.cmd().args(["timetable", "remove", "--class", "*", "--day", "Mon", "--start", "08:15", "--room", "North gate"]).assert().success();
    env.cmd()
        .args(["timetable", "add", "--class", "*", "--day", "Tue", "--start", "08:15", "--end", "08:45", "--room", "Main gate", "--camera", "0"])
        .assert()
        .success();
    env.cmd().args(["timetable", "import", env.write("7b.csv", "class,weekday,start,end\n7B,Tue,09:00,09:50\n").to_str().unwrap()]).assert().success();
    let gates: Vec<(String, String)> =
        lessons(&env, &["--class", "*"]).iter().map(|l| (l["weekday"].as_str().unwrap().into(), l["room"].as_str().unwrap().into())).collect();
    assert_eq!(gates, [("Mon".to_string(), "Main gate".to_string()), ("Tue".into(), "Main gate".into())]);
}
