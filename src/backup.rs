//! Encrypted backups of the whole register, and restoring one (issue 12, part 3).
//!
//! A backup is one file: age (scrypt passphrase, ChaCha20-Poly1305 in 64 KiB authenticated
//! chunks) around a JSON header line (what it holds, when, which schema, the database's sha256
//! and size, the copy's own key) followed by a consistent copy of the database
//! (`Store::snapshot_into`, taken while a session may be writing). The copy is encrypted under a
//! key of its own, made for this backup (never this PC's key, which the backup must not give
//! away), so no clear copy of the register is ever written, not even in the work folder; the
//! backup restores on any PC. Without the passphrase nothing in it is readable; a changed or
//! truncated file fails age's authentication or the checksum. Format 1 (before encryption at
//! rest) held the copy in clear inside age; it still restores.
//!
//! A restore checks everything before it touches the live database: the passphrase, the
//! checksum, that this Rollcall knows the backup's schema (an older one is migrated forward),
//! SQLite's integrity check, and that no session is running. Then the live file is kept aside
//! (hard-linked to `<db>.before-restore-<time>`) and the restored copy renamed over it in one
//! step: a restore killed at any moment leaves either the old or the new database in place.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use anyhow::Context;
use chrono::{Local, NaiveDateTime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::files::{self, Protected};
use crate::keys::{DatabaseKey, KeyStore};
use crate::storage::{sidecar, Contents, Store};

pub const FORMAT: &str = "rollcall-backup";
pub const VERSION: u32 = 2;
/// A passphrase a school must keep safe for years: long enough not to be guessed offline.
pub const MIN_PASSPHRASE_CHARS: usize = 10;

/// The header line of a backup: what it holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupHeader {
    pub format: String,
    pub version: u32,
    pub created_at: NaiveDateTime,
    pub rollcall_version: String,
    pub schema_version: String,
    pub school: Option<String>,
    pub contents: Contents,
    pub database_bytes: u64,
    pub database_sha256: String,
    /// The key of the copy inside (hex); absent in format 1, whose copy is not encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_key: Option<String>,
}

/// Why a backup could not be restored (or read); the live database is untouched in every case.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("the passphrase does not open this backup (nothing was changed): check it and try again")]
    WrongPassphrase,
    #[error("{0} is not a Rollcall backup, or it is damaged (truncated or changed after it was written); nothing was changed: use another copy")]
    Damaged(PathBuf),
    #[error("this backup was made by a newer Rollcall ({0}); nothing was changed: update Rollcall first")]
    Newer(String),
    #[error("a session is taking the roll on this database right now; nothing was changed: stop it (and close the app) first")]
    SessionRunning,
    #[error("the passphrase is too short: use at least {MIN_PASSPHRASE_CHARS} characters (a sentence is easiest to remember)")]
    WeakPassphrase,
}

/// Back up `store` to `out` (never over the database, nor an existing file unless `overwrite`),
/// audited under `actor`.
pub fn backup(store: &mut Store, out: &Path, passphrase: &str, overwrite: bool, actor: &str) -> anyhow::Result<BackupHeader> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(BackupError::WeakPassphrase.into());
    }
    let work = work_folder(store.path())?;
    let snapshot = work.path().join("snapshot.sqlite3");
    let key = DatabaseKey::random();
    store.snapshot_into(&snapshot, &key)?;
    let school = store.setting(crate::settings::SCHOOL_NAME)?;
    let protected = Protected { database: store.files().to_vec(), inputs: Vec::new() };
    let header = seal(&snapshot, &key, school, out, passphrase, overwrite, &protected)?;
    store.audit_database_event(actor, "backup", format!("an encrypted backup was written to {}", out.display()))?;
    Ok(header)
}

// ---- the daily automatic backup ------------------------------------------------------------

/// Where the automatic backups' passphrase is kept: in the database itself, which is encrypted
/// at rest, so it is exactly as safe as the register it protects copies of (anyone who can read
/// it can read the register already). Never a setting: it is not shown or exported.
const AUTO_PASSPHRASE: &str = "backup_passphrase";
const AUTO_PREFIX: &str = "rollcall-auto-";
const AUTO_SUFFIX: &str = ".rollcall-backup";

/// Why the automatic backup cannot run; the Settings page and `rollcall backup --auto` say so.
#[derive(Debug, thiserror::Error)]
pub enum AutoBackupError {
    #[error("no folder is set for the automatic backup: choose one in Settings (or `rollcall settings set backup_folder PATH`)")]
    NoFolder,
    #[error("no passphrase is set for the automatic backup: set one in Settings (or `rollcall backup --auto --set-passphrase`)")]
    NoPassphrase,
}

/// Keep `passphrase` for the automatic backups (checked as for any backup).
pub fn set_auto_passphrase(store: &mut Store, passphrase: &str, actor: &str) -> anyhow::Result<()> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(BackupError::WeakPassphrase.into());
    }
    store.set_setting(AUTO_PASSPHRASE, passphrase)?;
    store.audit_database_event(actor, "backup_passphrase", "the automatic backups' passphrase was set".into())?;
    Ok(())
}

pub fn auto_passphrase_set(store: &mut Store) -> anyhow::Result<bool> {
    Ok(store.setting(AUTO_PASSPHRASE)?.is_some_and(|p| !p.is_empty()))
}

/// The automatic backups in `folder`, oldest first (by name: the name is the time taken).
pub fn auto_backups(folder: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(AUTO_PREFIX) && n.ends_with(AUTO_SUFFIX)))
        .collect();
    found.sort();
    found
}

/// What the automatic backup did.
#[derive(Debug, Serialize)]
pub struct AutoBackup {
    /// The backup written, or `None` if today's was already there.
    pub written: Option<PathBuf>,
    /// Older automatic backups removed to keep the last N.
    pub removed: Vec<PathBuf>,
}

/// The daily automatic backup: if the backup folder has none from `today` yet, write one, then
/// keep the last N (the `backup_keep` setting) of Rollcall's automatic backups there (files
/// it did not write are never touched). `force`: a new one even if today's exists.
pub fn auto_backup(store: &mut Store, now: NaiveDateTime, force: bool, actor: &str) -> anyhow::Result<AutoBackup> {
    use crate::settings::{BACKUP_FOLDER, BACKUP_KEEP, DEFAULT_BACKUP_KEEP};
    let folder = store.setting(BACKUP_FOLDER)?.filter(|f| !f.trim().is_empty()).map(PathBuf::from).ok_or(AutoBackupError::NoFolder)?;
    let passphrase = store.setting(AUTO_PASSPHRASE)?.filter(|p| !p.is_empty()).ok_or(AutoBackupError::NoPassphrase)?;
    let keep = store.setting(BACKUP_KEEP)?.and_then(|k| k.parse::<usize>().ok()).unwrap_or(DEFAULT_BACKUP_KEEP as usize).max(1);
    crate::storage::create_private_dir(&folder).with_context(|| format!("cannot use the backup folder {}", folder.display()))?;
    let today = format!("{AUTO_PREFIX}{}", now.format("%Y-%m-%d"));
    let done_today = auto_backups(&folder).iter().any(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&today)));
    let written = if done_today && !force {
        None
    } else {
        let out = folder.join(format!("{AUTO_PREFIX}{}{AUTO_SUFFIX}", now.format("%Y-%m-%d-%H%M%S")));
        backup(store, &out, &passphrase, false, actor)?;
        Some(out)
    };
    let all = auto_backups(&folder);
    let mut removed = Vec::new();
    for old in &all[..all.len().saturating_sub(keep)] {
        // One that cannot be removed stays, and is tried again tomorrow.
        if std::fs::remove_file(old).is_ok() {
            removed.push(old.clone());
        }
    }
    Ok(AutoBackup { written, removed })
}

/// Seal a database file under `key` (a snapshot nobody else writes) into a backup at `out`.
fn seal(snapshot: &Path, key: &DatabaseKey, school: Option<String>, out: &Path, passphrase: &str, overwrite: bool, protected: &Protected) -> anyhow::Result<BackupHeader> {
    let (contents, schema_version) = {
        let mut copy = Store::open_keyed(snapshot, key)?;
        let found = (copy.contents()?, copy.schema_version()?);
        copy.close_into_file()?;
        found
    };
    // The copy's own journal files are folded in when it closes; the file alone is the database.
    let (database_sha256, database_bytes) = sha256_of(snapshot)?;
    let header = BackupHeader {
        format: FORMAT.into(),
        version: VERSION,
        created_at: Local::now().naive_local(),
        rollcall_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        school,
        contents,
        database_bytes,
        database_sha256,
        database_key: key.to_hex().map(|h| h.to_string()),
    };
    files::write_file(out, overwrite, protected, |tmp| {
        let file = std::fs::File::create(tmp)?;
        let encryptor = age::Encryptor::with_user_passphrase(SecretString::from(passphrase.to_string()));
        let mut w = encryptor.wrap_output(std::io::BufWriter::new(file))?;
        serde_json::to_writer(&mut w, &header)?;
        w.write_all(b"\n")?;
        std::io::copy(&mut std::fs::File::open(snapshot)?, &mut w)?;
        w.finish()?.flush()?;
        Ok(())
    })?;
    Ok(header)
}

/// What a restore did.
#[derive(Debug, Serialize)]
pub struct Restored {
    pub backup: BackupHeader,
    /// Where the database it replaced was kept (`None`: there was none).
    pub replaced_kept_at: Option<PathBuf>,
    /// What the restored database holds (after migrating an older backup forward).
    pub contents: Contents,
}

/// Check a backup without restoring it: its header, once the passphrase, the checksum, the
/// schema and SQLite's integrity check have all passed.
pub fn verify(file: &Path, passphrase: &str, near: &Path) -> anyhow::Result<BackupHeader> {
    let work = work_folder(near)?;
    let (header, _, _) = open_backup(file, passphrase, &work.path().join("check.sqlite3"))?;
    Ok(header)
}

/// Replace the database at `db` with the backup's, after checking everything (see the module doc).
pub fn restore(db: &Path, file: &Path, passphrase: &str, actor: &str) -> anyhow::Result<Restored> {
    let work = work_folder(db)?;
    let unpacked = work.path().join("backup.sqlite3");
    let (header, contents, key) = open_backup(file, passphrase, &unpacked)?;
    // Re-encrypted under this PC's key, its templates sealed for it.
    let restored = work.path().join("restored.sqlite3");
    let local = KeyStore::from_env().load_or_create()?;
    Store::open_keyed(&unpacked, &key)?.snapshot_into(&restored, &local)?;
    {
        // The restored register says it was restored, from what, by whom.
        let mut copy = Store::open_keyed(&restored, &local)?;
        copy.audit_database_event(actor, "restore", format!("restored from a backup taken {} by Rollcall {}", header.created_at.format("%Y-%m-%d %H:%M:%S"), header.rollcall_version))?;
        copy.close_into_file()?;
    }
    let mut replaced_kept_at = None;
    if db.exists() {
        let mut live = Store::open(db)?;
        if live.running_sessions()? > 0 {
            return Err(BackupError::SessionRunning.into());
        }
        live.close_into_file()?;
        let aside = PathBuf::from(format!("{}.before-restore-{}", db.display(), Local::now().format("%Y%m%d-%H%M%S")));
        // A second name for the same file (no copy, no moment without a database); a file
        // system without hard links gets a copy.
        if std::fs::hard_link(db, &aside).is_err() {
            std::fs::copy(db, &aside).with_context(|| format!("cannot keep the current database aside as {}", aside.display()))?;
        }
        replaced_kept_at = Some(aside);
    }
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sidecar(db, side));
    }
    std::fs::rename(&restored, db).with_context(|| format!("cannot put the restored database in place at {}", db.display()))?;
    Ok(Restored { backup: header, replaced_kept_at, contents })
}

/// Decrypt `file` into `to` and check it; its header, contents and the key of the copy at `to`.
fn open_backup(file: &Path, passphrase: &str, to: &Path) -> anyhow::Result<(BackupHeader, Contents, DatabaseKey)> {
    let damaged = || BackupError::Damaged(file.to_path_buf());
    let input = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let decryptor = age::Decryptor::new(BufReader::new(input)).map_err(|_| damaged())?;
    let identity = age::scrypt::Identity::new(SecretString::from(passphrase.to_string()));
    let reader = decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)).map_err(|e| match e {
        age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed => anyhow::Error::from(BackupError::WrongPassphrase),
        _ => damaged().into(),
    })?;
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    reader.by_ref().take(1 << 20).read_until(b'\n', &mut line).map_err(|_| damaged())?;
    let header: BackupHeader = serde_json::from_slice(&line).map_err(|_| damaged())?;
    if header.format != FORMAT {
        return Err(damaged().into());
    }
    if header.version > VERSION {
        return Err(BackupError::Newer(format!("backup format {}", header.version)).into());
    }
    {
        let mut out = std::fs::File::create(to)?;
        // Authentication failures of a changed chunk surface here, as read errors.
        std::io::copy(&mut reader, &mut out).map_err(|_| damaged())?;
        out.sync_all()?;
    }
    let (sha, bytes) = sha256_of(to)?;
    if sha != header.database_sha256 || bytes != header.database_bytes {
        return Err(damaged().into());
    }
    let key = match &header.database_key {
        Some(hex) => DatabaseKey::from_hex(hex).ok_or_else(damaged)?,
        None => {
            // Format 1: a clear copy (in the private work folder), encrypted before it is used.
            let key = DatabaseKey::random();
            crate::storage::cipher::encrypt_in_place(to, &key)?;
            crate::storage::cipher::shred(&crate::storage::cipher::kept_unencrypted(to));
            key
        }
    };
    let contents = {
        let mut copy = match Store::open_keyed(to, &key) {
            Ok(s) => s,
            Err(crate::storage::StoreError::NewerSchema { version, .. }) => return Err(BackupError::Newer(format!("schema {version}")).into()),
            Err(e) => return Err(e.into()),
        };
        if let Some(problem) = copy.integrity_problem()? {
            anyhow::bail!("the backup's database fails SQLite's integrity check ({problem}); nothing was changed: use another copy");
        }
        let contents = copy.contents()?;
        copy.close_into_file()?;
        contents
    };
    Ok((header, contents, key))
}

const WORK_PREFIX: &str = ".rollcall-backup-";

/// A private temporary folder beside the database (same file system: the restored file is
/// renamed into place; private: a snapshot is the register in clear). It is named after this
/// process, and folders of processes that are gone (a backup killed midway) are removed first,
/// so no clear copy outlives its process by more than the next backup.
fn work_folder(db: &Path) -> anyhow::Result<tempfile::TempDir> {
    let folder = db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    remove_abandoned_work(folder);
    tempfile::Builder::new()
        .prefix(&format!("{WORK_PREFIX}{}-", std::process::id()))
        .tempdir_in(folder)
        .with_context(|| format!("cannot create a temporary folder in {}", folder.display()))
}

/// Remove the work folders of backups and restores whose process has gone (on systems without
/// /proc: those over an hour old).
pub fn remove_abandoned_work(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(WORK_PREFIX) else { continue };
        let pid: Option<u32> = rest.split('-').next().and_then(|p| p.parse().ok());
        let gone = match pid {
            Some(pid) if Path::new("/proc/self").exists() => !Path::new(&format!("/proc/{pid}")).exists(),
            _ => e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|age| age.as_secs() > 3600),
        };
        if gone {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn sha256_of(path: &Path) -> anyhow::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut f, &mut hasher)?;
    Ok((format!("{:x}", hasher.finalize()), bytes))
}
