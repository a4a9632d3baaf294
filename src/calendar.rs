//! Dates and times as people type them, parsed once for the CLI and the app alike.

use chrono::{Local, NaiveDate, NaiveTime};

/// `YYYY-MM-DD`, or `today`.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("today") {
        return Ok(Local::now().date_naive());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("{s:?} is not a date: use YYYY-MM-DD (or `today`)"))
}

/// `HH:MM` (24-hour clock).
pub fn parse_time(s: &str) -> Result<NaiveTime, String> {
    let s = s.trim();
    NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| format!("{s:?} is not a time: use HH:MM"))
}

/// An inclusive range of days, `from` not after `to`.
pub fn date_range(from: NaiveDate, to: NaiveDate) -> Result<(NaiveDate, NaiveDate), String> {
    if from > to {
        return Err(format!("the range starts ({from}) after it ends ({to})"));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_as_typed() {
        assert_eq!(parse_date("2026-11-02").unwrap(), NaiveDate::from_ymd_opt(2026, 11, 2).unwrap());
        assert_eq!(parse_date("Today").unwrap(), Local::now().date_naive());
        assert!(parse_date("yesterday-ish").unwrap_err().contains("YYYY-MM-DD"));
        assert_eq!(parse_time("08:30").unwrap(), NaiveTime::from_hms_opt(8, 30, 0).unwrap());
        assert!(parse_time("8.30").is_err());
        assert!(date_range(parse_date("2026-11-03").unwrap(), parse_date("2026-11-02").unwrap()).is_err());
    }
}
