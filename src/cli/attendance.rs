//! The attendance commands of the CLI: roster, enrolment, running a session, reports, export,
//! overrides. Each parses nothing and decides nothing: it calls the core and prints.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{Local, NaiveDate, NaiveDateTime, NaiveTime};
use opencv::core::Mat;
use serde_json::json;

use rollcall::attendance::{Roll, RollEvent, RollOptions, Status};
use rollcall::enrolment::check_photo;
use rollcall::report;
use rollcall::roster::read_roster;
use rollcall::source::{FrameSource, Next, SourceSpec};
use rollcall::storage::Store;
use rollcall::vision::embedder::EMBEDDING_MODEL_ID;
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
    let mut results = Vec::new();
    let mut accepted: std::collections::BTreeMap<String, Vec<(Vec<f32>, String, f32)>> = Default::default();
    for (id, photo) in &work {
        bar.inc(1);
        let outcome = match store.student(id) {
            Err(e) => Err(e.to_string()),
            Ok(_) => check_photo(analyzer, photo),
        };
        match outcome {
            Ok(a) => {
                results.push(json!({"student_id": id, "photo": photo, "accepted": true, "face_size": a.face_size}));
                accepted.entry(id.clone()).or_default().push((a.embedding, photo.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default(), a.face_size));
            }
            Err(reason) => {
                bar.suspend(|| eprintln!("rejected {}: {reason}", photo.display()));
                results.push(json!({"student_id": id, "photo": photo, "accepted": false, "reason": reason}));
            }
        }
    }
    bar.finish_and_clear();
    for (id, items) in &accepted {
        let s = store.student(id)?;
        store.add_enrolments(&s, EMBEDDING_MODEL_ID, items)?;
    }
    let rejected = results.iter().filter(|r| r["accepted"] == false).count();
    print(json_out, json!({"photos": results.len(), "accepted": results.len() - rejected, "rejected": rejected, "results": results}), || {
        for (id, items) in &accepted {
            println!("{id}: {} photo(s) enrolled", items.len());
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

pub struct RunArgs<'a> {
    pub class: &'a str,
    pub source: &'a str,
    pub until: Option<NaiveTime>,
    pub start: Option<NaiveTime>,
    pub mood: bool,
    pub max_frames: Option<u64>,
    pub max_seconds: Option<f64>,
}

pub fn run(store: &mut Store, analyzer: &mut FaceAnalyzer, a: RunArgs, json_out: bool) -> anyhow::Result<()> {
    let class = store.class(a.class)?;
    let spec = SourceSpec::parse(a.source);
    let mut source = FrameSource::open(spec.clone())?;
    let run_started = Local::now().naive_local();
    let starts_at = a.start.or_else(|| class.lesson_start()).map(|t| run_started.date().and_time(t)).unwrap_or(run_started);
    let options = RollOptions { mood: a.mood && analyzer.expression.is_some(), ..RollOptions::default() };
    let mut roll = Roll::start(store, &class, starts_at, &spec.describe(), options)?;
    let cal = roll.recognizer().calibration().clone();
    eprintln!(
        "session {} for class {} (starts {}, late after {} min); {} enrolled student(s), unknown threshold {:.3} ({})",
        roll.session().date, class.name, starts_at.format("%H:%M"), roll.session().late_after_minutes, roll.recognizer().len(), cal.threshold, cal.method
    );
    if roll.recognizer().is_empty() {
        eprintln!("warning: nobody in class {} is enrolled yet; every face will be unknown (`rollcall enroll`)", class.name);
    }
    let mut frame = Mat::default();
    let mut events = Vec::new();
    let (mut frames, mut faces_seen, mut window_frames, mut outages) = (0u64, 0usize, 0u32, 0u32);
    let mut window = Instant::now();
    let started = Instant::now();
    let live = spec.is_live();
    let tty = std::io::stderr().is_terminal();
    loop {
        if let Some(until) = a.until {
            if Local::now().naive_local().time() >= until && live {
                break;
            }
        }
        if a.max_frames.is_some_and(|m| frames >= m) || a.max_seconds.is_some_and(|m| started.elapsed().as_secs_f64() >= m) {
            break;
        }
        let at: NaiveDateTime = match source.next(&mut frame)? {
            Next::End => break,
            Next::Reconnecting { attempt, wait } => {
                if attempt == 1 {
                    outages += 1;
                }
                if attempt == 1 || attempt % 10 == 0 {
                    eprintln!("source lost: reconnecting (attempt {attempt}, next in {:.1} s); marks so far are saved", wait.as_secs_f32());
                }
                continue;
            }
            // A file's frames are stamped on the video's own timeline from the run's start.
            Next::Frame { position: Some(p) } => run_started + chrono::Duration::from_std(p).unwrap_or_default(),
            Next::Frame { position: None } => Local::now().naive_local(),
        };
        let outcome = roll.process(store, analyzer, &frame, at)?;
        frames += 1;
        window_frames += 1;
        faces_seen += outcome.faces.len();
        for e in outcome.events {
            if let RollEvent::Marked { name, status, at, late_minutes, .. } = &e {
                let late = if *status == Status::Late { format!(" ({late_minutes} min late)") } else { String::new() };
                eprintln!("{}  {name}: {status}{late}", at.format("%H:%M:%S"));
            }
            events.push(e);
        }
        if window.elapsed() >= Duration::from_secs(1) {
            let fps = window_frames as f64 / window.elapsed().as_secs_f64();
            if tty {
                eprint!("\r{fps:5.1} fps  {:2} face(s)  {} marked   ", outcome.faces.len(), roll.marked());
            } else {
                tracing::info!(fps, faces = outcome.faces.len(), marked = roll.marked(), "progress");
            }
            window = Instant::now();
            window_frames = 0;
        }
    }
    let ended = if live { Local::now().naive_local() } else { run_started + chrono::Duration::from_std(started.elapsed()).unwrap_or_default().max(chrono::Duration::zero()) };
    roll.finish(store, ended.max(run_started))?;
    if tty {
        eprintln!();
    }
    let secs = started.elapsed().as_secs_f64();
    let marked: Vec<_> = events.iter().filter(|e| matches!(e, RollEvent::Marked { .. })).collect();
    let strangers = events.len() - marked.len();
    print(json_out, json!({"class": class.name, "date": roll.session().date, "frames": frames, "seconds": secs, "fps": frames as f64 / secs.max(1e-9), "faces": faces_seen, "new_marks": marked, "strangers": strangers, "marked_total": roll.marked(), "source_outages": outages}), || {
        println!("{frames} frame(s) in {secs:.1} s ({:.1} fps): {} new mark(s), {} stranger track(s), {} marked in this session", frames as f64 / secs.max(1e-9), marked.len(), strangers, roll.marked());
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
    anyhow::ensure!(!reason.trim().is_empty(), "a reason is required for a manual change");
    let c = store.class(class)?;
    let s = store.student(student)?;
    anyhow::ensure!(s.class_id == c.id, "student {student} is not in class {class}");
    let session = match store.session(&c, date)? {
        Some(s) => s,
        // A day without a camera session (e.g. a trip) can still get manual marks.
        None => {
            let starts = date.and_time(c.lesson_start().unwrap_or(NaiveTime::MIN));
            let sess = store.open_session(&c, date, starts, "manual")?;
            store.close_session(sess.id, starts)?;
            sess
        }
    };
    let (old, new) = store.override_status(session.id, s.id, status, reason, actor)?;
    print(json_out, json!({"student_id": student, "date": date, "old": old.map(Status::as_str).unwrap_or("absent"), "new": new, "reason": reason, "by": actor}), || {
        println!("{} on {}: {} -> {} ({reason}; by {actor})", s.name(), date, old.map(Status::as_str).unwrap_or("absent"), new);
    })
}
