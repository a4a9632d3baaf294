//! Attendance: the rules (present, late, absent, excused), taking the roll from frames, and
//! mood summaries. Storage is reached only through `crate::storage`.

pub mod lessons;
pub mod live;
pub mod mood;
pub mod roll;
pub mod rooms;
pub mod rules;

pub use roll::{FaceView, FrameOutcome, Roll, RollEvent, RollOptions, RunVerdict};
pub use rules::{AttendanceRules, LivenessMode, Status};

use chrono::{Local, NaiveDate, NaiveTime};
use serde::Serialize;

use crate::storage::Store;

/// A manual change as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct OverrideOutcome {
    pub student_id: String,
    pub name: String,
    pub date: NaiveDate,
    /// The lesson ("HH:MM") whose register was changed.
    pub lesson: String,
    /// The status before the change (absent if never marked).
    pub old: Status,
    pub new: Status,
    pub reason: String,
    pub by: String,
}

/// Which register a person's change goes to: a class, a day, and (when the day has several
/// lessons) the lesson's start.
#[derive(Debug, Clone)]
pub struct RegisterRef<'a> {
    pub class: &'a str,
    pub date: NaiveDate,
    pub lesson: Option<NaiveTime>,
}

/// A person changes a student's status in a lesson, with a reason. The automatic record is
/// kept beside the change and the change goes to the audit log. A lesson without a camera
/// session (a trip, a broken camera) gets a closed "manual" session so it can still be marked.
pub fn override_mark(store: &mut Store, at: &RegisterRef, student: &str, status: Status, reason: &str, actor: &str) -> anyhow::Result<OverrideOutcome> {
    anyhow::ensure!(!reason.trim().is_empty(), "a reason is required for a manual change");
    anyhow::ensure!(!actor.trim().is_empty(), "say who makes the change");
    let (s, session) = register_of(store, at, student)?;
    let (old, new) = store.override_status(session.id, &s, status, reason, actor)?;
    Ok(OverrideOutcome {
        student_id: s.student_id.clone(),
        name: s.name(),
        date: at.date,
        lesson: session.lesson_start,
        old: old.unwrap_or(Status::Absent),
        new,
        reason: reason.to_string(),
        by: actor.to_string(),
    })
}

/// A person registers a student by hand: the alternative way for a student whose face may not be
/// processed (no consent, an objection) or who is not enrolled. No reason is needed (this is the
/// register being kept, not a correction); it is audited with who did it.
pub fn mark_by_hand(store: &mut Store, at: &RegisterRef, student: &str, status: Status, actor: &str) -> anyhow::Result<OverrideOutcome> {
    anyhow::ensure!(!actor.trim().is_empty(), "say who marks the register");
    let (s, session) = register_of(store, at, student)?;
    let (old, new) = store.mark_by_hand(session.id, &s, status, actor)?;
    Ok(OverrideOutcome {
        student_id: s.student_id.clone(),
        name: s.name(),
        date: at.date,
        lesson: session.lesson_start,
        old: old.unwrap_or(Status::Absent),
        new,
        reason: "registered by hand".into(),
        by: actor.to_string(),
    })
}

/// The student and the lesson's session (a closed session kept by hand if there is none; see
/// `lessons::for_register`), after checking the student was in the class that day.
fn register_of(store: &mut Store, at: &RegisterRef, student: &str) -> anyhow::Result<(crate::storage::Student, crate::storage::Session)> {
    let (class, date) = (at.class, at.date);
    let c = store.class(class)?;
    let s = store.student(student)?;
    let memberships = store.memberships(s.id)?;
    if !memberships.iter().any(|(mc, m)| mc.id == c.id && m.active_on(date)) {
        let when: Vec<String> = memberships.iter().filter(|(mc, _)| mc.id == c.id).map(|(_, m)| membership_span(m)).collect();
        anyhow::bail!(
            "student {student} was not in class {class} on {date}{}",
            if when.is_empty() { String::new() } else { format!(" (in it {})", when.join(", ")) }
        );
    }
    let session = lessons::for_register(store, &c, date, at.lesson, Local::now().naive_local())?;
    Ok((s, session))
}

/// "from 2026-09-01 until 2026-11-30", as a person reads a membership.
pub fn membership_span(m: &crate::storage::Membership) -> String {
    let from = m.joined_on.map_or("from the start".to_string(), |d| format!("from {d}"));
    let until = m.left_on.map_or(String::new(), |d| format!(" until {}", d.pred_opt().unwrap_or(d)));
    format!("{from}{until}")
}
