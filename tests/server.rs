//! The register on a school's PostgreSQL server (issue 14), through the `rollcall` binary as a
//! classroom PC runs it: the real clip, the real server `scripts/test.sh` starts
//! (`ROLLCALL_TEST_POSTGRES`), and several processes at once as several PCs would be.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use chrono::Timelike;
use common::{datasets, enrol_stage, status_of, students_of, Env};
use serde_json::Value;

/// Each student's status on today's register, sorted: what two runs must agree on.
fn register(env: &Env, class: &str) -> Vec<(String, String)> {
    let report = env.json(&["report", "--class", class, "--date", "today"]);
    let mut v: Vec<(String, String)> =
        students_of(&report).iter().map(|s| (s["student_id"].as_str().unwrap().to_string(), s["status"].as_str().unwrap().to_string())).collect();
    v.sort();
    v
}

/// A `rollcall run` of the clip as a classroom PC of its own would start it: its own data
/// folder and home, the school's server and key.
fn classroom_pc(env: &Env, pc: &str, class: &str, clip: &Path) -> std::process::Child {
    let home = env.dir.path().join(pc);
    std::fs::create_dir_all(&home).unwrap();
    Command::new(assert_cmd::cargo::cargo_bin("rollcall"))
        .envs(env.vars())
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .args(["--json", "run", "--class", class, "--no-mood", "--source"])
        .arg(clip)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finished(child: std::process::Child) -> Value {
    let out: Output = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn the_clip_on_the_schools_server_gives_the_register_a_file_gives() {
    let Some(d) = datasets() else { return };
    let clip = d.join("video_hamilton/short_hamilton_clip.mp4");
    let file = enrol_stage(Env::on_file(), &d);
    let server = enrol_stage(Env::on_server("clip"), &d);
    for env in [&file, &server] {
        let run = env.json(&["run", "--class", "Stage", "--no-mood", "--source", clip.to_str().unwrap()]);
        assert_eq!(run["new_marks"].as_array().unwrap().len(), 2, "{run}");
        assert_eq!(run["frames"], 275);
    }
    assert_eq!(register(&server, "Stage"), register(&file, "Stage"));
    let report = server.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(status_of(&report, "LMM"), "present");
    assert_eq!(status_of(&report, "ABS"), "absent");

    // The same clip again continues the same session: no new marks.
    let again = server.json(&["run", "--class", "Stage", "--no-mood", "--source", clip.to_str().unwrap()]);
    assert_eq!(again["new_marks"].as_array().unwrap().len(), 0, "{again}");
    // Nothing of the school's register is in a file on this PC.
    assert!(std::fs::read_dir(server.dir.path().join("school")).unwrap().next().is_none(), "no register file was written");
}

#[test]
fn two_classroom_pcs_taking_the_same_roll_at_once_give_the_marks_one_gives() {
    let Some(d) = datasets() else { return };
    let clip = d.join("video_hamilton/short_hamilton_clip.mp4");
    let one = enrol_stage(Env::on_server("one_pc"), &d);
    finished(classroom_pc(&one, "pc1", "Stage", &clip));

    let two = enrol_stage(Env::on_server("two_pcs"), &d);
    let (a, b) = (classroom_pc(&two, "pc1", "Stage", &clip), classroom_pc(&two, "pc2", "Stage", &clip));
    let (a, b) = (finished(a), finished(b));
    let new_marks = a["new_marks"].as_array().unwrap().len() + b["new_marks"].as_array().unwrap().len();
    assert_eq!(new_marks, 2, "each student marked once between the two PCs: {a} {b}");
    assert_eq!(register(&two, "Stage"), register(&one, "Stage"));
    let sessions = two.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(sessions["lessons"].as_array().unwrap().len(), 1, "one session, not one per PC: {sessions}");
}

#[test]
fn two_classroom_pcs_taking_two_classes_at_once_give_each_class_its_marks() {
    let Some(d) = datasets() else { return };
    let clip = d.join("video_hamilton/short_hamilton_clip.mp4");
    let env = Env::on_server("two_classes");
    let roster = env.write(
        "roster.csv",
        "student_id,first_name,last_name,class,consent,consent_by,consent_date\nLMM,Lin-Manuel,Miranda,Stage,granted,Luz Miranda,2026-09-01\nALC,Alex,Lacamoire,Pit,granted,A Lacamoire,2026-09-01\n",
    );
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let refs = d.join("video_hamilton/reference");
    env.cmd().args(["enroll", "LMM"]).arg(refs.join("lin_manuel_miranda.png")).assert().success();
    env.cmd().args(["enroll", "ALC"]).arg(refs.join("alex_lacamoire.png")).assert().success();

    let (a, b) = (classroom_pc(&env, "pc1", "Stage", &clip), classroom_pc(&env, "pc2", "Pit", &clip));
    let (a, b) = (finished(a), finished(b));
    assert_eq!(a["new_marks"].as_array().unwrap().len(), 1, "{a}");
    assert_eq!(b["new_marks"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(register(&env, "Stage"), [("LMM".to_string(), "present".to_string())]);
    assert_eq!(register(&env, "Pit"), [("ALC".to_string(), "present".to_string())]);
}

#[test]
fn a_server_that_cannot_be_used_is_a_clear_error_and_nothing_is_written() {
    let env = Env::on_server("refused");
    let url = url::Url::parse(env.server.as_ref().unwrap()).unwrap();
    let mut wrong = url.clone();
    wrong.set_password(Some("not-the-password")).unwrap();
    let out = env.cmd().env("ROLLCALL_DB", wrong.as_str()).args(["classes"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("wrong user name or password") && !err.contains("not-the-password"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The right address works, and the refused attempt left no table behind.
    let check = env.cmd().args(["server", "check"]).arg(url.as_str()).output().unwrap();
    assert!(String::from_utf8_lossy(&check.stdout).contains("no Rollcall tables yet"), "{}", String::from_utf8_lossy(&check.stdout));
}

/// A PostgreSQL server of this test's own (`scripts/pg-cluster.sh`), to stop and start again
/// without disturbing the other tests' server.
struct OwnServer {
    dir: tempfile::TempDir,
    url: String,
}

impl OwnServer {
    fn start() -> OwnServer {
        let dir = tempfile::tempdir().unwrap();
        // The server runs as an unprivileged user when the tests run as root: it must reach DIR.
        #[cfg(unix)]
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let out = Self::script("start", &dir);
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        OwnServer { dir, url }
    }
    fn script(cmd: &str, dir: &tempfile::TempDir) -> Output {
        let out =
            Command::new("bash").arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-cluster.sh")).arg(cmd).arg(dir.path().join("pg")).output().unwrap();
        assert!(out.status.success(), "pg-cluster.sh {cmd}: {}", String::from_utf8_lossy(&out.stderr));
        out
    }
    fn pause(&self) {
        Self::script("pause", &self.dir);
    }
    fn resume(&self) {
        Self::script("resume", &self.dir);
    }
    /// A new database on it, as a school's register.
    fn school(&self, name: &str) -> Env {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut conn = diesel::pg::PgConnection::establish(&self.url).unwrap();
        conn.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let mut url = url::Url::parse(&self.url).unwrap();
        url.set_path(name);
        Env::on_server_url(url.as_str())
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ =
            Command::new("bash").arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-cluster.sh")).arg("stop").arg(self.dir.path().join("pg")).output();
    }
}

/// Sessions on the register so far (read straight from the server).
fn sessions_on(env: &Env) -> i64 {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let Ok(mut conn) = diesel::pg::PgConnection::establish(env.server.as_ref().unwrap()) else { return 0 };
    diesel::sql_query("SELECT count(*) AS n FROM sessions").get_result::<N>(&mut conn).map_or(0, |r| r.n)
}

#[test]
fn the_server_stopped_during_a_session_loses_no_mark() {
    let Some(d) = datasets() else { return };
    let clip = d.join("video_hamilton/short_hamilton_clip.mp4");
    let server = OwnServer::start();
    let env = enrol_stage(server.school("rollcall_loss"), &d);
    let started = std::time::Instant::now();
    let mut run = classroom_pc(&env, "pc1", "Stage", &clip);
    while sessions_on(&env) == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the session never opened");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    server.pause();
    assert!(run.try_wait().unwrap().is_none(), "the session ended before the server was stopped: nothing was tested");
    std::thread::sleep(std::time::Duration::from_secs(3));
    server.resume();
    let out: Output = run.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    // The classroom PC said so while it was away (the Live page's notice is the same figure).
    assert!(said.contains("the school's server cannot be reached") && said.contains("kept on this PC"), "{said}");
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    let marks = run["new_marks"].as_array().unwrap().len();
    assert_eq!(marks, 2, "{run}");
    let report = env.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(status_of(&report, "LMM"), "present", "{report}");
    assert_eq!(status_of(&report, "ALC"), "present", "{report}");
    assert_eq!(report["counts"]["present"], 2, "{report}");
}

/// Times as PostgreSQL keeps them, to the microsecond (a file keeps chrono's nanoseconds).
fn to_micros(v: Value) -> Value {
    match v {
        Value::String(s) => match chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f") {
            Ok(t) => {
                let micros = (t.and_utc().timestamp_subsec_nanos() as i64 + 500) / 1000;
                let t = t.with_nanosecond(0).unwrap() + chrono::Duration::microseconds(micros);
                Value::String(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
            }
            Err(_) => Value::String(s),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(to_micros).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, to_micros(v))).collect()),
        other => other,
    }
}

#[test]
fn migrate_to_moves_a_schools_file_to_the_server_with_every_count_and_report_equal() {
    let Some(d) = datasets() else { return };
    let clip = d.join("video_hamilton/short_hamilton_clip.mp4");
    let file = enrol_stage(Env::on_file(), &d);
    file.cmd().args(["settings", "set", "mood", "on"]).assert().success();
    file.cmd().args(["run", "--class", "Stage", "--max-frames", "150", "--source"]).arg(&clip).assert().success();
    file.add_teacher("Ms Smith", &["Stage"]);
    file.cmd_as("Ms Smith", common::TEACHER_PASSWORD)
        .args(["override", "--class", "Stage", "--date", "today", "--student", "ABS", "--status", "excused", "--reason", "dentist"])
        .assert()
        .success();
    let before = file.json(&["report", "--class", "Stage", "--date", "today"]);
    let contents = file.store().contents().unwrap();

    let target = Env::on_server("migrated");
    let url = target.server.clone().unwrap();
    let moved = file.json(&["migrate-to", &url]);
    let counted = |table: &str| {
        moved["tables"].as_array().unwrap().iter().find(|t| t["table"] == table).unwrap_or_else(|| panic!("{table}: {moved}"))["rows"].as_i64().unwrap()
    };
    assert_eq!(counted("students"), contents.students);
    assert_eq!(counted("enrolments"), contents.templates);
    assert_eq!(counted("marks"), contents.marks);
    assert_eq!(counted("audit_log"), contents.audit_entries);
    assert_eq!(counted("consent_events"), contents.consent_events);

    // The server, with the same key and accounts, reports exactly what the file did.
    let server_cmd = |args: &[&str]| -> Value {
        let out = file.cmd().env("ROLLCALL_DB", &url).arg("--json").args(args).assert().success().get_output().stdout.clone();
        serde_json::from_slice(&out).unwrap()
    };
    assert_eq!(to_micros(server_cmd(&["report", "--class", "Stage", "--date", "today"])), to_micros(before.clone()));
    // The file is as it was, and a second move onto the filled server is refused.
    assert_eq!(file.json(&["report", "--class", "Stage", "--date", "today"]), before);
    let again = file.cmd().args(["migrate-to", &url]).output().unwrap();
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("not empty"), "{}", String::from_utf8_lossy(&again.stderr));
    // New rows on the server get new ids (its sequences follow the copied ones): another
    // override and another lesson's run write without a clash.
    file.cmd()
        .env("ROLLCALL_DB", &url)
        .args(["override", "--class", "Stage", "--date", "today", "--student", "ABS", "--status", "absent", "--reason", "came back"])
        .assert()
        .success();
    let audit = server_cmd(&["audit"]);
    assert_eq!(audit["audit"].as_array().unwrap().len() as i64, contents.audit_entries + 1, "{audit}");

    // Another school's file moves into the same database as a school of its own (a district's).
    let north = file.json(&["migrate-to", &url, "--school", "north"]);
    assert_eq!(north["tables"], moved["tables"], "{north}");
    assert_eq!(to_micros(server_cmd(&["--school", "north", "report", "--class", "Stage", "--date", "today"])), to_micros(before));
    let err = file.cmd().env("ROLLCALL_DB", &url).args(["report", "--class", "Stage", "--date", "today"]).output().unwrap();
    assert!(String::from_utf8_lossy(&err.stderr).contains("several schools (north, public)"), "{}", String::from_utf8_lossy(&err.stderr));
}

/// The names on a school's roster, sorted.
fn names(env: &Env) -> Vec<String> {
    let students = env.json(&["students"]);
    let mut v: Vec<String> = students["students"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {} {}", s["student_id"].as_str().unwrap(), s["first_name"].as_str().unwrap(), s["last_name"].as_str().unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn two_schools_in_one_database_see_and_change_nothing_of_each_other() {
    use diesel::connection::SimpleConnection;
    let district = Env::on_server("district");
    let url = district.server.clone().unwrap();
    // The district's IT adds its schools; a name that cannot be a school is refused.
    for school in ["north", "south"] {
        let out = district.cmd().args(["server", "prepare", &url, "--school", school]).assert().success().get_output().stdout.clone();
        assert!(String::from_utf8_lossy(&out).contains(&format!("school {school}")), "{}", String::from_utf8_lossy(&out));
    }
    assert!(common::fails(&district, &["server", "prepare", &url, "--school", "North High"], 1).contains("a school's name is lower-case letters"));
    // With several schools, a command that does not say which is refused, not guessed.
    let err = common::fails(&district, &["classes"], 1);
    assert!(err.contains("several schools (north, south)") && err.contains("--school"), "{err}");
    // A school asked for that is not there is not made by a typo.
    assert!(common::fails(&district, &["--school", "nrth", "classes"], 1).contains("no school \"nrth\" (its schools: north, south)"));

    let (north, south) = (district.in_school("north"), district.in_school("south"));
    let roster = |env: &Env, rows: &str| {
        let csv = env.write("roster.csv", &format!("student_id,first_name,last_name,class\n{rows}"));
        env.cmd().args(["roster", "import"]).arg(csv).assert().success();
    };
    // The same student id and the same class name in both: each school's own.
    roster(&north, "S1,Ada,Lovelace,7B\nS2,Alan,Turing,7B\n");
    roster(&south, "S1,Grace,Hopper,7B\nS3,Edsger,Dijkstra,8C\n");
    assert_eq!(names(&north), ["S1 Ada Lovelace", "S2 Alan Turing"]);
    assert_eq!(names(&south), ["S1 Grace Hopper", "S3 Edsger Dijkstra"]);

    // A setting, a mark and a deletion in one school leave the other as it was.
    let south_before = (south.json(&["settings"]), south.json(&["report", "--class", "7B", "--date", "today"]), south.json(&["audit"]));
    let south_settings = south_before.0.clone();
    north.cmd().args(["settings", "set", "min_similarity", "0.95"]).assert().success();
    assert_ne!(north.json(&["settings"]), south_settings);
    assert_eq!(south.json(&["settings"]), south_settings);
    north.cmd().args(["mark", "--class", "7B", "--student", "S1", "--status", "present"]).assert().success();
    assert!(common::fails(&south, &["mark", "--class", "8C", "--student", "S2", "--status", "present"], 1).contains("unknown student"));
    north.cmd().args(["delete-student", "S1"]).assert().success();
    assert_eq!(names(&north), ["S2 Alan Turing"]);
    assert_eq!(names(&south), ["S1 Grace Hopper", "S3 Edsger Dijkstra"]);
    let south_after = (south.json(&["settings"]), south.json(&["report", "--class", "7B", "--date", "today"]), south.json(&["audit"]));
    assert_eq!(south_after, south_before, "north's setting, mark and deletion are north's alone");
    assert_eq!(status_of(&north.json(&["report", "--class", "7B", "--date", "today"]), "S2"), "absent");

    // The district's IT can make it a permission: a role with rights on north's schema only.
    let role = format!("north_pc_{}", std::process::id());
    let mut admin = common::pg_connection(&url);
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'north pc password'; \
             GRANT USAGE ON SCHEMA north TO {role}; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA north TO {role}; \
             GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA north TO {role};"
        ))
        .unwrap();
    let mut as_role = url::Url::parse(&url).unwrap();
    as_role.set_username(&role).unwrap();
    as_role.set_password(Some("north pc password")).unwrap();
    let north_pc = Env::on_server_url(as_role.as_str());
    // Its only school needs no --school; the other is refused by name, and nothing of it is readable.
    assert_eq!(names(&north_pc), ["S2 Alan Turing"]);
    let err = common::fails(&north_pc, &["--school", "south", "students"], 1);
    assert!(err.contains(&format!("the user {role} may not use the school \"south\"")), "{err}");
    let mut raw = common::pg_connection(as_role.as_str());
    let denied = raw.batch_execute("SELECT * FROM south.students").unwrap_err().to_string();
    assert!(denied.contains("permission denied for schema south"), "{denied}");
}
