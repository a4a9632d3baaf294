//! The attendance rules, in one place: what "present", "late" and "absent" mean.
//!
//! - A session is one class on one day; it starts at the class's lesson time (or when the run
//!   starts, if the class has none) and allows `late_after_minutes` of grace.
//! - A student's first sighting decides the automatic status: present up to the grace limit,
//!   late after it (with the minutes counted from the session start). Later sightings only move
//!   `last_seen`: one mark per student per session.
//! - Absent: enrolled in the class and never seen in the session. Excused: set by a person.

use chrono::NaiveDateTime;
use serde::Serialize;

pub use crate::status::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AttendanceRules {
    pub starts_at: NaiveDateTime,
    pub late_after_minutes: i64,
}

impl AttendanceRules {
    /// Status and late minutes for a first sighting at `first_seen`.
    pub fn judge(&self, first_seen: NaiveDateTime) -> (Status, i64) {
        let minutes = (first_seen - self.starts_at).num_seconds().max(0) / 60;
        if minutes > self.late_after_minutes || (minutes == self.late_after_minutes && (first_seen - self.starts_at).num_seconds() % 60 > 0) {
            (Status::Late, minutes)
        } else {
            (Status::Present, 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap().and_hms_opt(h, m, s).unwrap()
    }

    #[test]
    fn grace_period_then_late_with_minutes_counted_from_the_start() {
        let rules = AttendanceRules { starts_at: at(8, 0, 0), late_after_minutes: 10 };
        assert_eq!(rules.judge(at(7, 50, 0)), (Status::Present, 0));
        assert_eq!(rules.judge(at(8, 10, 0)), (Status::Present, 0));
        assert_eq!(rules.judge(at(8, 10, 1)), (Status::Late, 10));
        assert_eq!(rules.judge(at(8, 25, 30)), (Status::Late, 25));
    }

    #[test]
    fn statuses_parse_from_words_and_codes() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(Status::parse(s.code()), Some(s));
        }
        assert_eq!(Status::parse("gone"), None);
    }
}

/// What a face judged a photo or a screen held up does to the register (`settings::LIVENESS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LivenessMode {
    /// Not checked.
    Off,
    /// Marked, and flagged for a person to review (the audit log and the live view say so). The
    /// default: the check rejects about 1 live face in 60 and misses about a third of printed
    /// photos (models/README.md), so a school sees it work on its own camera before blocking.
    #[default]
    Warn,
    /// Not marked; a face the check cannot judge (too close, too small) is not marked until it can.
    Block,
}

impl LivenessMode {
    pub fn parse(s: &str) -> Option<LivenessMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" => Some(LivenessMode::Off),
            "warn" => Some(LivenessMode::Warn),
            "block" => Some(LivenessMode::Block),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LivenessMode::Off => "off",
            LivenessMode::Warn => "warn",
            LivenessMode::Block => "block",
        }
    }
}

impl std::str::FromStr for LivenessMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        LivenessMode::parse(s).ok_or_else(|| format!("liveness is \"off\", \"warn\" or \"block\", not {s:?}"))
    }
}
