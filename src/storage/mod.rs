//! The database: SQLite through diesel, in one file. Only this module talks to diesel.
//!
//! Every write is its own transaction (a mark is committed the moment it is made, so a crash or
//! a killed process loses nothing already marked); WAL journaling lets reports read while a
//! session writes; foreign keys are on, so deleting a student deletes their embeddings.

mod schema;

use std::path::{Path, PathBuf};

use chrono::{Local, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use serde::Serialize;

use crate::attendance::rules::Status;
use crate::recognition::Enrolled;
use schema::*;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("the database is busy (another Rollcall is writing to it); try again in a moment")]
    Locked,
    #[error("the database is read-only ({0}); check the file's permissions or choose another with --db")]
    ReadOnly(String),
    #[error("the disk is full: nothing was lost, but nothing more can be saved until space is freed")]
    DiskFull,
    #[error("the disk could not be written (is it full, or failing?): nothing already saved was lost; free space or check the disk")]
    DiskIo,
    #[error("unknown class {0:?} (see `rollcall classes`, or import a roster)")]
    UnknownClass(String),
    #[error("unknown student {0:?} (see `rollcall students`)")]
    UnknownStudent(String),
    #[error("no session for class {class:?} on {date}")]
    NoSession { class: String, date: NaiveDate },
    #[error("database error: {0}")]
    Other(String),
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        classify(&e.to_string()).unwrap_or_else(|| StoreError::Other(e.to_string()))
    }
}

impl From<diesel::ConnectionError> for StoreError {
    fn from(e: diesel::ConnectionError) -> Self {
        classify(&e.to_string()).unwrap_or_else(|| StoreError::Other(e.to_string()))
    }
}

/// SQLite reports these conditions as messages; turn them into errors a user can act on.
fn classify(message: &str) -> Option<StoreError> {
    let m = message.to_ascii_lowercase();
    if m.contains("database is locked") || m.contains("database is busy") {
        Some(StoreError::Locked)
    } else if m.contains("readonly") || m.contains("read-only") {
        Some(StoreError::ReadOnly(message.to_string()))
    } else if m.contains("database or disk is full") {
        Some(StoreError::DiskFull)
    } else if m.contains("disk i/o error") {
        // A full disk often surfaces as an I/O error (e.g. when the WAL cannot grow).
        Some(StoreError::DiskIo)
    } else {
        None
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = classes)]
pub struct Class {
    pub id: i32,
    pub name: String,
    pub session_start: Option<String>,
    pub late_after_minutes: i32,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
}

impl Class {
    pub fn lesson_start(&self) -> Option<NaiveTime> {
        self.session_start.as_deref().and_then(|s| NaiveTime::parse_from_str(s, "%H:%M").ok())
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = students)]
pub struct Student {
    #[serde(skip)]
    pub id: i32,
    pub student_id: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(skip)]
    pub class_id: i32,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
}

impl Student {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: i32,
    pub class_id: i32,
    pub date: NaiveDate,
    pub starts_at: NaiveDateTime,
    pub late_after_minutes: i32,
    pub source: String,
    pub opened_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = marks)]
pub struct Mark {
    #[serde(skip)]
    pub id: i32,
    pub session_id: i32,
    #[serde(skip)]
    pub student_id: i32,
    pub status: String,
    pub auto_status: Option<String>,
    pub first_seen: Option<NaiveDateTime>,
    pub last_seen: Option<NaiveDateTime>,
    pub late_minutes: i32,
    pub confidence: Option<f32>,
    pub source: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = mood_summaries)]
pub struct MoodRow {
    #[serde(skip)]
    pub id: i32,
    pub session_id: i32,
    #[serde(skip)]
    pub student_id: i32,
    pub samples: i32,
    pub dominant: String,
    pub distribution: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i32,
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub session_id: Option<i32>,
    pub student_id: Option<i32>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub reason: String,
}

/// A roster line, already validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RosterEntry {
    pub student_id: String,
    pub first_name: String,
    pub last_name: String,
    pub class: String,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct RosterChanges {
    pub classes_created: usize,
    pub students_added: usize,
    pub students_updated: usize,
}

/// What a sighting did to the session's record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum MarkOutcome {
    /// The first sighting in this session: a new mark.
    Marked { status: Status, late_minutes: i64 },
    /// Already marked: only `last_seen` moved.
    Seen,
}

pub struct Store {
    conn: SqliteConnection,
    path: PathBuf,
}

fn now() -> NaiveDateTime {
    Local::now().naive_local()
}

/// Embeddings are stored as little-endian f32 bytes.
pub fn embedding_to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn embedding_from_bytes(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

impl Store {
    /// The database in the OS's app-data folder (e.g. `~/.local/share/rollcall/rollcall.sqlite3`,
    /// `%APPDATA%\Rollcall\data\` on Windows, `~/Library/Application Support/org.rollcall.Rollcall/`).
    pub fn default_path() -> PathBuf {
        directories::ProjectDirs::from("org", "rollcall", "Rollcall")
            .map(|d| d.data_dir().join("rollcall.sqlite3"))
            .unwrap_or_else(|| PathBuf::from("rollcall.sqlite3"))
    }

    /// Open (creating it and its folder if needed) and bring the schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let open_err = |reason: String| StoreError::Open { path: path.to_path_buf(), reason };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(format!("cannot create folder {}: {e}", dir.display())))?;
        }
        let url = path.to_str().ok_or_else(|| open_err("the path is not valid UTF-8".into()))?;
        let mut conn = SqliteConnection::establish(url).map_err(|e| open_err(e.to_string()))?;
        // busy_timeout first: the other pragmas may already need the lock.
        diesel::sql_query("PRAGMA busy_timeout = 5000").execute(&mut conn)?;
        diesel::sql_query("PRAGMA foreign_keys = ON").execute(&mut conn)?;
        // WAL needs write access; on a read-only file keep the default journal and let writes fail clearly.
        let _ = diesel::sql_query("PRAGMA journal_mode = WAL").execute(&mut conn);
        diesel::sql_query("PRAGMA synchronous = NORMAL").execute(&mut conn)?;
        conn.run_pending_migrations(MIGRATIONS).map_err(|e| {
            classify(&e.to_string()).unwrap_or_else(|| open_err(format!("schema migration failed: {e}")))
        })?;
        Ok(Store { conn, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

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
        if self.class(name).is_ok() {
            return Err(StoreError::Other(format!("class {name} already exists")));
        }
        diesel::insert_into(classes::table)
            .values((
                classes::name.eq(name),
                classes::session_start.eq(start.map(|t| t.format("%H:%M").to_string())),
                classes::late_after_minutes.eq(late_after_minutes),
            ))
            .execute(&mut self.conn)?;
        self.class(name)
    }

    /// Set a class's lesson start ("HH:MM", or None: sessions start when their run starts) and grace.
    pub fn set_class_rules(&mut self, name: &str, start: Option<NaiveTime>, late_after_minutes: i32) -> Result<Class> {
        let class = self.class(name)?;
        diesel::update(classes::table.find(class.id))
            .set((
                classes::session_start.eq(start.map(|t| t.format("%H:%M").to_string())),
                classes::late_after_minutes.eq(late_after_minutes),
            ))
            .execute(&mut self.conn)?;
        self.class(name)
    }

    // ---- roster --------------------------------------------------------------------

    /// Apply a validated roster in one transaction: classes are created as needed, students added
    /// or updated (name, class) by their student id. All or nothing.
    pub fn apply_roster(&mut self, entries: &[RosterEntry]) -> Result<RosterChanges> {
        self.conn.immediate_transaction(|conn| {
            let mut changes = RosterChanges::default();
            for e in entries {
                let class_id: i32 = match classes::table.filter(classes::name.eq(&e.class)).select(classes::id).first(conn).optional()? {
                    Some(id) => id,
                    None => {
                        changes.classes_created += 1;
                        diesel::insert_into(classes::table).values(classes::name.eq(&e.class)).returning(classes::id).get_result(conn)?
                    }
                };
                let existing: Option<i32> =
                    students::table.filter(students::student_id.eq(&e.student_id)).select(students::id).first(conn).optional()?;
                match existing {
                    Some(id) => {
                        diesel::update(students::table.find(id))
                            .set((students::first_name.eq(&e.first_name), students::last_name.eq(&e.last_name), students::class_id.eq(class_id)))
                            .execute(conn)?;
                        changes.students_updated += 1;
                    }
                    None => {
                        diesel::insert_into(students::table)
                            .values((
                                students::student_id.eq(&e.student_id),
                                students::first_name.eq(&e.first_name),
                                students::last_name.eq(&e.last_name),
                                students::class_id.eq(class_id),
                            ))
                            .execute(conn)?;
                        changes.students_added += 1;
                    }
                }
            }
            Ok::<_, DieselError>(changes)
        })
        .map_err(Into::into)
    }

    /// Students (of one class, or all) with their class name and number of enrolled photos.
    pub fn students(&mut self, class: Option<&str>) -> Result<Vec<(Student, String, i64)>> {
        let mut q = students::table
            .inner_join(classes::table)
            .select((Student::as_select(), classes::name))
            .order((classes::name, students::last_name, students::first_name))
            .into_boxed();
        if let Some(c) = class {
            q = q.filter(classes::name.eq(c.to_string()));
        }
        let rows: Vec<(Student, String)> = q.load(&mut self.conn)?;
        let counts: Vec<(i32, i64)> = enrolments::table
            .group_by(enrolments::student_id)
            .select((enrolments::student_id, diesel::dsl::count(enrolments::id)))
            .load(&mut self.conn)?;
        let counts: std::collections::HashMap<i32, i64> = counts.into_iter().collect();
        Ok(rows.into_iter().map(|(s, c)| { let n = counts.get(&s.id).copied().unwrap_or(0); (s, c, n) }).collect())
    }

    pub fn student(&mut self, student_id: &str) -> Result<Student> {
        students::table
            .filter(students::student_id.eq(student_id))
            .select(Student::as_select())
            .first(&mut self.conn)
            .optional()?
            .ok_or_else(|| StoreError::UnknownStudent(student_id.to_string()))
    }

    pub fn class_students(&mut self, class_id: i32) -> Result<Vec<Student>> {
        Ok(students::table
            .filter(students::class_id.eq(class_id))
            .order((students::last_name, students::first_name))
            .select(Student::as_select())
            .load(&mut self.conn)?)
    }

    /// Delete a student with all their data: embeddings, marks, moods (cascade). Logged.
    pub fn delete_student(&mut self, student_id: &str, actor: &str) -> Result<()> {
        let s = self.student(student_id)?;
        self.conn.immediate_transaction(|conn| {
            diesel::delete(students::table.find(s.id)).execute(conn)?;
            diesel::insert_into(audit_log::table)
                .values((
                    audit_log::at.eq(now()),
                    audit_log::actor.eq(actor),
                    audit_log::action.eq("delete_student"),
                    audit_log::old_value.eq(Some(format!("{} {}", s.student_id, s.name()))),
                    audit_log::reason.eq("student and biometric data deleted"),
                ))
                .execute(conn)?;
            Ok::<_, DieselError>(())
        })?;
        Ok(())
    }

    // ---- enrolment -----------------------------------------------------------------

    pub fn add_enrolments(&mut self, student: &Student, model_id: &str, items: &[(Vec<f32>, String, f32)]) -> Result<usize> {
        self.conn.immediate_transaction(|conn| {
            for (e, source, size) in items {
                diesel::insert_into(enrolments::table)
                    .values((
                        enrolments::student_id.eq(student.id),
                        enrolments::model_id.eq(model_id),
                        enrolments::embedding.eq(embedding_to_bytes(e)),
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

    /// Changes whenever the class's enrolled faces do (a photo added, a student deleted or
    /// moved): how many enrolments by `model_id` the class has and the newest one's id.
    pub fn gallery_version(&mut self, class_id: i32, model_id: &str) -> Result<(i64, Option<i32>)> {
        Ok(enrolments::table
            .inner_join(students::table)
            .filter(students::class_id.eq(class_id))
            .filter(enrolments::model_id.eq(model_id))
            .select((diesel::dsl::count(enrolments::id), diesel::dsl::max(enrolments::id)))
            .first(&mut self.conn)?)
    }

    /// The class's enrolled embeddings made by `model_id`, keyed by the students' row ids.
    pub fn gallery(&mut self, class_id: i32, model_id: &str) -> Result<Vec<Enrolled>> {
        let rows: Vec<(i32, Vec<u8>)> = enrolments::table
            .inner_join(students::table)
            .filter(students::class_id.eq(class_id))
            .filter(enrolments::model_id.eq(model_id))
            .order((students::id, enrolments::id))
            .select((students::id, enrolments::embedding))
            .load(&mut self.conn)?;
        let mut out: Vec<Enrolled> = Vec::new();
        for (sid, blob) in rows {
            let key = sid.to_string();
            match out.last_mut() {
                Some(last) if last.key == key => last.embeddings.push(embedding_from_bytes(&blob)),
                _ => out.push(Enrolled { key, embeddings: vec![embedding_from_bytes(&blob)] }),
            }
        }
        Ok(out)
    }

    // ---- sessions and marks ----------------------------------------------------------

    /// The class's session on `date`, created if it does not exist yet (running again the same
    /// day continues the same session).
    pub fn open_session(&mut self, class: &Class, date: NaiveDate, starts_at: NaiveDateTime, source: &str) -> Result<Session> {
        self.conn
            .immediate_transaction(|conn| -> std::result::Result<Session, DieselError> {
                if let Some(s) = sessions::table
                    .filter(sessions::class_id.eq(class.id))
                    .filter(sessions::date.eq(date))
                    .select(Session::as_select())
                    .first(conn)
                    .optional()?
                {
                    diesel::update(sessions::table.find(s.id)).set(sessions::closed_at.eq(None::<NaiveDateTime>)).execute(conn)?;
                    return Ok(s);
                }
                diesel::insert_into(sessions::table)
                    .values((
                        sessions::class_id.eq(class.id),
                        sessions::date.eq(date),
                        sessions::starts_at.eq(starts_at),
                        sessions::late_after_minutes.eq(class.late_after_minutes),
                        sessions::source.eq(source),
                        sessions::opened_at.eq(now()),
                    ))
                    .returning(Session::as_returning())
                    .get_result(conn)
            })
            .map_err(Into::into)
    }

    pub fn close_session(&mut self, session_id: i32, at: NaiveDateTime) -> Result<()> {
        diesel::update(sessions::table.find(session_id)).set(sessions::closed_at.eq(Some(at))).execute(&mut self.conn)?;
        Ok(())
    }

    pub fn session(&mut self, class: &Class, date: NaiveDate) -> Result<Option<Session>> {
        Ok(sessions::table
            .filter(sessions::class_id.eq(class.id))
            .filter(sessions::date.eq(date))
            .select(Session::as_select())
            .first(&mut self.conn)
            .optional()?)
    }

    pub fn sessions_between(&mut self, class: &Class, from: NaiveDate, to: NaiveDate) -> Result<Vec<Session>> {
        Ok(sessions::table
            .filter(sessions::class_id.eq(class.id))
            .filter(sessions::date.between(from, to))
            .order(sessions::date)
            .select(Session::as_select())
            .load(&mut self.conn)?)
    }

    /// Record that a student was seen. The first sighting creates the mark with the status the
    /// rules gave; later ones only move `last_seen` (and never touch a person's override).
    /// One transaction: committed when this returns.
    pub fn record_sighting(
        &mut self,
        session_id: i32,
        student_row: i32,
        at: NaiveDateTime,
        status: Status,
        late_minutes: i64,
        confidence: f32,
    ) -> Result<MarkOutcome> {
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
                        let first = m.first_seen.map_or(at, |f| f.min(at));
                        let last = m.last_seen.map_or(at, |l| l.max(at));
                        diesel::update(marks::table.find(m.id))
                            .set((marks::first_seen.eq(Some(first)), marks::last_seen.eq(Some(last))))
                            .execute(conn)?;
                        Ok(MarkOutcome::Seen)
                    }
                    None => {
                        diesel::insert_into(marks::table)
                            .values((
                                marks::session_id.eq(session_id),
                                marks::student_id.eq(student_row),
                                marks::status.eq(status.as_str()),
                                marks::auto_status.eq(Some(status.as_str())),
                                marks::first_seen.eq(Some(at)),
                                marks::last_seen.eq(Some(at)),
                                marks::late_minutes.eq(late_minutes as i32),
                                marks::confidence.eq(Some(confidence)),
                                marks::source.eq("auto"),
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

    /// A person changes a student's status for a session, with a reason. The camera's record
    /// (auto_status, first_seen, confidence) stays; the change is written to the audit log in
    /// the same transaction.
    pub fn override_status(&mut self, session_id: i32, student_row: i32, status: Status, reason: &str, actor: &str) -> Result<(Option<Status>, Status)> {
        self.conn
            .immediate_transaction(|conn| {
                let existing: Option<Mark> = marks::table
                    .filter(marks::session_id.eq(session_id))
                    .filter(marks::student_id.eq(student_row))
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
                                marks::student_id.eq(student_row),
                                marks::status.eq(status.as_str()),
                                marks::source.eq("manual"),
                            ))
                            .execute(conn)?;
                    }
                }
                diesel::insert_into(audit_log::table)
                    .values((
                        audit_log::at.eq(now()),
                        audit_log::actor.eq(actor),
                        audit_log::action.eq("override_status"),
                        audit_log::session_id.eq(Some(session_id)),
                        audit_log::student_id.eq(Some(student_row)),
                        audit_log::old_value.eq(Some(old.map_or("absent", Status::as_str))),
                        audit_log::new_value.eq(Some(status.as_str())),
                        audit_log::reason.eq(reason),
                    ))
                    .execute(conn)?;
                Ok::<_, DieselError>((old, status))
            })
            .map_err(Into::into)
    }

    pub fn audit_log(&mut self) -> Result<Vec<AuditEntry>> {
        Ok(audit_log::table.order(audit_log::id).select(AuditEntry::as_select()).load(&mut self.conn)?)
    }

    // ---- mood --------------------------------------------------------------------------

    pub fn save_mood(&mut self, session_id: i32, student_row: i32, samples: i32, dominant: &str, distribution_json: &str) -> Result<()> {
        diesel::insert_into(mood_summaries::table)
            .values((
                mood_summaries::session_id.eq(session_id),
                mood_summaries::student_id.eq(student_row),
                mood_summaries::samples.eq(samples),
                mood_summaries::dominant.eq(dominant),
                mood_summaries::distribution.eq(distribution_json),
            ))
            .on_conflict((mood_summaries::session_id, mood_summaries::student_id))
            .do_update()
            .set((
                mood_summaries::samples.eq(samples),
                mood_summaries::dominant.eq(dominant),
                mood_summaries::distribution.eq(distribution_json),
            ))
            .execute(&mut self.conn)?;
        Ok(())
    }

    pub fn moods(&mut self, session_id: i32) -> Result<Vec<MoodRow>> {
        Ok(mood_summaries::table.filter(mood_summaries::session_id.eq(session_id)).select(MoodRow::as_select()).load(&mut self.conn)?)
    }

    // ---- settings ------------------------------------------------------------------------

    pub fn setting(&mut self, key: &str) -> Result<Option<String>> {
        Ok(settings::table.find(key).select(settings::value).first(&mut self.conn).optional()?)
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        diesel::insert_into(settings::table)
            .values((settings::key.eq(key), settings::value.eq(value)))
            .on_conflict(settings::key)
            .do_update()
            .set(settings::value.eq(value))
            .execute(&mut self.conn)?;
        Ok(())
    }
}

/// Is this a unique-constraint failure (used by callers that race on creation)?
pub fn is_unique_violation(e: &DieselError) -> bool {
    matches!(e, DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
}
