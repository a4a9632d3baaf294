//! The weekly timetable through the CLI (issue 13, part 2): import with a dry run, a class's week
//! replaced as a whole, every problem with its row and nothing changed, lessons from a workbook
//! whose times are Excel times, and who may see and change it.

mod common;

use common::{fails, Env, TEACHER_PASSWORD};
use serde_json::Value;

const ROSTER: &str = "student_id,first_name,last_name,class\nS1,Ada,Lovelace,7B\nS2,Alan,Turing,7C\n";
const WEEK: &str = "class,weekday,start,end,room,camera\n7B,Monday,09:00,09:50,12,0\n7B,Monday,14:00,14:50,12,0\n7C,Tue,10:00,10:50,14,rtsp://cam:secret@10.0.0.14/stream\n";

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
    assert_eq!((week_now[0]["class"].as_str(), week_now[0]["weekday"].as_str(), week_now[0]["start"].as_str(), week_now[0]["end"].as_str()), (Some("7B"), Some("Mon"), Some("09:00"), Some("09:50")));
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
    let got: Vec<(&str, &str, &str)> = week.iter().map(|l| (l["class"].as_str().unwrap(), l["weekday"].as_str().unwrap(), l["start"].as_str().unwrap())).collect();
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
    let rows: Vec<(u64, String)> = v["problems"].as_array().unwrap().iter().map(|p| (p["row"].as_u64().unwrap(), p["problem"].as_str().unwrap().to_string())).collect();
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
    assert_eq!((week[0]["weekday"].as_str(), week[0]["start"].as_str(), week[0]["end"].as_str(), week[0]["room"].as_str()), (Some("Thu"), Some("08:45"), Some("09:35"), Some("12")));
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
