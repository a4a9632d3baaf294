//! Attendance: the rules (present, late, absent, excused), taking the roll from frames, and
//! mood summaries. Storage is reached only through `crate::storage`.

pub mod live;
pub mod mood;
pub mod roll;
pub mod rules;

pub use roll::{FaceView, FrameOutcome, Roll, RollEvent, RollOptions};
pub use rules::{AttendanceRules, Status};
