//! The app-wide settings kept in the database's `settings` table: which keys exist, what values
//! they accept, and how they are read. The CLI and the desktop app share them.

use crate::storage::{Store, StoreError};

pub const SCHOOL_NAME: &str = "school_name";
/// The default camera: an index, a file or a URL (`SourceSpec::parse`).
pub const CAMERA: &str = "camera";
/// "on" or "off"; absent until the first-run question has been answered.
pub const MOOD: &str = "mood";
/// Smallest face the live detector looks for, in pixels.
pub const MIN_FACE: &str = "min_face";
pub const SETUP_DONE: &str = "setup_done";
/// Who makes corrections from this machine, by default.
pub const OPERATOR: &str = "operator";
pub const KEYS: [&str; 6] = [SCHOOL_NAME, CAMERA, MOOD, MIN_FACE, SETUP_DONE, OPERATOR];

/// The live loop's default: large enough to skip the tiny-face pyramid levels that cost the most.
pub const DEFAULT_MIN_FACE: f32 = 40.0;
pub const MIN_FACE_RANGE: (f32, f32) = (20.0, 400.0);

/// Check a value before it is stored; the error is a sentence for the person who typed it.
pub fn validate(key: &str, value: &str) -> Result<(), String> {
    match key {
        MIN_FACE => value
            .parse::<f32>()
            .ok()
            .filter(|v| (MIN_FACE_RANGE.0..=MIN_FACE_RANGE.1).contains(v))
            .map(|_| ())
            .ok_or_else(|| format!("the smallest face must be between {} and {} pixels", MIN_FACE_RANGE.0, MIN_FACE_RANGE.1)),
        MOOD if value != "on" && value != "off" => Err("mood recognition is \"on\" or \"off\"".into()),
        k if KEYS.contains(&k) => Ok(()),
        k => Err(format!("unknown setting {k}")),
    }
}

/// Whether mood recognition was switched on or off; `None` if nobody has chosen yet.
pub fn mood(store: &mut Store) -> Result<Option<bool>, StoreError> {
    Ok(store.setting(MOOD)?.map(|v| v == "on"))
}

pub fn min_face(store: &mut Store) -> Result<f32, StoreError> {
    Ok(store.setting(MIN_FACE)?.and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_MIN_FACE))
}
