//! The weekly timetable: each class's lessons (weekday, start, end, room, camera), and the
//! entrance's hours (registration at the gate, class `ENTRANCE`). Imported as a whole per class:
//! the lessons a file gives a class replace that class's week in one transaction, audited; the
//! entrance's hours likewise when a file gives any.

use chrono::{NaiveTime, Weekday};
use diesel::prelude::*;
use super::db::Db;
use serde::Serialize;

use super::schema::*;
use super::{Audit, Result, Store, StoreError};

/// The class of a timetable row that is the entrance's hours, not a class's lesson: a camera at
/// the gate registers every class's students, each in the lesson on for them (or their next).
pub const ENTRANCE: &str = "*";

/// One weekly lesson of a class (or the entrance's hours, class `ENTRANCE`), as the store hands
/// it out and takes it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lesson {
    pub class: String,
    #[serde(serialize_with = "weekday_name")]
    pub weekday: Weekday,
    #[serde(serialize_with = "hh_mm")]
    pub start: NaiveTime,
    #[serde(serialize_with = "hh_mm")]
    pub end: NaiveTime,
    pub room: String,
    /// What takes the roll there: a camera number, a video file or an RTSP/HTTP URL ("" none yet).
    pub camera: String,
}

fn weekday_name<S: serde::Serializer>(d: &Weekday, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{d:?}"))
}

fn hh_mm<S: serde::Serializer>(t: &NaiveTime, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&t.format("%H:%M").to_string())
}

#[derive(Queryable)]
struct LessonRow {
    class: String,
    weekday: i32,
    start_time: String,
    end_time: String,
    room: String,
    camera: String,
}

impl LessonRow {
    fn into_lesson(self) -> Option<Lesson> {
        let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").ok();
        Some(Lesson {
            class: self.class,
            weekday: Weekday::try_from(u8::try_from(self.weekday - 1).ok()?).ok()?,
            start: time(&self.start_time)?,
            end: time(&self.end_time)?,
            room: self.room,
            camera: self.camera,
        })
    }
}

impl Store {
    /// Every lesson of the week (of one class; `ENTRANCE` for the entrance's hours), by class,
    /// weekday and start; the entrance's hours first.
    pub fn timetable(&mut self, class: Option<&str>) -> Result<Vec<Lesson>> {
        let mut out = Vec::new();
        if class.is_none_or(|c| c == ENTRANCE) {
            let rows: Vec<(i32, String, String, String, String)> = entrance_hours::table
                .select((entrance_hours::weekday, entrance_hours::start_time, entrance_hours::end_time, entrance_hours::room, entrance_hours::camera))
                .order_by((entrance_hours::weekday, entrance_hours::start_time, entrance_hours::room))
                .load(&mut self.conn)?;
            out.extend(rows.into_iter().filter_map(|(weekday, start_time, end_time, room, camera)| {
                LessonRow { class: ENTRANCE.into(), weekday, start_time, end_time, room, camera }.into_lesson()
            }));
        }
        if class != Some(ENTRANCE) {
            let mut q = lessons::table
                .inner_join(classes::table)
                .select((classes::name, lessons::weekday, lessons::start_time, lessons::end_time, lessons::room, lessons::camera))
                .order_by((classes::name, lessons::weekday, lessons::start_time))
                .into_boxed();
            if let Some(c) = class {
                q = q.filter(classes::name.eq(c));
            }
            let rows: Vec<LessonRow> = q.load(&mut self.conn)?;
            out.extend(rows.into_iter().filter_map(LessonRow::into_lesson));
        }
        Ok(out)
    }

    /// Replace the week of every class named in `lessons` with the lessons given for it (and the
    /// entrance's hours, if any are given), all or nothing. A class that does not exist is
    /// refused: a timetable names classes, it does not make them.
    pub fn replace_timetable(&mut self, lessons_in: &[Lesson], actor: &str) -> Result<()> {
        let mut names: Vec<&str> = lessons_in.iter().map(|l| l.class.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        self.conn.immediate_transaction(|conn| -> Result<()> {
            for name in &names {
                let given = lessons_in.iter().filter(|l| l.class == *name);
                if *name == ENTRANCE {
                    diesel::delete(entrance_hours::table).execute(conn)?;
                    for l in given {
                        insert_lesson(conn, l)?;
                    }
                } else {
                    let class_id = class_id(conn, name)?;
                    diesel::delete(lessons::table.filter(lessons::class_id.eq(class_id))).execute(conn)?;
                    for l in given {
                        insert_lesson(conn, l)?;
                    }
                }
                let n = lessons_in.iter().filter(|l| l.class == *name).count();
                let what = if *name == ENTRANCE { format!("entrance: {n} hour(s) a week") } else { format!("{name}: {n} lesson(s) a week") };
                Audit {
                    actor,
                    action: "timetable",
                    session_id: None,
                    student: None,
                    old_value: None,
                    new_value: Some(what),
                    reason: "timetable import".into(),
                }
                .write(conn)?;
            }
            Ok(())
        })
    }

    /// Change one lesson (the Timetable page): remove `was` (a lesson as stored, found by its
    /// class, weekday and start) and add `now`, in one transaction, audited. `was` alone removes
    /// a lesson, `now` alone adds one. The caller has checked `now` against the rest of the week.
    pub fn edit_lesson(&mut self, was: Option<&Lesson>, now: Option<&Lesson>, actor: &str) -> Result<()> {
        self.conn.immediate_transaction(|conn| -> Result<()> {
            if let Some(l) = was {
                let (day, start) = (l.weekday.number_from_monday() as i32, l.start.format("%H:%M").to_string());
                let gone = if l.is_entrance() {
                    diesel::delete(
                        entrance_hours::table
                            .filter(entrance_hours::weekday.eq(day))
                            .filter(entrance_hours::start_time.eq(start))
                            .filter(entrance_hours::room.eq(&l.room)),
                    )
                    .execute(conn)?
                } else {
                    let id = class_id(conn, &l.class)?;
                    diesel::delete(lessons::table.filter(lessons::class_id.eq(id)).filter(lessons::weekday.eq(day)).filter(lessons::start_time.eq(start)))
                        .execute(conn)?
                };
                if gone == 0 {
                    return Err(StoreError::LessonGone(l.describe()));
                }
            }
            if let Some(l) = now {
                insert_lesson(conn, l)?;
            }
            let shown = |l: Option<&Lesson>| l.map(Lesson::describe_in_full);
            Audit {
                actor,
                action: "timetable_lesson",
                session_id: None,
                student: None,
                old_value: shown(was),
                new_value: shown(now),
                reason: "edited on the Timetable page".into(),
            }
            .write(conn)?;
            Ok(())
        })
    }
}

fn class_id(conn: &mut Db, name: &str) -> Result<i32> {
    classes::table.filter(classes::name.eq(name)).select(classes::id).first(conn).optional()?.ok_or_else(|| StoreError::UnknownClass(name.to_string()))
}

/// One row of the timetable: a class's lesson, or the entrance's hours.
fn insert_lesson(conn: &mut Db, l: &Lesson) -> Result<()> {
    let (day, start, end) = (l.weekday.number_from_monday() as i32, l.start.format("%H:%M").to_string(), l.end.format("%H:%M").to_string());
    if l.is_entrance() {
        diesel::insert_into(entrance_hours::table)
            .values((
                entrance_hours::weekday.eq(day),
                entrance_hours::start_time.eq(start),
                entrance_hours::end_time.eq(end),
                entrance_hours::room.eq(&l.room),
                entrance_hours::camera.eq(&l.camera),
            ))
            .execute(conn)?;
    } else {
        let id = class_id(conn, &l.class)?;
        diesel::insert_into(lessons::table)
            .values((
                lessons::class_id.eq(id),
                lessons::weekday.eq(day),
                lessons::start_time.eq(start),
                lessons::end_time.eq(end),
                lessons::room.eq(&l.room),
                lessons::camera.eq(&l.camera),
            ))
            .execute(conn)?;
    }
    Ok(())
}

impl Lesson {
    /// The entrance's hours (class `ENTRANCE`), not a class's lesson.
    pub fn is_entrance(&self) -> bool {
        self.class == ENTRANCE
    }

    /// "7B Mon 09:00-09:50" (the entrance: "entrance Gate A Mon 08:15-08:45"), as problems and
    /// errors name a lesson.
    pub fn describe(&self) -> String {
        let who = match (self.is_entrance(), self.room.is_empty()) {
            (true, true) => "entrance".to_string(),
            (true, false) => format!("entrance {}", self.room),
            _ => self.class.clone(),
        };
        format!("{who} {:?} {}-{}", self.weekday, self.start.format("%H:%M"), self.end.format("%H:%M"))
    }

    /// With its room and whether it has a camera, for the audit log (which never holds a
    /// stream's address: it may carry a password).
    fn describe_in_full(&self) -> String {
        let room = if self.room.is_empty() || self.is_entrance() { String::new() } else { format!(" room {}", self.room) };
        let camera = if self.camera.is_empty() { " (no camera)" } else { " (camera)" };
        format!("{}{room}{camera}", self.describe())
    }
}
