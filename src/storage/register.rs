//! The register itself: sessions, marks, mood summaries and the audit log.
//!
//! A session is "held" (its unmarked students count as absent) once it is closed after a run
//! that watched: the live loop abandons a run that saw no frame or no face, and a session left
//! open by a killed process is closed (or, if it watched nothing, removed) the next time the
//! database is opened.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use super::db::Db;
use serde::Serialize;

use super::schema::*;
use super::{now, owner_alive, process_owner, Audit, AuditEntry, Class, Mark, MoodRow, Result, Session, Store};
use crate::status::Status;

/// What a sighting did to the session's record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum MarkOutcome {
    /// The first sighting in this session: a new mark.
    Marked { status: Status, late_minutes: i64 },
    /// Already marked: only `last_seen` moved.
    Seen,
}

/// What the camera saw of a student in a session: a new mark, or a later sighting of one.
#[derive(Debug, Clone, Copy)]
pub struct Sighting {
    pub first_seen: NaiveDateTime,
    pub last_seen: NaiveDateTime,
    pub status: Status,
    pub late_minutes: i64,
    /// The recognizer's similarity (0: a later sighting of a face already decided).
    pub confidence: f32,
    /// Why a person should check the mark (kept on the mark once set, until a person changes it).
    pub review: Option<&'static str>,
}

impl Sighting {
    /// A decided face seen again: keeps `last_seen` fresh, never changes the mark's status.
    pub fn again(at: NaiveDateTime) -> Sighting {
        Sighting { first_seen: at, last_seen: at, status: Status::Present, late_minutes: 0, confidence: 0.0, review: None }
    }
}

/// How a run found its session, so that a run which watched nothing can put it back as it was.
#[derive(Debug, Clone, Copy)]
pub struct SessionOpening {
    pub created: bool,
    pub previous_closed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct StaleSessions {
    /// Closed at their last sign of life (they had watched).
    pub closed: usize,
    /// Removed: they never watched anything and have no marks (no absence is recorded).
    pub removed: usize,
}

/// Which of a class's lessons on a day a session registers: the lesson's scheduled start (its
/// name within the day) and, when a timetable gave one, its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LessonSlot {
    pub start: NaiveTime,
    pub end: Option<NaiveTime>,
}

impl LessonSlot {
    pub fn at(start: NaiveTime) -> LessonSlot {
        LessonSlot { start: start.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(start), end: None }
    }

    /// How the lesson is stored and shown: "HH:MM".
    pub fn key(&self) -> String {
        self.start.format("%H:%M").to_string()
    }
}

impl Session {
    /// The lesson this session registers.
    pub fn lesson(&self) -> LessonSlot {
        let start = NaiveTime::parse_from_str(&self.lesson_start, "%H:%M").unwrap_or_else(|_| self.starts_at.time());
        LessonSlot { start, end: self.ends_at.map(|e| e.time()) }
    }
}

/// An open session whose process cannot be checked (another computer) is taken for dead once
/// its heartbeat is this old. The live loop beats every few seconds, also while its camera is
/// away; a stalled network read blocks for at most its timeout (10 s).
const STALE_AFTER: Duration = Duration::seconds(120);

/// Sessions per `IN (…)` list: well under SQLite's bound on a statement's parameters.
const SESSIONS_PER_READ: usize = 5000;

impl Store {
    /// The class's session for `lesson` on `date`, created if it does not exist yet (running
    /// again in the same lesson continues the same session; another lesson that day is another
    /// session). The session is marked as run by this process.
    pub fn open_session(
        &mut self,
        class: &Class,
        date: NaiveDate,
        lesson: LessonSlot,
        starts_at: NaiveDateTime,
        source: &str,
    ) -> Result<(Session, SessionOpening)> {
        let owner = process_owner();
        let key = lesson.key();
        self.conn
            .immediate_transaction(|conn| -> std::result::Result<(Session, SessionOpening), DieselError> {
                let t = now();
                if let Some(s) = sessions::table
                    .filter(sessions::class_id.eq(class.id))
                    .filter(sessions::date.eq(date))
                    .filter(sessions::lesson_start.eq(&key))
                    .select(Session::as_select())
                    .first(conn)
                    .optional()?
                {
                    // Returning a whole row: each backend's own dialect.
                    let session = super::db::on_backend!(conn, |c| diesel::update(sessions::table.find(s.id))
                        .set((sessions::closed_at.eq(None::<NaiveDateTime>), sessions::heartbeat_at.eq(Some(t)), sessions::owner.eq(Some(&owner))))
                        .returning(Session::as_returning())
                        .get_result(c))?;
                    return Ok((session, SessionOpening { created: false, previous_closed_at: s.closed_at }));
                }
                let session = super::db::on_backend!(conn, |c| diesel::insert_into(sessions::table)
                    .values((
                        sessions::class_id.eq(class.id),
                        sessions::date.eq(date),
                        sessions::lesson_start.eq(&key),
                        sessions::ends_at.eq(lesson.end.map(|e| date.and_time(e))),
                        sessions::starts_at.eq(starts_at),
                        sessions::late_after_minutes.eq(class.late_after_minutes),
                        sessions::source.eq(source),
                        sessions::opened_at.eq(t),
                        sessions::heartbeat_at.eq(Some(t)),
                        sessions::owner.eq(Some(&owner)),
                    ))
                    .returning(Session::as_returning())
                    .get_result(c))?;
                Ok((session, SessionOpening { created: true, previous_closed_at: None }))
            })
            .map_err(Into::into)
    }

    /// A person keeps a lesson's register by hand (no camera session yet): a closed session.
    pub fn manual_session(&mut self, class: &Class, date: NaiveDate, lesson: LessonSlot) -> Result<Session> {
        let starts_at = date.and_time(lesson.start);
        let (session, _) = self.open_session(class, date, lesson, starts_at, "manual")?;
        self.close_session(session.id, starts_at, 0, 0)?;
        Ok(session)
    }

    /// A register kept by hand until now becomes the camera run's lesson: its lesson and the
    /// start its lateness is judged against change, audited. Only for a register no camera has
    /// judged a mark against yet (the caller checks).
    pub fn set_session_start(&mut self, session_id: i32, lesson: LessonSlot, starts_at: NaiveDateTime, actor: &str) -> Result<()> {
        self.conn
            .immediate_transaction(|conn| {
                let (old, date): (NaiveDateTime, NaiveDate) = sessions::table.find(session_id).select((sessions::starts_at, sessions::date)).first(conn)?;
                diesel::update(sessions::table.find(session_id))
                    .set((
                        sessions::starts_at.eq(starts_at),
                        sessions::lesson_start.eq(lesson.key()),
                        sessions::ends_at.eq(lesson.end.map(|e| date.and_time(e))),
                    ))
                    .execute(conn)?;
                Audit {
                    actor,
                    action: "session_start",
                    session_id: Some(session_id),
                    student: None,
                    old_value: Some(old.format("%H:%M").to_string()),
                    new_value: Some(starts_at.format("%H:%M").to_string()),
                    reason: "the first camera run of a register kept by hand until then".into(),
                }
                .write(conn)?;
                Ok::<_, DieselError>(())
            })
            .map_err(Into::into)
    }

    /// A running session's sign of life, with what it has watched so far (totals over its runs).
    /// Also re-opens it if another process took it for dead meanwhile.
    pub fn session_heartbeat(&mut self, session_id: i32, frames: i64, faces: i64) -> Result<()> {
        diesel::update(sessions::table.find(session_id))
            .set((
                sessions::heartbeat_at.eq(Some(now())),
                sessions::frames.eq(frames),
                sessions::faces.eq(faces),
                sessions::closed_at.eq(None::<NaiveDateTime>),
            ))
            .execute(&mut self.conn)?;
        Ok(())
    }

    /// Close a session that watched: from now on its unmarked students count as absent.
    pub fn close_session(&mut self, session_id: i32, at: NaiveDateTime, frames: i64, faces: i64) -> Result<()> {
        diesel::update(sessions::table.find(session_id))
            .set((sessions::closed_at.eq(Some(at)), sessions::frames.eq(frames), sessions::faces.eq(faces), sessions::owner.eq(None::<String>)))
            .execute(&mut self.conn)?;
        Ok(())
    }

    /// A run that watched nothing puts its session back as it found it: a session it created
    /// (and nobody marked) is removed, so no absence is recorded; an earlier one is closed again
    /// as it was.
    pub fn abandon_session(&mut self, session_id: i32, opening: SessionOpening) -> Result<()> {
        self.conn
            .immediate_transaction(|conn| {
                let marks: i64 = marks::table.filter(marks::session_id.eq(session_id)).count().get_result(conn)?;
                if opening.created && marks == 0 {
                    diesel::delete(sessions::table.find(session_id)).execute(conn)?;
                } else {
                    let closed = opening.previous_closed_at.unwrap_or_else(now);
                    diesel::update(sessions::table.find(session_id))
                        .set((sessions::closed_at.eq(Some(closed)), sessions::owner.eq(None::<String>)))
                        .execute(conn)?;
                }
                Ok::<_, DieselError>(())
            })
            .map_err(Into::into)
    }

    /// Close the sessions of runs that were killed (their process is gone, or their heartbeat
    /// stopped): one that watched is closed at its last sign of life; one that never watched
    /// and has no marks is removed, so it records no absence.
    pub fn close_stale_sessions(&mut self) -> Result<StaleSessions> {
        let open: Vec<Session> = sessions::table.filter(sessions::closed_at.is_null()).select(Session::as_select()).load(&mut self.conn)?;
        let t = now();
        let mut out = StaleSessions::default();
        for s in open {
            let last_sign = s.heartbeat_at.unwrap_or(s.opened_at);
            let dead = match s.owner.as_deref().and_then(owner_alive) {
                Some(alive) => !alive,
                None => t - last_sign > STALE_AFTER,
            };
            if !dead {
                continue;
            }
            let removed = self.conn.immediate_transaction(|conn| {
                let marks: i64 = marks::table.filter(marks::session_id.eq(s.id)).count().get_result(conn)?;
                if (s.frames == 0 || s.faces == 0) && marks == 0 {
                    diesel::delete(sessions::table.find(s.id)).execute(conn)?;
                    return Ok::<_, DieselError>(true);
                }
                let last_mark: Option<NaiveDateTime> =
                    marks::table.filter(marks::session_id.eq(s.id)).select(diesel::dsl::max(marks::last_seen)).first(conn)?;
                let closed = last_mark.map_or(last_sign, |m| m.max(last_sign));
                diesel::update(sessions::table.find(s.id)).set((sessions::closed_at.eq(Some(closed)), sessions::owner.eq(None::<String>))).execute(conn)?;
                Ok(false)
            })?;
            if removed {
                out.removed += 1;
            } else {
                out.closed += 1;
            }
        }
        Ok(out)
    }

    /// The class's sessions on `date`, one per lesson, in the order of the day.
    pub fn sessions_on(&mut self, class: &Class, date: NaiveDate) -> Result<Vec<Session>> {
        Ok(sessions::table
            .filter(sessions::class_id.eq(class.id))
            .filter(sessions::date.eq(date))
            .order(sessions::lesson_start)
            .select(Session::as_select())
            .load(&mut self.conn)?)
    }

    /// The class's session for the lesson starting at `lesson_start` on `date`, if it was held.
    pub fn session_at(&mut self, class: &Class, date: NaiveDate, lesson_start: NaiveTime) -> Result<Option<Session>> {
        Ok(sessions::table
            .filter(sessions::class_id.eq(class.id))
            .filter(sessions::date.eq(date))
            .filter(sessions::lesson_start.eq(LessonSlot::at(lesson_start).key()))
            .select(Session::as_select())
            .first(&mut self.conn)
            .optional()?)
    }

    pub fn session_by_id(&mut self, id: i32) -> Result<Session> {
        Ok(sessions::table.find(id).select(Session::as_select()).first(&mut self.conn)?)
    }

    pub fn sessions_between(&mut self, class: &Class, from: NaiveDate, to: NaiveDate) -> Result<Vec<Session>> {
        Ok(sessions::table
            .filter(sessions::class_id.eq(class.id))
            .filter(sessions::date.between(from, to))
            .order((sessions::date, sessions::lesson_start))
            .select(Session::as_select())
            .load(&mut self.conn)?)
    }

    /// Record that a student was seen. The first sighting creates the mark with the status the
    /// rules gave; later ones only move `first_seen`/`last_seen` (and never touch a person's
    /// override). One transaction: committed when this returns.
    pub fn record_sighting(&mut self, session_id: i32, student_row: i32, s: &Sighting) -> Result<MarkOutcome> {
        let Sighting { first_seen, last_seen, status, late_minutes, confidence, review } = *s;
        self.conn
            .immediate_transaction(|conn| -> std::result::Result<MarkOutcome, DieselError> {
                let existing: Option<Mark> = marks::table
                    .filter(marks::session_id.eq(session_id))
                    .filter(marks::student_id.eq(student_row))
                    .select(Mark::as_select())
                    .first(conn)
                    .optional()?;
                match existing {
                    Some(m) => {
                        let first = m.first_seen.map_or(first_seen, |f| f.min(first_seen));
                        let last = m.last_seen.map_or(last_seen, |l| l.max(last_seen));
                        diesel::update(marks::table.find(m.id)).set((marks::first_seen.eq(Some(first)), marks::last_seen.eq(Some(last)))).execute(conn)?;
                        if let (Some(why), None) = (review, &m.review) {
                            diesel::update(marks::table.find(m.id)).set(marks::review.eq(Some(why))).execute(conn)?;
                        }
                        Ok(MarkOutcome::Seen)
                    }
                    None => {
                        // Recognised: the template is in use (retention of unused ones counts from here).
                        diesel::update(students::table.find(student_row)).set(students::last_recognised_at.eq(Some(last_seen))).execute(conn)?;
                        diesel::insert_into(marks::table)
                            .values((
                                marks::session_id.eq(session_id),
                                marks::student_id.eq(student_row),
                                marks::status.eq(status.as_str()),
                                marks::auto_status.eq(Some(status.as_str())),
                                marks::first_seen.eq(Some(first_seen)),
                                marks::last_seen.eq(Some(last_seen)),
                                marks::late_minutes.eq(late_minutes as i32),
                                marks::confidence.eq(Some(confidence)),
                                marks::source.eq("auto"),
                                marks::review.eq(review),
                            ))
                            .execute(conn)?;
                        Ok(MarkOutcome::Marked { status, late_minutes })
                    }
                }
            })
            .map_err(Into::into)
    }

    pub fn marks(&mut self, session_id: i32) -> Result<Vec<Mark>> {
        Ok(marks::table.filter(marks::session_id.eq(session_id)).select(Mark::as_select()).load(&mut self.conn)?)
    }

    /// The marks of many sessions in one read: a term's report reads hundreds of lessons, and
    /// one query per lesson costs a round trip each on a server.
    pub fn marks_of_sessions(&mut self, session_ids: &[i32]) -> Result<Vec<Mark>> {
        let mut out = Vec::new();
        for chunk in session_ids.chunks(SESSIONS_PER_READ) {
            out.extend(marks::table.filter(marks::session_id.eq_any(chunk)).select(Mark::as_select()).load(&mut self.conn)?);
        }
        Ok(out)
    }

    /// A student's marks in sessions between two dates (of any class).
    pub fn student_marks(&mut self, student_row: i32, from: NaiveDate, to: NaiveDate) -> Result<Vec<(Session, Mark)>> {
        Ok(marks::table
            .inner_join(sessions::table)
            .filter(marks::student_id.eq(student_row))
            .filter(sessions::date.between(from, to))
            .select((Session::as_select(), Mark::as_select()))
            .load(&mut self.conn)?)
    }

    /// A person changes a student's status for a session, with a reason. The camera's record
    /// (auto_status, first_seen, confidence) stays; the change is written to the audit log in
    /// the same transaction.
    pub fn override_status(
        &mut self,
        session_id: i32,
        student: &super::Student,
        status: Status,
        reason: &str,
        actor: &str,
    ) -> Result<(Option<Status>, Status)> {
        self.set_status(session_id, student, status, reason, actor, "override_status")
    }

    /// A person registers a student the camera does not (no consent, not enrolled): the mark is
    /// "by hand" (no camera record beside it). Audited like a correction.
    pub fn mark_by_hand(&mut self, session_id: i32, student: &super::Student, status: Status, actor: &str) -> Result<(Option<Status>, Status)> {
        self.set_status(session_id, student, status, "registered by hand", actor, "mark_by_hand")
    }

    fn set_status(
        &mut self,
        session_id: i32,
        student: &super::Student,
        status: Status,
        reason: &str,
        actor: &str,
        action: &str,
    ) -> Result<(Option<Status>, Status)> {
        self.conn
            .immediate_transaction(|conn| {
                let existing: Option<Mark> = marks::table
                    .filter(marks::session_id.eq(session_id))
                    .filter(marks::student_id.eq(student.id))
                    .select(Mark::as_select())
                    .first(conn)
                    .optional()?;
                let old = existing.as_ref().and_then(|m| Status::parse(&m.status));
                match existing {
                    Some(m) => {
                        diesel::update(marks::table.find(m.id)).set((marks::status.eq(status.as_str()), marks::source.eq("manual"))).execute(conn)?;
                    }
                    None => {
                        diesel::insert_into(marks::table)
                            .values((
                                marks::session_id.eq(session_id),
                                marks::student_id.eq(student.id),
                                marks::status.eq(status.as_str()),
                                marks::source.eq("manual"),
                            ))
                            .execute(conn)?;
                    }
                }
                Audit {
                    actor,
                    action,
                    session_id: Some(session_id),
                    student: Some((student.id, &student.student_id)),
                    old_value: Some(old.map_or("absent", Status::as_str).to_string()),
                    new_value: Some(status.as_str().to_string()),
                    reason: reason.to_string(),
                }
                .write(conn)?;
                Ok::<_, DieselError>((old, status))
            })
            .map_err(Into::into)
    }

    /// Record a face judged a photo or a screen held up: the student it resembled, what became of
    /// the mark, and the reason (time, camera, score; never a picture).
    pub fn audit_liveness(&mut self, session_id: Option<i32>, student: (i32, &str), outcome: &str, reason: String) -> Result<()> {
        let entry = Audit { actor: "camera", action: "liveness_spoof", session_id, student: Some(student), old_value: None, new_value: Some(outcome.to_string()), reason };
        self.conn.immediate_transaction(|conn| entry.write(conn))?;
        Ok(())
    }

    pub fn audit_log(&mut self) -> Result<Vec<AuditEntry>> {
        Ok(audit_log::table.order(audit_log::id).select(AuditEntry::as_select()).load(&mut self.conn)?)
    }

    // ---- mood --------------------------------------------------------------------------

    pub fn save_mood(&mut self, session_id: i32, student_row: i32, samples: i32, dominant: &str, distribution_json: &str) -> Result<()> {
        super::db::on_backend!(&mut self.conn, |c| diesel::insert_into(mood_summaries::table)
            .values((
                mood_summaries::session_id.eq(session_id),
                mood_summaries::student_id.eq(student_row),
                mood_summaries::samples.eq(samples),
                mood_summaries::dominant.eq(dominant),
                mood_summaries::distribution.eq(distribution_json),
            ))
            .on_conflict((mood_summaries::session_id, mood_summaries::student_id))
            .do_update()
            .set((mood_summaries::samples.eq(samples), mood_summaries::dominant.eq(dominant), mood_summaries::distribution.eq(distribution_json)))
            .execute(c))?;
        Ok(())
    }

    pub fn moods(&mut self, session_id: i32) -> Result<Vec<MoodRow>> {
        Ok(mood_summaries::table.filter(mood_summaries::session_id.eq(session_id)).select(MoodRow::as_select()).load(&mut self.conn)?)
    }

    /// The mood summaries of many sessions in one read (see `marks_of_sessions`).
    pub fn moods_of_sessions(&mut self, session_ids: &[i32]) -> Result<Vec<MoodRow>> {
        let mut out = Vec::new();
        for chunk in session_ids.chunks(SESSIONS_PER_READ) {
            out.extend(mood_summaries::table.filter(mood_summaries::session_id.eq_any(chunk)).select(MoodRow::as_select()).load(&mut self.conn)?);
        }
        Ok(out)
    }

    /// A student's mood summaries, with their sessions.
    pub fn student_moods(&mut self, student_row: i32) -> Result<Vec<(Session, MoodRow)>> {
        Ok(mood_summaries::table
            .inner_join(sessions::table)
            .filter(mood_summaries::student_id.eq(student_row))
            .order(sessions::date)
            .select((Session::as_select(), MoodRow::as_select()))
            .load(&mut self.conn)?)
    }

    /// Audit entries about a student.
    pub fn audit_of(&mut self, student_row: i32) -> Result<Vec<AuditEntry>> {
        Ok(audit_log::table.filter(audit_log::student_id.eq(student_row)).order(audit_log::id).select(AuditEntry::as_select()).load(&mut self.conn)?)
    }

    /// Sessions and marks in the whole register: how many, and the first and last day.
    pub fn register_totals(&mut self) -> Result<(i64, i64, Option<NaiveDate>, Option<NaiveDate>)> {
        let sessions: i64 = sessions::table.count().get_result(&mut self.conn)?;
        let marks: i64 = marks::table.count().get_result(&mut self.conn)?;
        let (first, last): (Option<NaiveDate>, Option<NaiveDate>) =
            sessions::table.select((diesel::dsl::min(sessions::date), diesel::dsl::max(sessions::date))).first(&mut self.conn)?;
        Ok((sessions, marks, first, last))
    }

    /// How many mood summaries are stored.
    pub fn mood_count(&mut self) -> Result<i64> {
        Ok(mood_summaries::table.count().get_result(&mut self.conn)?)
    }

    /// Delete every stored mood summary (mood recognition switched off), audited, overwritten in
    /// the file. Returns how many were deleted.
    pub fn purge_moods(&mut self, actor: &str) -> Result<usize> {
        let n = self.conn.immediate_transaction(|conn| {
            let n = diesel::delete(mood_summaries::table).execute(conn)?;
            Audit {
                actor,
                action: "purge_moods",
                session_id: None,
                student: None,
                old_value: Some(n.to_string()),
                new_value: Some("0".into()),
                reason: "mood recognition switched off".into(),
            }
            .write(conn)?;
            Ok::<_, DieselError>(n)
        })?;
        self.truncate_wal();
        Ok(n)
    }
}

/// What is due for deletion, as computed from the school's retention policy.
#[derive(Debug, Clone, Copy)]
pub struct PurgeCutoffs {
    /// Templates of students not in any class since before this day.
    pub left_before: NaiveDate,
    /// Templates of students not recognised (nor enrolled) since before this moment.
    pub unrecognised_since: NaiveDateTime,
    /// Mood summaries of sessions before this day.
    pub moods_before: NaiveDate,
    /// Sessions (with their marks) before this day; `None`: kept.
    pub attendance_before: Option<NaiveDate>,
}

/// How many of each kind a purge deleted (or would delete).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PurgeCounts {
    pub templates_of_students_who_left: usize,
    pub templates_unrecognised: usize,
    pub mood_summaries: usize,
    pub sessions: usize,
    pub marks: usize,
}

impl Store {
    /// Delete what is due (or only count it, `dry_run`), in one transaction; audited with the
    /// counts, overwritten in the file.
    /// `action` names the run in the audit log: "purge" (the whole policy; `last_purge` finds it)
    /// or "purge_leavers" (only students who just left).
    pub fn purge(&mut self, cut: &PurgeCutoffs, dry_run: bool, actor: &str, action: &'static str) -> Result<PurgeCounts> {
        let work = |conn: &mut Db| -> std::result::Result<PurgeCounts, DieselError> {
            let mut counts = PurgeCounts::default();
            // Students who left: no current membership, and the last one ended before the cutoff.
            let memberships: Vec<(i32, Option<NaiveDate>)> = memberships::table.select((memberships::student_id, memberships::left_on)).load(conn)?;
            let mut last_left: std::collections::HashMap<i32, Option<NaiveDate>> = std::collections::HashMap::new();
            for (s, left) in memberships {
                let e = last_left.entry(s).or_insert(left);
                *e = match (*e, left) {
                    (None, _) | (_, None) => None,
                    (Some(a), Some(b)) => Some(a.max(b)),
                };
            }
            let left: Vec<i32> = last_left.iter().filter(|(_, l)| l.is_some_and(|d| d <= cut.left_before)).map(|(s, _)| *s).collect();
            // Templates nobody has been recognised with since the cutoff (enrolled before it).
            let templated: Vec<(i32, Option<NaiveDateTime>, Option<NaiveDateTime>)> = students::table
                .inner_join(enrolments::table)
                .group_by((students::id, students::last_recognised_at))
                .select((students::id, students::last_recognised_at, diesel::dsl::max(enrolments::created_at)))
                .load(conn)?;
            let stale: Vec<i32> = templated
                .iter()
                .filter(|(s, seen, enrolled)| !left.contains(s) && seen.or(*enrolled).is_some_and(|t| t < cut.unrecognised_since))
                .map(|(s, _, _)| *s)
                .collect();
            let left_templates = enrolments::table.filter(enrolments::student_id.eq_any(&left));
            let stale_templates = enrolments::table.filter(enrolments::student_id.eq_any(&stale));
            let old_sessions: Vec<i32> = sessions::table.filter(sessions::date.lt(cut.moods_before)).select(sessions::id).load(conn)?;
            let old_moods = mood_summaries::table.filter(mood_summaries::session_id.eq_any(&old_sessions));
            let expired: Vec<i32> = match cut.attendance_before {
                Some(d) => sessions::table.filter(sessions::date.lt(d)).select(sessions::id).load(conn)?,
                None => Vec::new(),
            };
            counts.templates_of_students_who_left = left_templates.count().get_result::<i64>(conn)? as usize;
            counts.templates_unrecognised = stale_templates.count().get_result::<i64>(conn)? as usize;
            counts.mood_summaries = old_moods.count().get_result::<i64>(conn)? as usize;
            counts.sessions = expired.len();
            counts.marks = marks::table.filter(marks::session_id.eq_any(&expired)).count().get_result::<i64>(conn)? as usize;
            if dry_run {
                return Ok(counts);
            }
            diesel::delete(enrolments::table.filter(enrolments::student_id.eq_any(&left))).execute(conn)?;
            diesel::delete(enrolments::table.filter(enrolments::student_id.eq_any(&stale))).execute(conn)?;
            diesel::delete(mood_summaries::table.filter(mood_summaries::session_id.eq_any(&old_sessions))).execute(conn)?;
            diesel::delete(sessions::table.filter(sessions::id.eq_any(&expired))).execute(conn)?;
            Audit {
                actor,
                action,
                session_id: None,
                student: None,
                old_value: None,
                new_value: None,
                reason: format!(
                    "retention: {} template(s) of students who left, {} not recognised, {} mood summaries, {} session(s) with {} mark(s) deleted",
                    counts.templates_of_students_who_left, counts.templates_unrecognised, counts.mood_summaries, counts.sessions, counts.marks
                ),
            }
            .write(conn)?;
            Ok(counts)
        };
        let counts = if dry_run { self.conn.transaction(work)? } else { self.conn.immediate_transaction(work)? };
        if !dry_run {
            self.truncate_wal();
        }
        Ok(counts)
    }

    /// The latest purge run (when, and what it said).
    pub fn last_purge(&mut self) -> Result<Option<AuditEntry>> {
        Ok(audit_log::table
            .filter(audit_log::action.eq("purge"))
            .order(audit_log::id.desc())
            .select(AuditEntry::as_select())
            .first(&mut self.conn)
            .optional()?)
    }
}
