//! The consent register: events per student, never rewritten. What they allow is decided in
//! `crate::consent`; this file applies it where data is written: templates are refused without
//! usable consent, and a withdrawal or objection deletes the student's templates in the same
//! transaction as the event that ended it.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use super::db::Db;
use serde::Serialize;

use super::schema::*;
use super::{now, Audit, Result, Store, Student};
use crate::consent::{self, ConsentEvent, ConsentKind, ConsentState};

#[derive(Queryable)]
struct ConsentRow {
    #[allow(dead_code)]
    id: i32,
    student_id: i32,
    kind: String,
    by_name: String,
    relation: Option<String>,
    event_date: chrono::NaiveDate,
    how: Option<String>,
    note: Option<String>,
    recorded_at: NaiveDateTime,
    recorded_by: String,
}

impl ConsentRow {
    fn event(self) -> (i32, ConsentEvent) {
        (
            self.student_id,
            ConsentEvent {
                kind: ConsentKind::parse(&self.kind).unwrap_or(ConsentKind::Objected),
                by: self.by_name,
                relation: self.relation,
                date: self.event_date,
                how: self.how,
                note: self.note,
                recorded_at: self.recorded_at,
                recorded_by: self.recorded_by,
            },
        )
    }
}

/// What recording an event did.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentChange {
    pub before: ConsentState,
    pub after: ConsentState,
    /// Templates deleted because consent ended (withdrawn or objected).
    pub templates_deleted: usize,
}

pub(super) fn events_of(conn: &mut Db, rows: &[i32]) -> std::result::Result<HashMap<i32, Vec<ConsentEvent>>, DieselError> {
    let mut out: HashMap<i32, Vec<ConsentEvent>> = HashMap::new();
    for chunk in rows.chunks(5000) {
        let found: Vec<ConsentRow> = consent_events::table.filter(consent_events::student_id.eq_any(chunk)).order(consent_events::id).load(conn)?;
        for r in found {
            let (s, e) = r.event();
            out.entry(s).or_default().push(e);
        }
    }
    Ok(out)
}

/// Of `rows`, those whose consent is usable.
pub(super) fn with_consent(conn: &mut Db, rows: &[i32]) -> std::result::Result<Vec<i32>, DieselError> {
    let events = events_of(conn, rows)?;
    Ok(rows.iter().copied().filter(|r| events.get(r).is_some_and(|e| consent::state(e).usable())).collect())
}

/// Why templates may not be stored for this student, or `None` if they may.
pub(super) fn refusal(conn: &mut Db, student: &Student) -> std::result::Result<Option<String>, DieselError> {
    let events = events_of(conn, &[student.id])?.remove(&student.id).unwrap_or_default();
    Ok(consent::refusal(&student.student_id, &student.name(), &events))
}

/// Record one event in the caller's transaction: the event, the templates it ends, the audit entry.
pub(super) fn record(conn: &mut Db, student: &Student, event: &ConsentEvent) -> std::result::Result<ConsentChange, DieselError> {
    let mut events = events_of(conn, &[student.id])?.remove(&student.id).unwrap_or_default();
    let before = consent::state(&events);
    diesel::insert_into(consent_events::table)
        .values((
            consent_events::student_id.eq(student.id),
            consent_events::kind.eq(event.kind.as_str()),
            consent_events::by_name.eq(&event.by),
            consent_events::relation.eq(&event.relation),
            consent_events::event_date.eq(event.date),
            consent_events::how.eq(&event.how),
            consent_events::note.eq(&event.note),
            consent_events::recorded_at.eq(now()),
            consent_events::recorded_by.eq(&event.recorded_by),
        ))
        .execute(conn)?;
    events.push(event.clone());
    let after = consent::state(&events);
    let templates_deleted = if after.usable() { 0 } else { diesel::delete(enrolments::table.filter(enrolments::student_id.eq(student.id))).execute(conn)? };
    let how = event.how.as_deref().map(|h| format!(", {h}")).unwrap_or_default();
    let relation = event.relation.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
    Audit {
        actor: &event.recorded_by,
        action: match event.kind {
            ConsentKind::Granted => "consent_granted",
            ConsentKind::Withdrawn => "consent_withdrawn",
            ConsentKind::Objected => "consent_objected",
        },
        session_id: None,
        student: Some((student.id, &student.student_id)),
        old_value: Some(before.as_str().to_string()),
        new_value: Some(after.as_str().to_string()),
        reason: format!(
            "{} by {}{relation} on {}{how}{}",
            event.kind.as_str(),
            event.by,
            event.date,
            if templates_deleted > 0 { format!("; {templates_deleted} face template(s) deleted") } else { String::new() }
        ),
    }
    .write(conn)?;
    Ok(ConsentChange { before, after, templates_deleted })
}

impl Store {
    /// Record a consent event (never rewriting an earlier one). If it ends the student's consent
    /// (a withdrawal of the last grant, or an objection), their templates are deleted in the same
    /// transaction, overwritten in the file, and the deletion is audited with the event.
    pub fn record_consent(&mut self, student: &Student, event: &ConsentEvent) -> Result<ConsentChange> {
        let change = self.conn.immediate_transaction(|conn| record(conn, student, event))?;
        if change.templates_deleted > 0 {
            self.truncate_wal();
        }
        Ok(change)
    }

    /// Record one event for each of several students, all in one transaction (a class's returned
    /// forms: all recorded, or none).
    pub fn record_consents(&mut self, events: &[(Student, ConsentEvent)]) -> Result<Vec<ConsentChange>> {
        let changes = self.conn.immediate_transaction(|conn| events.iter().map(|(s, e)| record(conn, s, e)).collect::<std::result::Result<Vec<_>, DieselError>>())?;
        if changes.iter().any(|c| c.templates_deleted > 0) {
            self.truncate_wal();
        }
        Ok(changes)
    }

    /// Why this student's face data may not be stored or used (a sentence naming them), or
    /// `None` if it may.
    pub fn consent_refusal(&mut self, student: &Student) -> Result<Option<String>> {
        Ok(refusal(&mut self.conn, student)?)
    }

    /// A student's consent history, oldest first.
    pub fn consent_history(&mut self, student_row: i32) -> Result<Vec<ConsentEvent>> {
        Ok(events_of(&mut self.conn, &[student_row])?.remove(&student_row).unwrap_or_default())
    }

    /// The consent histories of several students.
    pub fn consent_histories(&mut self, rows: &[i32]) -> Result<HashMap<i32, Vec<ConsentEvent>>> {
        Ok(events_of(&mut self.conn, rows)?)
    }
}
