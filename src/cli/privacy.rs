//! The data-protection commands of the CLI: the consent register, registering by hand, the
//! retention purge, a student's data export and the school's privacy report. Each opens the
//! store, calls the core once (`rollcall::privacy`, `rollcall::retention`), and prints.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use super::session::{Caller, Need};
use super::{Outcome, Printer};
use rollcall::attendance::RegisterRef;
use rollcall::consent::ConsentRequest;
use rollcall::privacy;
use rollcall::status::Status;

pub fn consent_record(out: &Printer, at: &Caller, student_id: &str, request: ConsentRequest) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("record consent"))?;
    let r = privacy::record_consent(&mut store, student_id, request, &me.name)?;
    out.print(&r, |w| {
        let relation = r.event.relation.as_deref().map(|x| format!(" ({x})")).unwrap_or_default();
        writeln!(
            w,
            "{} {}: consent {} by {}{relation} on {}; now {}",
            r.student_id,
            r.name,
            r.event.kind.as_str(),
            r.event.by,
            r.event.date,
            r.change.after.as_str()
        )?;
        if r.change.templates_deleted > 0 {
            writeln!(w, "{} face template(s) deleted; {} is registered by hand from now on", r.change.templates_deleted, r.name)?;
        } else if !r.change.after.usable() {
            writeln!(w, "{} is registered by hand (`rollcall mark`)", r.name)?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn consent_history(out: &Printer, at: &Caller, student_id: &str) -> anyhow::Result<Outcome> {
    let c = privacy::consent_of(&mut at.store(Need::Office("see consent records"))?, student_id)?;
    out.print(&c, |w| {
        writeln!(w, "{} {}: {}", c.student_id, c.name, c.state.as_str())?;
        if c.history.is_empty() {
            writeln!(w, "  no consent event on record")?;
        }
        for e in &c.history {
            let relation = e.relation.as_deref().map(|x| format!(" ({x})")).unwrap_or_default();
            let how = e.how.as_deref().map(|x| format!(", {x}")).unwrap_or_default();
            let note = e.note.as_deref().map(|x| format!(" — {x}")).unwrap_or_default();
            writeln!(
                w,
                "  {}  {:<9} by {}{relation}{how}{note}  (recorded {} by {})",
                e.date,
                e.kind.as_str(),
                e.by,
                e.recorded_at.format("%Y-%m-%d %H:%M"),
                e.recorded_by
            )?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn consent_list(out: &Printer, at: &Caller, class: Option<&str>) -> anyhow::Result<Outcome> {
    let mut store = at.store(Need::Office("see consent records"))?;
    if let Some(c) = class {
        store.class(c)?;
    }
    let list = privacy::consent_list(&mut store, class)?;
    out.print(&json!({"class": class, "students": list}), |w| {
        for s in &list {
            let last = s
                .history
                .iter()
                .max_by_key(|e| (e.date, e.recorded_at))
                .map(|e| format!("  ({} by {} on {})", e.kind.as_str(), e.by, e.date))
                .unwrap_or_default();
            writeln!(w, "{:<12} {:<28} {:<8} {:<10}{last}", s.student_id, s.name, s.class.as_deref().unwrap_or("(left)"), s.state.as_str())?;
        }
        let usable = list.iter().filter(|s| s.state.usable()).count();
        writeln!(w, "{usable} of {} student(s) with consent; the others are registered by hand", list.len())
    })?;
    Ok(Outcome::Done)
}

pub fn mark(out: &Printer, at: &Caller, register: &RegisterRef, student: &str, status: Status) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Class(register.class))?;
    let o = rollcall::attendance::mark_by_hand(&mut store, register, student, status, &me.name)?;
    out.print(&o, |w| writeln!(w, "{} on {} ({}): {} (by hand, by {})", o.name, o.date, super::attendance::lesson_name(&o.lesson), o.new, o.by))?;
    Ok(Outcome::Done)
}

pub fn leave(out: &Printer, at: &Caller, student_id: &str) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("record that a student left"))?;
    let l = privacy::leave_school(&mut store, student_id, &me.name)?;
    out.print(&l, |w| {
        writeln!(w, "{} {} left {} (their register is kept)", l.student_id, l.name, l.classes_left.join(", "))?;
        if l.templates_deleted > 0 {
            writeln!(w, "{} face template(s) deleted", l.templates_deleted)?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn purge(out: &Printer, at: &Caller, dry_run: bool) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("purge data"))?;
    let r = rollcall::retention::purge(&mut store, dry_run, &me.name)?;
    out.print(&r, |w| {
        for s in r.policy.sentences() {
            writeln!(w, "policy: {s}")?;
        }
        let verb = if dry_run { "would delete" } else { "deleted" };
        let c = &r.counts;
        writeln!(
            w,
            "{verb}: {} face template(s) of students who left, {} face template(s) not recognised for {} days, {} mood summaries, {} register(s) with {} mark(s)",
            c.templates_of_students_who_left, c.templates_unrecognised, r.policy.template_days_unrecognised, c.mood_summaries, c.sessions, c.marks
        )?;
        if dry_run {
            writeln!(w, "dry run: nothing was deleted; run `rollcall purge` to apply")?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn export_student(out: &Printer, at: &Caller, student_id: &str, file: &Path, force: bool) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("export a student's data"))?;
    let e = privacy::write_student_export(&mut store, student_id, file, force, &me.name)?;
    out.print(&json!({"file": file, "student_id": e.student.student_id, "marks": e.marks.len(), "consent_events": e.consent.len(), "templates": e.face_templates.count}), |w| {
        writeln!(
            w,
            "wrote {} ({} mark(s), {} consent event(s), {} face template(s) described, not included)",
            file.display(),
            e.marks.len(),
            e.consent.len(),
            e.face_templates.count
        )
    })?;
    Ok(Outcome::Done)
}

pub fn privacy_report(out: &Printer, at: &Caller, file: Option<&Path>, force: bool) -> anyhow::Result<Outcome> {
    let mut store = at.store(Need::Office("write the privacy report"))?;
    match file {
        Some(file) => {
            privacy::write_report(&mut store, file, force)?;
            out.print(&json!({"file": file}), |w| writeln!(w, "wrote {}", file.display()))?;
        }
        None => {
            let text = privacy::report(&mut store)?;
            out.print(&json!({"report": text}), |w| w.write_str(&text))?;
        }
    }
    Ok(Outcome::Done)
}
