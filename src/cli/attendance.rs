//! The attendance commands of the CLI: roster, enrolment, running a session, reports, export,
//! overrides. Each parses nothing and decides nothing: it calls the core and prints.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::NaiveDate;
use opencv::core::Mat;
use serde_json::json;

use rollcall::attendance::live::{run_session, LiveStats, SessionInfo, SessionObserver, SessionPlan};
use rollcall::attendance::{FrameOutcome, RollEvent, Status};
use rollcall::enrolment::enrol_photos;
use rollcall::report;
use rollcall::roster::read_roster;
use rollcall::storage::Store;
use rollcall::vision::FaceAnalyzer;

pub fn open_store(db: Option<&Path>) -> anyhow::Result<Store> {
    let path = db.map(Path::to_path_buf).unwrap_or_else(Store::default_path);
    Ok(Store::open(&path)?)
}

fn print(json_out: bool, value: serde_json::Value, text: impl FnOnce()) -> anyhow::Result<()> {
    if json_out {
        println!("{}", serde_json::to_string(&value)?);
    } else {
        text();
    }
    Ok(())
}

pub fn roster_import(store: &mut Store, file: &Path, dry_run: bool, json_out: bool) -> anyhow::Result<bool> {
    let plan = read_roster(file)?;
    let ok = plan.problems.is_empty();
    let changes = if ok && !dry_run { Some(store.apply_roster(&plan.entries)?) } else { None };
    print(json_out, json!({"file": file, "dry_run": dry_run, "students": plan.entries.len(), "problems": plan.problems, "applied": changes}), || {
        let classes: std::collections::BTreeSet<&str> = plan.entries.iter().map(|e| e.class.as_str()).collect();
        println!("{}: {} student(s) in {} class(es)", file.display(), plan.entries.len(), classes.len());
        for p in &plan.problems {
            println!("  row {}: {}", p.row, p.problem);
        }
        match (&changes, ok, dry_run) {
            (Some(c), _, _) => println!("imported: {} class(es) created, {} student(s) added, {} updated", c.classes_created, c.students_added, c.students_updated),
            (None, true, true) => println!("dry run: nothing changed; run without --dry-run to import"),
            _ => println!("nothing imported: fix the rows above and run again"),
        }
    })?;
    Ok(ok)
}

pub fn enroll(store: &mut Store, analyzer: &mut FaceAnalyzer, student: Option<&str>, photos: &[PathBuf], dir: Option<&Path>, json_out: bool) -> anyhow::Result<bool> {
    // (student id, photo) pairs: explicit, or one folder per student id.
    let mut work: Vec<(String, PathBuf)> = Vec::new();
    if let Some(dir) = dir {
        let mut entries: Vec<_> = std::fs::read_dir(dir).with_context(|| format!("cannot read folder {}", dir.display()))?.flatten().collect();
        entries.sort_by_key(|e| e.path());
        for e in entries.into_iter().filter(|e| e.path().is_dir()) {
            let id = e.file_name().to_string_lossy().to_string();
            let mut files: Vec<PathBuf> = std::fs::read_dir(e.path())?.flatten().map(|f| f.path()).filter(|p| p.is_file()).collect();
            files.sort();
            work.extend(files.into_iter().map(|f| (id.clone(), f)));
        }
    } else if let Some(id) = student {
        work.extend(photos.iter().map(|p| (id.to_string(), p.clone())));
    }
    anyhow::ensure!(!work.is_empty(), "no photos to enrol: give STUDENT_ID PHOTO... or --dir DIR (one folder per student id)");
    let bar = rollcall::eval::progress(work.len(), "enrolling");
    let verdicts = enrol_photos(store, analyzer, &work, |v| {
        bar.inc(1);
        if let Some(reason) = &v.reason {
            bar.suspend(|| eprintln!("rejected {}: {reason}", v.photo.display()));
        }
    })?;
    bar.finish_and_clear();
    let mut accepted: std::collections::BTreeMap<&str, usize> = Default::default();
    for v in verdicts.iter().filter(|v| v.accepted) {
        *accepted.entry(v.student_id.as_str()).or_default() += 1;
    }
    let results = serde_json::to_value(&verdicts)?;
    let results = results.as_array().cloned().unwrap_or_default();
    let rejected = results.iter().filter(|r| r["accepted"] == false).count();
    print(json_out, json!({"photos": results.len(), "accepted": results.len() - rejected, "rejected": rejected, "results": results}), || {
        for (id, n) in &accepted {
            println!("{id}: {n} photo(s) enrolled");
        }
        if rejected > 0 {
            println!("{rejected} photo(s) rejected (reasons above)");
        }
    })?;
    Ok(rejected == 0)
}

pub fn students(store: &mut Store, class: Option<&str>, json_out: bool) -> anyhow::Result<()> {
    if let Some(c) = class {
        store.class(c)?;
    }
    let rows = store.students(class)?;
    let list: Vec<_> = rows
        .iter()
        .map(|(s, c, n)| json!({"student_id": s.student_id, "first_name": s.first_name, "last_name": s.last_name, "class": c, "enrolled_photos": n}))
        .collect();
    print(json_out, json!({"students": list}), || {
        if rows.is_empty() {
            println!("no students yet: import a roster with `rollcall roster import FILE`");
        }
        for (s, c, n) in &rows {
            println!("{:<12} {:<28} {:<8} {} photo(s){}", s.student_id, s.name(), c, n, if *n == 0 { "  (not enrolled)" } else { "" });
        }
    })
}

/// Prints marks as they happen and a progress line (a status line on a terminal, a log line otherwise).
struct TerminalObserver {
    tty: bool,
    last_progress: Instant,
}

impl SessionObserver for TerminalObserver {
    fn started(&mut self, info: &SessionInfo) {
        eprintln!(
            "session {} for class {} (starts {}, late after {} min); {} enrolled student(s), unknown threshold {:.3} ({})",
            info.date, info.class, info.starts_at.format("%H:%M"), info.late_after_minutes, info.enrolled, info.unknown_threshold, info.threshold_method
        );
        if info.enrolled == 0 {
            eprintln!("warning: nobody in class {} is enrolled yet; every face will be unknown (`rollcall enroll`)", info.class);
        }
    }

    fn frame(&mut self, _frame: &Mat, outcome: &FrameOutcome, stats: &LiveStats) {
        for e in &outcome.events {
            if let RollEvent::Marked { name, status, at, late_minutes, .. } = e {
                let late = if *status == Status::Late { format!(" ({late_minutes} min late)") } else { String::new() };
                eprintln!("{}  {name}: {status}{late}", at.format("%H:%M:%S"));
            }
        }
        if self.last_progress.elapsed() >= Duration::from_secs(1) {
            self.last_progress = Instant::now();
            if self.tty {
                eprint!("\r{:5.1} fps  {:2} face(s)  {} marked   ", stats.fps, outcome.faces.len(), stats.marked);
            } else {
                tracing::info!(fps = stats.fps, faces = outcome.faces.len(), marked = stats.marked, "progress");
            }
        }
    }

    fn source_lost(&mut self, attempt: u32, wait: Duration) {
        if attempt == 1 || attempt % 10 == 0 {
            eprintln!("source lost: reconnecting (attempt {attempt}, next in {:.1} s); marks so far are saved", wait.as_secs_f32());
        }
    }
}

pub fn run(store: &mut Store, analyzer: &mut FaceAnalyzer, plan: &SessionPlan, json_out: bool) -> anyhow::Result<()> {
    let tty = std::io::stderr().is_terminal();
    let mut observer = TerminalObserver { tty, last_progress: Instant::now() };
    let s = run_session(store, analyzer, plan, &mut observer)?;
    if tty {
        eprintln!();
    }
    print(json_out, serde_json::to_value(&s)?, || {
        println!(
            "{} frame(s) in {:.1} s ({:.1} fps): {} new mark(s), {} stranger track(s), {} marked in this session",
            s.frames, s.seconds, s.fps, s.new_marks.len(), s.strangers, s.marked_total
        );
    })
}

pub fn report_day(store: &mut Store, class: &str, date: NaiveDate, json_out: bool) -> anyhow::Result<()> {
    let r = report::daily(store, class, date)?;
    print(json_out, serde_json::to_value(&r)?, || {
        println!("Class {} — {}{}", r.class, r.date, if r.session_held { "" } else { "  (no session held)" });
        for s in &r.students {
            let seen = s.first_seen.map(|t| t.format("%H:%M:%S").to_string()).unwrap_or_else(|| "—".into());
            let late = if s.status == Status::Late { format!("{} min late", s.late_minutes) } else { String::new() };
            let by = if s.source.as_deref() == Some("manual") { " (set by teacher)" } else { "" };
            println!("  {:<10} {:<26} {:<8} {:>8}  {:<12} {}{}", s.student_id, s.name, s.status.as_str(), seen, late, s.mood.clone().unwrap_or_default(), by);
        }
        println!("  {}", r.counts.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(" · "));
    })
}

pub fn history(store: &mut Store, student: &str, from: NaiveDate, to: NaiveDate, json_out: bool) -> anyhow::Result<()> {
    let h = report::history(store, student, from, to)?;
    print(json_out, serde_json::to_value(&h)?, || {
        println!("{} ({}), class {}: {} to {}", h.name, h.student_id, h.class, h.from, h.to);
        for d in &h.days {
            println!("  {}  {:<8} {}", d.date, d.day.status.as_str(), d.day.mood.clone().unwrap_or_default());
        }
        if let Some(r) = h.attendance_rate {
            println!("  attendance {:.1} %", r * 100.0);
        }
    })
}

pub fn summary(store: &mut Store, class: &str, from: NaiveDate, to: NaiveDate, json_out: bool) -> anyhow::Result<()> {
    let s = report::summary(store, class, from, to)?;
    print(json_out, serde_json::to_value(&s)?, || {
        println!("Class {}: {} session(s) from {} to {}", s.class, s.dates.len(), s.from, s.to);
        for st in &s.students {
            let rate = st.attendance_rate.map(|r| format!("{:.0} %", r * 100.0)).unwrap_or_else(|| "—".into());
            println!("  {:<10} {:<26} {:>6}  {}", st.student_id, st.name, rate, st.counts.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(" · "));
        }
    })
}

pub fn export(store: &mut Store, class: &str, from: NaiveDate, to: NaiveDate, out: Option<&Path>, json_out: bool) -> anyhow::Result<()> {
    let path = out.map(Path::to_path_buf).unwrap_or_else(|| report::xlsx::default_file_name(class, from, to));
    let s = report::xlsx::export(store, class, from, to, &path)?;
    print(json_out, json!({"file": path, "class": s.class, "sessions": s.dates.len(), "students": s.students.len()}), || {
        println!("wrote {} ({} session(s), {} student(s))", path.display(), s.dates.len(), s.students.len());
    })
}

pub fn override_mark(store: &mut Store, class: &str, date: NaiveDate, student: &str, status: Status, reason: &str, actor: &str, json_out: bool) -> anyhow::Result<()> {
    let o = rollcall::attendance::override_mark(store, class, date, student, status, reason, actor)?;
    print(json_out, serde_json::to_value(&o)?, || {
        println!("{} on {}: {} -> {} ({}; by {})", o.name, o.date, o.old, o.new, o.reason, o.by);
    })
}
