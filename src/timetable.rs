//! The school's weekly timetable from the office's spreadsheet (issue 13, part 2): CSV or XLSX
//! with the columns `class, weekday, start, end` and optionally `room, camera` (any order, header
//! names case-insensitive). A file is the week of the classes it names: importing it replaces
//! those classes' lessons and leaves every other class's as they are.
//!
//! As with rosters, every problem is reported with its row before anything changes, and a file
//! with problems changes nothing. Two lessons of one class may not overlap; nor may two classes
//! be in one room at once, in the file or against the lessons already stored for other classes
//! (one room's camera cannot take two rolls).
//!
//! A row whose class is `*` is the entrance's hours (registration at the gate): while it is on,
//! its camera registers every class's students, each in the lesson on for them then (or their
//! next that day), as `rollcall run --entrance` does. Its room names the gate; two gates may be
//! open at once, one gate may not have two overlapping hours. A file with `*` rows replaces the
//! entrance's hours too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

use chrono::{NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::calendar::parse_time;
use crate::roster::{sanitize, MAX_CLASS_CHARS};
use crate::spreadsheet::{self, RowProblem, Table};
use crate::storage::{Lesson, Store, ENTRANCE};

pub const COLUMNS: [&str; 4] = ["class", "weekday", "start", "end"];
pub const OPTIONAL_COLUMNS: [&str; 2] = ["room", "camera"];
/// 2,000 classes x 40 lessons a week is a very large school's timetable.
pub const MAX_ROWS: usize = 80_000;
pub const MAX_ROOM_CHARS: usize = 64;
/// A camera is a number, a file path or a stream URL.
pub const MAX_CAMERA_CHARS: usize = 512;

pub const TIMETABLE_TABLE: Table = Table { file: "a timetable file", rows: "lessons", max_rows: MAX_ROWS };

/// What a file holds, checked (nothing is written).
#[derive(Debug, Clone, Serialize)]
pub struct TimetablePlan {
    pub lessons: Vec<Lesson>,
    pub problems: Vec<RowProblem>,
    pub encoding: Option<String>,
    /// Each lesson's row in the file, for the problems found against the stored timetable.
    #[serde(skip)]
    rows: Vec<usize>,
}

/// What an import changes, class by class.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TimetableChanges {
    pub added: Vec<Lesson>,
    pub removed: Vec<Lesson>,
    pub unchanged: usize,
    /// The classes whose week the file gives.
    pub classes: Vec<String>,
}

/// A weekday as a person or a spreadsheet writes it: `Monday`, `mon`, `Mo`, or ISO `1`-`7`.
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u8>() {
        return (1..=7).contains(&n).then(|| Weekday::try_from(n - 1).ok()).flatten();
    }
    if let Ok(d) = Weekday::from_str(s) {
        return Some(d);
    }
    let two = s.get(..2)?.to_ascii_lowercase();
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun]
        .into_iter()
        .find(|d| format!("{d:?}").to_ascii_lowercase().starts_with(&two) && s.len() == 2)
}

/// Read and check a timetable file (nothing is written).
pub fn read_timetable(path: &Path) -> anyhow::Result<TimetablePlan> {
    let mut v = Validator::default();
    let encoding = spreadsheet::read_rows(path, &TIMETABLE_TABLE, |line, row| v.row(line, row))?;
    Ok(v.finish(encoding))
}

#[derive(Default)]
struct Validator {
    index: Option<[usize; 4]>,
    optional: [Option<usize>; 2],
    lessons: Vec<Lesson>,
    rows: Vec<usize>,
    problems: Vec<RowProblem>,
}

impl Validator {
    fn problem(&mut self, row: usize, problem: String) {
        self.problems.push(RowProblem { row, problem });
    }

    fn row(&mut self, line: usize, row: &[String]) -> bool {
        let Some(index) = self.index else {
            return self.header(row);
        };
        if row.iter().all(|c| c.trim().is_empty()) {
            return true;
        }
        if self.lessons.len() + self.problems.len() >= MAX_ROWS {
            self.problem(line, format!("more than {MAX_ROWS} lessons: a timetable this long is a mistake, or split it"));
            return false;
        }
        let get = |i: Option<usize>| i.and_then(|i| row.get(i)).map(|s| s.trim().to_string()).unwrap_or_default();
        let [class, weekday, start, end] = index.map(|i| get(Some(i)));
        let (room, camera) = (get(self.optional[0]), get(self.optional[1]));
        match lesson(class, &weekday, &start, &end, room, camera) {
            Ok(l) => {
                self.lessons.push(l);
                self.rows.push(line);
            }
            Err(p) => self.problem(line, p),
        }
        true
    }

    fn header(&mut self, header: &[String]) -> bool {
        let norm = |h: &str| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase().replace([' ', '-'], "_");
        let find = |col: &str| header.iter().position(|h| norm(h) == col || (col == "weekday" && norm(h) == "day"));
        let mut index = [0; 4];
        for (k, col) in COLUMNS.iter().enumerate() {
            match find(col) {
                Some(i) => index[k] = i,
                None => {
                    let found = header.iter().map(|h| sanitize(h)).collect::<Vec<_>>().join(", ");
                    self.problem(1, format!("missing column {col:?} (found: {found})"));
                }
            }
        }
        if !self.problems.is_empty() {
            return false;
        }
        self.index = Some(index);
        self.optional = OPTIONAL_COLUMNS.map(find);
        true
    }

    fn finish(mut self, encoding: Option<String>) -> TimetablePlan {
        if self.index.is_none() && self.problems.is_empty() {
            self.problem(0, "the file is empty".into());
        } else if self.lessons.is_empty() && self.problems.is_empty() {
            self.problem(0, "no lessons in the file".into());
        }
        let clashes = clashes(&self.lessons, &self.rows);
        self.problems.extend(clashes);
        self.problems.sort_by_key(|p| p.row);
        TimetablePlan { lessons: self.lessons, problems: self.problems, encoding, rows: self.rows }
    }
}

fn lesson(class: String, weekday: &str, start: &str, end: &str, room: String, camera: String) -> Result<Lesson, String> {
    let empty: Vec<&str> =
        [("class", class.as_str()), ("weekday", weekday), ("start", start), ("end", end)].iter().filter(|(_, v)| v.is_empty()).map(|(c, _)| *c).collect();
    if !empty.is_empty() {
        return Err(format!("empty {}", empty.join(", ")));
    }
    for (col, value, max) in [("class", &class, MAX_CLASS_CHARS), ("room", &room, MAX_ROOM_CHARS), ("camera", &camera, MAX_CAMERA_CHARS)] {
        if value.chars().count() > max {
            return Err(format!("{col} is longer than {max} characters"));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("{col} contains control characters (tabs, line breaks or terminal codes): retype it"));
        }
    }
    let weekday =
        parse_weekday(weekday).ok_or_else(|| format!("weekday {:?} is not a day of the week (Monday … Sunday, Mon, or 1-7 from Monday)", sanitize(weekday)))?;
    let start = lesson_time(start).map_err(|e| format!("start: {e}"))?;
    let end = lesson_time(end).map_err(|e| format!("end: {e}"))?;
    if end <= start {
        return Err(format!("the lesson ends ({}) before it starts ({})", end.format("%H:%M"), start.format("%H:%M")));
    }
    Ok(Lesson { class, weekday, start, end, room, camera })
}

/// `HH:MM` as typed, or as a spreadsheet keeps a time: `HH:MM:SS`, a date and time, or a
/// fraction of a day (Excel's 09:00 is 0.375). Lessons start on the minute.
fn lesson_time(s: &str) -> Result<NaiveTime, String> {
    let typed = parse_time(s);
    if typed.is_ok() {
        return typed;
    }
    let s = s.trim();
    let clock = s.rsplit(['T', ' ']).next().unwrap_or(s);
    if let Ok(t) = NaiveTime::parse_from_str(clock, "%H:%M:%S") {
        return Ok(t);
    }
    if let Some(minutes) = s.parse::<f64>().ok().filter(|f| (0.0..1.0).contains(f)).map(|f| (f * 1440.0).round() as u32) {
        return NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).ok_or(format!("{s:?} is not a time: use HH:MM"));
    }
    typed
}

fn overlap(a: &Lesson, b: &Lesson) -> bool {
    a.weekday == b.weekday && a.start < b.end && b.start < a.end
}

/// Whether two lessons may not overlap: one class's, or the entrance's hours at one gate (two
/// gates, each its own room, may be open at once).
fn same_slot(a: &Lesson, b: &Lesson) -> bool {
    a.class == b.class && (!a.is_entrance() || a.room == b.room)
}

fn gate_hint(a: &Lesson) -> &'static str {
    if a.is_entrance() {
        ": two gates open at once need a room each (the gate's name)"
    } else {
        ""
    }
}

/// Lessons of one class that overlap, and two classes in one room at once, among `lessons`
/// (from file rows `rows`).
fn clashes(lessons: &[Lesson], rows: &[usize]) -> Vec<RowProblem> {
    let mut problems = Vec::new();
    // By weekday, so that a school's week is not compared lesson with lesson across days.
    let mut by_day: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, l) in lessons.iter().enumerate() {
        by_day.entry(l.weekday.number_from_monday()).or_default().push(i);
    }
    for day in by_day.values() {
        for (k, &i) in day.iter().enumerate() {
            for &j in &day[..k] {
                let (a, b) = (&lessons[i], &lessons[j]);
                if !overlap(a, b) {
                    continue;
                }
                if same_slot(a, b) {
                    problems
                        .push(RowProblem { row: rows[i], problem: format!("{} overlaps row {} ({}){}", a.describe(), rows[j], b.describe(), gate_hint(a)) });
                } else if a.class != b.class && !a.room.is_empty() && a.room == b.room {
                    problems.push(RowProblem {
                        row: rows[i],
                        problem: format!("room {:?} has two classes at once: {} and row {} ({})", a.room, a.describe(), rows[j], b.describe()),
                    });
                }
            }
        }
    }
    problems
}

/// A lesson of the file in a room that a class not in the file (`others`, stored) has then.
fn rooms_taken(lessons: &[Lesson], rows: &[usize], others: &[Lesson]) -> Vec<RowProblem> {
    let taken = |a: &Lesson| others.iter().find(|b| overlap(a, b) && !a.room.is_empty() && a.room == b.room);
    lessons
        .iter()
        .zip(rows)
        .filter_map(|(a, &row)| {
            taken(a).map(|b| RowProblem {
                row,
                problem: format!("room {:?} has two classes at once: {} and {} (already in the timetable)", a.room, a.describe(), b.describe()),
            })
        })
        .collect()
}

/// Check the plan against the stored timetable (unknown classes, rooms taken by classes not in
/// the file), work out the changes, and unless `dry_run` store them. With problems, nothing is
/// stored and the problems are added to the plan.
pub fn apply(store: &mut Store, plan: &mut TimetablePlan, dry_run: bool, actor: &str) -> anyhow::Result<TimetableChanges> {
    let known: BTreeSet<String> = store.classes()?.into_iter().map(|c| c.name).collect();
    let named: BTreeSet<String> = plan.lessons.iter().map(|l| l.class.clone()).collect();
    for (l, &row) in plan.lessons.iter().zip(&plan.rows) {
        if !known.contains(&l.class) && !l.is_entrance() {
            plan.problems.push(RowProblem { row, problem: format!("unknown class {:?}: import its roster first (or create it in the app)", l.class) });
        }
    }
    let stored = store.timetable(None)?;
    let (before, others): (Vec<Lesson>, Vec<Lesson>) = stored.into_iter().partition(|l| named.contains(&l.class));
    plan.problems.extend(rooms_taken(&plan.lessons, &plan.rows, &others));
    plan.problems.sort_by_key(|p| p.row);
    let changes = TimetableChanges {
        added: plan.lessons.iter().filter(|l| !before.contains(l)).cloned().collect(),
        removed: before.iter().filter(|l| !plan.lessons.contains(l)).cloned().collect(),
        unchanged: plan.lessons.iter().filter(|l| before.contains(l)).count(),
        classes: named.into_iter().collect(),
    };
    if !dry_run && plan.problems.is_empty() {
        store.replace_timetable(&plan.lessons, actor)?;
    }
    Ok(changes)
}

/// A lesson as shown to people: a stream's password is never printed (`rtsp://user:***@host/…`).
pub fn shown(mut l: Lesson) -> Lesson {
    l.camera = crate::source::redact_password(&l.camera);
    l
}

/// What an import of a file did (or, as a dry run, would do), as both front ends show it.
#[derive(Debug, Clone, Serialize)]
pub struct TimetableImport {
    pub file: std::path::PathBuf,
    pub dry_run: bool,
    /// Lessons a week in the file.
    pub lessons: usize,
    pub encoding: Option<String>,
    pub problems: Vec<RowProblem>,
    pub changes: TimetableChanges,
    pub applied: bool,
}

/// Read `path`, check it against the stored timetable and, unless `dry_run` or a problem was
/// found, replace the week of the classes it names (all or nothing).
pub fn import_file(store: &mut Store, path: &Path, dry_run: bool, actor: &str) -> anyhow::Result<TimetableImport> {
    let mut plan = read_timetable(path)?;
    let mut changes = apply(store, &mut plan, dry_run, actor)?;
    changes.added = changes.added.into_iter().map(shown).collect();
    changes.removed = changes.removed.into_iter().map(shown).collect();
    let applied = plan.problems.is_empty() && !dry_run;
    Ok(TimetableImport { file: path.to_path_buf(), dry_run, lessons: plan.lessons.len(), encoding: plan.encoding, problems: plan.problems, changes, applied })
}

/// One lesson as a person types it on the Timetable page (or the CLI): the words of a file's row.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LessonInput {
    pub class: String,
    pub weekday: String,
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub room: String,
    #[serde(default)]
    pub camera: String,
}

/// A stored lesson, named by its class, weekday and start (one class's lessons never overlap);
/// the entrance's hours also by their room (two gates may open at once).
#[derive(Debug, Clone, Deserialize)]
pub struct LessonRef {
    pub class: String,
    pub weekday: String,
    pub start: String,
    #[serde(default)]
    pub room: String,
}

/// Change one lesson: `was` names the stored lesson (none: add one), `now` is what it becomes
/// (none: remove it). Checked as an imported row is (day, times, lengths), and against the rest
/// of the week: the class must exist, its lessons may not overlap, nor may two classes share a
/// room at once. Every problem is named and nothing changes. An unchanged redacted stream
/// address (`rtsp://user:***@…`, as the page shows it) keeps the stored one. Returns the lesson
/// as stored (shown), if any.
pub fn edit_lesson(store: &mut Store, was: Option<&LessonRef>, now: Option<&LessonInput>, actor: &str) -> anyhow::Result<Option<Lesson>> {
    anyhow::ensure!(was.is_some() || now.is_some(), "nothing to change: name a lesson to change or remove, or give one to add");
    let week = store.timetable(None)?;
    let old = match was {
        Some(r) => {
            let day = parse_weekday(&r.weekday).ok_or_else(|| anyhow::anyhow!("weekday {:?} is not a day of the week", sanitize(&r.weekday)))?;
            let start = lesson_time(&r.start).map_err(|e| anyhow::anyhow!("start: {e}"))?;
            let found = week.iter().find(|l| l.class == r.class && l.weekday == day && l.start == start && (!l.is_entrance() || l.room == r.room));
            let named = format!("{} {:?} {}", if r.class == ENTRANCE { "entrance" } else { &r.class }, day, start.format("%H:%M"));
            Some(found.cloned().ok_or(crate::storage::StoreError::LessonGone(named))?)
        }
        None => None,
    };
    let new = match now {
        Some(i) => {
            let mut l = lesson(i.class.trim().to_string(), &i.weekday, &i.start, &i.end, i.room.trim().to_string(), i.camera.trim().to_string())
                .map_err(|p| anyhow::anyhow!("{p}"))?;
            if let Some(o) = old.as_ref().filter(|o| shown((*o).clone()).camera == l.camera) {
                l.camera = o.camera.clone();
            }
            if !l.is_entrance() {
                store.class(&l.class)?;
            }
            Some(l)
        }
        None => None,
    };
    if let Some(l) = &new {
        let rest = week.iter().filter(|b| Some(*b) != old.as_ref());
        let problems: Vec<String> = rest
            .filter(|b| overlap(l, b))
            .filter_map(|b| {
                if same_slot(l, b) {
                    Some(format!("{} overlaps {}{}", l.describe(), b.describe(), gate_hint(l)))
                } else if l.class != b.class && !l.room.is_empty() && l.room == b.room {
                    Some(format!("room {:?} has two classes at once: {} and {}", l.room, l.describe(), b.describe()))
                } else {
                    None
                }
            })
            .collect();
        anyhow::ensure!(problems.is_empty(), "{}: nothing was changed", problems.join("; "));
    }
    store.edit_lesson(old.as_ref(), new.as_ref(), actor)?;
    Ok(new.map(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> TimetablePlan {
        let mut v = Validator::default();
        for (i, line) in text.lines().enumerate() {
            let row: Vec<String> = line.split(',').map(str::to_string).collect();
            v.row(i + 1, &row);
        }
        v.finish(None)
    }

    #[test]
    fn weekdays_as_people_write_them() {
        for (s, d) in
            [("Monday", Weekday::Mon), ("tue", Weekday::Tue), ("We", Weekday::Wed), ("4", Weekday::Thu), ("FRIDAY", Weekday::Fri), ("7", Weekday::Sun)]
        {
            assert_eq!(parse_weekday(s), Some(d), "{s}");
        }
        for s in ["0", "8", "Funday", "M", ""] {
            assert_eq!(parse_weekday(s), None, "{s}");
        }
    }

    #[test]
    fn two_lessons_a_day_and_optional_columns() {
        let p = plan("Class,Day,Start,End,Room\n7B,Monday,09:00,09:50,12\n7B,Monday,14:00,14:50,12\n7C,Mon,09:00,09:50,14");
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.lessons.len(), 3);
        assert_eq!(p.lessons[1].start, NaiveTime::from_hms_opt(14, 0, 0).unwrap());
        assert_eq!(p.lessons[0].camera, "");
    }

    #[test]
    fn times_as_spreadsheets_keep_them() {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        for s in ["09:00", "9:00", "09:00:00", "1899-12-31 09:00:00", "1899-12-31T09:00:00", "0.375"] {
            assert_eq!(lesson_time(s), Ok(nine), "{s}");
        }
        assert!(lesson_time("9.00").unwrap_err().contains("HH:MM"));
        assert!(lesson_time("1.5").is_err());
    }

    #[test]
    fn overlaps_and_shared_rooms_are_problems_with_rows() {
        let p = plan("class,weekday,start,end,room\n7B,Mon,09:00,10:00,12\n7B,Mon,09:30,10:30,13\n7C,Mon,09:45,10:00,12\n7D,Tue,09:00,10:00,12\n7E,Mon,10:00,11:00,12\n8A,Mon,11:00,10:00,1\n8B,Caturday,09:00,10:00,2");
        let got: Vec<(usize, &str)> = p.problems.iter().map(|p| (p.row, p.problem.as_str())).collect();
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(got[0].0 == 3 && got[0].1.contains("overlaps row 2"), "{got:?}");
        assert!(got[1].0 == 4 && got[1].1.contains("room \"12\" has two classes at once"), "{got:?}");
        assert!(got[2].0 == 7 && got[2].1.contains("ends (10:00) before it starts (11:00)"), "{got:?}");
        assert!(got[3].0 == 8 && got[3].1.contains("not a day of the week"), "{got:?}");
    }
}
