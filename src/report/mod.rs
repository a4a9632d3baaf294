//! Reports built from the database: the day's roll of a class, a student's history, and a
//! class summary over a date range. The Excel export (`xlsx`) is made from these same figures,
//! so the screen, the JSON and the spreadsheet always agree.
//!
//! Who is on a day's register: the class's members that day (memberships have dates, so a
//! student who moved or left stays on the registers of the days they were in the class), and
//! anybody marked in the session. Mood appears only while mood recognition is on.

pub mod xlsx;

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;

use crate::attendance::{lessons, Status};
use crate::storage::{Class, LessonSlot, Mark, Membership, MoodRow, Session, Store, Student};

#[derive(Debug, Clone, Serialize)]
pub struct StudentDay {
    pub student_id: String,
    pub name: String,
    /// `None` when no register was taken that day (no session): nobody is absent from a
    /// register that was never taken.
    pub status: Option<Status>,
    pub first_seen: Option<NaiveDateTime>,
    pub last_seen: Option<NaiveDateTime>,
    pub late_minutes: i64,
    pub mood: Option<String>,
    pub mood_distribution: Option<BTreeMap<String, f64>>,
    pub mood_samples: i64,
    /// "auto" (the camera) or "manual" (a person's override).
    pub source: Option<String>,
    /// How the mark was made: "camera", "by hand" (a person registered the student) or
    /// "corrected" (a person changed what the camera recorded). `None`: no mark.
    pub how: Option<&'static str>,
    /// The camera cannot recognise this student (no consent, an objection, or no face enrolled):
    /// a person registers them.
    pub by_hand: bool,
    /// What the camera decided, when a person changed it.
    pub auto_status: Option<Status>,
    pub confidence: Option<f32>,
    /// Why a person should check the mark (the camera marked a face judged a photo or a screen).
    pub review: Option<String>,
}

/// One lesson's register on a day.
#[derive(Debug, Clone, Serialize)]
pub struct LessonRoll {
    /// The lesson's scheduled start ("HH:MM"), its name within the day; "" for the day's register
    /// of a class with no lesson times that was not taken.
    pub lesson: String,
    /// The lesson's scheduled end ("HH:MM"), when a timetable gives one.
    pub ends: Option<String>,
    /// A session exists for the lesson (running or closed); without one nobody is counted absent.
    pub held: bool,
    /// The session is still running (its unseen students are absent so far).
    pub open: bool,
    /// What lateness was judged against.
    pub starts_at: Option<NaiveDateTime>,
    /// Students only a person can register (see `StudentDay::by_hand`) with no mark yet.
    pub to_mark_by_hand: usize,
    pub students: Vec<StudentDay>,
    pub counts: BTreeMap<String, usize>,
}

/// A class's day: each of its lessons (held, running, or timetabled and not taken), in the order
/// of the day. A class with one lesson a day has one.
#[derive(Debug, Clone, Serialize)]
pub struct DailyReport {
    pub class: String,
    pub date: NaiveDate,
    /// Whether mood is shown (mood recognition on).
    pub mood: bool,
    pub lessons: Vec<LessonRoll>,
    /// Some lesson was held that day.
    pub session_held: bool,
    /// Some lesson is still running.
    pub session_open: bool,
    /// The day: every held lesson's marks, each student counted once per lesson.
    pub counts: BTreeMap<String, usize>,
}

fn student_day(s: &Student, session: Option<&Session>, mark: Option<&Mark>, mood: Option<&MoodRow>) -> StudentDay {
    StudentDay {
        student_id: s.student_id.clone(),
        name: s.name(),
        status: session.map(|_| mark.and_then(|m| Status::parse(&m.status)).unwrap_or(Status::Absent)),
        first_seen: mark.and_then(|m| m.first_seen),
        last_seen: mark.and_then(|m| m.last_seen),
        late_minutes: mark.map_or(0, |m| m.late_minutes as i64),
        mood: mood.map(|m| m.dominant.clone()),
        mood_distribution: mood.and_then(|m| serde_json::from_str(&m.distribution).ok()),
        mood_samples: mood.map_or(0, |m| m.samples as i64),
        source: mark.map(|m| m.source.clone()),
        how: mark.map(how_marked),
        by_hand: false,
        auto_status: mark.and_then(|m| m.auto_status.as_deref()).and_then(Status::parse).filter(|a| Some(*a) != mark.and_then(|m| Status::parse(&m.status))),
        confidence: mark.and_then(|m| m.confidence),
        review: mark.and_then(|m| m.review.clone()),
    }
}

/// What was recorded in one lesson: its marks, and its mood summaries while mood is on.
#[derive(Default)]
struct Recorded {
    marks: Vec<Mark>,
    moods: Vec<MoodRow>,
}

impl Recorded {
    /// Every listed session's records, read together (a term is hundreds of lessons).
    fn of_all(store: &mut Store, sessions: &[&Session], mood: bool) -> anyhow::Result<HashMap<i32, Recorded>> {
        let ids: Vec<i32> = sessions.iter().map(|s| s.id).collect();
        let mut all: HashMap<i32, Recorded> = ids.iter().map(|id| (*id, Recorded::default())).collect();
        for m in store.marks_of_sessions(&ids)? {
            all.entry(m.session_id).or_default().marks.push(m);
        }
        if mood {
            for m in store.moods_of_sessions(&ids)? {
                all.entry(m.session_id).or_default().moods.push(m);
            }
        }
        Ok(all)
    }
}

/// Each listed student's day in a session: absent unless marked.
fn session_days(students: &[Student], session: Option<&Session>, recorded: &Recorded) -> Vec<StudentDay> {
    students
        .iter()
        .map(|s| student_day(s, session, recorded.marks.iter().find(|m| m.student_id == s.id), recorded.moods.iter().find(|m| m.student_id == s.id)))
        .collect()
}

fn count(days: &[StudentDay]) -> BTreeMap<String, usize> {
    Status::ALL.iter().map(|st| (st.as_str().to_string(), days.iter().filter(|d| d.status == Some(*st)).count())).collect()
}

/// The students on a session's register: members that day, then anybody else marked in it.
fn on_register(store: &mut Store, register: &[(Student, Vec<Membership>)], date: NaiveDate, marks: &[Mark]) -> anyhow::Result<Vec<Student>> {
    let mut students: Vec<Student> = register.iter().filter(|(_, ms)| ms.iter().any(|m| m.active_on(date))).map(|(s, _)| s.clone()).collect();
    let extra: Vec<i32> = marks.iter().map(|m| m.student_id).filter(|id| !students.iter().any(|s| s.id == *id)).collect();
    if !extra.is_empty() {
        students.extend(store.students_by_row(&extra)?);
    }
    Ok(students)
}

/// How a mark was made: "camera", "by hand" (a person registered the student: no camera record)
/// or "corrected" (a person changed what the camera recorded).
pub fn how_marked(mark: &crate::storage::Mark) -> &'static str {
    match (mark.source.as_str(), &mark.auto_status) {
        ("auto", _) => "camera",
        (_, Some(_)) => "corrected",
        _ => "by hand",
    }
}

pub fn daily(store: &mut Store, class: &str, date: NaiveDate) -> anyhow::Result<DailyReport> {
    let c = store.class(class)?;
    let mood = crate::settings::mood_enabled(store)?;
    let (held, mut slots) = lessons::of_day(store, &c, date)?;
    if slots.is_empty() {
        // No lesson held or timetabled: the day's register as it would be taken.
        slots.push(LessonSlot::at(c.lesson_start().unwrap_or(NaiveTime::MIN)));
    }
    let register = store.class_register(c.id, date, date)?;
    // The day's lessons read together, and who of the day's students the camera can recognise.
    let mut recorded = Recorded::of_all(store, &held.iter().collect::<Vec<_>>(), mood)?;
    let mut lessons = Vec::new();
    for slot in slots {
        let session = held.iter().find(|s| s.lesson().start == slot.start);
        let lesson = session.and_then(|s| recorded.remove(&s.id)).unwrap_or_default();
        let students = on_register(store, &register, date, &lesson.marks)?;
        lessons.push((slot, session, lesson, students));
    }
    let mut everyone: Vec<i32> = lessons.iter().flat_map(|(_, _, _, students)| students.iter().map(|s| s.id)).collect();
    everyone.sort_unstable();
    everyone.dedup();
    let recognisable = store.recognisable(&everyone)?;
    let mut rolls = Vec::new();
    for (slot, session, lesson, students) in lessons {
        let mut days = session_days(&students, session, &lesson);
        for (d, s) in days.iter_mut().zip(&students) {
            d.by_hand = !recognisable.contains(&s.id);
        }
        let untimed = session.is_none() && held.is_empty() && c.lesson_start().is_none() && slot.end.is_none();
        rolls.push(LessonRoll {
            lesson: if untimed { String::new() } else { slot.key() },
            ends: session.and_then(|s| s.ends_at).map(|e| e.time()).or(slot.end).map(|e| e.format("%H:%M").to_string()),
            held: session.is_some(),
            open: session.is_some_and(|s| s.closed_at.is_none()),
            starts_at: session.map(|s| s.starts_at),
            to_mark_by_hand: days.iter().filter(|d| d.by_hand && d.how.is_none()).count(),
            counts: count(&days),
            students: days,
        });
    }
    let mut day = count(&[]);
    for r in rolls.iter().filter(|r| r.held) {
        for (k, v) in &r.counts {
            *day.entry(k.clone()).or_default() += v;
        }
    }
    Ok(DailyReport {
        class: c.name,
        date,
        mood,
        session_held: rolls.iter().any(|r| r.held),
        session_open: rolls.iter().any(|r| r.open),
        counts: day,
        lessons: rolls,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryDay {
    pub date: NaiveDate,
    /// The lesson ("HH:MM").
    pub lesson: String,
    /// The class whose register this is.
    pub class: String,
    #[serde(flatten)]
    pub day: StudentDay,
}

#[derive(Debug, Clone, Serialize)]
pub struct StudentHistory {
    pub student_id: String,
    pub name: String,
    /// The class they are in now ("" if none).
    pub class: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: Vec<HistoryDay>,
    pub counts: BTreeMap<String, usize>,
    pub attendance_rate: Option<f64>,
}

pub fn history(store: &mut Store, student_id: &str, from: NaiveDate, to: NaiveDate) -> anyhow::Result<StudentHistory> {
    let s = store.student(student_id)?;
    let mood = crate::settings::mood_enabled(store)?;
    let memberships = store.memberships(s.id)?;
    // Every session of a class the student was in on its day, and every session they were marked in.
    let mut sessions: Vec<(Session, String)> = Vec::new();
    let mut classes: Vec<Class> = Vec::new();
    for (class, _) in &memberships {
        if !classes.iter().any(|c| c.id == class.id) {
            classes.push(class.clone());
        }
    }
    for class in &classes {
        for session in store.sessions_between(class, from, to)? {
            if memberships.iter().any(|(c, m)| c.id == class.id && m.active_on(session.date)) {
                sessions.push((session, class.name.clone()));
            }
        }
    }
    for (session, _) in store.student_marks(s.id, from, to)? {
        if !sessions.iter().any(|(x, _)| x.id == session.id) {
            let name = store.class_by_id(session.class_id)?.name;
            sessions.push((session, name));
        }
    }
    sessions.sort_by(|(x, _), (y, _)| (x.date, &x.lesson_start, x.class_id).cmp(&(y.date, &y.lesson_start, y.class_id)));
    let mut recorded = Recorded::of_all(store, &sessions.iter().map(|(x, _)| x).collect::<Vec<_>>(), mood)?;
    let mut days = Vec::new();
    for (session, class) in &sessions {
        let d = session_days(std::slice::from_ref(&s), Some(session), &recorded.remove(&session.id).unwrap_or_default()).remove(0);
        days.push(HistoryDay { date: session.date, lesson: session.lesson_start.clone(), class: class.clone(), day: d });
    }
    let plain: Vec<StudentDay> = days.iter().map(|d| d.day.clone()).collect();
    let current = memberships.iter().rev().find(|(_, m)| m.left_on.is_none()).map(|(c, _)| c.name.clone());
    Ok(StudentHistory {
        student_id: s.student_id.clone(),
        name: s.name(),
        class: current.unwrap_or_default(),
        from,
        to,
        attendance_rate: rate(&plain),
        counts: count(&plain),
        days,
    })
}

/// Share of sessions attended (present or late); excused sessions do not count against.
fn rate(days: &[StudentDay]) -> Option<f64> {
    let counted = days.iter().filter(|d| d.status.is_some_and(|s| s != Status::Excused)).count();
    let attended = days.iter().filter(|d| matches!(d.status, Some(Status::Present | Status::Late))).count();
    (counted > 0).then(|| attended as f64 / counted as f64)
}

#[derive(Debug, Clone, Serialize)]
pub struct StudentSummary {
    pub student_id: String,
    pub name: String,
    pub counts: BTreeMap<String, usize>,
    pub attendance_rate: Option<f64>,
    pub late_minutes_total: i64,
    /// Dominant mood over the range (the most frequent of the lessons' dominant moods).
    pub mood: Option<String>,
    /// Status in each of the summary's `lessons` (same order; `None`: not on that register).
    pub statuses: Vec<Option<Status>>,
    /// Dominant mood in each of the summary's `lessons`.
    pub moods: Vec<Option<String>>,
}

/// One lesson held in a summary's range: a column of the grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LessonHeld {
    pub date: NaiveDate,
    /// "HH:MM"
    pub lesson: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassSummary {
    pub class: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Whether mood is included (mood recognition on).
    pub mood: bool,
    /// Every lesson held in the range, in order (a day with two lessons has two).
    pub lessons: Vec<LessonHeld>,
    pub students: Vec<StudentSummary>,
    pub counts: BTreeMap<String, usize>,
    pub attendance_rate: Option<f64>,
}

pub fn summary(store: &mut Store, class: &str, from: NaiveDate, to: NaiveDate) -> anyhow::Result<ClassSummary> {
    let c = store.class(class)?;
    let mood = crate::settings::mood_enabled(store)?;
    let register = store.class_register(c.id, from, to)?;
    let sessions = store.sessions_between(&c, from, to)?;
    // Students in the order of the register, then anybody marked who was not a member.
    let mut students: Vec<Student> = register.iter().map(|(s, _)| s.clone()).collect();
    let mut per_student: BTreeMap<i32, Vec<(usize, StudentDay)>> = BTreeMap::new();
    let mut recorded = Recorded::of_all(store, &sessions.iter().collect::<Vec<_>>(), mood)?;
    for (k, session) in sessions.iter().enumerate() {
        let lesson = recorded.remove(&session.id).unwrap_or_default();
        let on = on_register(store, &register, session.date, &lesson.marks)?;
        for s in &on {
            if !students.iter().any(|x| x.id == s.id) {
                students.push(s.clone());
            }
        }
        for (s, d) in on.iter().zip(session_days(&on, Some(session), &lesson)) {
            per_student.entry(s.id).or_default().push((k, d));
        }
    }
    let mut all = Vec::new();
    let rows: Vec<StudentSummary> = students
        .iter()
        .map(|s| {
            let days = per_student.remove(&s.id).unwrap_or_default();
            let plain: Vec<StudentDay> = days.iter().map(|(_, d)| d.clone()).collect();
            let mut by_lesson: Vec<Option<&StudentDay>> = vec![None; sessions.len()];
            for (k, d) in &days {
                by_lesson[*k] = Some(d);
            }
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
                statuses: by_lesson.iter().map(|d| d.and_then(|d| d.status)).collect(),
                moods: by_lesson.iter().map(|d| d.and_then(|d| d.mood.clone())).collect(),
            }
        })
        .collect();
    Ok(ClassSummary {
        class: c.name,
        from,
        to,
        mood,
        lessons: sessions.iter().map(|s| LessonHeld { date: s.date, lesson: s.lesson_start.clone() }).collect(),
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
            let members: Vec<_> = students.iter().filter(|s| s.classes.contains(&c.name)).collect();
            ClassOverview {
                students: members.len(),
                enrolled: members.iter().filter(|s| s.enrolled_photos > 0).count(),
                name: c.name,
                session_start: c.session_start,
                late_after_minutes: c.late_after_minutes,
            }
        })
        .collect())
}
