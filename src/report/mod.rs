//! Reports built from the database: the day's roll of a class, a student's history, and a
//! class summary over a date range. The Excel export (`xlsx`) is made from these same figures,
//! so the screen, the JSON and the spreadsheet always agree.

pub mod xlsx;

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::attendance::Status;
use crate::storage::{Mark, MoodRow, Session, Store, Student};

#[derive(Debug, Clone, Serialize)]
pub struct StudentDay {
    pub student_id: String,
    pub name: String,
    pub status: Status,
    pub first_seen: Option<NaiveDateTime>,
    pub last_seen: Option<NaiveDateTime>,
    pub late_minutes: i64,
    pub mood: Option<String>,
    pub mood_distribution: Option<BTreeMap<String, f64>>,
    pub mood_samples: i64,
    /// "auto" (the camera) or "manual" (a person's override).
    pub source: Option<String>,
    /// What the camera decided, when a person changed it.
    pub auto_status: Option<Status>,
    pub confidence: Option<f32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DailyReport {
    pub class: String,
    pub date: NaiveDate,
    pub session_held: bool,
    pub session_starts_at: Option<NaiveDateTime>,
    pub students: Vec<StudentDay>,
    pub counts: BTreeMap<String, usize>,
}

fn student_day(s: &Student, mark: Option<&Mark>, mood: Option<&MoodRow>) -> StudentDay {
    StudentDay {
        student_id: s.student_id.clone(),
        name: s.name(),
        status: mark.and_then(|m| Status::parse(&m.status)).unwrap_or(Status::Absent),
        first_seen: mark.and_then(|m| m.first_seen),
        last_seen: mark.and_then(|m| m.last_seen),
        late_minutes: mark.map_or(0, |m| m.late_minutes as i64),
        mood: mood.map(|m| m.dominant.clone()),
        mood_distribution: mood.and_then(|m| serde_json::from_str(&m.distribution).ok()),
        mood_samples: mood.map_or(0, |m| m.samples as i64),
        source: mark.map(|m| m.source.clone()),
        auto_status: mark.and_then(|m| m.auto_status.as_deref()).and_then(Status::parse).filter(|a| Some(*a) != mark.and_then(|m| Status::parse(&m.status))),
        confidence: mark.and_then(|m| m.confidence),
    }
}

/// Every enrolled student's day: absent unless marked.
fn session_days(store: &mut Store, students: &[Student], session: Option<&Session>) -> anyhow::Result<Vec<StudentDay>> {
    let (marks, moods) = match session {
        Some(s) => (store.marks(s.id)?, store.moods(s.id)?),
        None => (Vec::new(), Vec::new()),
    };
    Ok(students
        .iter()
        .map(|s| student_day(s, marks.iter().find(|m| m.student_id == s.id), moods.iter().find(|m| m.student_id == s.id)))
        .collect())
}

fn count(days: &[StudentDay]) -> BTreeMap<String, usize> {
    Status::ALL.iter().map(|st| (st.as_str().to_string(), days.iter().filter(|d| d.status == *st).count())).collect()
}

pub fn daily(store: &mut Store, class: &str, date: NaiveDate) -> anyhow::Result<DailyReport> {
    let c = store.class(class)?;
    let session = store.session(&c, date)?;
    let students = store.class_students(c.id)?;
    let days = session_days(store, &students, session.as_ref())?;
    Ok(DailyReport {
        class: c.name,
        date,
        session_held: session.is_some(),
        session_starts_at: session.map(|s| s.starts_at),
        counts: count(&days),
        students: days,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryDay {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub day: StudentDay,
}

#[derive(Debug, Clone, Serialize)]
pub struct StudentHistory {
    pub student_id: String,
    pub name: String,
    pub class: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: Vec<HistoryDay>,
    pub counts: BTreeMap<String, usize>,
    pub attendance_rate: Option<f64>,
}

pub fn history(store: &mut Store, student_id: &str, from: NaiveDate, to: NaiveDate) -> anyhow::Result<StudentHistory> {
    let s = store.student(student_id)?;
    let class = store.class_by_id(s.class_id)?;
    let mut days = Vec::new();
    for session in store.sessions_between(&class, from, to)? {
        let d = session_days(store, std::slice::from_ref(&s), Some(&session))?.remove(0);
        days.push(HistoryDay { date: session.date, day: d });
    }
    let plain: Vec<StudentDay> = days.iter().map(|d| d.day.clone()).collect();
    Ok(StudentHistory {
        student_id: s.student_id.clone(),
        name: s.name(),
        class: class.name,
        from,
        to,
        attendance_rate: rate(&plain),
        counts: count(&plain),
        days,
    })
}

/// Share of sessions attended (present or late); excused sessions do not count against.
fn rate(days: &[StudentDay]) -> Option<f64> {
    let counted = days.iter().filter(|d| d.status != Status::Excused).count();
    let attended = days.iter().filter(|d| matches!(d.status, Status::Present | Status::Late)).count();
    (counted > 0).then(|| attended as f64 / counted as f64)
}

#[derive(Debug, Clone, Serialize)]
pub struct StudentSummary {
    pub student_id: String,
    pub name: String,
    pub counts: BTreeMap<String, usize>,
    pub attendance_rate: Option<f64>,
    pub late_minutes_total: i64,
    /// Dominant mood over the range (most frequent daily dominant mood).
    pub mood: Option<String>,
    /// Status per session date, for the grid.
    pub by_date: BTreeMap<NaiveDate, Status>,
    pub mood_by_date: BTreeMap<NaiveDate, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassSummary {
    pub class: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub dates: Vec<NaiveDate>,
    pub students: Vec<StudentSummary>,
    pub counts: BTreeMap<String, usize>,
    pub attendance_rate: Option<f64>,
}

pub fn summary(store: &mut Store, class: &str, from: NaiveDate, to: NaiveDate) -> anyhow::Result<ClassSummary> {
    let c = store.class(class)?;
    let students = store.class_students(c.id)?;
    let sessions = store.sessions_between(&c, from, to)?;
    let mut per_student: Vec<Vec<(NaiveDate, StudentDay)>> = vec![Vec::new(); students.len()];
    for session in &sessions {
        for (k, d) in session_days(store, &students, Some(session))?.into_iter().enumerate() {
            per_student[k].push((session.date, d));
        }
    }
    let mut all = Vec::new();
    let rows: Vec<StudentSummary> = students
        .iter()
        .zip(per_student)
        .map(|(s, days)| {
            let plain: Vec<StudentDay> = days.iter().map(|(_, d)| d.clone()).collect();
            all.extend(plain.iter().cloned());
            let mut mood_counts: BTreeMap<String, usize> = BTreeMap::new();
            for d in &plain {
                if let Some(m) = &d.mood {
                    *mood_counts.entry(m.clone()).or_default() += 1;
                }
            }
            StudentSummary {
                student_id: s.student_id.clone(),
                name: s.name(),
                counts: count(&plain),
                attendance_rate: rate(&plain),
                late_minutes_total: plain.iter().map(|d| d.late_minutes).sum(),
                mood: mood_counts.into_iter().max_by_key(|(_, n)| *n).map(|(m, _)| m),
                by_date: days.iter().map(|(date, d)| (*date, d.status)).collect(),
                mood_by_date: days.iter().filter_map(|(date, d)| d.mood.clone().map(|m| (*date, m))).collect(),
            }
        })
        .collect();
    Ok(ClassSummary {
        class: c.name,
        from,
        to,
        dates: sessions.iter().map(|s| s.date).collect(),
        counts: count(&all),
        attendance_rate: rate(&all),
        students: rows,
    })
}

/// A class at a glance: how many students, how many of them can be recognised.
#[derive(Debug, Clone, Serialize)]
pub struct ClassOverview {
    pub name: String,
    pub session_start: Option<String>,
    pub late_after_minutes: i32,
    pub students: usize,
    /// Students with at least one enrolled face.
    pub enrolled: usize,
}

pub fn class_overview(store: &mut Store) -> anyhow::Result<Vec<ClassOverview>> {
    let classes = store.classes()?;
    let students = store.students(None)?;
    Ok(classes
        .into_iter()
        .map(|c| {
            let members: Vec<_> = students.iter().filter(|(s, _, _)| s.class_id == c.id).collect();
            ClassOverview {
                students: members.len(),
                enrolled: members.iter().filter(|(_, _, photos)| *photos > 0).count(),
                name: c.name,
                session_start: c.session_start,
                late_after_minutes: c.late_after_minutes,
            }
        })
        .collect())
}
