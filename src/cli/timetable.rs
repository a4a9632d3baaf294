//! `rollcall timetable`: the week's lessons (`timetable [--class C]`), and `timetable import
//! FILE [--dry-run]`, which replaces the week of the classes the file names (`rollcall::timetable`).

use std::fmt::Write as _;
use std::path::Path;

use rollcall::storage::Lesson;
use rollcall::timetable::{self, TimetableChanges};

use super::session::{Caller, Need};
use super::{Outcome, Printer};

/// A lesson as printed: a stream's password is never shown (`rtsp://user:***@host/…`).
fn shown(mut l: Lesson) -> Lesson {
    l.camera = rollcall::source::redact_password(&l.camera);
    l
}

fn line(l: &Lesson) -> String {
    let mut s = format!("{:<10} {:<9} {}-{}", l.class, format!("{:?}", l.weekday), l.start.format("%H:%M"), l.end.format("%H:%M"));
    if !l.room.is_empty() {
        s += &format!("  room {}", l.room);
    }
    if !l.camera.is_empty() {
        s += &format!("  camera {}", l.camera);
    }
    s
}

pub fn show(out: &Printer, at: &Caller, class: Option<&str>) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Anyone)?;
    let lessons: Vec<Lesson> = store.timetable(class)?.into_iter().filter(|l| me.sees_class(&l.class)).map(shown).collect();
    out.print(&serde_json::json!({ "lessons": lessons }), |s| {
        if lessons.is_empty() {
            writeln!(s, "no lessons in the timetable yet (rollcall timetable import FILE.csv: class, weekday, start, end, room, camera)")?;
        }
        for l in &lessons {
            writeln!(s, "{}", line(l))?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn import(out: &Printer, at: &Caller, file: &Path, dry_run: bool) -> anyhow::Result<Outcome> {
    let mut store = at.store(Need::Office("import the timetable"))?;
    let mut plan = timetable::read_timetable(file)?;
    let mut changes: TimetableChanges = timetable::apply(&mut store, &mut plan, dry_run, "timetable import")?;
    changes.added = changes.added.into_iter().map(shown).collect();
    changes.removed = changes.removed.into_iter().map(shown).collect();
    let ok = plan.problems.is_empty();
    let applied = ok && !dry_run;
    out.print(&serde_json::json!({ "file": file, "dry_run": dry_run, "lessons": plan.lessons.len(), "encoding": plan.encoding, "problems": plan.problems, "changes": changes, "applied": applied }), |s| {
        writeln!(s, "{}: {} lesson(s) a week for {} class(es)", file.display(), plan.lessons.len(), changes.classes.len())?;
        for p in &plan.problems {
            writeln!(s, "  row {}: {}", p.row, p.problem)?;
        }
        for l in &changes.added {
            writeln!(s, "  add     {}", line(l))?;
        }
        for l in &changes.removed {
            writeln!(s, "  remove  {}", line(l))?;
        }
        match (ok, dry_run) {
            (true, false) => writeln!(s, "imported: {} lesson(s) added, {} removed, {} unchanged", changes.added.len(), changes.removed.len(), changes.unchanged),
            (true, true) => writeln!(s, "dry run: nothing changed; run without --dry-run to make the changes above"),
            _ => writeln!(s, "nothing imported: fix the rows above and run again"),
        }
    })?;
    anyhow::ensure!(ok, "the timetable has {} problem(s): nothing was imported", plan.problems.len());
    Ok(Outcome::Done)
}
