//! Class rosters from the school office's spreadsheet: CSV or XLSX with the columns
//! `student_id, first_name, last_name, class` (any order, header names case-insensitive). A
//! student in several classes (sections, sets) has a row per class; the file gives each
//! student it lists all of their classes.
//! Every problem is reported with its row number before anything is changed; a roster with
//! problems is not imported at all (no half-imported classes).
//!
//! The file is read defensively by `spreadsheet` (streamed, encoding sniffed, bounded); here,
//! at most `MAX_ROWS` students, fields of bounded length, no control characters (they would be
//! printed raw to a terminal, and break exports).

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::consent::ConsentKind;
use crate::spreadsheet::{self, RowProblem, Table};
use crate::storage::{RosterConsent, RosterEntry};

pub const COLUMNS: [&str; 4] = ["student_id", "first_name", "last_name", "class"];
/// Optional columns: consent (granted / withdrawn / objected, or yes / no), who, and when.
pub const CONSENT_COLUMNS: [&str; 3] = ["consent", "consent_by", "consent_date"];
/// A district of 20 schools of 1,500 is 30,000 students; a roster of more is a mistake.
pub const MAX_ROWS: usize = 200_000;
pub const MAX_ID_CHARS: usize = 64;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_CLASS_CHARS: usize = 64;

#[derive(Debug, Clone, Serialize)]
pub struct RosterPlan {
    pub entries: Vec<RosterEntry>,
    pub problems: Vec<RowProblem>,
    /// How a CSV's text was decoded ("UTF-8", "UTF-16LE", "windows-1252"); `None` for XLSX.
    pub encoding: Option<String>,
}

/// How a roster reads as a table (`spreadsheet::read_rows`).
pub const ROSTER_TABLE: Table = Table { file: "a roster file", rows: "students", max_rows: MAX_ROWS };

/// Read and validate a roster file (nothing is written).
pub fn read_roster(path: &Path) -> anyhow::Result<RosterPlan> {
    let mut v = Validator::new();
    let encoding = spreadsheet::read_rows(path, &ROSTER_TABLE, |line, row| v.row(line, row))?;
    Ok(v.finish(encoding))
}

/// Apply a roster's entries (or, `dry_run`, work out what would change), then delete the face
/// templates of students it took off their classes if the retention policy says "at once". Both
/// front ends import through here.
pub fn apply(
    store: &mut crate::storage::Store,
    entries: &[RosterEntry],
    options: crate::storage::RosterOptions,
    actor: &str,
) -> anyhow::Result<crate::storage::RosterChanges> {
    let mut changes = store.apply_roster(entries, options, actor)?;
    if options.remove_missing && !options.dry_run && !changes.missing.is_empty() {
        changes.leavers_templates_deleted = crate::retention::purge_leavers(store, actor)?.templates_of_students_who_left;
    }
    Ok(changes)
}

/// Rows are checked as they arrive: the validator never needs the whole file.
struct Validator {
    index: Option<[usize; 4]>,
    /// The optional consent columns: consent, consent_by, consent_date.
    consent_index: [Option<usize>; 3],
    entries: Vec<RosterEntry>,
    problems: Vec<RowProblem>,
    seen: HashMap<String, usize>,
    rows: usize,
}

impl Validator {
    fn new() -> Self {
        Validator { index: None, consent_index: [None; 3], entries: Vec::new(), problems: Vec::new(), seen: HashMap::new(), rows: 0 }
    }

    /// Take row `line` (1-based); false once the file is known to be unusable (stop reading).
    fn row(&mut self, line: usize, row: &[String]) -> bool {
        let Some(index) = self.index else {
            return self.header(row);
        };
        if row.iter().all(|c| c.trim().is_empty()) {
            return true;
        }
        self.rows += 1;
        if self.rows > MAX_ROWS {
            self.problems.push(RowProblem { row: line, problem: format!("more than {MAX_ROWS} students: a roster this long is a mistake, or split it") });
            return false;
        }
        let get = |k: usize| row.get(index[k]).map(|s| s.trim().to_string()).unwrap_or_default();
        let consent = match self.consent(line, row) {
            Ok(c) => c,
            Err(problem) => {
                self.problems.push(RowProblem { row: line, problem });
                return true;
            }
        };
        let e = RosterEntry { student_id: get(0), first_name: get(1), last_name: get(2), class: get(3), consent };
        let fields = [
            (COLUMNS[0], &e.student_id, MAX_ID_CHARS),
            (COLUMNS[1], &e.first_name, MAX_NAME_CHARS),
            (COLUMNS[2], &e.last_name, MAX_NAME_CHARS),
            (COLUMNS[3], &e.class, MAX_CLASS_CHARS),
        ];
        let missing: Vec<&str> = fields.iter().filter(|(_, v, _)| v.is_empty()).map(|(c, _, _)| *c).collect();
        if !missing.is_empty() {
            self.problems.push(RowProblem { row: line, problem: format!("empty {}", missing.join(", ")) });
            return true;
        }
        for (col, value, max) in fields {
            let n = value.chars().count();
            if n > max {
                self.problems.push(RowProblem { row: line, problem: format!("{col} is {n} characters long (at most {max})") });
                return true;
            }
            if value.chars().any(char::is_control) {
                self.problems
                    .push(RowProblem { row: line, problem: format!("{col} contains control characters (tabs, line breaks or terminal codes): retype it") });
                return true;
            }
        }
        // A student in several classes has a row per class, with the same name on each.
        if let Some(&first) = self.seen.get(&e.student_id) {
            let same_class = self.entries.iter().any(|x| x.student_id == e.student_id && x.class == e.class);
            let named = self.entries.iter().find(|x| x.student_id == e.student_id).is_some_and(|x| x.first_name == e.first_name && x.last_name == e.last_name);
            if same_class {
                self.problems
                    .push(RowProblem { row: line, problem: format!("duplicate student_id {:?} in class {:?} (first on row {first})", e.student_id, e.class) });
                return true;
            }
            if !named {
                self.problems
                    .push(RowProblem { row: line, problem: format!("student_id {:?} has another name on row {first}: one student, one name", e.student_id) });
                return true;
            }
        } else {
            self.seen.insert(e.student_id.clone(), line);
        }
        self.entries.push(e);
        true
    }

    fn header(&mut self, header: &[String]) -> bool {
        let norm = |h: &str| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase().replace([' ', '-'], "_");
        let mut index = [usize::MAX; 4];
        for (k, col) in COLUMNS.iter().enumerate() {
            match header.iter().position(|h| norm(h) == *col) {
                Some(i) => index[k] = i,
                None => self.problems.push(RowProblem {
                    row: 1,
                    problem: format!("missing column {col:?} (found: {})", header.iter().map(|h| sanitize(h)).collect::<Vec<_>>().join(", ")),
                }),
            }
        }
        if !self.problems.is_empty() {
            return false;
        }
        self.index = Some(index);
        for (k, col) in CONSENT_COLUMNS.iter().enumerate() {
            self.consent_index[k] = header.iter().position(|h| norm(h) == *col);
        }
        true
    }

    /// The row's consent columns, if the file has them and the row fills them in.
    fn consent(&self, _line: usize, row: &[String]) -> Result<Option<RosterConsent>, String> {
        let get = |k: usize| self.consent_index[k].and_then(|i| row.get(i)).map(|s| s.trim().to_string()).unwrap_or_default();
        let (kind, by, date) = (get(0), get(1), get(2));
        if kind.is_empty() && by.is_empty() && date.is_empty() {
            return Ok(None);
        }
        let kind = ConsentKind::parse(&kind).ok_or_else(|| format!("consent {kind:?} is not granted, withdrawn or objected (or yes / no)"))?;
        if by.is_empty() {
            return Err("consent_by is empty: say who gave or refused consent".into());
        }
        if by.chars().count() > MAX_NAME_CHARS || by.chars().any(char::is_control) {
            return Err("consent_by is too long or has control characters".into());
        }
        let date = crate::calendar::parse_date(&date).map_err(|e| format!("consent_date: {e}"))?;
        if date > chrono::Local::now().date_naive() {
            return Err(format!("consent_date {date} is in the future"));
        }
        Ok(Some(RosterConsent { kind, by, date }))
    }

    fn finish(mut self, encoding: Option<String>) -> RosterPlan {
        if self.index.is_none() && self.problems.is_empty() {
            self.problems.push(RowProblem { row: 0, problem: "the file is empty".into() });
        } else if self.entries.is_empty() && self.problems.is_empty() {
            self.problems.push(RowProblem { row: 0, problem: "no students in the file".into() });
        }
        RosterPlan { entries: self.entries, problems: self.problems, encoding }
    }
}

/// Validate rows (the first is the header).
pub fn validate(rows: &[Vec<String>]) -> RosterPlan {
    let mut v = Validator::new();
    for (i, row) in rows.iter().enumerate() {
        if !v.row(i + 1, row) {
            break;
        }
    }
    v.finish(None)
}

/// A value as it may be shown on a terminal: control characters escaped.
pub fn sanitize(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Vec<String>> {
        text.lines().map(|l| l.split(',').map(str::to_string).collect()).collect()
    }

    #[test]
    fn columns_in_any_order_and_case() {
        let plan = validate(&rows("Class,Last Name,first_name,STUDENT_ID\n7B,Lovelace,Ada,1001\n7B,Turing,Alan,1002"));
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        assert_eq!(
            plan.entries[0],
            RosterEntry { student_id: "1001".into(), first_name: "Ada".into(), last_name: "Lovelace".into(), class: "7B".into(), consent: None }
        );
    }

    #[test]
    fn problems_are_reported_with_rows() {
        let plan = validate(&rows("student_id,first_name,last_name,class\n1,A,B,7B\n1,C,D,7B\n2,,E,7B\n,,,\n3,F,G,7C"));
        let p: Vec<(usize, &str)> = plan.problems.iter().map(|p| (p.row, p.problem.as_str())).collect();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].0, 3);
        assert!(p[0].1.contains("duplicate"));
        assert_eq!(p[1].0, 4);
        assert!(p[1].1.contains("first_name"));
        assert_eq!(plan.entries.len(), 2);
    }

    #[test]
    fn a_missing_column_is_one_clear_problem() {
        let plan = validate(&rows("student_id,first_name,class\n1,A,7B"));
        assert_eq!(plan.problems.len(), 1);
        assert!(plan.problems[0].problem.contains("last_name"));
    }

    #[test]
    fn consent_columns_are_optional_and_checked() {
        let plan = validate(&rows(
            "student_id,first_name,last_name,class,consent,consent_by,consent_date\n1,A,B,7B,yes,Ana Silva,2026-09-01\n2,C,D,7B,,,\n3,E,F,7B,maybe,X,2026-09-01\n4,G,H,7B,granted,,2026-09-01\n5,I,J,7B,no,student,2999-01-01",
        ));
        assert_eq!(plan.entries[0].consent.as_ref().unwrap().kind, ConsentKind::Granted);
        assert_eq!(plan.entries[1].consent, None);
        let p: Vec<&str> = plan.problems.iter().map(|p| p.problem.as_str()).collect();
        assert!(p[0].contains("not granted") && p[1].contains("consent_by is empty") && p[2].contains("in the future"), "{p:?}");
    }

    #[test]
    fn names_too_long_or_with_control_characters_are_problems() {
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        let plan = validate(&rows(&format!("student_id,first_name,last_name,class\n1,{long},B,7B\n2,A\u{1b}[31m,B,7B\n3,Ok,Fine,7B")));
        let p: Vec<&str> = plan.problems.iter().map(|p| p.problem.as_str()).collect();
        assert!(p[0].contains("at most 100"), "{p:?}");
        assert!(p[1].contains("control characters"), "{p:?}");
        assert_eq!(sanitize("A\u{1b}[31m"), "A\\u{1b}[31m");
    }
}
