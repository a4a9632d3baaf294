//! Class rosters from the school office's spreadsheet: CSV or XLSX with the columns
//! `student_id, first_name, last_name, class` (any order, header names case-insensitive).
//! Every problem is reported with its row number before anything is changed; a roster with
//! problems is not imported at all (no half-imported classes).

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use calamine::{open_workbook_auto, Data, Reader};
use serde::Serialize;

use crate::storage::RosterEntry;

pub const COLUMNS: [&str; 4] = ["student_id", "first_name", "last_name", "class"];

#[derive(Debug, Clone, Serialize)]
pub struct RosterProblem {
    /// 1-based row in the file (the header is row 1); 0 for the file as a whole.
    pub row: usize,
    pub problem: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RosterPlan {
    pub entries: Vec<RosterEntry>,
    pub problems: Vec<RosterProblem>,
}

/// Read and validate a roster file (nothing is written).
pub fn read_roster(path: &Path) -> anyhow::Result<RosterPlan> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let rows: Vec<Vec<String>> = match ext.as_str() {
        "xlsx" | "xlsm" | "xls" | "ods" => {
            let mut wb = open_workbook_auto(path).with_context(|| format!("cannot open {} as a spreadsheet", path.display()))?;
            let sheet = wb.sheet_names().first().cloned().with_context(|| format!("{} has no sheets", path.display()))?;
            let range = wb.worksheet_range(&sheet).with_context(|| format!("cannot read sheet {sheet:?} of {}", path.display()))?;
            range.rows().map(|r| r.iter().map(cell_text).collect()).collect()
        }
        _ => {
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .trim(csv::Trim::All)
                .from_path(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            rdr.records()
                .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
                .collect::<Result<_, _>>()
                .with_context(|| format!("{} is not a readable CSV file", path.display()))?
        }
    };
    Ok(validate(&rows))
}

fn cell_text(d: &Data) -> String {
    match d {
        // Student numbers typed into Excel come back as floats: 1042.0 means "1042".
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        other => other.to_string().trim().to_string(),
    }
}

/// Validate rows (the first is the header).
pub fn validate(rows: &[Vec<String>]) -> RosterPlan {
    let mut problems = Vec::new();
    let Some(header) = rows.first() else {
        return RosterPlan { entries: Vec::new(), problems: vec![RosterProblem { row: 0, problem: "the file is empty".into() }] };
    };
    let norm = |h: &str| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase().replace([' ', '-'], "_");
    let mut index = [usize::MAX; 4];
    for (k, col) in COLUMNS.iter().enumerate() {
        match header.iter().position(|h| norm(h) == *col) {
            Some(i) => index[k] = i,
            None => problems.push(RosterProblem { row: 1, problem: format!("missing column {col:?} (found: {})", header.join(", ")) }),
        }
    }
    if !problems.is_empty() {
        return RosterPlan { entries: Vec::new(), problems };
    }
    let mut entries = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate().skip(1) {
        let line = i + 1;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let get = |k: usize| row.get(index[k]).map(|s| s.trim().to_string()).unwrap_or_default();
        let e = RosterEntry { student_id: get(0), first_name: get(1), last_name: get(2), class: get(3) };
        let missing: Vec<&str> = COLUMNS
            .iter()
            .zip([&e.student_id, &e.first_name, &e.last_name, &e.class])
            .filter(|(_, v)| v.is_empty())
            .map(|(c, _)| *c)
            .collect();
        if !missing.is_empty() {
            problems.push(RosterProblem { row: line, problem: format!("empty {}", missing.join(", ")) });
            continue;
        }
        if let Some(first) = seen.get(&e.student_id) {
            problems.push(RosterProblem { row: line, problem: format!("duplicate student_id {:?} (first on row {first})", e.student_id) });
            continue;
        }
        seen.insert(e.student_id.clone(), line);
        entries.push(e);
    }
    if entries.is_empty() && problems.is_empty() {
        problems.push(RosterProblem { row: 0, problem: "no students in the file".into() });
    }
    RosterPlan { entries, problems }
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
        assert_eq!(plan.entries[0], RosterEntry { student_id: "1001".into(), first_name: "Ada".into(), last_name: "Lovelace".into(), class: "7B".into() });
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
}
