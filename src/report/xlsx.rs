//! The Excel workbook a school office opens: a summary sheet (rates and counts per student), a
//! students x lessons grid (a column per lesson held) of status codes, the daily detail (lesson,
//! times, late minutes), and a mood sheet with a chart. Header rows are frozen, columns sized, dates formatted as dates.
//! While mood recognition is off the workbook holds nothing about mood (no sheet, no column).
//! The file is written through `files::write_file`: never over the database, never over an
//! existing file unless asked, complete or not at all. Text cells are always text: a name
//! starting with `=` is never a formula.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime};
use rust_xlsxwriter::{Chart, ChartType, Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use super::ClassSummary;
use crate::attendance::Status;
use crate::files::{self, Protected};
use crate::storage::Store;
use crate::vision::Expression;

/// `Attendance_<class>_<from>_<to>.xlsx`, with characters unsafe in file names replaced.
pub fn default_file_name(class: &str, from: NaiveDate, to: NaiveDate) -> PathBuf {
    PathBuf::from(files::safe_file_name(&format!("Attendance_{class}_{from}_{to}.xlsx")))
}

fn status_fill(s: Status) -> Color {
    match s {
        Status::Present => Color::RGB(0xC6EFCE),
        Status::Late => Color::RGB(0xFFEB9C),
        Status::Absent => Color::RGB(0xFFC7CE),
        Status::Excused => Color::RGB(0xDDEBF7),
    }
}

/// Export a class over a date range to `out`; an existing file is replaced only if `overwrite`.
/// Audited under `actor` (an export takes the register off the database's protection).
pub fn export(store: &mut Store, class: &str, from: NaiveDate, to: NaiveDate, out: &Path, overwrite: bool, actor: &str) -> anyhow::Result<ClassSummary> {
    let summary = super::summary(store, class, from, to)?;
    let c = store.class(class)?;
    let mut daily = Vec::new();
    let mut dates: Vec<NaiveDate> = summary.lessons.iter().map(|l| l.date).collect();
    dates.dedup();
    for date in dates {
        daily.push(super::daily(store, &c.name, date)?);
    }
    let protected = Protected { database: store.files().to_vec(), inputs: Vec::new() };
    files::write_file(out, overwrite, &protected, |tmp| Ok(write(&summary, &daily, tmp)?))?;
    store.audit_database_event(actor, "export", format!("attendance of class {class}, {from} to {to}, exported to {}", out.display()))?;
    Ok(summary)
}

fn write(summary: &ClassSummary, daily: &[super::DailyReport], out: &Path) -> Result<(), XlsxError> {
    let mood = summary.mood;
    let mut wb = Workbook::new();
    let header = Format::new().set_bold().set_background_color(Color::RGB(0x1F4E78)).set_font_color(Color::White).set_border(FormatBorder::Thin);
    let title = Format::new().set_bold().set_font_size(14);
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd").set_align(FormatAlign::Center);
    // A grid column is a lesson: its day and start.
    let lesson_header = header.clone().set_num_format("ddd dd mmm hh:mm").set_align(FormatAlign::Center).set_text_wrap();
    let time_fmt = Format::new().set_num_format("hh:mm:ss");
    let pct = Format::new().set_num_format("0.0%");

    // Summary
    let ws = wb.add_worksheet();
    ws.set_name("Summary")?;
    ws.write_with_format(0, 0, format!("Attendance — class {}", summary.class), &title)?;
    ws.write(1, 0, format!("{} to {}  ·  {} session(s)", summary.from, summary.to, summary.lessons.len()))?;
    let cols = ["Student ID", "Name", "Present", "Late", "Absent", "Excused", "Attendance rate", "Late minutes", "Usual mood"];
    let cols = if mood { &cols[..] } else { &cols[..8] };
    for (k, h) in cols.iter().enumerate() {
        ws.write_with_format(3, k as u16, *h, &header)?;
    }
    for (r, s) in summary.students.iter().enumerate() {
        let row = 4 + r as u32;
        ws.write(row, 0, &s.student_id)?;
        ws.write(row, 1, &s.name)?;
        for (k, st) in Status::ALL.iter().enumerate() {
            ws.write(row, 2 + k as u16, s.counts.get(st.as_str()).copied().unwrap_or(0) as f64)?;
        }
        match s.attendance_rate {
            Some(v) => ws.write_with_format(row, 6, v, &pct)?,
            None => ws.write(row, 6, "—")?,
        };
        ws.write(row, 7, s.late_minutes_total as f64)?;
        if mood {
            ws.write(row, 8, s.mood.clone().unwrap_or_default())?;
        }
    }
    let total_row = 4 + summary.students.len() as u32;
    ws.write_with_format(total_row, 1, "Class", &Format::new().set_bold())?;
    for (k, st) in Status::ALL.iter().enumerate() {
        ws.write_with_format(total_row, 2 + k as u16, summary.counts.get(st.as_str()).copied().unwrap_or(0) as f64, &Format::new().set_bold())?;
    }
    if let Some(v) = summary.attendance_rate {
        ws.write_with_format(total_row, 6, v, &pct.clone().set_bold())?;
    }
    ws.set_freeze_panes(4, 2)?;
    widths(ws, &[12.0, 26.0, 9.0, 9.0, 9.0, 9.0, 16.0, 13.0, 13.0])?;

    // Students x lessons grid
    let ws = wb.add_worksheet();
    ws.set_name("Attendance grid")?;
    ws.write_with_format(0, 0, "Student ID", &header)?;
    ws.write_with_format(0, 1, "Name", &header)?;
    for (k, l) in summary.lessons.iter().enumerate() {
        let at = NaiveTime::parse_from_str(&l.lesson, "%H:%M").map_or(l.date.and_time(NaiveTime::MIN), |t| l.date.and_time(t));
        ws.write_datetime_with_format(0, 2 + k as u16, &at, &lesson_header)?;
        ws.set_column_width(2 + k as u16, 11.0)?;
    }
    ws.set_row_height(0, 30.0)?;
    for (r, s) in summary.students.iter().enumerate() {
        let row = 1 + r as u32;
        ws.write(row, 0, &s.student_id)?;
        ws.write(row, 1, &s.name)?;
        for (k, st) in s.statuses.iter().enumerate() {
            if let Some(st) = st {
                let f = Format::new().set_align(FormatAlign::Center).set_background_color(status_fill(*st));
                ws.write_with_format(row, 2 + k as u16, st.code(), &f)?;
            }
        }
    }
    let legend_row = 2 + summary.students.len() as u32;
    ws.write(legend_row, 1, "P present · L late · A absent · E excused")?;
    ws.set_freeze_panes(1, 2)?;
    ws.set_column_width(0, 12.0)?;
    ws.set_column_width(1, 26.0)?;

    // Daily detail
    let ws = wb.add_worksheet();
    ws.set_name("Daily detail")?;
    let cols: Vec<&str> = ["Date", "Lesson", "Student ID", "Name", "Status", "First seen", "Last seen", "Late minutes", "Mood", "How", "Check"]
        .into_iter()
        .filter(|c| mood || *c != "Mood")
        .collect();
    let set_by = cols.len() as u16 - 2;
    let check = set_by + 1;
    let warn = Format::new().set_font_color(Color::RGB(0x9C0006)).set_background_color(Color::RGB(0xFFC7CE));
    for (k, h) in cols.iter().enumerate() {
        ws.write_with_format(0, k as u16, *h, &header)?;
    }
    let mut row = 1u32;
    for day in daily {
        for lesson in day.lessons.iter().filter(|l| l.held) {
            for s in &lesson.students {
                ws.write_date_with_format(row, 0, &day.date, &date_fmt)?;
                ws.write(row, 1, &lesson.lesson)?;
                ws.write(row, 2, &s.student_id)?;
                ws.write(row, 3, &s.name)?;
                if let Some(status) = s.status {
                    ws.write_with_format(row, 4, status.as_str(), &Format::new().set_background_color(status_fill(status)))?;
                }
                if let Some(t) = s.first_seen {
                    ws.write_datetime_with_format(row, 5, &t, &time_fmt)?;
                }
                if let Some(t) = s.last_seen {
                    ws.write_datetime_with_format(row, 6, &t, &time_fmt)?;
                }
                ws.write(row, 7, s.late_minutes as f64)?;
                if mood {
                    ws.write(row, 8, s.mood.clone().unwrap_or_default())?;
                }
                ws.write(row, set_by, s.how.unwrap_or(""))?;
                if let Some(why) = &s.review {
                    ws.write_with_format(row, check, why, &warn)?;
                }
                row += 1;
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, row.saturating_sub(1).max(1), check)?;
    let mut w = vec![12.0, 8.0, 12.0, 26.0, 10.0, 11.0, 11.0, 13.0, 11.0, 10.0, 40.0];
    if !mood {
        w.remove(8);
    }
    widths(ws, &w)?;

    if mood {
        mood_sheet(&mut wb, summary, &header)?;
    }
    wb.save(out)?;
    Ok(())
}

/// How many student-days had each dominant mood, with a chart.
fn mood_sheet(wb: &mut Workbook, summary: &ClassSummary, header: &Format) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name("Mood")?;
    ws.write_with_format(0, 0, "Mood", header)?;
    ws.write_with_format(0, 1, "Student-lessons", header)?;
    for (k, e) in Expression::ALL.iter().enumerate() {
        let n = summary.students.iter().flat_map(|s| s.moods.iter().flatten()).filter(|m| m.as_str() == e.as_str()).count();
        ws.write(1 + k as u32, 0, e.as_str())?;
        ws.write(1 + k as u32, 1, n as f64)?;
    }
    ws.write(9, 0, "Mood is the dominant facial expression over each session; it is only recorded when mood recognition is on.")?;
    let mut chart = Chart::new(ChartType::Column);
    chart.title().set_name("Dominant mood per student-lesson");
    chart.add_series().set_categories(("Mood", 1, 0, 7, 0)).set_values(("Mood", 1, 1, 7, 1)).set_name("Student-lessons");
    chart.legend().set_hidden();
    ws.insert_chart(0, 3, &chart)?;
    ws.set_freeze_panes(1, 0)?;
    widths(ws, &[12.0, 14.0])?;
    Ok(())
}

fn widths(ws: &mut Worksheet, w: &[f64]) -> Result<(), XlsxError> {
    for (k, width) in w.iter().enumerate() {
        ws.set_column_width(k as u16, *width)?;
    }
    Ok(())
}
