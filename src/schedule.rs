//! The timetable's clock: which lessons should be taking their roll at a given moment.
//!
//! A lesson's roll is due from `lessons::OPENS_BEFORE` its start (students come in before the
//! bell) until its end, on its weekday, when it has a camera. The scheduler (`rollcall serve`,
//! and the app when `timetable_sessions` is on) starts each due lesson's session and stops it
//! when it is no longer due. The clock is the system's, or for a rehearsal of the day's timetable
//! one that starts at a chosen time and runs faster.

use std::time::Instant;

use chrono::{Datelike, Local, NaiveDate, NaiveDateTime, NaiveTime};

use crate::attendance::lessons::opens_at;
use crate::attendance::live::SessionPlan;
use crate::settings::SessionDefaults;
use crate::source::SourceSpec;
use crate::storage::Lesson;

pub trait Clock: Send + Sync {
    fn now(&self) -> NaiveDateTime;
}

/// The computer's local time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> NaiveDateTime {
        Local::now().naive_local()
    }
}

/// Today from `from`, running `rate` times faster than real time: a rehearsal of the day's
/// timetable (and how the tests drive the scheduler).
pub struct RehearsalClock {
    from: NaiveDateTime,
    started: Instant,
    rate: f64,
}

impl RehearsalClock {
    pub fn new(from: NaiveTime, rate: f64) -> RehearsalClock {
        RehearsalClock { from: Local::now().date_naive().and_time(from), started: Instant::now(), rate: rate.max(0.0) }
    }
}

impl Clock for RehearsalClock {
    fn now(&self) -> NaiveDateTime {
        let elapsed = self.started.elapsed().as_secs_f64() * self.rate;
        self.from + chrono::Duration::milliseconds((elapsed * 1000.0) as i64)
    }
}

/// One lesson on one day: the key of a scheduled run (`class` is the room's name: the class, or
/// the entrance's, `entrance_name`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LessonOn {
    pub date: NaiveDate,
    pub class: String,
    pub start: NaiveTime,
}

/// The lessons whose roll is due at `now`: on `now`'s weekday, with a camera, from
/// `OPENS_BEFORE` their start until their end (the entrance's hours from their start: they say
/// when the gate opens).
pub fn due(week: &[Lesson], now: NaiveDateTime) -> Vec<&Lesson> {
    let t = now.time();
    let opens = |l: &Lesson| if l.is_entrance() { l.start } else { opens_at(l.start) };
    week.iter().filter(|l| l.weekday == now.weekday() && !l.camera.trim().is_empty() && opens(l) <= t && t < l.end).collect()
}

/// The room the entrance's roll is shown and logged as: "Entrance", or "Entrance (Gate A)" for a
/// named gate (each student's marks go to their own lessons).
pub fn entrance_name(gate: &str) -> String {
    match gate.trim() {
        "" => "Entrance".to_string(),
        gate => format!("Entrance ({gate})"),
    }
}

/// The due lessons' runs, as the scheduler starts them (`serve` and the app alike): on the
/// lesson's camera, judged against its timetabled start, with the school's settings; the
/// entrance's hours as an entrance roll of every class. A video file named as a camera is played
/// at its own speed, as a camera would deliver it.
pub fn plans_due(week: &[Lesson], now: NaiveDateTime, defaults: &SessionDefaults) -> Vec<(LessonOn, SessionPlan)> {
    due(week, now)
        .into_iter()
        .map(|l| {
            let source = SourceSpec::parse(&l.camera);
            let (room, of) = match l.is_entrance() {
                true => (entrance_name(&l.room), SessionPlan::entrance(Vec::new(), source)),
                false => (l.class.clone(), SessionPlan::new(&l.class, source)),
            };
            let lesson = LessonOn { date: now.date(), class: room, start: l.start };
            let plan = SessionPlan { start: Some(l.start), realtime: true, ..defaults.apply(of) };
            (lesson, plan)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn lesson(class: &str, day: Weekday, start: (u32, u32), end: (u32, u32), camera: &str) -> Lesson {
        Lesson {
            class: class.into(),
            weekday: day,
            start: NaiveTime::from_hms_opt(start.0, start.1, 0).unwrap(),
            end: NaiveTime::from_hms_opt(end.0, end.1, 0).unwrap(),
            room: String::new(),
            camera: camera.into(),
        }
    }

    #[test]
    fn a_lesson_is_due_from_a_quarter_before_its_start_until_its_end_on_its_day_with_a_camera() {
        // 2026-12-07 is a Monday.
        let at = |h, m| NaiveDate::from_ymd_opt(2026, 12, 7).unwrap().and_hms_opt(h, m, 0).unwrap();
        let week = [
            lesson("7B", Weekday::Mon, (9, 0), (9, 50), "0"),
            lesson("7C", Weekday::Mon, (9, 0), (9, 50), ""),
            lesson("7B", Weekday::Tue, (9, 0), (9, 50), "0"),
            lesson("7B", Weekday::Mon, (14, 0), (14, 50), "rtsp://cam/1"),
        ];
        let classes = |t| due(&week, t).iter().map(|l| format!("{} {}", l.class, l.start.format("%H:%M"))).collect::<Vec<_>>();
        assert!(classes(at(8, 44)).is_empty());
        assert_eq!(classes(at(8, 45)), ["7B 09:00"], "7C has no camera; Tuesday is another day");
        assert_eq!(classes(at(9, 49)), ["7B 09:00"]);
        assert!(classes(at(9, 50)).is_empty());
        assert_eq!(classes(at(13, 50)), ["7B 14:00"]);
        // Just after midnight: due from midnight (00:05 - 15 min is not 23:50 of the same day).
        let night = [lesson("7B", Weekday::Mon, (0, 5), (0, 35), "0")];
        assert_eq!(due(&night, at(0, 1)).len(), 1);
        assert_eq!(due(&night, at(0, 6)).len(), 1);
        assert!(due(&night, at(0, 35)).is_empty());
    }

    #[test]
    fn the_entrances_hours_are_an_entrance_roll_of_every_class_named_by_its_gate_from_their_start() {
        use crate::attendance::live::RollOf;
        let at = |h, m| NaiveDate::from_ymd_opt(2026, 12, 7).unwrap().and_hms_opt(h, m, 0).unwrap();
        let week = [
            lesson(crate::storage::ENTRANCE, Weekday::Mon, (8, 15), (8, 45), "rtsp://gate"),
            Lesson { room: "North gate".into(), ..lesson(crate::storage::ENTRANCE, Weekday::Mon, (8, 15), (8, 45), "1") },
            lesson("7B", Weekday::Mon, (8, 50), (9, 40), ""),
        ];
        assert!(due(&week, at(8, 14)).is_empty(), "the gate opens at its start, not a quarter before");
        let defaults = SessionDefaults { mood: false, min_face: 40.0, min_similarity: None, strictness: Default::default(), liveness: Default::default() };
        let plans = plans_due(&week, at(8, 15), &defaults);
        let rooms: Vec<&str> = plans.iter().map(|(l, _)| l.class.as_str()).collect();
        assert_eq!(rooms, ["Entrance", "Entrance (North gate)"], "two gates at once are two rooms");
        for (_, plan) in &plans {
            assert!(matches!(&plan.roll_of, RollOf::Entrance(classes) if classes.is_empty()), "{:?}", plan.roll_of);
            assert!(plan.realtime);
        }
        assert!(plans_due(&week, at(8, 45), &defaults).is_empty());
    }

    #[test]
    fn a_rehearsal_clock_runs_from_its_start_at_its_rate() {
        let c = RehearsalClock::new(NaiveTime::from_hms_opt(8, 0, 0).unwrap(), 60.0);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let now = c.now();
        assert_eq!(now.date(), Local::now().date_naive());
        let gone = (now.time() - NaiveTime::from_hms_opt(8, 0, 0).unwrap()).num_milliseconds();
        assert!((12_000..30_000).contains(&gone), "{gone} ms of rehearsal time in 0.2 s at 60x");
    }
}
