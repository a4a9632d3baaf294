//! Staff accounts and what each role may do (issue 12, part 2). Both front ends sign in here
//! and ask here before they act, so the CLI and the app cannot disagree about a permission.
//!
//! Roles: an **office** account may do everything (students, enrolment, consent, settings,
//! exports, deletions, backups, accounts); a **teacher** account sees and registers only the
//! classes it teaches (the live roll, reports, corrections with a reason, marks by hand, its
//! class's export). Passwords are argon2id hashes. The first sign-in on a database with no
//! account creates the first office account. Five failed sign-ins in a row lock the account for
//! five minutes. Failed sign-ins are audited under the name given, and so are the app's
//! sign-ins; a CLI command is audited by what it changes, under the account's name.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{Local, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::storage::{Store, StoreError};

/// A failed sign-in more than this many times in a row locks the account.
pub const LOCK_AFTER_FAILURES: i32 = 5;
pub const LOCK_MINUTES: i64 = 5;
pub const MIN_PASSWORD_CHARS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Office,
    Teacher,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Office => "office",
            Role::Teacher => "teacher",
        }
    }

    fn parse(s: &str) -> Role {
        if s == "office" {
            Role::Office
        } else {
            Role::Teacher
        }
    }
}

/// A signed-in person: what the front ends hold and ask with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    pub role: Role,
    /// The classes a teacher account teaches (an office account sees every class).
    pub classes: Vec<String>,
}

/// Why an action was refused: a sentence naming the account and what it would need.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl Account {
    /// Only an office account may do `what` (a phrase: "enrol students", "change settings").
    pub fn require_office(&self, what: &str) -> Result<(), Refused> {
        match self.role {
            Role::Office => Ok(()),
            Role::Teacher => Err(Refused(format!("{} is a teacher account: only an office account may {what}", self.name))),
        }
    }

    /// Whether this account sees the class `class`.
    pub fn sees_class(&self, class: &str) -> bool {
        self.role == Role::Office || self.classes.iter().any(|c| c == class)
    }

    /// The account may see and register the class `class`.
    pub fn require_class(&self, class: &str) -> Result<(), Refused> {
        if self.sees_class(class) {
            return Ok(());
        }
        let teaches = if self.classes.is_empty() { "no class".to_string() } else { self.classes.join(", ") };
        Err(Refused(format!("{} teaches {teaches}: class {class} is not one of them (an office account can give access)", self.name)))
    }

    /// Whether this account sees a student in `class` (`None`: a student who has left, whom only
    /// an office account sees).
    /// The account may see a student who is now in `classes`.
    pub fn sees_student_in(&self, classes: &[String]) -> bool {
        self.role == Role::Office || classes.iter().any(|c| self.sees_class(c))
    }

    /// The account may see a student who is (or was) in `student_classes`.
    pub fn require_student(&self, student_id: &str, student_classes: &[String]) -> Result<(), Refused> {
        if self.role == Role::Office || student_classes.iter().any(|c| self.sees_class(c)) {
            return Ok(());
        }
        Err(Refused(format!("{} does not teach student {student_id}'s class", self.name)))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("sign in first: give the account name with --user NAME (or ROLLCALL_USER) and its password (asked for, or ROLLCALL_PASSWORD in scripts)")]
    NoUser,
    #[error("unknown account or wrong password for {0:?}{1}")]
    Wrong(String, String),
    #[error("the account {name:?} is locked after {LOCK_AFTER_FAILURES} failed sign-ins, until {}: try again then, or ask an office account to unlock it (`rollcall account enable {name}`)", .until.format("%H:%M"))]
    Locked { name: String, until: NaiveDateTime },
    #[error("the account {0:?} is disabled: ask an office account to enable it")]
    Disabled(String),
    #[error("the password is too short: use at least {MIN_PASSWORD_CHARS} characters (a sentence is easiest to remember)")]
    WeakPassword,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A signed-in account, and whether this sign-in created it (the first account of a database).
pub struct SignedIn {
    pub account: Account,
    pub created: bool,
}

pub fn hash_password(password: &str) -> Result<String, SignInError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(SignInError::WeakPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| StoreError::Other(format!("cannot hash the password: {e}")))?.to_string())
}

fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

fn account_of(store: &mut Store, row: &crate::storage::AccountRow) -> Result<Account, StoreError> {
    Ok(Account { name: row.name.clone(), role: Role::parse(&row.role), classes: store.account_classes(row.id)? })
}

/// Sign in as `name` with `password` (`front_end`: "cli" or "app", for the audit log). On a
/// database with no account this creates the first office account from them.
pub fn sign_in(store: &mut Store, name: &str, password: &str, front_end: &str) -> Result<SignedIn, SignInError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(SignInError::NoUser);
    }
    if store.account_count()? == 0 {
        let hash = hash_password(password)?;
        store.create_account(name, Role::Office.as_str(), &hash, &[], name, true)?;
        let row = store.account(name)?.ok_or_else(|| StoreError::Other("the new account vanished".into()))?;
        return Ok(SignedIn { account: account_of(store, &row)?, created: true });
    }
    let Some(row) = store.account(name)? else {
        store.record_failed_sign_in(None, name, front_end, LOCK_AFTER_FAILURES, chrono::Duration::minutes(LOCK_MINUTES))?;
        return Err(SignInError::Wrong(name.to_string(), String::new()));
    };
    if row.disabled_at.is_some() {
        return Err(SignInError::Disabled(row.name));
    }
    let now = Local::now().naive_local();
    if let Some(until) = row.locked_until.filter(|u| *u > now) {
        // Counted in the audit log, not towards a longer lock (which anyone could extend).
        store.audit_database_event(&row.name, "sign_in_failed", format!("the account is locked until {} ({front_end})", until.format("%H:%M")))?;
        return Err(SignInError::Locked { name: row.name, until });
    }
    if !verify(password, &row.password_hash) {
        let failed = store.record_failed_sign_in(Some(row.id), &row.name, front_end, LOCK_AFTER_FAILURES, chrono::Duration::minutes(LOCK_MINUTES))?;
        if let Some(until) = failed.locked_until {
            return Err(SignInError::Locked { name: row.name, until });
        }
        let left = LOCK_AFTER_FAILURES - failed.failures;
        return Err(SignInError::Wrong(row.name, format!(" ({left} more and the account is locked for {LOCK_MINUTES} minutes)")));
    }
    // The app's sign-in opens a working session: recorded and audited. A CLI command is one
    // sign-in per command, audited by what it changes (under this name): a read-only command
    // writes nothing, unless earlier failures are to be forgotten.
    if front_end != "cli" || row.failed_sign_ins > 0 || row.locked_until.is_some() {
        store.record_sign_in(row.id, &row.name, front_end)?;
    }
    Ok(SignedIn { account: account_of(store, &row)?, created: false })
}

/// Who is using the app and when they last did something: after `idle` without use the app
/// locks, and the next action must sign in again. (A CLI command signs in on every run.)
#[derive(Debug, Clone)]
pub struct Presence {
    pub account: Account,
    last_seen: std::time::Instant,
    idle: std::time::Duration,
}

/// The app locked itself after the idle time: whoever comes next signs in again.
#[derive(Debug, thiserror::Error)]
#[error("Rollcall locked itself after {0} minutes without use: sign in again")]
pub struct IdleLocked(pub u64);

impl Presence {
    pub fn new(account: Account, idle_minutes: u32) -> Presence {
        Presence { account, last_seen: std::time::Instant::now(), idle: std::time::Duration::from_secs(u64::from(idle_minutes.max(1)) * 60) }
    }

    pub fn idle_minutes(&self) -> u64 {
        self.idle.as_secs() / 60
    }

    /// Use now: the account, or `IdleLocked` if it was left unused for longer than the idle time.
    pub fn touch(&mut self) -> Result<&Account, IdleLocked> {
        self.touch_at(std::time::Instant::now())
    }

    fn touch_at(&mut self, now: std::time::Instant) -> Result<&Account, IdleLocked> {
        if now.saturating_duration_since(self.last_seen) > self.idle {
            return Err(IdleLocked(self.idle_minutes()));
        }
        self.last_seen = now;
        Ok(&self.account)
    }
}

/// A new account (office only). A teacher account names the classes it teaches.
pub fn create_account(store: &mut Store, by: &Account, name: &str, role: Role, classes: &[String], password: &str) -> anyhow::Result<()> {
    by.require_office("create accounts")?;
    let name = name.trim();
    anyhow::ensure!(!name.is_empty() && name.len() <= 100, "an account name is 1 to 100 characters");
    anyhow::ensure!(role == Role::Teacher || classes.is_empty(), "an office account sees every class: give --class only to a teacher account");
    let hash = hash_password(password)?;
    store.create_account(name, role.as_str(), &hash, classes, &by.name, false)?;
    Ok(())
}

fn existing(store: &mut Store, name: &str) -> anyhow::Result<crate::storage::AccountRow> {
    store.account(name)?.ok_or_else(|| anyhow::anyhow!("no account named {name:?} (see `rollcall account list`)"))
}

/// Change an account's password: office for anyone, anybody for their own.
pub fn set_password(store: &mut Store, by: &Account, name: &str, password: &str) -> anyhow::Result<()> {
    if !by.name.eq_ignore_ascii_case(name) {
        by.require_office("change another account's password")?;
    }
    let row = existing(store, name)?;
    let hash = hash_password(password)?;
    store.set_account_password(row.id, &row.name, &hash, &by.name)?;
    Ok(())
}

pub fn set_classes(store: &mut Store, by: &Account, name: &str, classes: &[String]) -> anyhow::Result<()> {
    by.require_office("change what an account teaches")?;
    let row = existing(store, name)?;
    anyhow::ensure!(row.role == "teacher", "{name} is an office account: it sees every class");
    store.set_account_classes(row.id, &row.name, classes, &by.name)?;
    Ok(())
}

/// Disable or enable an account; enabling also unlocks it. Never the last office account.
pub fn set_disabled(store: &mut Store, by: &Account, name: &str, disabled: bool) -> anyhow::Result<()> {
    by.require_office("disable or enable accounts")?;
    let row = existing(store, name)?;
    if disabled && row.role == "office" {
        let offices = store.accounts()?.into_iter().filter(|a| a.role == "office" && !a.disabled).count();
        anyhow::ensure!(offices > 1, "{} is the last office account: create another office account first", row.name);
    }
    store.set_account_disabled(row.id, &row.name, disabled, &by.name)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn teacher() -> Account {
        Account { name: "Ms Smith".into(), role: Role::Teacher, classes: vec!["7B".into()] }
    }

    #[test]
    fn a_teacher_sees_only_the_classes_taught() {
        let t = teacher();
        assert!(t.require_class("7B").is_ok());
        let e = t.require_class("8C").unwrap_err().to_string();
        assert!(e.contains("Ms Smith teaches 7B") && e.contains("8C"), "{e}");
        assert!(t.require_office("enrol students").unwrap_err().to_string().contains("only an office account may enrol students"));
        assert!(t.require_student("1042", &["7B".into()]).is_ok());
        assert!(t.require_student("1043", &["8C".into()]).is_err());
        let office = Account { name: "Office".into(), role: Role::Office, classes: vec![] };
        assert!(office.require_class("8C").is_ok() && office.require_office("x").is_ok());
    }

    #[test]
    fn the_app_locks_after_the_idle_time() {
        let mut p = Presence::new(teacher(), 10);
        let start = p.last_seen;
        assert!(p.touch_at(start + std::time::Duration::from_secs(9 * 60)).is_ok());
        // Each use starts the idle time again.
        assert!(p.touch_at(start + std::time::Duration::from_secs(18 * 60)).is_ok());
        let e = p.touch_at(start + std::time::Duration::from_secs(29 * 60)).unwrap_err();
        assert!(e.to_string().contains("10 minutes without use"), "{e}");
    }

    #[test]
    fn passwords_are_hashed_and_checked() {
        assert!(matches!(hash_password("short"), Err(SignInError::WeakPassword)));
        let h = hash_password("a long enough password").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("a long enough password", &h));
        assert!(!verify("a long enough passwore", &h));
    }
}
