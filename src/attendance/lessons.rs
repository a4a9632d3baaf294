//! Which lesson a camera run or a person's mark is for.
//!
//! A class may have several lessons a day (the timetable); each lesson held is its own session
//! with its own marks, named within its day by its scheduled start ("09:00"). Two lessons of a
//! class on one day never share a session. The rules, in one place so the CLI, the app and the
//! scheduler agree:
//!
//! - A run with a start (`run --start 14:00`, the app's start time) is for the timetabled lesson
//!   that is on at that time, with lateness judged from the given start; with no such lesson it
//!   is a lesson of its own starting then.
//! - A run with no start is for the timetabled lesson on now (from `OPENS_BEFORE` its start to
//!   its end). A class with lessons today but none on now is refused with the day's lessons
//!   listed: a roll taken between lessons would belong to none of them.
//! - A class with no timetable that day keeps one register a day as before: a run continues the
//!   day's session, else starts at the class's usual start, else now.
//! - A person marking by hand names the lesson when the day has several (`--lesson HH:MM`); with
//!   one lesson that day (held or timetabled), or one on now, that one.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

use crate::storage::{Class, LessonSlot, Session, Store};

/// A lesson's roll may start this long before it: students come in before the bell, and the
/// camera at the door should already be counting them for the lesson they are coming to.
pub const OPENS_BEFORE: Duration = Duration::minutes(15);

/// When the roll of a lesson starting at `start` opens: `OPENS_BEFORE` earlier, but never before
/// midnight. A time of day wraps: 00:05 - 15 min is 23:50, which no time of the lesson's own day
/// reaches, so a lesson just after midnight would never open.
pub fn opens_at(start: NaiveTime) -> NaiveTime {
    let (opens, wrapped) = start.overflowing_sub_signed(OPENS_BEFORE);
    if wrapped == 0 {
        opens
    } else {
        NaiveTime::MIN
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LessonError {
    #[error(
        "class {class} has no lesson on at {at} (today: {lessons}): give the lesson's start (`--start HH:MM`, or the start time in the app) to take a roll outside the timetable"
    )]
    NoneOn { class: String, at: String, lessons: String },
    #[error("class {class} has {count} lessons on {date} ({lessons}): say which one (`--lesson HH:MM`)")]
    WhichLesson { class: String, date: NaiveDate, count: usize, lessons: String },
    #[error(
        "class {class}'s lesson at {lesson} on {date} started at {existing} and its marks were judged against that time; a different start ({requested}) is refused. Correct single marks with `rollcall override` (or Reports in the app)"
    )]
    StartConflict { class: String, date: NaiveDate, lesson: String, existing: String, requested: String },
}

impl LessonError {
    pub fn code(&self) -> &'static str {
        match self {
            LessonError::NoneOn { .. } => "no_lesson_on",
            LessonError::WhichLesson { .. } => "which_lesson",
            LessonError::StartConflict { .. } => "start_conflict",
        }
    }
}

/// The lesson a camera run registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLesson {
    pub lesson: LessonSlot,
    /// What lateness is judged against.
    pub starts_at: NaiveDateTime,
    /// A register kept by hand that this run takes over (it never watched): its lesson and start
    /// become the run's.
    pub adopts: Option<i32>,
}

/// The class's timetabled lessons on `date`'s weekday, in the order of the day.
pub fn timetabled(store: &mut Store, class: &Class, date: NaiveDate) -> anyhow::Result<Vec<LessonSlot>> {
    Ok(store
        .timetable(Some(&class.name))?
        .into_iter()
        .filter(|l| l.weekday == date.weekday())
        .map(|l| LessonSlot { start: l.start, end: Some(l.end) })
        .collect())
}

/// The lesson on at `t`: one already running (the latest to have started), else one about to
/// start within `OPENS_BEFORE`.
pub fn on_at(lessons: &[LessonSlot], t: NaiveTime) -> Option<LessonSlot> {
    let running = lessons.iter().filter(|l| l.start <= t && l.end.is_none_or(|e| t < e)).max_by_key(|l| l.start);
    let opening = || lessons.iter().filter(|l| l.start > t && opens_at(l.start) <= t).min_by_key(|l| l.start);
    running.or_else(opening).copied()
}

/// At the entrance: the lesson on at `t`, else the day's next one (a student at the gate at 07:50
/// is coming to the 08:30 lesson; one at 12:10 to the afternoon's).
pub fn on_or_next(lessons: &[LessonSlot], t: NaiveTime) -> Option<LessonSlot> {
    on_at(lessons, t).or_else(|| lessons.iter().filter(|l| l.start > t).min_by_key(|l| l.start).copied())
}

/// The lesson a student coming in at the entrance at `at` is registered in, for one of their
/// classes: with a timetable that day, the lesson on then or the next one (`None` once the day's
/// lessons are over); without one, the class's day register as for a camera run.
pub fn for_entrance(store: &mut Store, class: &Class, at: NaiveDateTime) -> anyhow::Result<Option<RunLesson>> {
    let today = timetabled(store, class, at.date())?;
    if today.is_empty() {
        return for_run(store, class, at, None).map(Some);
    }
    Ok(on_or_next(&today, at.time()).map(|lesson| RunLesson { lesson, starts_at: at.date().and_time(lesson.start), adopts: None }))
}

/// "09:00–10:00, 14:00–15:00", as a person reads a day's lessons.
pub fn describe(lessons: &[LessonSlot]) -> String {
    lessons
        .iter()
        .map(|l| match l.end {
            Some(e) => format!("{}–{}", l.key(), e.format("%H:%M")),
            None => l.key(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which lesson a camera run of `class` at `now` registers (see the module's rules). Reads only.
pub fn for_run(store: &mut Store, class: &Class, now: NaiveDateTime, requested: Option<NaiveTime>) -> anyhow::Result<RunLesson> {
    let date = now.date();
    let today = timetabled(store, class, date)?;
    let held = store.sessions_on(class, date)?;
    let run = match requested {
        Some(t) => match on_at(&today, t) {
            Some(lesson) => RunLesson { lesson, starts_at: date.and_time(t), adopts: None },
            None => {
                let lesson = LessonSlot::at(t);
                // A class with no timetable that day and a register kept by hand so far (no
                // camera has judged a mark against it): the first camera run takes it over.
                let adopts = match held.as_slice() {
                    [only] if today.is_empty() && only.frames == 0 && only.lesson().start != lesson.start => Some(only.id),
                    _ => None,
                };
                RunLesson { lesson, starts_at: date.and_time(t), adopts }
            }
        },
        None if !today.is_empty() => match on_at(&today, now.time()) {
            Some(lesson) => RunLesson { lesson, starts_at: date.and_time(lesson.start), adopts: None },
            None => {
                return Err(LessonError::NoneOn { class: class.name.clone(), at: now.format("%H:%M").to_string(), lessons: describe(&today) }.into());
            }
        },
        None => match held.last() {
            // Running again the same day continues the day's register.
            Some(s) if s.frames > 0 => RunLesson { lesson: s.lesson(), starts_at: s.starts_at, adopts: None },
            last => {
                let starts_at = class.lesson_start().map_or(now, |t| date.and_time(t));
                let lesson = LessonSlot::at(starts_at.time());
                // A register kept by hand so far becomes this run's, unless the day already has
                // a session for this lesson (the run continues that one).
                let taken = held.iter().any(|s| s.lesson().start == lesson.start);
                let adopts = last.filter(|s| !taken || (s.lesson().start == lesson.start && s.starts_at != starts_at)).map(|s| s.id);
                RunLesson { lesson, starts_at, adopts }
            }
        },
    };
    // A lesson a camera has already watched keeps the start its marks were judged against.
    if let Some(existing) = held.iter().find(|s| s.lesson().start == run.lesson.start && s.frames > 0) {
        if requested.is_some() && existing.starts_at != run.starts_at {
            return Err(LessonError::StartConflict {
                class: class.name.clone(),
                date,
                lesson: run.lesson.key(),
                existing: existing.starts_at.format("%H:%M").to_string(),
                requested: run.starts_at.format("%H:%M").to_string(),
            }
            .into());
        }
    }
    Ok(run)
}

/// The lessons of `class` on `date` a person may mark: those held and those timetabled, in the
/// order of the day.
pub fn of_day(store: &mut Store, class: &Class, date: NaiveDate) -> anyhow::Result<(Vec<Session>, Vec<LessonSlot>)> {
    let held = store.sessions_on(class, date)?;
    let week = timetabled(store, class, date)?;
    // A lesson taken before the timetable gave it an end takes the timetable's end.
    let end_of = |l: LessonSlot| LessonSlot { end: l.end.or_else(|| week.iter().find(|t| t.start == l.start).and_then(|t| t.end)), ..l };
    let mut lessons: Vec<LessonSlot> = held.iter().map(|s| end_of(s.lesson())).collect();
    for l in week.iter().copied() {
        if !lessons.iter().any(|x| x.start == l.start) {
            lessons.push(l);
        }
    }
    lessons.sort_by_key(|l| l.start);
    Ok((held, lessons))
}

/// The session a person's mark on `date` goes to: the lesson asked for, else the day's only
/// lesson (held or timetabled), else the one on now; a day with no lesson at all gets the
/// class's usual start (or midnight). A lesson not held yet gets a closed session kept by hand.
pub fn for_register(store: &mut Store, class: &Class, date: NaiveDate, requested: Option<NaiveTime>, now: NaiveDateTime) -> anyhow::Result<Session> {
    let (held, lessons) = of_day(store, class, date)?;
    let lesson = match requested {
        Some(t) => lessons.iter().find(|l| l.start == LessonSlot::at(t).start).copied().unwrap_or(LessonSlot::at(t)),
        None => match lessons.as_slice() {
            [] => LessonSlot::at(class.lesson_start().unwrap_or(NaiveTime::MIN)),
            [only] => *only,
            // "On now" only for lessons with an end: a lesson taken outside the timetable has none.
            several => {
                match (date == now.date()).then(|| on_at(&several.iter().filter(|l| l.end.is_some()).copied().collect::<Vec<_>>(), now.time())).flatten() {
                    Some(on) => on,
                    None => {
                        return Err(LessonError::WhichLesson { class: class.name.clone(), date, count: several.len(), lessons: describe(several) }.into());
                    }
                }
            }
        },
    };
    match held.into_iter().find(|s| s.lesson().start == lesson.start) {
        Some(s) => Ok(s),
        None => Ok(store.manual_session(class, date, lesson)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn lesson(a: (u32, u32), b: (u32, u32)) -> LessonSlot {
        LessonSlot { start: t(a.0, a.1), end: Some(t(b.0, b.1)) }
    }

    #[test]
    fn the_lesson_on_is_the_running_one_else_the_one_about_to_start() {
        let day = [lesson((9, 0), (10, 0)), lesson((10, 0), (11, 0)), lesson((14, 0), (15, 0))];
        assert_eq!(on_at(&day, t(9, 30)), Some(day[0]));
        assert_eq!(on_at(&day, t(8, 50)), Some(day[0]), "students come in before the bell");
        assert_eq!(on_at(&day, t(9, 55)), Some(day[0]), "the running lesson, not the next one opening");
        assert_eq!(on_at(&day, t(10, 0)), Some(day[1]));
        assert_eq!(on_at(&day, t(12, 0)), None, "between lessons");
        assert_eq!(on_at(&day, t(13, 46)), Some(day[2]));
        assert_eq!(on_at(&day, t(15, 0)), None, "a lesson ends at its end");
        assert_eq!(describe(&day[..2]), "09:00–10:00, 10:00–11:00");
        // A lesson just after midnight opens at midnight (its start minus 15 minutes would wrap
        // to the evening before, and it would never open).
        let night = [lesson((0, 5), (0, 35))];
        assert_eq!(on_at(&night, t(0, 1)), Some(night[0]));
        assert_eq!(opens_at(t(0, 5)), NaiveTime::MIN);
        assert_eq!(opens_at(t(9, 0)), t(8, 45));
    }

    #[test]
    fn at_the_entrance_a_student_is_registered_in_the_lesson_on_else_the_next_one() {
        let day = [lesson((8, 30), (9, 20)), lesson((9, 30), (10, 20)), lesson((13, 0), (14, 0))];
        assert_eq!(on_or_next(&day, t(7, 40)), Some(day[0]), "early at the gate: the first lesson");
        assert_eq!(on_or_next(&day, t(8, 50)), Some(day[0]), "late for the first");
        assert_eq!(on_or_next(&day, t(9, 25)), Some(day[1]), "between lessons: the next");
        assert_eq!(on_or_next(&day, t(12, 10)), Some(day[2]));
        assert_eq!(on_or_next(&day, t(14, 0)), None, "the day's lessons are over");
    }
}
