//! The weekly timetable: each class's lessons (weekday, start, end, room, camera). Imported as a
//! whole per class: the lessons a file gives a class replace that class's week in one
//! transaction, audited.

use chrono::{NaiveTime, Weekday};
use diesel::prelude::*;
use serde::Serialize;

use super::schema::*;
use super::{Audit, Result, Store, StoreError};

/// One weekly lesson of a class, as the store hands it out and takes it in.
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
    /// Every lesson of the week (of one class), by class, weekday and start.
    pub fn timetable(&mut self, class: Option<&str>) -> Result<Vec<Lesson>> {
        let mut q = lessons::table
            .inner_join(classes::table)
            .select((classes::name, lessons::weekday, lessons::start_time, lessons::end_time, lessons::room, lessons::camera))
            .order_by((classes::name, lessons::weekday, lessons::start_time))
            .into_boxed();
        if let Some(c) = class {
            q = q.filter(classes::name.eq(c));
        }
        let rows: Vec<LessonRow> = q.load(&mut self.conn)?;
        Ok(rows.into_iter().filter_map(LessonRow::into_lesson).collect())
    }

    /// Replace the week of every class named in `lessons` with the lessons given for it (all or
    /// nothing). A class that does not exist is refused: a timetable names classes, it does not
    /// make them.
    pub fn replace_timetable(&mut self, lessons_in: &[Lesson], actor: &str) -> Result<()> {
        let mut names: Vec<&str> = lessons_in.iter().map(|l| l.class.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        self.conn.immediate_transaction(|conn| -> Result<()> {
            for name in &names {
                let class_id: i32 = classes::table
                    .filter(classes::name.eq(name))
                    .select(classes::id)
                    .first(conn)
                    .optional()?
                    .ok_or_else(|| StoreError::UnknownClass(name.to_string()))?;
                diesel::delete(lessons::table.filter(lessons::class_id.eq(class_id))).execute(conn)?;
                let rows: Vec<_> = lessons_in
                    .iter()
                    .filter(|l| l.class == *name)
                    .map(|l| {
                        (
                            lessons::class_id.eq(class_id),
                            lessons::weekday.eq(l.weekday.number_from_monday() as i32),
                            lessons::start_time.eq(l.start.format("%H:%M").to_string()),
                            lessons::end_time.eq(l.end.format("%H:%M").to_string()),
                            lessons::room.eq(&l.room),
                            lessons::camera.eq(&l.camera),
                        )
                    })
                    .collect();
                let n = rows.len();
                diesel::insert_into(lessons::table).values(rows).execute(conn)?;
                Audit { actor, action: "timetable", session_id: None, student: None, old_value: None, new_value: Some(format!("{name}: {n} lesson(s) a week")), reason: "timetable import".into() }.write(conn)?;
            }
            Ok(())
        })
    }
}
