//! `rollcall timetable`: the week's lessons (`timetable [--class C]`), and `timetable import
//! FILE [--dry-run]`, which replaces the week of the classes the file names (`rollcall::timetable`),
//! and `timetable add|remove`, one lesson at a time (as the Timetable page edits it).

use std::fmt::Write as _;
use std::path::Path;

use rollcall::storage::Lesson;
use rollcall::timetable::{self, shown, LessonInput, LessonRef};

use super::session::{Caller, Need};
use super::{Outcome, Printer};

fn line(l: &Lesson) -> String {
    let who = if l.is_entrance() { "entrance" } else { &l.class };
    let mut s = format!("{who:<10} {:<9} {}-{}", format!("{:?}", l.weekday), l.start.format("%H:%M"), l.end.format("%H:%M"));
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
            writeln!(
                s,
                "no lessons in the timetable yet (rollcall timetable import FILE.csv: class, weekday, start, end, room, camera; class * is the entrance)"
            )?;
        }
        for l in &lessons {
            writeln!(s, "{}", line(l))?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn import(out: &Printer, at: &Caller, file: &Path, dry_run: bool) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("import the timetable"))?;
    let r = timetable::import_file(&mut store, file, dry_run, &me.name)?;
    let ok = r.problems.is_empty();
    out.print(&r, |s| {
        writeln!(s, "{}: {} lesson(s) a week for {} class(es)", file.display(), r.lessons, r.changes.classes.len())?;
        for p in &r.problems {
            writeln!(s, "  row {}: {}", p.row, p.problem)?;
        }
        for l in &r.changes.added {
            writeln!(s, "  add     {}", line(l))?;
        }
        for l in &r.changes.removed {
            writeln!(s, "  remove  {}", line(l))?;
        }
        match (ok, dry_run) {
            (true, false) => {
                writeln!(s, "imported: {} lesson(s) added, {} removed, {} unchanged", r.changes.added.len(), r.changes.removed.len(), r.changes.unchanged)
            }
            (true, true) => writeln!(s, "dry run: nothing changed; run without --dry-run to make the changes above"),
            _ => writeln!(s, "nothing imported: fix the rows above and run again"),
        }
    })?;
    anyhow::ensure!(ok, "the timetable has {} problem(s): nothing was imported", r.problems.len());
    Ok(Outcome::Done)
}

pub fn edit(out: &Printer, at: &Caller, was: Option<LessonRef>, now: Option<LessonInput>) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("change the timetable"))?;
    let stored = timetable::edit_lesson(&mut store, was.as_ref(), now.as_ref(), &me.name)?;
    out.print(&serde_json::json!({ "lesson": stored, "removed": was.is_some() && stored.is_none() }), |s| match &stored {
        Some(l) => writeln!(s, "added   {}", line(l)),
        None => writeln!(s, "removed the lesson"),
    })?;
    Ok(Outcome::Done)
}
