//! Answering "what do you hold about my child?" (GDPR Art. 15 and 20) and the school's own
//! paperwork (a DPIA, a BIPA retention schedule), from the live data:
//! - `export_student`: everything held about one student, as JSON (schema:
//!   `docs/schemas/student-export.schema.json`): identity, classes, consent history, every mark
//!   with how it was made, mood summaries, audit entries naming them, and the face templates'
//!   metadata. Not the template vectors: a template is a biometric identifier, useless to a parent
//!   and dangerous in a file sent by e-mail.
//! - `report`: a Markdown privacy report of what is processed, where, for how long, on what
//!   consent, with which models.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use chrono::{Local, NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::consent::{self, ConsentEvent, ConsentRequest, ConsentState};
use crate::files::{self, Protected};
use crate::report;
use crate::retention::Policy;
use crate::runtime;
use crate::settings;
use crate::storage::{AuditEntry, ConsentChange, Store, TemplateInfo};

pub const EXPORT_FORMAT: &str = "rollcall-student-export";
pub const EXPORT_VERSION: u32 = 1;
const WHY_NO_VECTORS: &str = "The face templates themselves (512 numbers each) are not included: they are a biometric identifier that only Rollcall can use, and a copy outside the school's database could be misused. Their dates, source and model are listed; deleting the student, or withdrawing consent, deletes them.";

#[derive(Debug, Serialize)]
pub struct StudentExport {
    pub format: &'static str,
    pub version: u32,
    pub exported_at: NaiveDateTime,
    pub school: Option<String>,
    pub student: Identity,
    pub classes: Vec<ClassMembership>,
    pub consent_state: ConsentState,
    pub consent: Vec<ConsentEvent>,
    pub marks: Vec<MarkRecord>,
    pub moods: Vec<MoodRecord>,
    pub audit: Vec<AuditEntry>,
    pub face_templates: Templates,
}

#[derive(Debug, Serialize)]
pub struct Identity {
    pub student_id: String,
    pub first_name: String,
    pub last_name: String,
    pub added_at: NaiveDateTime,
    pub last_recognised_at: Option<NaiveDateTime>,
}

#[derive(Debug, Serialize)]
pub struct ClassMembership {
    pub class: String,
    pub joined_on: Option<NaiveDate>,
    pub left_on: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
pub struct MarkRecord {
    pub date: NaiveDate,
    pub class: String,
    pub status: String,
    /// "camera", "by hand" or "corrected".
    pub how: &'static str,
    pub camera_status: Option<String>,
    pub first_seen: Option<NaiveDateTime>,
    pub last_seen: Option<NaiveDateTime>,
    pub late_minutes: i32,
}

#[derive(Debug, Serialize)]
pub struct MoodRecord {
    pub date: NaiveDate,
    pub class: String,
    pub dominant: String,
    pub samples: i32,
    pub distribution: serde_json::Value,
}

#[derive(Debug, Serialize)]
pub struct Templates {
    pub count: usize,
    pub templates: Vec<TemplateInfo>,
    pub why_no_vectors: &'static str,
}

/// Everything held about one student.
pub fn export_student(store: &mut Store, student_id: &str) -> anyhow::Result<StudentExport> {
    let s = store.student(student_id)?;
    let mut class_names: BTreeMap<i32, String> = BTreeMap::new();
    let mut class_name = |store: &mut Store, id: i32| -> anyhow::Result<String> {
        if let Some(n) = class_names.get(&id) {
            return Ok(n.clone());
        }
        let n = store.class_by_id(id)?.name;
        class_names.insert(id, n.clone());
        Ok(n)
    };
    let classes = store.memberships(s.id)?.into_iter().map(|(c, m)| ClassMembership { class: c.name, joined_on: m.joined_on, left_on: m.left_on }).collect();
    let consent = store.consent_history(s.id)?;
    let mut marks = Vec::new();
    // Every mark: SQLite compares dates as text, so the bounds are four-digit years.
    let (first, last) = (NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default(), NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default());
    let mut all = store.student_marks(s.id, first, last)?;
    all.sort_by_key(|(session, _)| (session.date, session.starts_at));
    for (session, m) in all {
        marks.push(MarkRecord {
            date: session.date,
            class: class_name(store, session.class_id)?,
            how: report::how_marked(&m),
            status: m.status,
            camera_status: m.auto_status,
            first_seen: m.first_seen,
            last_seen: m.last_seen,
            late_minutes: m.late_minutes,
        });
    }
    let mut moods = Vec::new();
    for (session, m) in store.student_moods(s.id)? {
        moods.push(MoodRecord {
            date: session.date,
            class: class_name(store, session.class_id)?,
            dominant: m.dominant,
            samples: m.samples,
            distribution: serde_json::from_str(&m.distribution).unwrap_or(serde_json::Value::Null),
        });
    }
    let templates = store.template_info(s.id)?;
    Ok(StudentExport {
        format: EXPORT_FORMAT,
        version: EXPORT_VERSION,
        exported_at: Local::now().naive_local(),
        school: store.setting(settings::SCHOOL_NAME)?,
        consent_state: consent::state(&consent),
        student: Identity {
            student_id: s.student_id.clone(),
            first_name: s.first_name.clone(),
            last_name: s.last_name.clone(),
            added_at: s.created_at,
            last_recognised_at: store.last_recognised(s.id)?,
        },
        classes,
        consent,
        marks,
        moods,
        audit: store.audit_of(s.id)?,
        face_templates: Templates { count: templates.len(), templates, why_no_vectors: WHY_NO_VECTORS },
    })
}

/// Write a student's export to `out` (JSON, private to its owner; never over the database or an
/// existing file unless `overwrite`), audited under `actor`.
pub fn write_student_export(store: &mut Store, student_id: &str, out: &Path, overwrite: bool, actor: &str) -> anyhow::Result<StudentExport> {
    let export = export_student(store, student_id)?;
    let protected = Protected { database: store.files().to_vec(), inputs: Vec::new() };
    files::write_file(out, overwrite, &protected, |tmp| Ok(std::fs::write(tmp, serde_json::to_vec_pretty(&export)?)?))?;
    store.audit_database_event(actor, "export_student", format!("everything held about student {student_id} exported to {}", out.display()))?;
    Ok(export)
}

/// Write the privacy report to `out` (Markdown), as `write_student_export` writes.
pub fn write_report(store: &mut Store, out: &Path, overwrite: bool) -> anyhow::Result<String> {
    let text = report(store)?;
    let protected = Protected { database: store.files().to_vec(), inputs: Vec::new() };
    files::write_file(out, overwrite, &protected, |tmp| Ok(std::fs::write(tmp, &text)?))?;
    Ok(text)
}

/// What recording a consent event did, for the one who recorded it.
#[derive(Debug, Serialize)]
pub struct ConsentRecorded {
    pub student_id: String,
    pub name: String,
    pub event: ConsentEvent,
    #[serde(flatten)]
    pub change: ConsentChange,
}

/// Record a consent event for a student (the CLI's `consent ID grant|withdraw|object` and the
/// app's editor). Checked first (a known student, someone named, no future date): on an error
/// nothing is written.
pub fn record_consent(store: &mut Store, student_id: &str, request: ConsentRequest, recorded_by: &str) -> anyhow::Result<ConsentRecorded> {
    let s = store.student(student_id)?;
    let event = request.into_event(recorded_by, Local::now().naive_local()).map_err(anyhow::Error::msg)?;
    let change = store.record_consent(&s, &event)?;
    Ok(ConsentRecorded { student_id: s.student_id.clone(), name: s.name(), event, change })
}

/// The same consent event for several students (a class's returned forms), all checked before
/// any is written, recorded in one transaction. How many were recorded.
pub fn record_consent_bulk(store: &mut Store, student_ids: &[String], request: ConsentRequest, recorded_by: &str) -> anyhow::Result<usize> {
    anyhow::ensure!(!student_ids.is_empty(), "choose the students whose forms were received");
    let event = request.into_event(recorded_by, Local::now().naive_local()).map_err(anyhow::Error::msg)?;
    let mut work = Vec::with_capacity(student_ids.len());
    for id in student_ids {
        work.push((store.student(id)?, event.clone()));
    }
    Ok(store.record_consents(&work)?.len())
}

/// What a student's leaving did.
#[derive(Debug, Serialize)]
pub struct Leaving {
    pub student_id: String,
    pub name: String,
    pub classes_left: Vec<String>,
    /// Face templates deleted at once (the retention policy's days after leaving is 0).
    pub templates_deleted: usize,
}

/// A student leaves the school: archived (their register kept), their face templates deleted as
/// the retention policy says (at once by default).
pub fn leave_school(store: &mut Store, student_id: &str, actor: &str) -> anyhow::Result<Leaving> {
    let s = store.student(student_id)?;
    let classes_left = store.leave_school(&s, actor)?;
    anyhow::ensure!(!classes_left.is_empty(), "{} ({}) is in no class: they have already left", s.student_id, s.name());
    let templates_deleted = crate::retention::purge_leavers(store, actor)?.templates_of_students_who_left;
    Ok(Leaving { student_id: s.student_id.clone(), name: s.name(), classes_left, templates_deleted })
}

/// A student's consent as it stands, with its full history (the CLI's `consent ID`, the app's editor).
#[derive(Debug, Serialize)]
pub struct ConsentHistory {
    pub student_id: String,
    pub name: String,
    pub state: ConsentState,
    pub history: Vec<ConsentEvent>,
}

pub fn consent_of(store: &mut Store, student_id: &str) -> anyhow::Result<ConsentHistory> {
    let s = store.student(student_id)?;
    let history = store.consent_history(s.id)?;
    Ok(ConsentHistory { student_id: s.student_id.clone(), name: s.name(), state: consent::state(&history), history })
}

/// One student's consent as it stands, with its history.
#[derive(Debug, Serialize)]
pub struct StudentConsent {
    pub student_id: String,
    pub name: String,
    pub class: Option<String>,
    pub state: ConsentState,
    pub enrolled_photos: i64,
    pub history: Vec<ConsentEvent>,
}

/// Each student's consent (of a class, or of the school), with their histories.
pub fn consent_list(store: &mut Store, class: Option<&str>) -> anyhow::Result<Vec<StudentConsent>> {
    let students = store.students(class)?;
    let mut histories = store.consent_histories(&students.iter().map(|s| s.student.id).collect::<Vec<_>>())?;
    Ok(students
        .into_iter()
        .map(|s| StudentConsent {
            student_id: s.student.student_id.clone(),
            name: s.student.name(),
            class: s.class,
            state: s.consent,
            enrolled_photos: s.enrolled_photos,
            history: histories.remove(&s.student.id).unwrap_or_default(),
        })
        .collect())
}

/// Consent counts of one class (its current members).
#[derive(Debug, Default, Serialize)]
pub struct ClassConsent {
    pub class: String,
    pub students: usize,
    pub granted: usize,
    pub missing: usize,
    pub withdrawn: usize,
    pub objected: usize,
    /// Students with face templates but no usable consent (enrolled before consent was recorded):
    /// never used for recognition; record consent or delete them.
    pub templates_without_consent: usize,
}

pub fn consent_by_class(store: &mut Store) -> anyhow::Result<Vec<ClassConsent>> {
    let students = store.students(None)?;
    let mut out: BTreeMap<String, ClassConsent> = store.classes()?.into_iter().map(|c| (c.name.clone(), ClassConsent { class: c.name, ..Default::default() })).collect();
    for s in &students {
        let Some(c) = s.class.as_ref().and_then(|c| out.get_mut(c)) else { continue };
        c.students += 1;
        match s.consent {
            ConsentState::Granted => c.granted += 1,
            ConsentState::None => c.missing += 1,
            ConsentState::Withdrawn => c.withdrawn += 1,
            ConsentState::Objected => c.objected += 1,
        }
        if !s.consent.usable() && s.enrolled_photos > 0 {
            c.templates_without_consent += 1;
        }
    }
    Ok(out.into_values().collect())
}

/// The school's privacy report, in Markdown.
pub fn report(store: &mut Store) -> anyhow::Result<String> {
    let now = Local::now().naive_local();
    let school = store.setting(settings::SCHOOL_NAME)?.unwrap_or_else(|| "(school name not set)".into());
    let mood = settings::mood_enabled(store)?;
    let policy = Policy::read(store)?;
    let (templates, templated_students, models) = store.template_totals()?;
    let (sessions, marks, first, last) = store.register_totals()?;
    let students = store.students(None)?;
    let classes = consent_by_class(store)?;
    let last_purge = store.last_purge()?;
    let moods = store.mood_count()?;
    let overview = report::class_overview(store)?;
    let mut w = String::new();
    writeln!(w, "# Privacy report: {school}")?;
    writeln!(w)?;
    writeln!(w, "Generated by Rollcall {} on {} from the live database at `{}`.", env!("CARGO_PKG_VERSION"), now.format("%Y-%m-%d %H:%M"), store.path().display())?;
    writeln!(w)?;
    writeln!(w, "## What is processed")?;
    writeln!(w)?;
    writeln!(w, "- **Students**: {} in {} class(es): school id, first and last name, classes and the dates they were in them.", students.len(), overview.len())?;
    writeln!(w, "- **Face templates** (biometric data): {templates} template(s) of {templated_students} student(s), computed from enrolment photos; the photos themselves are never stored. Used only to recognise students of a class while its register is taken, and only while their consent is on record.")?;
    writeln!(w, "- **Attendance**: {sessions} register(s) with {marks} mark(s){}; each mark records whether it was made by the camera, by hand, or corrected (who and why, in the audit log).", match (first, last) {
        (Some(a), Some(b)) => format!(", from {a} to {b}"),
        _ => String::new(),
    })?;
    if mood {
        writeln!(w, "- **Mood recognition is ON**: the dominant facial expression of recognised students is summarised per register ({moods} summaries stored). In the EU this is prohibited in schools (AI Act Art. 5(1)(f)) except for medical or safety reasons.")?;
    } else {
        writeln!(w, "- **Mood recognition is off**: the expression model is never run and no mood is stored ({moods} summaries from earlier sessions remain).")?;
    }
    writeln!(w, "- Camera pictures are analysed as they arrive and never stored. A camera's password is never stored.")?;
    writeln!(w)?;
    writeln!(w, "## Where it is stored")?;
    writeln!(w)?;
    writeln!(w, "One SQLite database on this computer, `{}`, readable by its owner's account only. Nothing is sent over a network. Deleted records are overwritten in the file.", store.path().display())?;
    writeln!(w)?;
    writeln!(w, "## Consent")?;
    writeln!(w)?;
    writeln!(w, "Biometric data is processed only with a parent's written consent on record and no objection by a parent or the student (Protection of Freedoms Act 2012 ss. 26-28). Students without it are registered by hand.")?;
    writeln!(w)?;
    writeln!(w, "| class | students | consent granted | no consent on record | withdrawn | objected | templates without consent |")?;
    writeln!(w, "|---|---|---|---|---|---|---|")?;
    for c in &classes {
        writeln!(w, "| {} | {} | {} | {} | {} | {} | {} |", c.class, c.students, c.granted, c.missing, c.withdrawn, c.objected, c.templates_without_consent)?;
    }
    let without: usize = classes.iter().map(|c| c.templates_without_consent).sum();
    if without > 0 {
        writeln!(w)?;
        writeln!(w, "{without} student(s) have face templates but no usable consent (enrolled before consent was recorded). They are never used; record consent or delete the templates (`rollcall delete-student`, or withdraw).")?;
    }
    writeln!(w)?;
    writeln!(w, "## Retention in force")?;
    writeln!(w)?;
    for s in policy.sentences() {
        writeln!(w, "- {s}")?;
    }
    writeln!(w)?;
    match last_purge {
        Some(p) => writeln!(w, "Last purge: {} ({}): {}.", p.at.format("%Y-%m-%d %H:%M"), p.actor, p.reason)?,
        None => writeln!(w, "No purge has run yet (`rollcall purge`; the app runs it at start and once a day).")?,
    }
    writeln!(w)?;
    writeln!(w, "## Models")?;
    writeln!(w)?;
    writeln!(w, "| model | file | sha256 |")?;
    writeln!(w, "|---|---|---|")?;
    for m in runtime::ALL_MODELS {
        writeln!(w, "| {} | `{}` | `{}` |", m.name, m.relative_path, m.sha256)?;
    }
    if !models.is_empty() {
        writeln!(w)?;
        writeln!(w, "Templates stored were made by: {}.", models.join(", "))?;
    }
    writeln!(w)?;
    writeln!(w, "## What the school must still do")?;
    writeln!(w)?;
    writeln!(w, "- Notify every parent before processing, and keep the signed consent forms (Rollcall keeps their dates and who signed, not the forms).")?;
    writeln!(w, "- Carry out and keep a data protection impact assessment (GDPR Art. 35) before using face recognition; this report gives its facts.")?;
    writeln!(w, "- Publish the retention schedule above (Illinois BIPA) and answer access and erasure requests (`rollcall export-student`, `rollcall delete-student`).")?;
    writeln!(w, "- Offer every student the alternative (registration by hand) without disadvantage.")?;
    Ok(w)
}
