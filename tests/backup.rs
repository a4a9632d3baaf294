//! Encrypted backup and restore (issue 12, part 3), through the `rollcall` binary on real
//! database files and the real clip: a round trip restores exactly what the backup held, a
//! backup taken while a session records restores to a consistent register, and a wrong
//! passphrase, a changed, truncated or foreign file, or a backup from a newer Rollcall are
//! refused with the live database untouched.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::{contains, datasets, enrol_stage, fails, students_of, Env};

use serde_json::Value;

const CLIP: &str = "video_hamilton/short_hamilton_clip.mp4";
const PASS: &str = "correct horse battery staple";

fn with_pass(env: &Env, pass: &str) -> assert_cmd::Command {
    let mut c = env.cmd();
    c.env("ROLLCALL_BACKUP_PASSPHRASE", pass);
    c
}

/// What a person would compare: the day's register, the students, the audit log.
fn state(env: &Env) -> (Value, Value, Value) {
    (env.json(&["report", "--class", "Stage", "--date", "today"]), env.json(&["students"]), env.json(&["audit"]))
}

#[test]
fn a_backup_restores_exactly_what_it_held_and_keeps_the_replaced_database() {
    let Some(d) = datasets() else { return };
    let env = enrol_stage(Env::on_file(), &d);
    env.cmd().args(["run", "--class", "Stage", "--max-frames", "120", "--source"]).arg(d.join(CLIP)).assert().success();
    env.cmd().args(["override", "--class", "Stage", "--date", "today", "--student", "ABS", "--status", "excused", "--reason", "dentist"]).assert().success();
    let before = state(&env);
    let file = env.dir.path().join("school.rcbackup");
    let out = with_pass(&env, PASS).args(["--json", "backup", "--out"]).arg(&file).assert().success().get_output().stdout.clone();
    let header: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(header["contents"]["students"], 3);
    assert_eq!(header["contents"]["templates"], 2);
    // Encrypted: no name, id or template in the file.
    let raw = std::fs::read(&file).unwrap();
    for text in ["Lacamoire", "Miranda", "Stage", "dentist", "SQLite format"] {
        assert!(!contains(&raw, text.as_bytes()), "{text:?} readable in the backup");
    }
    #[cfg(unix)]
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions()) & 0o077, 0, "the backup is private");

    // The register changes after the backup.
    env.cmd().args(["delete-student", "ALC"]).assert().success();
    env.cmd().args(["override", "--class", "Stage", "--date", "today", "--student", "LMM", "--status", "absent", "--reason", "mistake"]).assert().success();
    assert_ne!(state(&env).0, before.0);

    let check = String::from_utf8(with_pass(&env, PASS).args(["restore", "--check"]).arg(&file).assert().success().get_output().stdout.clone()).unwrap();
    assert!(check.contains("is a sound backup") && check.contains("3 student(s), 2 face template(s)"), "{check}");
    assert_ne!(state(&env).0, before.0, "--check changes nothing");

    let out = with_pass(&env, PASS).args(["--json", "restore"]).arg(&file).assert().success().get_output().stdout.clone();
    let restored: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(restored["contents"]["students"], 3);
    let after = state(&env);
    assert_eq!(after.0, before.0, "the day's register");
    assert_eq!(after.1, before.1, "the students");
    // The audit log: the backup's, and one entry saying it was restored.
    let log = after.2["audit"].as_array().unwrap();
    assert_eq!(&log[..log.len() - 1], before.2["audit"].as_array().unwrap().as_slice());
    assert_eq!((log.last().unwrap()["action"].as_str(), log.last().unwrap()["actor"].as_str()), (Some("restore"), Some(common::OFFICE)));
    // The replaced database is kept, as it was.
    let aside = restored["replaced_kept_at"].as_str().unwrap();
    let kept = Env::on_file();
    std::fs::copy(aside, kept.db()).unwrap();
    // Encrypted under this PC's key: it opens with that key.
    std::fs::create_dir_all(kept.key_file().parent().unwrap()).unwrap();
    std::fs::copy(env.key_file(), kept.key_file()).unwrap();
    let students = kept.json(&["students"]);
    assert_eq!(students["students"].as_array().unwrap().len(), 2, "the kept database has ALC deleted");
}

#[test]
fn a_backup_taken_while_the_clip_is_recorded_restores_to_a_consistent_register() {
    let Some(d) = datasets() else { return };
    let env = enrol_stage(Env::on_file(), &d);
    let mut run = std::process::Command::new(assert_cmd::cargo::cargo_bin("rollcall"))
        .envs(env.vars())
        .args(["run", "--class", "Stage", "--source"])
        .arg(d.join(CLIP))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let file = env.dir.path().join("during.rcbackup");
    with_pass(&env, PASS).args(["backup", "--out"]).arg(&file).assert().success();
    let still_running = run.try_wait().unwrap().is_none();
    assert!(run.wait().unwrap().success());
    // Restored on another computer (a new database path).
    let other = Env::on_file();
    with_pass(&other, PASS).arg("restore").arg(&file).assert().success();
    let report = other.json(&["report", "--class", "Stage", "--date", "today"]);
    assert_eq!(students_of(&report).len(), 3);
    // The session the backup caught open is closed on the new computer (its process is not there).
    assert_eq!(report["session_open"], false, "{report}");
    eprintln!("backup taken while the session was {}", if still_running { "running" } else { "already finished" });
}

#[test]
fn a_wrong_passphrase_or_a_damaged_or_foreign_file_changes_nothing() {
    let env = Env::on_file();
    let roster = env.write("roster.csv", "student_id,first_name,last_name,class\nS1,Ada,Lovelace,7B\n");
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let file = env.dir.path().join("b.rcbackup");
    let err = String::from_utf8_lossy(&with_pass(&env, "short").args(["backup", "--out"]).arg(&file).assert().code(1).get_output().stderr.clone()).to_string();
    assert!(err.contains("at least 10 characters"), "{err}");
    with_pass(&env, PASS).args(["backup", "--out"]).arg(&file).assert().success();
    env.cmd()
        .args(["override", "--class", "7B", "--date", "2026-11-02", "--student", "S1", "--status", "excused", "--reason", "after the backup"])
        .assert()
        .success();
    let live = |env: &Env| (std::fs::read(env.db()).unwrap(), env.json(&["audit"]));
    let before = live(&env);

    let refused = |pass: &str, path: &Path, expect: &str| {
        let out = with_pass(&env, pass).arg("restore").arg(path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(expect) && err.contains("nothing was changed"), "{err}");
    };
    refused("not the passphrase", &file, "does not open this backup");
    let bytes = std::fs::read(&file).unwrap();
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    let flipped_file = env.write("flipped.rcbackup", "");
    std::fs::write(&flipped_file, &flipped).unwrap();
    refused(PASS, &flipped_file, "damaged");
    let cut = env.dir.path().join("cut.rcbackup");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    refused(PASS, &cut, "damaged");
    refused(PASS, &env.write("notes.txt", "not a backup at all\n"), "not a Rollcall backup");
    assert_eq!(live(&env), before, "the live database is untouched");
    // And a sound restore still works afterwards.
    with_pass(&env, PASS).arg("restore").arg(&file).assert().success();
    assert!(fails(&env, &["restore", "/nonexistent.rcbackup"], 1).contains("cannot read /nonexistent.rcbackup"));
}

#[test]
fn a_backup_from_a_newer_rollcall_is_refused() {
    let env = Env::on_file();
    let roster = env.write("roster.csv", "student_id,first_name,last_name,class\nS1,Ada,Lovelace,7B\n");
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    // A database a newer Rollcall migrated past this one, sealed as that Rollcall would.
    let newer = env.dir.path().join("newer.sqlite3");
    std::fs::copy(env.db(), &newer).unwrap();
    {
        use diesel::connection::SimpleConnection;
        let mut conn = env.sql_at(&newer);
        conn.batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000000'); PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    }
    let db = std::fs::read(&newer).unwrap();
    use sha2::Digest;
    let header = serde_json::json!({
        "format": "rollcall-backup", "version": 2, "created_at": "2099-01-01T08:00:00", "rollcall_version": "9.0.0",
        "schema_version": "20991231000000", "school": null,
        "contents": {"classes": 1, "students": 1, "templates": 0, "sessions": 0, "marks": 0, "consent_events": 0, "audit_entries": 0},
        "database_bytes": db.len(), "database_sha256": format!("{:x}", sha2::Sha256::digest(&db)),
        "database_key": env.keys().load().unwrap().unwrap().to_hex().unwrap().as_str(),
    });
    let file = env.dir.path().join("newer.rcbackup");
    let encryptor = age::Encryptor::with_user_passphrase(age::secrecy::SecretString::from(PASS.to_string()));
    let mut w = encryptor.wrap_output(std::fs::File::create(&file).unwrap()).unwrap();
    w.write_all(format!("{header}\n").as_bytes()).unwrap();
    w.write_all(&db).unwrap();
    w.finish().unwrap();
    let before = std::fs::read(env.db()).unwrap();
    let out = with_pass(&env, PASS).arg("restore").arg(&file).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("made by a newer Rollcall") && err.contains("update Rollcall first"), "{err}");
    assert_eq!(std::fs::read(env.db()).unwrap(), before);
}

#[test]
fn a_backup_killed_midway_leaves_the_live_database_intact_and_no_clear_copy_behind() {
    let Some(d) = datasets() else { return };
    let env = enrol_stage(Env::on_file(), &d);
    let before = env.json(&["students"]);
    for delay_ms in [100u64, 400, 800] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("rollcall"))
            .envs(env.vars())
            .env("ROLLCALL_BACKUP_PASSPHRASE", PASS)
            .args(["backup", "--force", "--out"])
            .arg(env.dir.path().join("killed.rcbackup"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(env.json(&["students"]), before, "the live database after a backup killed at {delay_ms} ms");
    }
    // The next backup clears what killed ones left (a clear copy of the register).
    with_pass(&env, PASS).args(["backup", "--force", "--out"]).arg(env.dir.path().join("ok.rcbackup")).assert().success();
    let left: Vec<String> = std::fs::read_dir(env.db().parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".rollcall-backup-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn the_daily_automatic_backup_runs_once_a_day_keeps_the_last_n_and_each_restores() {
    let env = Env::on_file();
    env.cmd().args(["roster", "import"]).arg(env.write("roster.csv", common::ROSTER)).assert().success();
    // Not set up yet: each missing piece named, with the command that sets it.
    assert!(fails(&env, &["backup", "--auto"], 1).contains("no folder is set for the automatic backup"));
    let folder = env.dir.path().join("backups");
    env.cmd().args(["settings", "set", "backup_folder"]).arg(&folder).assert().success();
    env.cmd().args(["settings", "set", "backup_keep", "2"]).assert().success();
    assert!(fails(&env, &["settings", "set", "backup_folder", "relative/folder"], 1).contains("full path"));
    assert!(fails(&env, &["backup", "--auto"], 1).contains("no passphrase is set"));
    assert!(String::from_utf8_lossy(&with_pass(&env, "short").args(["backup", "--set-auto-passphrase"]).assert().failure().get_output().stderr)
        .contains("too short"));
    with_pass(&env, PASS).args(["backup", "--set-auto-passphrase"]).assert().success();
    // The passphrase is kept in the (encrypted) database, shown nowhere.
    for shown in [env.json(&["settings"]), env.json(&["audit"])] {
        assert!(!shown.to_string().contains(PASS), "{shown}");
    }
    // A file of the school's own in the folder is never touched.
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("notes.txt"), "ours").unwrap();

    let first = env.json(&["backup", "--auto"]);
    assert!(first["written"].as_str().is_some_and(|f| f.contains("rollcall-auto-")), "{first}");
    let again = env.json(&["backup", "--auto"]);
    assert!(again["written"].is_null(), "once a day: {again}");
    // Two more (forced, a second apart: the name is the time taken): the oldest goes.
    let mut written = vec![first["written"].as_str().unwrap().to_string()];
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(1100));
        let more = env.json(&["backup", "--auto", "--force"]);
        written.push(more["written"].as_str().unwrap().to_string());
    }
    let kept: Vec<String> = rollcall::backup::auto_backups(&folder).iter().map(|p| p.display().to_string()).collect();
    assert_eq!(kept, written[1..], "the last 2 are kept");
    assert!(folder.join("notes.txt").exists());
    for f in &kept {
        let h = String::from_utf8(with_pass(&env, PASS).args(["--json", "restore", "--check", f]).assert().success().get_output().stdout.clone()).unwrap();
        assert!(h.contains("\"students\": 3") || h.contains("\"students\":3"), "{h}");
    }
    let audit = env.json(&["audit"]);
    let backups = audit["audit"].as_array().unwrap().iter().filter(|e| e["action"] == "backup" && e["actor"] == common::OFFICE).count();
    assert_eq!(backups, 3, "each automatic backup is audited");
    // A teacher may not set it up or run it.
    env.add_teacher("Ms Smith", &["Stage"]);
    let out = env.cmd_as("Ms Smith", common::TEACHER_PASSWORD).args(["backup", "--auto"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr_of(&out).contains("only an office account may back up the register"), "{}", common::stderr_of(&out));
}
