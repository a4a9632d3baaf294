//! Sizing (issue 14): a district's register, generated, and the reports people open on it.
//!
//! The register: `ROLLCALL_SIZING_SCHOOLS` schools (default 1) of 1,500 students in 60 classes
//! of 25, every class with 6 lessons on each of 180 school days from 2026-09-01, every student
//! marked in every lesson (1 in 20 absent, 1 in 20 late): one school is 64,800 lessons and
//! 1,620,000 marks; the district of 20 is 1,296,000 lessons and 32,400,000 marks. A
//! "school" is 60 classes here, and the whole district is one register: the harder case. On a
//! server each real school has a register (a schema) of its own (`--school`), so its reports
//! never read past its own year; a school on a file has the file to itself.
//!
//! Measured on it: one class's term report (`report::summary` over the first 60 school days:
//! 360 lessons × 25 students), one class's day (`report::daily`, 6 lessons) and a whole school's
//! day (the 60 classes' days), on the SQLite file and, when `ROLLCALL_BENCH_POSTGRES` gives a
//! server's superuser URL (`scripts/pg-cluster.sh start DIR` prints one), on PostgreSQL.
//!
//! Run: `cargo bench --bench sizing` (`ROLLCALL_SIZING_ONLY=sqlite` or `postgres`: one backend).
//! The register is generated once (minutes: tens of millions of rows through SQL, not through
//! the roll) and kept for later runs: the file under
//! `target/sizing/`, the server's as database `rollcall_sizing_<schools>`. Under
//! `cargo test --benches` (criterion's test mode) one school of 50 students over 10 days is made
//! afresh, so CI checks the bench works without paying for the district.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, Weekday};
use criterion::{criterion_group, criterion_main, Criterion};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use rollcall::keys::KeyStore;
use rollcall::storage::server::ServerUrl;
use rollcall::storage::{RosterEntry, Store};

const CLASS_SIZE: usize = 25;
const LESSONS: [&str; 6] = ["08:30", "09:30", "10:30", "11:30", "13:00", "14:00"];
const TERM_DAYS: usize = 60;

#[derive(Clone, Copy)]
struct Size {
    schools: usize,
    students_per_school: usize,
    days: usize,
}

impl Size {
    fn classes_per_school(&self) -> usize {
        self.students_per_school / CLASS_SIZE
    }
    fn name(&self) -> String {
        format!("{}x{}x{}", self.schools, self.students_per_school, self.days)
    }
    fn school_days(&self) -> Vec<NaiveDate> {
        let from = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        from.iter_days().filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)).take(self.days).collect()
    }
}

fn size() -> Size {
    // Criterion's test mode (`cargo test --benches`) runs without `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return Size { schools: 1, students_per_school: 50, days: 10 };
    }
    let schools = std::env::var("ROLLCALL_SIZING_SCHOOLS").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    Size { schools, students_per_school: 1500, days: 180 }
}

fn class_name(school: usize, class: usize) -> String {
    format!("S{school:02}-C{class:02}")
}

/// The district's students and classes, through the roster import as a school office makes them.
fn roster(store: &mut Store, size: Size) {
    let mut entries = Vec::new();
    for school in 0..size.schools {
        for i in 0..size.students_per_school {
            entries.push(RosterEntry {
                student_id: format!("S{school:02}-{i:04}"),
                first_name: format!("First{i}"),
                last_name: format!("Last{school}"),
                class: class_name(school, i / CLASS_SIZE),
                consent: None,
            });
        }
    }
    store.apply_roster(&entries, Default::default(), "sizing").unwrap();
}

/// Lessons and marks in bulk, one school (60 classes) per statement, in SQL for the backend:
/// `stamp` turns the day `d.d` and time `s.t` into a timestamp.
fn lessons_and_marks(conn: &mut impl SimpleConnection, size: Size, stamp: &str, date_type: &str) {
    let days: Vec<String> = size.school_days().iter().map(|d| format!("('{d}')")).collect();
    let slots: Vec<String> = LESSONS.iter().map(|t| format!("('{t}')")).collect();
    conn.batch_execute(&format!(
        "UPDATE memberships SET joined_on = NULL;
         CREATE TEMPORARY TABLE bench_days (d {date_type} NOT NULL);
         CREATE TEMPORARY TABLE bench_slots (t TEXT NOT NULL);
         INSERT INTO bench_days (d) VALUES {};
         INSERT INTO bench_slots (t) VALUES {};",
        days.join(","),
        slots.join(",")
    ))
    .unwrap();
    let per_school = size.classes_per_school();
    for school in 0..size.schools {
        let started = Instant::now();
        let classes = format!("(SELECT id FROM classes WHERE name LIKE 'S{school:02}-C%')");
        conn.batch_execute(&format!(
            "BEGIN;
             INSERT INTO sessions (class_id, date, lesson_start, starts_at, late_after_minutes, source, opened_at, closed_at, frames, faces)
               SELECT c.id, d.d, s.t, {stamp}, 10, 'sizing', {stamp}, {stamp}, 3000, 25
               FROM classes c, bench_days d, bench_slots s WHERE c.id IN {classes} ORDER BY d.d, s.t, c.id;
             INSERT INTO marks (session_id, student_id, status, first_seen, last_seen, late_minutes, confidence, source)
               SELECT se.id, m.student_id,
                 CASE (se.id + m.student_id) % 20 WHEN 0 THEN 'absent' WHEN 1 THEN 'late' ELSE 'present' END,
                 CASE (se.id + m.student_id) % 20 WHEN 0 THEN NULL ELSE se.starts_at END,
                 CASE (se.id + m.student_id) % 20 WHEN 0 THEN NULL ELSE se.starts_at END,
                 CASE (se.id + m.student_id) % 20 WHEN 1 THEN 12 ELSE 0 END,
                 CASE (se.id + m.student_id) % 20 WHEN 0 THEN NULL ELSE 0.8 END,
                 'auto'
               FROM sessions se JOIN memberships m ON m.class_id = se.class_id WHERE se.class_id IN {classes};
             COMMIT;"
        ))
        .unwrap();
        eprintln!("sizing: school {} of {}: {per_school} classes' lessons and marks in {:.1} s", school + 1, size.schools, started.elapsed().as_secs_f64());
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// The district on a file, generated on first use (kept under target/sizing/ for the full size).
fn on_file(size: Size, scratch: &tempfile::TempDir) -> Store {
    let full = std::env::args().any(|a| a == "--bench");
    let dir = if full { target_dir().join("sizing") } else { scratch.path().to_path_buf() };
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("district-{}.sqlite3", size.name()));
    let done = dir.join(format!("district-{}.done", size.name()));
    let keys = KeyStore::File(dir.join("sizing.key"));
    if !done.exists() {
        let _ = std::fs::remove_file(&path);
        for side in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(rollcall::storage::sidecar(&path, side));
        }
        let started = Instant::now();
        let mut store = Store::open_with(&path, &keys).unwrap();
        roster(&mut store, size);
        drop(store);
        let key = keys.load().unwrap().unwrap();
        let mut conn = rollcall::storage::cipher::connect(&path, Some(&key)).unwrap();
        lessons_and_marks(&mut conn, size, "d.d || ' ' || s.t || ':00'", "TEXT");
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;").unwrap();
        std::fs::write(&done, "").unwrap();
        eprintln!("sizing: the file's register made in {:.0} s", started.elapsed().as_secs_f64());
    }
    eprintln!("sizing: file {} ({} MB)", path.display(), std::fs::metadata(&path).map(|m| m.len() >> 20).unwrap_or(0));
    Store::open_with(&path, &keys).unwrap()
}

/// The district on the server `ROLLCALL_BENCH_POSTGRES` names, generated on first use.
fn on_server(size: Size, admin: &str, scratch: &tempfile::TempDir) -> Store {
    let full = std::env::args().any(|a| a == "--bench");
    let db = if full { format!("rollcall_sizing_{}", size.name().replace('x', "_")) } else { format!("rollcall_sizing_test_{}", std::process::id()) };
    let mut admin_conn = diesel::pg::PgConnection::establish(admin).unwrap();
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&db);
    let keys = KeyStore::File(scratch.path().join("sizing-server.key"));
    let exists = diesel::pg::PgConnection::establish(url.as_str()).ok().is_some_and(|mut c| c.batch_execute("SELECT 1 FROM sizing_done").is_ok());
    if !exists {
        let started = Instant::now();
        // Two statements: PostgreSQL runs a batch as one transaction, which DROP DATABASE refuses.
        admin_conn.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).unwrap();
        admin_conn.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
        let mut store = Store::open_server(&ServerUrl::parse(url.as_str()).unwrap(), &keys).unwrap();
        roster(&mut store, size);
        drop(store);
        let mut conn = diesel::pg::PgConnection::establish(url.as_str()).unwrap();
        lessons_and_marks(&mut conn, size, "(d.d || ' ' || s.t || ':00')::timestamp", "DATE");
        conn.batch_execute("VACUUM ANALYZE").unwrap();
        conn.batch_execute("CREATE TABLE sizing_done ()").unwrap();
        eprintln!("sizing: the server's register made in {:.0} s", started.elapsed().as_secs_f64());
    }
    Store::open_server(&ServerUrl::parse(url.as_str()).unwrap(), &keys).unwrap()
}

fn reports(c: &mut Criterion, backend: &str, store: &mut Store, size: Size) {
    let days = size.school_days();
    let (from, to) = (days[0], days[TERM_DAYS.min(days.len()) - 1]);
    let class = class_name(0, 0);
    let day = days[days.len() / 2];
    let mut group = c.benchmark_group(format!("sizing_{backend}_{}", size.name()));
    group.sample_size(10);
    group.bench_function("term_report_one_class", |b| {
        b.iter(|| {
            let s = rollcall::report::summary(store, &class, from, to).unwrap();
            assert_eq!((s.students.len(), s.lessons.len()), (CLASS_SIZE, LESSONS.len() * TERM_DAYS.min(days.len())));
        })
    });
    group.bench_function("day_report_one_class", |b| b.iter(|| assert_eq!(rollcall::report::daily(store, &class, day).unwrap().lessons.len(), LESSONS.len())));
    group.bench_function("day_report_whole_school", |b| {
        b.iter(|| {
            for k in 0..size.classes_per_school() {
                assert_eq!(rollcall::report::daily(store, &class_name(0, k), day).unwrap().lessons.len(), LESSONS.len());
            }
        })
    });
    group.finish();
}

fn sizing(c: &mut Criterion) {
    let size = size();
    let scratch = tempfile::tempdir().unwrap();
    // `ROLLCALL_SIZING_ONLY=postgres` (or `sqlite`): one backend, so both can be generated at once.
    let only = std::env::var("ROLLCALL_SIZING_ONLY").unwrap_or_default();
    if only != "postgres" {
        let mut file = on_file(size, &scratch);
        reports(c, "sqlite", &mut file, size);
    }
    match std::env::var("ROLLCALL_BENCH_POSTGRES") {
        Ok(_) if only == "sqlite" => {}
        Ok(admin) => {
            let mut server = on_server(size, &admin, &scratch);
            reports(c, "postgres", &mut server, size);
        }
        Err(_) => eprintln!("sizing: ROLLCALL_BENCH_POSTGRES not set: PostgreSQL not measured"),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = sizing
}
criterion_main!(benches);
