//! Who is on the register: classes, students, their memberships of classes over time, and
//! their face templates (enrolments).
//!
//! A student's classes are memberships with dates, never a column of the student: a move or a
//! departure closes one membership and may open another, so a past day's register (marks and
//! absences) stays with the class it was taken in.

use std::collections::{BTreeSet, HashMap};

use chrono::{Local, NaiveDate, NaiveTime};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use super::db::Db;
use serde::Serialize;

use super::schema::*;
use super::{embedding_from_bytes, embedding_to_bytes, now, Audit, Class, Result, Store, StoreError, Student};
use crate::recognition::Enrolled;

/// A roster line, already validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RosterEntry {
    pub student_id: String,
    pub first_name: String,
    pub last_name: String,
    pub class: String,
    /// The optional consent columns (`consent`, `consent_by`, `consent_date`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<RosterConsent>,
}

/// Consent as a roster line states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RosterConsent {
    pub kind: crate::consent::ConsentKind,
    pub by: String,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RosterOptions {
    /// Only work out and report the changes; write nothing.
    pub dry_run: bool,
    /// Students of the file's classes who are not in the file leave those classes (their
    /// register so far is kept). Off: they are listed and left alone.
    pub remove_missing: bool,
}

/// One student whose details the roster changes.
#[derive(Debug, Clone, Serialize)]
pub struct RosterChange {
    pub student_id: String,
    /// "old name -> new name", when the name changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<(String, String)>,
    /// (old classes, new classes) as "7B, Maths 3", when the student's classes change. `None` as
    /// old: in no class until now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<(Option<String>, String)>,
}

/// What a roster import does (or, in a dry run, would do).
#[derive(Debug, Default, Clone, Serialize)]
pub struct RosterChanges {
    pub dry_run: bool,
    pub classes_created: Vec<String>,
    pub added: Vec<RosterEntry>,
    pub changed: Vec<RosterChange>,
    /// Students of the file's classes not in the file: (student id, name, class).
    pub missing: Vec<(String, String, String)>,
    /// Whether the missing students leave their classes (`--remove-missing`).
    pub missing_leave: bool,
    /// Consent events the file records (those already on record are not recorded twice).
    pub consent: Vec<(String, RosterConsent)>,
    /// Face templates deleted because the file records a withdrawal or an objection.
    pub templates_deleted: usize,
    /// Face templates of students who left (`remove_missing`) deleted at once, as the retention
    /// policy says (filled in by `roster::apply`).
    pub leavers_templates_deleted: usize,
    pub unchanged: usize,
}

/// A student's membership of a class: on its register from `joined_on` (None: from the start of
/// the records) until the day before `left_on` (None: still in it).
#[derive(Debug, Clone, Copy, Queryable, Selectable, Serialize)]
#[diesel(table_name = memberships)]
pub struct Membership {
    #[serde(skip)]
    pub id: i32,
    #[serde(skip)]
    pub student_id: i32,
    #[serde(skip)]
    pub class_id: i32,
    pub joined_on: Option<NaiveDate>,
    pub left_on: Option<NaiveDate>,
}

impl Membership {
    pub fn active_on(&self, date: NaiveDate) -> bool {
        self.joined_on.is_none_or(|j| j <= date) && self.left_on.is_none_or(|l| date < l)
    }

    pub fn overlaps(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.joined_on.is_none_or(|j| j <= to) && self.left_on.is_none_or(|l| from < l)
    }
}

/// A student as the students list shows them.
#[derive(Debug, Clone, Serialize)]
pub struct StudentEntry {
    #[serde(flatten)]
    pub student: Student,
    /// The class they are in now (`None`: left, or never in one); when a class was asked for,
    /// that class.
    pub class: Option<String>,
    /// Every class they are in now (sections, sets: a secondary student has several).
    pub classes: Vec<String>,
    pub enrolled_photos: i64,
    pub consent: crate::consent::ConsentState,
}

/// One enrolled face template of a student, as the duplicate check needs it.
#[derive(Debug, Clone)]
pub struct Template {
    pub student_row: i32,
    pub student_id: String,
    pub name: String,
    pub embedding: Vec<f32>,
}

fn today() -> NaiveDate {
    Local::now().date_naive()
}

/// SQLite allows 32,766 parameters per statement: insert in chunks well below that.
const INSERT_CHUNK: usize = 2000;

/// One student's place in the gallery index (`Store::gallery_index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GalleryEntry {
    /// The student's row id (an `Enrolled` key is its decimal form).
    pub student: i32,
    pub templates: i64,
    /// The newest template's id: a photo replaced by another keeps the count, not this.
    pub newest: i32,
}

impl Store {
    // ---- classes -------------------------------------------------------------------

    pub fn classes(&mut self) -> Result<Vec<Class>> {
        Ok(classes::table.order(classes::name).select(Class::as_select()).load(&mut self.conn)?)
    }

    pub fn class(&mut self, name: &str) -> Result<Class> {
        classes::table
            .filter(classes::name.eq(name))
            .select(Class::as_select())
            .first(&mut self.conn)
            .optional()?
            .ok_or_else(|| StoreError::UnknownClass(name.to_string()))
    }

    pub fn class_by_id(&mut self, id: i32) -> Result<Class> {
        Ok(classes::table.find(id).select(Class::as_select()).first(&mut self.conn)?)
    }

    /// Create a class (the first-run setup and the app's "new class"); an existing name is an error.
    pub fn create_class(&mut self, name: &str, start: Option<NaiveTime>, late_after_minutes: i32) -> Result<Class> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Other("a class needs a name".into()));
        }
        let inserted = diesel::insert_into(classes::table)
            .values((
                classes::name.eq(name),
                classes::session_start.eq(start.map(|t| t.format("%H:%M").to_string())),
                classes::late_after_minutes.eq(late_after_minutes),
            ))
            .execute(&mut self.conn);
        match inserted {
            Err(e) if super::is_unique_violation(&e) => Err(StoreError::ClassExists(name.to_string())),
            other => other.map(|_| ()).map_err(StoreError::from),
        }?;
        self.class(name)
    }

    /// Set a class's lesson start ("HH:MM", or None: sessions start when their run starts) and grace.
    pub fn set_class_rules(&mut self, name: &str, start: Option<NaiveTime>, late_after_minutes: i32) -> Result<Class> {
        let class = self.class(name)?;
        diesel::update(classes::table.find(class.id))
            .set((classes::session_start.eq(start.map(|t| t.format("%H:%M").to_string())), classes::late_after_minutes.eq(late_after_minutes)))
            .execute(&mut self.conn)?;
        self.class(name)
    }

    // ---- students --------------------------------------------------------------------

    /// Students (of one class now, or all) with their current class and number of enrolled photos.
    pub fn students(&mut self, class: Option<&str>) -> Result<Vec<StudentEntry>> {
        let class_id = class.map(|c| self.class(c).map(|c| c.id)).transpose()?;
        let current: Vec<(i32, i32, String)> = memberships::table
            .inner_join(classes::table)
            .filter(memberships::left_on.is_null())
            .select((memberships::student_id, classes::id, classes::name))
            .load(&mut self.conn)?;
        let mut class_of: HashMap<i32, Vec<(i32, String)>> = HashMap::new();
        for (s, c, name) in current {
            class_of.entry(s).or_default().push((c, name));
        }
        let counts: HashMap<i32, i64> = enrolments::table
            .group_by(enrolments::student_id)
            .select((enrolments::student_id, diesel::dsl::count(enrolments::id)))
            .load::<(i32, i64)>(&mut self.conn)?
            .into_iter()
            .collect();
        let all: Vec<Student> = students::table
            .select(Student::as_select())
            .load::<Student>(&mut self.conn)?
            .into_iter()
            .filter(|s| class_id.is_none_or(|c| class_of.get(&s.id).is_some_and(|cs| cs.iter().any(|(id, _)| *id == c))))
            .collect();
        let consent = super::consent::events_of(&mut self.conn, &all.iter().map(|s| s.id).collect::<Vec<_>>())?;
        let mut rows: Vec<StudentEntry> = all
            .into_iter()
            .map(|s| StudentEntry {
                class: match (class, class_of.get(&s.id)) {
                    (Some(c), Some(_)) => Some(c.to_string()),
                    (_, cs) => cs.and_then(|cs| cs.first()).map(|(_, n)| n.clone()),
                },
                classes: class_of.get(&s.id).map(|cs| cs.iter().map(|(_, n)| n.clone()).collect::<BTreeSet<_>>().into_iter().collect()).unwrap_or_default(),
                enrolled_photos: counts.get(&s.id).copied().unwrap_or(0),
                consent: consent.get(&s.id).map(|e| crate::consent::state(e)).unwrap_or_default(),
                student: s,
            })
            .collect();
        rows.sort_by(|a, b| {
            (a.class.is_none(), &a.class, &a.student.last_name, &a.student.first_name).cmp(&(
                b.class.is_none(),
                &b.class,
                &b.student.last_name,
                &b.student.first_name,
            ))
        });
        Ok(rows)
    }

    pub fn student(&mut self, student_id: &str) -> Result<Student> {
        students::table
            .filter(students::student_id.eq(student_id))
            .select(Student::as_select())
            .first(&mut self.conn)
            .optional()?
            .ok_or_else(|| StoreError::UnknownStudent(student_id.to_string()))
    }

    /// The class's students today (its current register), by name.
    pub fn class_students(&mut self, class_id: i32) -> Result<Vec<Student>> {
        let day = today();
        Ok(self.class_register(class_id, day, day)?.into_iter().map(|(s, _)| s).collect())
    }

    /// Every student who was in the class at some time between `from` and `to`, with their
    /// memberships of it, by name.
    pub fn class_register(&mut self, class_id: i32, from: NaiveDate, to: NaiveDate) -> Result<Vec<(Student, Vec<Membership>)>> {
        let rows: Vec<(Student, Membership)> = students::table
            .inner_join(memberships::table)
            .filter(memberships::class_id.eq(class_id))
            .order((students::last_name, students::first_name, students::id))
            .select((Student::as_select(), Membership::as_select()))
            .load(&mut self.conn)?;
        let mut out: Vec<(Student, Vec<Membership>)> = Vec::new();
        for (s, m) in rows.into_iter().filter(|(_, m)| m.overlaps(from, to)) {
            match out.last_mut() {
                Some((last, ms)) if last.id == s.id => ms.push(m),
                _ => out.push((s, vec![m])),
            }
        }
        Ok(out)
    }

    /// A student's memberships, of every class they were ever in.
    pub fn memberships(&mut self, student_row: i32) -> Result<Vec<(Class, Membership)>> {
        Ok(memberships::table
            .inner_join(classes::table)
            .filter(memberships::student_id.eq(student_row))
            .order(memberships::id)
            .select((Class::as_select(), Membership::as_select()))
            .load(&mut self.conn)?)
    }

    /// Students by row id (for marks of students no longer in a class).
    pub fn students_by_row(&mut self, rows: &[i32]) -> Result<Vec<Student>> {
        Ok(students::table.filter(students::id.eq_any(rows)).select(Student::as_select()).load(&mut self.conn)?)
    }

    // ---- roster --------------------------------------------------------------------

    /// Work out what a validated roster changes and, unless it is a dry run, apply it in one
    /// transaction (all or nothing): classes created, students added, renamed or moved (moves and
    /// renames audited; a move closes the old membership today, so past registers keep them),
    /// students of the file's classes who are not in it listed (and, with `remove_missing`,
    /// taken off those classes from today).
    pub fn apply_roster(&mut self, entries: &[RosterEntry], options: RosterOptions, actor: &str) -> Result<RosterChanges> {
        let work = |conn: &mut Db| -> std::result::Result<RosterChanges, DieselError> {
            let day = today();
            let classes: HashMap<String, i32> = classes::table.select((classes::name, classes::id)).load::<(String, i32)>(conn)?.into_iter().collect();
            let class_names: HashMap<i32, String> = classes.iter().map(|(n, id)| (*id, n.clone())).collect();
            let existing: HashMap<String, Student> =
                students::table.select(Student::as_select()).load::<Student>(conn)?.into_iter().map(|s| (s.student_id.clone(), s)).collect();
            let current: Vec<Membership> = memberships::table.filter(memberships::left_on.is_null()).select(Membership::as_select()).load(conn)?;
            let mut current_of: HashMap<i32, Vec<Membership>> = HashMap::new();
            for m in current {
                current_of.entry(m.student_id).or_default().push(m);
            }
            let class_list = |ms: &[Membership]| -> BTreeSet<String> { ms.iter().filter_map(|m| class_names.get(&m.class_id).cloned()).collect() };

            let mut changes = RosterChanges { dry_run: options.dry_run, missing_leave: options.remove_missing, ..RosterChanges::default() };
            // Consent the file states that is not on record yet (a re-import records nothing twice).
            let existing_rows: Vec<i32> = existing.values().map(|s| s.id).collect();
            let on_record = super::consent::events_of(conn, &existing_rows)?;
            for e in first_rows(entries) {
                let Some(c) = &e.consent else { continue };
                let known = existing
                    .get(&e.student_id)
                    .and_then(|s| on_record.get(&s.id))
                    .is_some_and(|events| events.iter().any(|x| x.kind == c.kind && x.date == c.date && x.by.trim().eq_ignore_ascii_case(c.by.trim())));
                if !known {
                    changes.consent.push((e.student_id.clone(), c.clone()));
                }
            }
            let in_file: BTreeSet<&str> = entries.iter().map(|e| e.class.as_str()).collect();
            changes.classes_created = in_file.iter().filter(|c| !classes.contains_key(**c)).map(|c| c.to_string()).collect();
            // Each listed student's classes: their rows.
            let mut classes_of: HashMap<&str, BTreeSet<String>> = HashMap::new();
            for e in entries {
                classes_of.entry(e.student_id.as_str()).or_default().insert(e.class.clone());
            }
            let mut moves: Vec<(&Student, Vec<Membership>, Vec<String>)> = Vec::new();
            let mut renames: Vec<(i32, &RosterEntry)> = Vec::new();
            for e in first_rows(entries) {
                let Some(s) = existing.get(&e.student_id) else {
                    changes.added.push(e.clone());
                    continue;
                };
                let now_in = current_of.get(&s.id).map(Vec::as_slice).unwrap_or_default();
                let old_classes = class_list(now_in);
                let new_classes = &classes_of[e.student_id.as_str()];
                let name = (s.first_name != e.first_name || s.last_name != e.last_name).then(|| (s.name(), format!("{} {}", e.first_name, e.last_name)));
                let class = (&old_classes != new_classes).then(|| ((!old_classes.is_empty()).then(|| join(&old_classes)), join(new_classes)));
                if name.is_none() && class.is_none() {
                    changes.unchanged += 1;
                    continue;
                }
                if name.is_some() {
                    renames.push((s.id, e));
                }
                if class.is_some() {
                    let leaving = now_in.iter().filter(|m| class_names.get(&m.class_id).is_none_or(|c| !new_classes.contains(c))).copied().collect();
                    let joining = new_classes.iter().filter(|c| !old_classes.contains(*c)).cloned().collect();
                    moves.push((s, leaving, joining));
                }
                changes.changed.push(RosterChange { student_id: e.student_id.clone(), name, class });
            }
            for s in existing.values() {
                if classes_of.contains_key(s.student_id.as_str()) {
                    continue;
                }
                for m in current_of.get(&s.id).map(Vec::as_slice).unwrap_or_default() {
                    let Some(class) = class_names.get(&m.class_id) else {
                        continue;
                    };
                    if in_file.contains(class.as_str()) {
                        changes.missing.push((s.student_id.clone(), s.name(), class.clone()));
                    }
                }
            }
            changes.missing.sort();
            if options.dry_run {
                return Ok(changes);
            }

            // Write: classes, new students, their memberships, then the changes, each audited.
            let mut class_ids = classes;
            for name in &changes.classes_created {
                let id: i32 = diesel::insert_into(classes::table).values(classes::name.eq(name)).returning(classes::id).get_result(conn)?;
                class_ids.insert(name.clone(), id);
            }
            // A class that has kept a register before today takes new students from today; one
            // with no register yet has them from the start (a school setting up).
            let with_register: BTreeSet<i32> =
                sessions::table.filter(sessions::date.lt(day)).select(sessions::class_id).distinct().load::<i32>(conn)?.into_iter().collect();
            let joined = |class_id: i32| with_register.contains(&class_id).then_some(day);
            let created = now();
            for chunk in changes.added.chunks(INSERT_CHUNK) {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|e| {
                        (
                            students::student_id.eq(&e.student_id),
                            students::first_name.eq(&e.first_name),
                            students::last_name.eq(&e.last_name),
                            students::created_at.eq(created),
                        )
                    })
                    .collect();
                // Many rows in one statement: a backend's own dialect (DEFAULT differs).
                super::db::on_backend!(conn, |c| diesel::insert_into(students::table).values(&rows).execute(c))?;
            }
            if !changes.added.is_empty() {
                let ids: HashMap<String, i32> = students::table.select((students::student_id, students::id)).load::<(String, i32)>(conn)?.into_iter().collect();
                let new_rows: Vec<(i32, i32)> = changes
                    .added
                    .iter()
                    .flat_map(|e| classes_of[e.student_id.as_str()].iter().filter_map(|c| Some((*ids.get(&e.student_id)?, class_ids[c]))))
                    .collect();
                for chunk in new_rows.chunks(INSERT_CHUNK) {
                    let rows: Vec<_> = chunk
                        .iter()
                        .map(|&(sid, class_id)| {
                            (memberships::student_id.eq(sid), memberships::class_id.eq(class_id), memberships::joined_on.eq(joined(class_id)))
                        })
                        .collect();
                    super::db::on_backend!(conn, |c| diesel::insert_into(memberships::table).values(&rows).execute(c))?;
                }
            }
            for (row, e) in renames {
                let old = &existing[&e.student_id];
                diesel::update(students::table.find(row)).set((students::first_name.eq(&e.first_name), students::last_name.eq(&e.last_name))).execute(conn)?;
                Audit {
                    actor,
                    action: "roster_rename",
                    session_id: None,
                    student: Some((row, &e.student_id)),
                    old_value: Some(old.name()),
                    new_value: Some(format!("{} {}", e.first_name, e.last_name)),
                    reason: "roster import".into(),
                }
                .write(conn)?;
            }
            for (student, leaving, joining) in moves {
                let old_classes = class_list(current_of.get(&student.id).map(Vec::as_slice).unwrap_or_default());
                for m in leaving {
                    leave(conn, m, day)?;
                }
                for class in &joining {
                    diesel::insert_into(memberships::table)
                        .values((memberships::student_id.eq(student.id), memberships::class_id.eq(class_ids[class]), memberships::joined_on.eq(Some(day))))
                        .execute(conn)?;
                }
                Audit {
                    actor,
                    action: "roster_move",
                    session_id: None,
                    student: Some((student.id, &student.student_id)),
                    old_value: (!old_classes.is_empty()).then(|| join(&old_classes)),
                    new_value: Some(join(&classes_of[student.student_id.as_str()])),
                    reason: "roster import".into(),
                }
                .write(conn)?;
            }
            if !changes.consent.is_empty() {
                let rows: HashMap<String, Student> =
                    students::table.select(Student::as_select()).load::<Student>(conn)?.into_iter().map(|s| (s.student_id.clone(), s)).collect();
                for (sid, c) in &changes.consent {
                    let event = crate::consent::ConsentEvent {
                        kind: c.kind,
                        by: c.by.clone(),
                        relation: None,
                        date: c.date,
                        how: Some("roster import".into()),
                        note: None,
                        recorded_at: now(),
                        recorded_by: actor.to_string(),
                    };
                    changes.templates_deleted += super::consent::record(conn, &rows[sid], &event)?.templates_deleted;
                }
            }
            if options.remove_missing {
                for (sid, _, class) in &changes.missing {
                    let s = &existing[sid];
                    for m in current_of.get(&s.id).map(Vec::as_slice).unwrap_or_default() {
                        if class_names.get(&m.class_id) == Some(class) {
                            leave(conn, *m, day)?;
                        }
                    }
                    Audit {
                        actor,
                        action: "roster_leave",
                        session_id: None,
                        student: Some((s.id, sid)),
                        old_value: Some(class.clone()),
                        new_value: None,
                        reason: "not in the imported roster".into(),
                    }
                    .write(conn)?;
                }
            }
            Ok(changes)
        };
        if options.dry_run {
            Ok(self.conn.transaction(work)?)
        } else {
            Ok(self.conn.immediate_transaction(work)?)
        }
    }

    /// Delete a student with all their data: templates, memberships, marks, moods (cascade).
    /// The audit log keeps that a deletion happened (by the student's school id, not their name),
    /// and the reasons written about them are redacted. The deleted bytes are overwritten in the
    /// file (`secure_delete`) and the write-ahead log is emptied.
    pub fn delete_student(&mut self, student_id: &str, actor: &str) -> Result<()> {
        let s = self.student(student_id)?;
        self.conn.immediate_transaction(|conn| {
            diesel::update(audit_log::table.filter(audit_log::student_id.eq(s.id)))
                .set(audit_log::reason.eq("(redacted: the student was deleted)"))
                .execute(conn)?;
            diesel::update(audit_log::table.filter(audit_log::student_id.eq(s.id)).filter(audit_log::action.eq("roster_rename")))
                .set((audit_log::old_value.eq(None::<String>), audit_log::new_value.eq(None::<String>)))
                .execute(conn)?;
            diesel::delete(students::table.find(s.id)).execute(conn)?;
            Audit {
                actor,
                action: "delete_student",
                session_id: None,
                student: Some((s.id, &s.student_id)),
                old_value: None,
                new_value: None,
                reason: "student and biometric data deleted".into(),
            }
            .write(conn)?;
            Ok::<_, DieselError>(())
        })?;
        self.truncate_wal();
        Ok(())
    }

    // ---- enrolment -----------------------------------------------------------------

    /// A student leaves the school: their current classes end today (their register is kept:
    /// archived, not deleted). Audited. The classes they left.
    pub fn leave_school(&mut self, student: &Student, actor: &str) -> Result<Vec<String>> {
        Ok(self.conn.immediate_transaction(|conn| -> std::result::Result<Vec<String>, DieselError> {
            let current: Vec<Membership> = memberships::table
                .filter(memberships::student_id.eq(student.id))
                .filter(memberships::left_on.is_null())
                .select(Membership::as_select())
                .load(conn)?;
            let mut left = Vec::new();
            for m in current {
                let name: String = classes::table.find(m.class_id).select(classes::name).first(conn)?;
                leave(conn, m, today())?;
                Audit {
                    actor,
                    action: "left_school",
                    session_id: None,
                    student: Some((student.id, &student.student_id)),
                    old_value: Some(name.clone()),
                    new_value: None,
                    reason: "left the school".into(),
                }
                .write(conn)?;
                left.push(name);
            }
            Ok(left)
        })?)
    }

    /// Store a student's face templates. Refused (`NoConsent`, nothing stored) unless their consent
    /// is usable: enforced here, where the data is written, whatever the caller checked.
    pub fn add_enrolments(&mut self, student: &Student, model_id: &str, items: &[(Vec<f32>, String, f32)]) -> Result<usize> {
        if let Some(why) = super::consent::refusal(&mut self.conn, student)? {
            return Err(StoreError::NoConsent(why));
        }
        let seal = &self.seal;
        self.conn
            .immediate_transaction(|conn| {
                for (e, source, size) in items {
                    diesel::insert_into(enrolments::table)
                        .values((
                            enrolments::student_id.eq(student.id),
                            enrolments::model_id.eq(model_id),
                            enrolments::embedding.eq(seal.seal(student.id, &embedding_to_bytes(e))),
                            enrolments::source.eq(source),
                            enrolments::face_size.eq(size),
                            enrolments::created_at.eq(now()),
                        ))
                        .execute(conn)?;
                }
                Ok::<_, DieselError>(items.len())
            })
            .map_err(Into::into)
    }

    /// Rows of the class's current members (the ones a camera session recognises).
    fn current_member_rows(&mut self, class_id: i32) -> Result<Vec<i32>> {
        let day = today();
        Ok(memberships::table
            .filter(memberships::class_id.eq(class_id))
            .select(Membership::as_select())
            .load::<Membership>(&mut self.conn)?
            .into_iter()
            .filter(|m| m.active_on(day))
            .map(|m| m.student_id)
            .collect())
    }

    /// Of `rows`, the students the camera can recognise: consent usable and a face enrolled.
    /// The others are registered by hand.
    pub fn recognisable(&mut self, rows: &[i32]) -> Result<std::collections::HashSet<i32>> {
        let consented = super::consent::with_consent(&mut self.conn, rows)?;
        let enrolled: Vec<i32> =
            enrolments::table.filter(enrolments::student_id.eq_any(&consented)).select(enrolments::student_id).distinct().load(&mut self.conn)?;
        Ok(enrolled.into_iter().collect())
    }

    /// The class's current members whose consent lets the camera recognise them.
    fn recognisable_rows(&mut self, class_ids: &[i32]) -> Result<Vec<i32>> {
        let members = self.current_members_of(class_ids)?;
        Ok(super::consent::with_consent(&mut self.conn, &members)?)
    }

    /// The students in any of `class_ids` today, each once.
    fn current_members_of(&mut self, class_ids: &[i32]) -> Result<Vec<i32>> {
        let mut rows = Vec::new();
        for &c in class_ids {
            rows.extend(self.current_member_rows(c)?);
        }
        rows.sort_unstable();
        rows.dedup();
        Ok(rows)
    }

    /// Changes whenever the classes' recognisable faces do (a photo added, a student deleted or
    /// moved, consent given or ended): how many enrolments by `model_id` their recognisable members
    /// have, the newest one's id, and the newest consent event's id.
    pub fn gallery_version(&mut self, class_ids: &[i32], model_id: &str) -> Result<(i64, Option<i32>, Option<i32>)> {
        let members = self.current_members_of(class_ids)?;
        let consent: Option<i32> =
            consent_events::table.filter(consent_events::student_id.eq_any(&members)).select(diesel::dsl::max(consent_events::id)).first(&mut self.conn)?;
        let rows = super::consent::with_consent(&mut self.conn, &members)?;
        let (n, newest): (i64, Option<i32>) = enrolments::table
            .filter(enrolments::student_id.eq_any(&rows))
            .filter(enrolments::model_id.eq(model_id))
            .select((diesel::dsl::count(enrolments::id), diesel::dsl::max(enrolments::id)))
            .first(&mut self.conn)?;
        Ok((n, newest, consent))
    }

    /// The classes' enrolled embeddings made by `model_id`, of students whose consent is usable,
    /// keyed by the students' row ids (a student in several of the classes once).
    pub fn gallery(&mut self, class_ids: &[i32], model_id: &str) -> Result<Vec<Enrolled>> {
        let members = self.recognisable_rows(class_ids)?;
        self.gallery_of(&members, model_id)
    }

    /// The classes' recognisable students with templates by `model_id`: for each, how many and
    /// the newest one's id, read from the index alone (no template is read or decrypted). A
    /// running roll compares it with the gallery it holds to read only the students that changed.
    pub fn gallery_index(&mut self, class_ids: &[i32], model_id: &str) -> Result<Vec<GalleryEntry>> {
        let members = self.recognisable_rows(class_ids)?;
        let rows: Vec<(i32, i64, Option<i32>)> = enrolments::table
            .filter(enrolments::student_id.eq_any(&members))
            .filter(enrolments::model_id.eq(model_id))
            .group_by(enrolments::student_id)
            .select((enrolments::student_id, diesel::dsl::count(enrolments::id), diesel::dsl::max(enrolments::id)))
            .load(&mut self.conn)?;
        Ok(rows.into_iter().map(|(student, templates, newest)| GalleryEntry { student, templates, newest: newest.unwrap_or(0) }).collect())
    }

    /// The templates by `model_id` of these students alone (their row ids), as `gallery` gives
    /// them; a student with none is left out.
    pub fn gallery_of(&mut self, students: &[i32], model_id: &str) -> Result<Vec<Enrolled>> {
        let mut out: Vec<Enrolled> = Vec::new();
        // SQLite binds at most 32,766 parameters a statement; a whole school is far fewer.
        for chunk in students.chunks(10_000) {
            let rows: Vec<(i32, Vec<u8>)> = enrolments::table
                .filter(enrolments::student_id.eq_any(chunk))
                .filter(enrolments::model_id.eq(model_id))
                .order((enrolments::student_id, enrolments::id))
                .select((enrolments::student_id, enrolments::embedding))
                .load(&mut self.conn)?;
            for (sid, blob) in rows {
                let key = sid.to_string();
                let embedding = embedding_from_bytes(&self.seal.open(sid, &blob)?);
                match out.last_mut() {
                    Some(last) if last.key == key => last.embeddings.push(embedding),
                    _ => out.push(Enrolled { key, embeddings: vec![embedding] }),
                }
            }
        }
        Ok(out)
    }

    /// For each embedding model, how many of the class's recognisable members have a template made by it.
    pub fn enrolled_by_model(&mut self, class_id: i32) -> Result<Vec<(String, i64)>> {
        let members = self.recognisable_rows(&[class_id])?;
        Ok(enrolments::table
            .filter(enrolments::student_id.eq_any(&members))
            .group_by(enrolments::model_id)
            .select((enrolments::model_id, diesel::dsl::count(enrolments::student_id).aggregate_distinct()))
            .load(&mut self.conn)?)
    }

    /// A student's templates made by `model_id`.
    pub fn templates_of(&mut self, student_row: i32, model_id: &str) -> Result<Vec<Vec<f32>>> {
        let rows: Vec<Vec<u8>> = enrolments::table
            .filter(enrolments::student_id.eq(student_row))
            .filter(enrolments::model_id.eq(model_id))
            .select(enrolments::embedding)
            .load(&mut self.conn)?;
        rows.iter().map(|b| Ok(embedding_from_bytes(&self.seal.open(student_row, b)?))).collect()
    }

    /// Every template made by `model_id` of anybody but `except` (the whole school: a face
    /// already enrolled as someone else must not be enrolled again under another name).
    pub fn templates_except(&mut self, except: i32, model_id: &str) -> Result<Vec<Template>> {
        let rows: Vec<(Student, Vec<u8>)> = enrolments::table
            .inner_join(students::table)
            .filter(enrolments::model_id.eq(model_id))
            .filter(enrolments::student_id.ne(except))
            .select((Student::as_select(), enrolments::embedding))
            .load(&mut self.conn)?;
        rows.into_iter()
            .map(|(s, blob)| {
                let embedding = embedding_from_bytes(&self.seal.open(s.id, &blob)?);
                Ok(Template { student_row: s.id, name: s.name(), student_id: s.student_id, embedding })
            })
            .collect()
    }
}

/// Close a membership today (kept for the register it already has).
/// Each student's first row (a student in several classes has a row per class).
fn first_rows(entries: &[RosterEntry]) -> impl Iterator<Item = &RosterEntry> {
    let mut seen = std::collections::HashSet::new();
    entries.iter().filter(move |e| seen.insert(e.student_id.as_str()))
}

/// "7B, Maths 3", as a person reads a student's classes.
fn join(classes: &BTreeSet<String>) -> String {
    classes.iter().cloned().collect::<Vec<_>>().join(", ")
}

fn leave(conn: &mut Db, m: Membership, day: NaiveDate) -> std::result::Result<(), DieselError> {
    let left = m.joined_on.map_or(day, |j| j.max(day));
    diesel::update(memberships::table.find(m.id)).set(memberships::left_on.eq(Some(left))).execute(conn)?;
    Ok(())
}

/// A face template's metadata (never its vector), for a student's data export.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateInfo {
    pub model: String,
    /// The photo's file name or "camera <time>".
    pub source: String,
    pub face_size: f32,
    pub enrolled_at: chrono::NaiveDateTime,
}

impl Store {
    pub fn template_info(&mut self, student_row: i32) -> Result<Vec<TemplateInfo>> {
        let rows: Vec<(String, String, f32, chrono::NaiveDateTime)> = enrolments::table
            .filter(enrolments::student_id.eq(student_row))
            .order(enrolments::id)
            .select((enrolments::model_id, enrolments::source, enrolments::face_size, enrolments::created_at))
            .load(&mut self.conn)?;
        Ok(rows.into_iter().map(|(model, source, face_size, enrolled_at)| TemplateInfo { model, source, face_size, enrolled_at }).collect())
    }

    /// When the camera last recognised the student.
    pub fn last_recognised(&mut self, student_row: i32) -> Result<Option<chrono::NaiveDateTime>> {
        Ok(students::table.find(student_row).select(students::last_recognised_at).first(&mut self.conn)?)
    }

    /// How many templates there are, of how many students, and by which models.
    pub fn template_totals(&mut self) -> Result<(i64, i64, Vec<String>)> {
        let n: i64 = enrolments::table.count().get_result(&mut self.conn)?;
        let students: i64 = enrolments::table.select(diesel::dsl::count(enrolments::student_id).aggregate_distinct()).first(&mut self.conn)?;
        let models: Vec<String> = enrolments::table.select(enrolments::model_id).distinct().load(&mut self.conn)?;
        Ok((n, students, models))
    }
}
