//! The attendance commands of the CLI: roster, enrolment, running a session, reports, export,
//! overrides, settings. Each opens the store, calls the core once, and prints.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::NaiveDate;
use opencv::core::Mat;
use serde_json::{json, Value};

use super::engine::analyzer;
use super::session::{Caller, Need};
use super::{EngineArgs, Outcome, Printer, RunArgs};
use rollcall::attendance::live::{run_session, LiveStats, RollOf, SessionInfo, SessionObserver, SessionPlan};
use rollcall::attendance::{FrameOutcome, RegisterRef, RollEvent, Status};
use rollcall::enrolment::{enrol_photos, EnrolOptions};
use rollcall::report;
use rollcall::roster::read_roster;
use rollcall::settings;
use rollcall::source::SourceSpec;
use rollcall::storage::{RosterOptions, Store};

/// `--db PATH` (its folder must exist), else the OS's app-data database.
pub fn open_store(db: Option<&Path>) -> anyhow::Result<Store> {
    let store = match db {
        Some(path) => Store::open(path)?,
        None => Store::open_default()?,
    };
    if store.was_created() {
        eprintln!("note: a new, empty database was created at {}", store.path().display());
    }
    Ok(store)
}

pub fn roster_import(out: &Printer, at: &Caller, file: &Path, dry_run: bool, remove_missing: bool) -> anyhow::Result<Outcome> {
    let mut store = at.store(Need::Office("import rosters"))?;
    let plan = read_roster(file)?;
    let ok = plan.problems.is_empty();
    // A dry run works out the changes even with problems in the file, for the rows that are fine.
    let changes = if ok || dry_run {
        Some(rollcall::roster::apply(&mut store, &plan.entries, RosterOptions { dry_run: dry_run || !ok, remove_missing }, "roster import")?)
    } else {
        None
    };
    #[derive(serde::Serialize)]
    struct Report<'a> {
        file: &'a Path,
        dry_run: bool,
        students: usize,
        encoding: &'a Option<String>,
        problems: &'a [rollcall::spreadsheet::RowProblem],
        changes: &'a Option<rollcall::storage::RosterChanges>,
        applied: bool,
    }
    // A student in several classes has a row per class.
    let students = plan.entries.iter().map(|e| e.student_id.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    let report = Report { file, dry_run, students, encoding: &plan.encoding, problems: &plan.problems, changes: &changes, applied: ok && !dry_run };
    out.print(&report, |s| {
        let classes: std::collections::BTreeSet<&str> = plan.entries.iter().map(|e| e.class.as_str()).collect();
        writeln!(
            s,
            "{}: {} student(s) in {} class(es){}",
            file.display(),
            students,
            classes.len(),
            plan.encoding.as_deref().map(|e| format!(" (read as {e})")).unwrap_or_default()
        )?;
        if plan.encoding.as_deref() == Some("windows-1252") {
            writeln!(s, "  the file is not UTF-8: read as Windows-1252 (Western European). If names look wrong, save it as \"CSV UTF-8\" and import again")?;
        }
        for p in &plan.problems {
            writeln!(s, "  row {}: {}", p.row, p.problem)?;
        }
        if let Some(c) = &changes {
            for name in &c.classes_created {
                writeln!(s, "  new class {name}")?;
            }
            for e in &c.added {
                writeln!(s, "  add {} {} {} to {}", e.student_id, e.first_name, e.last_name, e.class)?;
            }
            for ch in &c.changed {
                if let Some((old, new)) = &ch.name {
                    writeln!(s, "  rename {}: {old} -> {new}", ch.student_id)?;
                }
                if let Some((old, new)) = &ch.class {
                    writeln!(
                        s,
                        "  move {}: {} -> {new} (from today; earlier registers keep them in {0})",
                        ch.student_id,
                        old.as_deref().unwrap_or("no class")
                    )?;
                }
            }
            for (id, consent) in &c.consent {
                writeln!(s, "  consent {id}: {} by {} on {}", consent.kind.as_str(), consent.by, consent.date)?;
            }
            if c.templates_deleted > 0 {
                writeln!(s, "  {} face template(s) deleted: consent withdrawn or refused", c.templates_deleted)?;
            }
            if c.leavers_templates_deleted > 0 {
                writeln!(s, "  {} face template(s) of students who left deleted (retention_left_days)", c.leavers_templates_deleted)?;
            }
            for (id, name, class) in &c.missing {
                let what = if c.missing_leave { "leaves" } else { "is not in the file (kept; --remove-missing would take them off)" };
                writeln!(s, "  {id} {name} {what} {class}")?;
            }
        }
        match (&changes, ok, dry_run) {
            (Some(c), true, false) => writeln!(
                s,
                "imported: {} class(es) created, {} student(s) added, {} changed, {} unchanged{}",
                c.classes_created.len(),
                c.added.len(),
                c.changed.len(),
                c.unchanged,
                if c.missing_leave { format!(", {} left their class", c.missing.len()) } else { String::new() }
            ),
            (_, true, true) => writeln!(s, "dry run: nothing changed; run without --dry-run to make the changes above"),
            _ => writeln!(s, "nothing imported: fix the rows above and run again"),
        }
    })?;
    anyhow::ensure!(ok, "the roster has {} problem(s): nothing was imported", plan.problems.len());
    Ok(Outcome::Done)
}

pub fn settings_show(out: &Printer, at: &Caller) -> anyhow::Result<Outcome> {
    let mut store = at.store(Need::Anyone)?;
    let mut all = serde_json::Map::new();
    for key in settings::KEYS {
        all.insert(key.to_string(), store.setting(key)?.map_or(Value::Null, Value::String));
    }
    out.print(&Value::Object(all.clone()), |s| {
        for (k, v) in &all {
            writeln!(s, "{k:<16} {}", v.as_str().unwrap_or("(not set)"))?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn settings_set(out: &Printer, at: &Caller, key: &str, value: &str, purge: bool) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("change settings"))?;
    anyhow::ensure!(!purge || (key == settings::MOOD && value == "off"), "--purge goes with `settings set mood off` (it deletes the stored mood summaries)");
    settings::set(&mut store, key, value)?;
    let mood_off = key == settings::MOOD && value == "off";
    let purged = if purge { Some(store.purge_moods(&me.name)?) } else { None };
    let kept = if mood_off && !purge { store.mood_count()? } else { 0 };
    out.print(&json!({"key": key, "value": value, "moods_purged": purged, "moods_kept": kept}), |s| {
        writeln!(s, "{key} = {value}")?;
        if let Some(n) = purged {
            writeln!(s, "{n} stored mood summaries deleted")?;
        }
        if kept > 0 {
            writeln!(s, "{kept} mood summaries from earlier sessions are still stored (reports and exports leave them out while mood is off); `rollcall settings set mood off --purge` deletes them")?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn classes(out: &Printer, at: &Caller) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Anyone)?;
    let classes: Vec<_> = store.classes()?.into_iter().filter(|c| me.sees_class(&c.name)).collect();
    out.print(&json!({"classes": classes}), |s| {
        if classes.is_empty() {
            writeln!(s, "no classes yet: import a roster with `rollcall roster import FILE`")?;
        }
        for c in &classes {
            writeln!(s, "{:<10} lesson starts {:<6} late after {} min", c.name, c.session_start.as_deref().unwrap_or("(run)"), c.late_after_minutes)?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn class_rules(out: &Printer, at: &Caller, name: &str, start: Option<&str>, late_after: Option<u16>) -> anyhow::Result<Outcome> {
    let mut store = at.store(Need::Office("change a class's lesson rules"))?;
    let current = store.class(name)?;
    let start = match start {
        None => current.lesson_start(),
        Some("none") => None,
        Some(t) => Some(rollcall::calendar::parse_time(t).map_err(anyhow::Error::msg)?),
    };
    let c = store.set_class_rules(name, start, late_after.map_or(current.late_after_minutes, i32::from))?;
    out.print(&c, |s| writeln!(s, "{}: lesson starts {}, late after {} min", c.name, c.session_start.as_deref().unwrap_or("(run)"), c.late_after_minutes))?;
    Ok(Outcome::Done)
}

pub fn enroll(
    out: &Printer,
    at: &Caller,
    engine: &EngineArgs,
    student: Option<&str>,
    photos: &[PathBuf],
    dir: Option<&Path>,
    allow_lookalike: bool,
) -> anyhow::Result<Outcome> {
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
    let mut store = at.store(Need::Office("enrol students"))?;
    let mut a = analyzer(engine, false)?;
    let bar = rollcall::eval::progress(work.len(), "enrolling");
    let verdicts = enrol_photos(&mut store, &mut a, &work, EnrolOptions { allow_lookalike }, |v| {
        bar.inc(1);
        if let Some(reason) = &v.reason {
            bar.suspend(|| eprintln!("rejected {}: {}", v.photo.display(), rollcall::roster::sanitize(reason)));
        }
    })?;
    bar.finish_and_clear();
    let mut accepted: std::collections::BTreeMap<&str, usize> = Default::default();
    for v in verdicts.iter().filter(|v| v.accepted) {
        *accepted.entry(v.student_id.as_str()).or_default() += 1;
    }
    let rejected = verdicts.iter().filter(|v| !v.accepted).count();
    let mut advice = Vec::new();
    for id in accepted.keys() {
        advice.extend(rollcall::enrolment::advice(&mut store, id, a.embedder.model_id())?);
    }
    out.print(&json!({"photos": verdicts.len(), "accepted": verdicts.len() - rejected, "rejected": rejected, "results": verdicts, "advice": advice}), |s| {
        for (id, n) in &accepted {
            writeln!(s, "{id}: {n} photo(s) enrolled")?;
        }
        for a in &advice {
            writeln!(s, "advice: {a}")?;
        }
        if rejected > 0 {
            writeln!(s, "{rejected} photo(s) rejected (reasons above)")?;
        }
        Ok(())
    })?;
    if accepted.is_empty() {
        anyhow::bail!("no photo was enrolled ({rejected} rejected)");
    }
    Ok(if rejected == 0 { Outcome::Done } else { Outcome::Partial })
}

pub fn check_photos(out: &Printer, at: &Caller, engine: &EngineArgs, class: Option<String>, classes: Vec<String>) -> anyhow::Result<Outcome> {
    let (mut store, _) = at.signed(class.as_deref().map_or(Need::Office("check the entrance's photos"), Need::Class))?;
    let roll_of = class.map_or(RollOf::Entrance(classes), RollOf::Class);
    let check = rollcall::enrolment::check_photos(&mut store, &roll_of, engine.embedder.unwrap_or_default().id())?;
    out.print(&check, |s| {
        writeln!(
            s,
            "{}: {} student(s), {} with photos ({} photos); threshold {:.2} ({})",
            check.classes.join(", "),
            check.students,
            check.with_photos,
            check.photos,
            check.threshold,
            check.method
        )?;
        if check.with_photos == 0 {
            writeln!(s, "nobody here can be recognised yet: enrol photos of the students whose consent is on record")?;
        } else if check.advice.is_empty() {
            writeln!(s, "every student's photos are fine for the roll")?;
        }
        let at_risk = check.advice.iter().filter(|a| a.at_risk).count();
        if at_risk > 0 {
            writeln!(s, "{at_risk} student(s) the camera will often ask to look again: photograph them again first")?;
        }
        for a in &check.advice {
            for line in &a.advice {
                writeln!(s, "{} {line}", if a.at_risk { "!" } else { "-" })?;
            }
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn students(out: &Printer, at: &Caller, class: Option<&str>) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(class.map_or(Need::Anyone, Need::Class))?;
    let rows: Vec<_> = store.students(class)?.into_iter().filter(|s| me.sees_student_in(&s.classes)).collect();
    let list: Vec<_> = rows
        .iter()
        .map(|r| json!({"student_id": r.student.student_id, "first_name": r.student.first_name, "last_name": r.student.last_name, "class": r.class, "classes": r.classes, "enrolled_photos": r.enrolled_photos, "consent": r.consent}))
        .collect();
    out.print(&json!({"students": list}), |s| {
        if rows.is_empty() {
            writeln!(s, "no students yet: import a roster with `rollcall roster import FILE`")?;
        }
        for r in &rows {
            let n = r.enrolled_photos;
            let how = match (r.consent.usable(), n) {
                (false, _) => "  (registered by hand)",
                (true, 0) => "  (not enrolled)",
                _ => "",
            };
            writeln!(
                s,
                "{:<12} {:<28} {:<8} consent {:<9} {} photo(s){how}",
                r.student.student_id,
                r.student.name(),
                if r.classes.is_empty() { "(left)".to_string() } else { r.classes.join(", ") },
                r.consent.as_str(),
                n
            )?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn delete_student(out: &Printer, at: &Caller, student_id: &str) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("delete students"))?;
    store.delete_student(student_id, &me.name)?;
    out.print(&json!({"deleted": student_id}), |s| writeln!(s, "deleted {student_id} and all their data"))?;
    Ok(Outcome::Done)
}

/// Prints marks as they happen and a progress line (a status line on a terminal, a log line otherwise).
struct TerminalObserver {
    tty: bool,
    last_progress: Instant,
    /// Whether the register was last said to be out of reach (said once, and once when it is back).
    register_away: bool,
}

impl SessionObserver for TerminalObserver {
    fn started(&mut self, info: &SessionInfo) {
        let mood = if info.mood { "on" } else { "off" };
        // The recognizer knows the whole school and marks this roll's students only.
        let enrolled = if info.school_enrolled > info.enrolled {
            format!("{} enrolled student(s) (told apart from {} of the school's)", info.enrolled, info.school_enrolled)
        } else {
            format!("{} enrolled student(s)", info.enrolled)
        };
        if info.session_id.is_none() {
            eprintln!(
                "{} on {}: each student recognised is marked in the lesson on for them (or their next that day); {enrolled}, unknown threshold {:.3} ({}); mood {mood}; liveness {}",
                info.class, info.date, info.unknown_threshold, info.threshold_method, info.liveness
            );
        } else {
            eprintln!(
                "session {} lesson {} for class {} (starts {}, late after {} min{}); {enrolled}, unknown threshold {:.3} ({}); mood {mood}; liveness {}",
                info.date,
                info.lesson,
                info.class,
                info.starts_at.format("%H:%M"),
                info.late_after_minutes,
                info.until.map(|u| format!(", until {}", u.format("%H:%M"))).unwrap_or_default(),
                info.unknown_threshold,
                info.threshold_method,
                info.liveness
            );
        }
        if let Some(why) = &info.liveness_unavailable {
            eprintln!("warning: the liveness check is unavailable, so photos or screens held up are not caught: {why}");
        }
        if info.photos_to_retake > 0 {
            let check = if info.session_id.is_none() { "rollcall check-photos".to_string() } else { format!("rollcall check-photos --class {:?}", info.class) };
            eprintln!("note: {} student(s) will often be asked to look at the camera again (their photos disagree with each other): `{check}` names them", info.photos_to_retake);
        }
    }

    fn frame(&mut self, _frame: &Mat, outcome: &FrameOutcome, stats: &LiveStats) {
        for e in &outcome.events {
            match e {
                RollEvent::Marked { name, status, at, late_minutes, .. } => {
                    let late = if *status == Status::Late { format!(" ({late_minutes} min late)") } else { String::new() };
                    eprintln!("{}  {}: {status}{late}", at.format("%H:%M:%S"), rollcall::roster::sanitize(name));
                }
                RollEvent::Spoof { name, marked, .. } => {
                    let what = if *marked { "marked, flagged for review" } else { "not marked" };
                    eprintln!("possible photo or screen held up, looking like {}: {what} (in the audit log)", rollcall::roster::sanitize(name));
                }
                RollEvent::Stranger { .. } | RollEvent::OtherClass { .. } => {}
            }
        }
        if (stats.unsaved > 0) != self.register_away {
            self.register_away = stats.unsaved > 0;
            let what = if stats.register_on_server { "the school's server cannot be reached" } else { "the register is busy (another program is writing to it)" };
            if self.register_away {
                eprintln!("{what}: {} sighting(s) are kept on this PC and written when it is back; the roll goes on", stats.unsaved);
            } else {
                eprintln!("the register has every sighting again");
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

pub fn run(out: &Printer, at: &Caller, engine: &EngineArgs, args: &RunArgs) -> anyhow::Result<Outcome> {
    let mut store = match &args.class {
        Some(class) => at.store(Need::Class(class))?,
        None => at.store(Need::Office("take the entrance's roll"))?,
    };
    let defaults = settings::session_defaults(&mut store)?;
    let mood = !args.no_mood && defaults.mood;
    if let Some(v) = args.min_similarity {
        settings::validate(settings::MIN_SIMILARITY, &v.to_string()).map_err(|e| anyhow::anyhow!("--min-similarity: {e}"))?;
    }
    let school = defaults.apply(match &args.class {
        Some(class) => SessionPlan::new(class, SourceSpec::parse(&args.source)),
        None => SessionPlan::entrance(args.classes.clone(), SourceSpec::parse(&args.source)),
    });
    // What this run's options change of the school's set-up.
    let plan = SessionPlan {
        min_similarity: args.min_similarity.or(school.min_similarity),
        strictness: args.strictness.unwrap_or(school.strictness),
        liveness: args.liveness.unwrap_or(school.liveness),
        until: args.until,
        start: args.start,
        mood,
        max_frames: args.max_frames,
        max_seconds: args.max_seconds,
        min_face: engine.min_face.or(school.min_face),
        ..school
    };
    // Refuse a session that cannot watch before the models are even loaded.
    rollcall::attendance::live::check_plan(&mut store, &plan, engine.embedder.unwrap_or_default().id())?;
    let mut a = analyzer(engine, mood)?;
    let tty = std::io::stderr().is_terminal();
    let mut observer = TerminalObserver { tty, last_progress: Instant::now(), register_away: false };
    let result = run_session(&mut store, &mut a, &plan, &mut observer);
    if tty {
        eprintln!();
    }
    let s = result?;
    out.print(&s, |w| {
        writeln!(
            w,
            "{} frame(s) in {:.1} s ({:.1} fps): {} new mark(s), {} stranger track(s), {} track(s) of other classes' students, {} marked in this session",
            s.frames,
            s.seconds,
            s.fps,
            s.new_marks.len(),
            s.strangers,
            s.other_class,
            s.marked_total
        )
    })?;
    Ok(Outcome::Done)
}

pub fn report_day(out: &Printer, at: &Caller, class: &str, date: NaiveDate) -> anyhow::Result<Outcome> {
    let r = report::daily(&mut at.store(Need::Class(class))?, class, date)?;
    out.print(&r, |w| {
        writeln!(w, "Class {} — {}", r.class, r.date)?;
        for l in &r.lessons {
            let state = match (l.held, l.open) {
                (false, _) => "  (no register taken)",
                (true, true) => "  (session running)",
                (true, false) => "",
            };
            let ends = l.ends.as_deref().map(|e| format!("–{e}")).unwrap_or_default();
            writeln!(w, " {}{ends}{state}", lesson_name(&l.lesson))?;
            for s in &l.students {
                let seen = s.first_seen.map(|t| t.format("%H:%M:%S").to_string()).unwrap_or_else(|| "—".into());
                let late = if s.status == Some(Status::Late) { format!("{} min late", s.late_minutes) } else { String::new() };
                let by = if s.source.as_deref() == Some("manual") { " (set by teacher)" } else { "" };
                let status = s.status.map_or("—", Status::as_str);
                writeln!(w, "  {:<10} {:<26} {:<8} {:>8}  {:<12} {}{}", s.student_id, s.name, status, seen, late, s.mood.clone().unwrap_or_default(), by)?;
                if let Some(why) = &s.review {
                    writeln!(w, "  {:<10} ! {why}", "")?;
                }
            }
            if l.held {
                writeln!(w, "  {}", counts_line(&l.counts))?;
            }
        }
        if r.lessons.iter().filter(|l| l.held).count() > 1 {
            writeln!(w, " the day: {}", counts_line(&r.counts))?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

fn counts_line(counts: &std::collections::BTreeMap<String, usize>) -> String {
    counts.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(" · ")
}

/// "lesson 09:00", or "the day's register" for a class with no lesson times.
pub fn lesson_name(lesson: &str) -> String {
    if lesson.is_empty() {
        "the day's register".to_string()
    } else {
        format!("lesson {lesson}")
    }
}

pub fn history(out: &Printer, at: &Caller, student: &str, (from, to): (NaiveDate, NaiveDate)) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Anyone)?;
    let h = report::history(&mut store, student, from, to)?;
    me.require_student(&h.student_id, std::slice::from_ref(&h.class))?;
    out.print(&h, |w| {
        writeln!(w, "{} ({}), class {}: {} to {}", h.name, h.student_id, if h.class.is_empty() { "(left)" } else { &h.class }, h.from, h.to)?;
        for d in &h.days {
            writeln!(
                w,
                "  {} {}  {:<8} {:<8} {}",
                d.date,
                d.lesson,
                d.class,
                d.day.status.map_or("—", Status::as_str),
                d.day.mood.clone().unwrap_or_default()
            )?;
        }
        if let Some(r) = h.attendance_rate {
            writeln!(w, "  attendance {:.1} %", r * 100.0)?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn summary(out: &Printer, at: &Caller, class: &str, (from, to): (NaiveDate, NaiveDate)) -> anyhow::Result<Outcome> {
    let s = report::summary(&mut at.store(Need::Class(class))?, class, from, to)?;
    out.print(&s, |w| {
        writeln!(w, "Class {}: {} lesson(s) from {} to {}", s.class, s.lessons.len(), s.from, s.to)?;
        for st in &s.students {
            let rate = st.attendance_rate.map(|r| format!("{:.0} %", r * 100.0)).unwrap_or_else(|| "—".into());
            writeln!(
                w,
                "  {:<10} {:<26} {:>6}  {}",
                st.student_id,
                st.name,
                rate,
                st.counts.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(" · ")
            )?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn export(out: &Printer, at: &Caller, class: &str, (from, to): (NaiveDate, NaiveDate), file: Option<&Path>, force: bool) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Class(class))?;
    let path = file.map(Path::to_path_buf).unwrap_or_else(|| report::xlsx::default_file_name(class, from, to));
    let s = report::xlsx::export(&mut store, class, from, to, &path, force, &me.name)?;
    out.print(&json!({"file": path, "class": s.class, "sessions": s.lessons.len(), "students": s.students.len(), "mood": s.mood}), |w| {
        writeln!(w, "wrote {} ({} lesson(s), {} student(s))", path.display(), s.lessons.len(), s.students.len())
    })?;
    Ok(Outcome::Done)
}

pub fn override_mark(out: &Printer, at: &Caller, register: &RegisterRef, student: &str, status: Status, reason: &str) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Class(register.class))?;
    let o = rollcall::attendance::override_mark(&mut store, register, student, status, reason, &me.name)?;
    out.print(&o, |w| writeln!(w, "{} on {} ({}): {} -> {} ({}; by {})", o.name, o.date, lesson_name(&o.lesson), o.old, o.new, o.reason, o.by))?;
    Ok(Outcome::Done)
}

pub fn audit(out: &Printer, at: &Caller) -> anyhow::Result<Outcome> {
    let log = at.store(Need::Office("read the audit log"))?.audit_log()?;
    out.print(&json!({"audit": log}), |w| {
        for e in &log {
            writeln!(
                w,
                "{}  {:<8} {:<16} {:<10} {} -> {}  {}",
                e.at,
                e.actor,
                e.action,
                e.student_ref.as_deref().unwrap_or(""),
                e.old_value.as_deref().unwrap_or(""),
                e.new_value.as_deref().unwrap_or(""),
                e.reason
            )?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}
