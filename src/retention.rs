//! Retention, applied by the program (GDPR Art. 5(1)(e), BIPA's destruction schedule): what is
//! kept how long, and the purge that deletes what is due. The policy is the school's (settings,
//! shared by the CLI and the app, shown in plain words on Settings); the defaults are what a
//! data-protection officer would start from:
//! - face templates of a student who left (no longer in any class): deleted at once (0 days);
//! - templates not recognised for 365 days: deleted (a photo that old no longer looks like them);
//! - mood summaries: 30 days;
//! - attendance: kept (a school's own legal duty usually sets it; set years to purge).
//!
//! `purge` reports counts per kind, never who; it runs in one transaction (a killed purge leaves
//! the database as it was, and the next one does the work), deleted content is overwritten in the
//! file, and each run is audited. The app runs it at start and once a day.

use chrono::{Duration, Local, NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::settings;
use crate::storage::{PurgeCounts, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Policy {
    pub template_days_after_leaving: u32,
    pub template_days_unrecognised: u32,
    pub mood_days: u32,
    /// `None`: attendance is kept.
    pub attendance_years: Option<u32>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { template_days_after_leaving: 0, template_days_unrecognised: 365, mood_days: 30, attendance_years: None }
    }
}

impl Policy {
    pub fn read(store: &mut Store) -> Result<Policy, StoreError> {
        let d = Policy::default();
        let days = |v: Option<String>, default: u32| v.and_then(|v| v.parse().ok()).unwrap_or(default);
        Ok(Policy {
            template_days_after_leaving: days(store.setting(settings::RETENTION_LEFT_DAYS)?, d.template_days_after_leaving),
            template_days_unrecognised: days(store.setting(settings::RETENTION_UNMATCHED_DAYS)?, d.template_days_unrecognised),
            mood_days: days(store.setting(settings::RETENTION_MOOD_DAYS)?, d.mood_days),
            attendance_years: store.setting(settings::RETENTION_ATTENDANCE_YEARS)?.and_then(|v| v.parse().ok()),
        })
    }

    /// The policy in the words a parent or an inspector reads.
    pub fn sentences(&self) -> Vec<String> {
        vec![
            match self.template_days_after_leaving {
                0 => "Face templates of a student who leaves are deleted the day they leave.".to_string(),
                n => format!("Face templates of a student who leaves are deleted {n} days after they leave."),
            },
            format!("Face templates not recognised for {} days are deleted.", self.template_days_unrecognised),
            format!("Mood summaries are deleted after {} days.", self.mood_days),
            match self.attendance_years {
                None => "Attendance records are kept until the school deletes them.".to_string(),
                Some(y) => format!("Attendance records older than {y} years are deleted."),
            },
        ]
    }
}

/// What a purge deleted (or, in a dry run, would delete): counts, never who.
#[derive(Debug, Clone, Serialize)]
pub struct PurgeReport {
    pub dry_run: bool,
    pub at: NaiveDateTime,
    pub policy: Policy,
    #[serde(flatten)]
    pub counts: PurgeCounts,
}

/// Delete what the school's policy says is due (or, with `dry_run`, only count it).
pub fn purge(store: &mut Store, dry_run: bool, actor: &str) -> anyhow::Result<PurgeReport> {
    let policy = Policy::read(store)?;
    let now = Local::now().naive_local();
    let today = now.date();
    let cutoffs = crate::storage::PurgeCutoffs {
        left_before: today - Duration::days(policy.template_days_after_leaving as i64),
        unrecognised_since: now - Duration::days(policy.template_days_unrecognised as i64),
        moods_before: today - Duration::days(policy.mood_days as i64),
        attendance_before: policy.attendance_years.map(|y| years_before(today, y)),
    };
    let counts = store.purge(&cutoffs, dry_run, actor, "purge")?;
    Ok(PurgeReport { dry_run, at: now, policy, counts })
}

/// Right after students leave (`rollcall leave`, a roster import that takes them off): delete the
/// templates of those whose leaving is due under the policy (0 days, the default: at once), and
/// nothing else.
pub fn purge_leavers(store: &mut Store, actor: &str) -> anyhow::Result<PurgeCounts> {
    let policy = Policy::read(store)?;
    let now = Local::now().naive_local();
    let never = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
    let cutoffs = crate::storage::PurgeCutoffs {
        left_before: now.date() - Duration::days(policy.template_days_after_leaving as i64),
        unrecognised_since: never.and_time(chrono::NaiveTime::MIN),
        moods_before: never,
        attendance_before: None,
    };
    if store.purge(&cutoffs, true, actor, "purge_leavers")?.templates_of_students_who_left == 0 {
        return Ok(PurgeCounts::default());
    }
    Ok(store.purge(&cutoffs, false, actor, "purge_leavers")?)
}

/// The purge the app runs by itself: at start, then whenever a day has passed since the last
/// one (by anyone). `None`: not due yet.
pub fn purge_if_due(store: &mut Store, actor: &str) -> anyhow::Result<Option<PurgeReport>> {
    let now = Local::now().naive_local();
    if store.last_purge()?.is_some_and(|p| now - p.at < Duration::hours(24)) {
        return Ok(None);
    }
    Ok(Some(purge(store, false, actor)?))
}

fn years_before(day: NaiveDate, years: u32) -> NaiveDate {
    day.checked_sub_months(chrono::Months::new(12 * years)).unwrap_or(NaiveDate::MIN)
}
