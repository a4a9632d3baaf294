//! What a register says of a student in a session. A leaf of the crate: storage, attendance
//! rules and reports all use it, and it depends on none of them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Present,
    Late,
    Absent,
    Excused,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Present => "present",
            Status::Late => "late",
            Status::Absent => "absent",
            Status::Excused => "excused",
        }
    }

    /// One-letter code for the Excel grid.
    pub fn code(self) -> &'static str {
        match self {
            Status::Present => "P",
            Status::Late => "L",
            Status::Absent => "A",
            Status::Excused => "E",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s.trim().to_ascii_lowercase().as_str() {
            "present" | "p" => Some(Status::Present),
            "late" | "l" => Some(Status::Late),
            "absent" | "a" => Some(Status::Absent),
            "excused" | "e" => Some(Status::Excused),
            _ => None,
        }
    }

    pub const ALL: [Status; 4] = [Status::Present, Status::Late, Status::Absent, Status::Excused];
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Status, String> {
        Status::parse(s).ok_or_else(|| format!("{s:?} is not a status: use present, late, absent or excused"))
    }
}
