//! The app-wide settings kept in the database's `settings` table: which keys exist, what values
//! they accept, and how they are read. The CLI and the desktop app share them.

use crate::attendance::LivenessMode;
use crate::recognition::Strictness;
use crate::storage::{Store, StoreError};

pub const SCHOOL_NAME: &str = "school_name";
/// The default camera: an index, a file or a URL (`SourceSpec::parse`).
pub const CAMERA: &str = "camera";
/// "on" or "off"; absent until the first-run question has been answered.
pub const MOOD: &str = "mood";
/// Smallest face the live detector looks for, in pixels.
pub const MIN_FACE: &str = "min_face";
pub const SETUP_DONE: &str = "setup_done";
/// Recognition strictness: "auto" (or absent) keeps the threshold calibrated from the enrolled
/// photos; a number raises every student's threshold to at least that cosine similarity.
pub const MIN_SIMILARITY: &str = "min_similarity";
/// Recognition strictness: "standard" (or absent), "strict" or "strictest" (`recognition::Strictness`):
/// the same share of strangers accepted at any school size.
pub const STRICTNESS: &str = "strictness";
/// Retention (see `crate::retention`): days after leaving until a student's face templates are
/// deleted (0: at once), days a template may go unrecognised, days mood summaries are kept, and
/// years attendance is kept ("keep": for ever).
pub const RETENTION_LEFT_DAYS: &str = "retention_left_days";
pub const RETENTION_UNMATCHED_DAYS: &str = "retention_unmatched_days";
pub const RETENTION_MOOD_DAYS: &str = "retention_mood_days";
pub const RETENTION_ATTENDANCE_YEARS: &str = "retention_attendance_years";
/// Minutes without use after which the app locks and asks who is using it.
pub const IDLE_LOCK_MINUTES: &str = "idle_lock_minutes";
pub const DEFAULT_IDLE_LOCK_MINUTES: u32 = 10;
/// The daily automatic backup: the folder it goes to (absent or empty: no automatic backup) and
/// how many of the latest it keeps there.
pub const BACKUP_FOLDER: &str = "backup_folder";
pub const BACKUP_KEEP: &str = "backup_keep";
pub const DEFAULT_BACKUP_KEEP: u32 = 14;
/// "on": the app starts and stops each timetabled lesson's session by itself (as `rollcall
/// serve` does); "off" (or absent): a person starts them.
pub const TIMETABLE_SESSIONS: &str = "timetable_sessions";
/// "off", "warn" (or absent) or "block": what a face judged a photo or a screen held up does
/// (`attendance::LivenessMode`).
pub const LIVENESS: &str = "liveness";
pub const KEYS: [&str; 16] = [
    SCHOOL_NAME,
    CAMERA,
    MOOD,
    MIN_FACE,
    SETUP_DONE,
    MIN_SIMILARITY,
    STRICTNESS,
    RETENTION_LEFT_DAYS,
    RETENTION_UNMATCHED_DAYS,
    RETENTION_MOOD_DAYS,
    RETENTION_ATTENDANCE_YEARS,
    IDLE_LOCK_MINUTES,
    BACKUP_FOLDER,
    BACKUP_KEEP,
    TIMETABLE_SESSIONS,
    LIVENESS,
];

/// The live loop's default: large enough to skip the tiny-face pyramid levels that cost the most.
pub const DEFAULT_MIN_FACE: f32 = 40.0;
pub const MIN_FACE_RANGE: (f32, f32) = (20.0, 400.0);
/// Below 0.30 strangers get through (recognition::MIN_THRESHOLD); above 0.95 nobody is recognised.
pub const MIN_SIMILARITY_RANGE: (f32, f32) = (0.30, 0.95);

/// Check a value before it is stored; the error is a sentence for the person who typed it.
pub fn validate(key: &str, value: &str) -> Result<(), String> {
    match key {
        MIN_FACE => value
            .parse::<f32>()
            .ok()
            .filter(|v| (MIN_FACE_RANGE.0..=MIN_FACE_RANGE.1).contains(v))
            .map(|_| ())
            .ok_or_else(|| format!("the smallest face must be between {} and {} pixels", MIN_FACE_RANGE.0, MIN_FACE_RANGE.1)),
        MIN_SIMILARITY if value.is_empty() || value == "auto" => Ok(()),
        MIN_SIMILARITY => value
            .parse::<f32>()
            .ok()
            .filter(|v| (MIN_SIMILARITY_RANGE.0..=MIN_SIMILARITY_RANGE.1).contains(v))
            .map(|_| ())
            .ok_or_else(|| {
                format!("the minimum similarity is \"auto\" or a number from {} to {}", MIN_SIMILARITY_RANGE.0, MIN_SIMILARITY_RANGE.1)
            }),
        MOOD if value != "on" && value != "off" => Err("mood recognition is \"on\" or \"off\"".into()),
        TIMETABLE_SESSIONS if value != "on" && value != "off" => Err("sessions from the timetable are \"on\" or \"off\"".into()),
        // BIPA: destroyed within 3 years of the last interaction; 0 would delete every template.
        RETENTION_UNMATCHED_DAYS => {
            value.parse::<u32>().ok().filter(|d| (1..=1095).contains(d)).map(|_| ()).ok_or_else(|| "a number of days from 1 to 1095 (3 years, the longest Illinois BIPA allows)".to_string())
        }
        RETENTION_LEFT_DAYS | RETENTION_MOOD_DAYS => {
            value.parse::<u32>().ok().filter(|d| *d <= 3650).map(|_| ()).ok_or_else(|| "a number of days from 0 to 3650".to_string())
        }
        RETENTION_ATTENDANCE_YEARS if value == "keep" => Ok(()),
        RETENTION_ATTENDANCE_YEARS => {
            value.parse::<u32>().ok().filter(|y| (1..=100).contains(y)).map(|_| ()).ok_or_else(|| "\"keep\" or a number of years from 1 to 100".to_string())
        }
        IDLE_LOCK_MINUTES => {
            value.parse::<u32>().ok().filter(|m| (1..=240).contains(m)).map(|_| ()).ok_or_else(|| "the idle lock is a number of minutes from 1 to 240".to_string())
        }
        BACKUP_KEEP => value.parse::<u32>().ok().filter(|n| (1..=365).contains(n)).map(|_| ()).ok_or_else(|| "keep from 1 to 365 automatic backups".to_string()),
        BACKUP_FOLDER if !value.is_empty() && !std::path::Path::new(value).is_absolute() => Err("the backup folder is a full path (e.g. a network share or a USB drive)".into()),
        LIVENESS if LivenessMode::parse(value).is_none() => Err("liveness is \"off\", \"warn\" (mark, but flag for review) or \"block\" (do not mark)".into()),
        STRICTNESS if Strictness::parse(value).is_none() => Err("the strictness is \"standard\", \"strict\" or \"strictest\"".into()),
        k if KEYS.contains(&k) => Ok(()),
        k => Err(format!("unknown setting {k}")),
    }
}

/// Whether mood recognition was switched on or off; `None` if nobody has chosen yet.
pub fn mood(store: &mut Store) -> Result<Option<bool>, StoreError> {
    Ok(store.setting(MOOD)?.map(|v| v == "on"))
}

/// Whether mood is recognised, stored and shown. Off unless the school switched it on: inferring
/// students' emotions is prohibited in EU schools (AI Act Art. 5(1)(f)) except for medical or
/// safety reasons. The one default, for the CLI, the app and the reports alike.
pub fn mood_enabled(store: &mut Store) -> Result<bool, StoreError> {
    Ok(mood(store)?.unwrap_or(false))
}

/// The school's minimum similarity, or `None` for the calibrated threshold alone.
pub fn min_similarity(store: &mut Store) -> Result<Option<f32>, StoreError> {
    Ok(store.setting(MIN_SIMILARITY)?.and_then(|v| v.parse().ok()))
}

pub fn min_face(store: &mut Store) -> Result<f32, StoreError> {
    Ok(store.setting(MIN_FACE)?.and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_MIN_FACE))
}

/// Check and store one setting; the error is a sentence naming the valid keys or values.
pub fn set(store: &mut Store, key: &str, value: &str) -> anyhow::Result<()> {
    validate(key, value).map_err(|e| anyhow::anyhow!("{e} (settings: {})", KEYS.join(", ")))?;
    store.set_setting(key, value)?;
    Ok(())
}

/// Whether the app runs the timetable's sessions by itself (off unless the office turned it on).
pub fn timetable_sessions(store: &mut Store) -> Result<bool, StoreError> {
    Ok(store.setting(TIMETABLE_SESSIONS)?.is_some_and(|v| v == "on"))
}

pub fn idle_lock_minutes(store: &mut Store) -> Result<u32, StoreError> {
    Ok(store.setting(IDLE_LOCK_MINUTES)?.and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_IDLE_LOCK_MINUTES))
}

pub fn strictness(store: &mut Store) -> Result<Strictness, StoreError> {
    Ok(store.setting(STRICTNESS)?.and_then(|v| Strictness::parse(&v)).unwrap_or_default())
}

/// What the school chose for faces judged a photo or a screen (warn unless it chose).
pub fn liveness(store: &mut Store) -> Result<LivenessMode, StoreError> {
    Ok(store.setting(LIVENESS)?.and_then(|v| LivenessMode::parse(&v)).unwrap_or_default())
}

/// What a session takes from the settings, read in one place for the CLI and the app.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionDefaults {
    pub mood: bool,
    pub min_face: f32,
    pub min_similarity: Option<f32>,
    pub strictness: Strictness,
    pub liveness: LivenessMode,
}

impl SessionDefaults {
    /// `plan` as the school set it up: mood, the recognition floor and strictness, liveness and
    /// the smallest face (what the CLI, the app and the timetable's sessions all start from).
    pub fn apply(&self, plan: crate::attendance::live::SessionPlan) -> crate::attendance::live::SessionPlan {
        crate::attendance::live::SessionPlan {
            mood: self.mood,
            min_similarity: self.min_similarity,
            strictness: self.strictness,
            liveness: self.liveness,
            min_face: Some(self.min_face),
            ..plan
        }
    }
}

pub fn session_defaults(store: &mut Store) -> Result<SessionDefaults, StoreError> {
    Ok(SessionDefaults { mood: mood_enabled(store)?, min_face: min_face(store)?, min_similarity: min_similarity(store)?, strictness: strictness(store)?, liveness: liveness(store)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_before_they_are_stored() {
        assert!(validate(MIN_FACE, "40").is_ok());
        assert!(validate(MIN_FACE, "10").is_err());
        assert!(validate(MOOD, "maybe").is_err());
        for ok in ["auto", "", "0.3", "0.72", "0.95"] {
            assert!(validate(MIN_SIMILARITY, ok).is_ok(), "{ok}");
        }
        for bad in ["0.2", "1.5", "high"] {
            assert!(validate(MIN_SIMILARITY, bad).unwrap_err().contains("minimum similarity"), "{bad}");
        }
        assert!(validate("colour", "red").is_err());
        assert!(validate(STRICTNESS, "strict").is_ok());
        assert!(validate(STRICTNESS, "paranoid").unwrap_err().contains("strictest"));
    }
}
