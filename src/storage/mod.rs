//! The database: SQLite through diesel, in one file, or a school's PostgreSQL server given by
//! its `postgres://` address (`server`, `db`: the same queries on both). Only this module talks
//! to diesel.
//!
//! Every write is its own transaction (a mark is committed the moment it is made, so a crash or
//! a killed process loses nothing already marked); WAL journaling lets reports read while a
//! session writes; foreign keys are on, so deleting a student deletes their embeddings.
//!
//! Deleted rows are overwritten (`secure_delete`) and row ids are never reused (AUTOINCREMENT):
//! a deleted child's template does not linger in the file's free pages, and nothing written
//! about them can come to point at somebody imported later. The file and its folder are
//! readable by their owner only.
//!
//! The code is split by what it stores: `people` (classes, students, memberships, templates),
//! `register` (sessions, marks, moods, the audit log); this file opens the database.

mod backup;
pub mod cipher;
mod consent;
mod db;
/// The advisory lock a writer holds on a server (a test takes it as another writer would).
pub use db::WRITE_LOCK as SERVER_WRITE_LOCK;
mod people;
mod register;
mod schema;
pub mod server;
mod server_copy;
mod staff;
mod timetable;

use std::path::{Path, PathBuf};

use chrono::{Local, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use serde::Serialize;

use db::{on_backend, Db};
use schema::*;

use crate::keys::{DatabaseKey, KeyStore};

pub use backup::Contents;
pub use consent::ConsentChange;
pub use server_copy::{CopiedTable, ServerCopy};
pub use people::{GalleryEntry, Membership, RosterChange, RosterChanges, RosterConsent, RosterEntry, RosterOptions, StudentEntry, Template, TemplateInfo};
pub use register::{LessonSlot, MarkOutcome, PurgeCounts, PurgeCutoffs, SessionOpening, Sighting, StaleSessions};
pub use staff::{AccountInfo, AccountRow, FailedSignIn};
pub use timetable::{Lesson, ENTRANCE};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// How long a write waits for another writer before it reports `Locked`.
pub const DEFAULT_BUSY_TIMEOUT_MS: u32 = 5000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("cannot open the database {path}: the folder {folder} does not exist: create it first, or check the path (a typo would start an empty register)")]
    FolderMissing { path: PathBuf, folder: PathBuf },
    #[error("cannot open the database {path}: {folder} is a file, not a folder")]
    FolderIsFile { path: PathBuf, folder: PathBuf },
    #[error("cannot open the database {0}: it is not a file (a folder or a device): give the path of a database file")]
    NotAFile(PathBuf),
    #[error("the database {database} was written by a newer Rollcall (schema {version}): use that version or a newer one; nothing was changed")]
    NewerSchema { database: String, version: String },
    #[error("{0} works on a database file on this PC, not on a school's server: on the server, the school's IT uses PostgreSQL's own tools (pg_dump for backups)")]
    FileOnly(&'static str),
    #[error("the database server {server} does not hold Rollcall's tables yet, or holds an older schema, and this user may not change it ({reason}): the owner of the database runs `rollcall server prepare URL` once (README, \"A school's server\")")]
    ServerNotPrepared { server: String, reason: String },
    #[error("not a database server's address: {0}")]
    BadServerUrl(String),
    #[error("not a school: {0}")]
    BadSchool(String),
    #[error("the database {server} holds the registers of several schools ({schools}): say which with --school (or ROLLCALL_SCHOOL, or ?school= in the address); nothing was written")]
    SchoolNeeded { server: String, schools: String },
    #[error("the database {server} has no school {school:?} (its schools: {schools}): check the name, or add the school with `rollcall server prepare URL --school {school}`; nothing was written")]
    NoSuchSchool { server: String, school: String, schools: String },
    #[error("the user {user} may not use the school {school:?} on the database {server} (the district gives each school's role rights on its own school only): use that school's account, or ask the district's IT; nothing was written")]
    SchoolRefused { server: String, user: String, school: String },
    #[error("the database server {server} refused the user {user}: wrong user name or password (check the address given with --db or ROLLCALL_DB); nothing was written")]
    ServerRefused { server: String, user: String },
    #[error("cannot reach the database server {server} ({reason}): check that it is running and that the host and port are right; nothing was written")]
    ServerUnreachable { server: String, reason: String },
    #[error("the database server {server} has no database {database:?}: create it (README, \"A school's server\") or correct the address; nothing was written")]
    NoServerDatabase { server: String, database: String },
    #[error("the database server {server} runs PostgreSQL {version}; Rollcall needs {} or newer: upgrade the server; nothing was written", server::OLDEST_SERVER_VERSION)]
    ServerTooOld { server: String, version: String },
    #[error("the database server {server} cannot be used: {reason}")]
    ServerOther { server: String, reason: String },
    #[error("the database is busy (another Rollcall is writing to it); try again in a moment")]
    Locked,
    #[error("the connection to the database server was lost ({0}); what could not be written is kept and written when it is back")]
    ServerLost(String),
    #[error("the database is read-only ({0}); check the file's permissions or choose another with --db")]
    ReadOnly(String),
    #[error("the disk is full: nothing was lost, but nothing more can be saved until space is freed")]
    DiskFull,
    #[error("the disk could not be written (is it full, or failing?): nothing already saved was lost; free space or check the disk")]
    DiskIo,
    #[error("unknown class {0:?} (see `rollcall classes`, or import a roster)")]
    UnknownClass(String),
    #[error("unknown student {0:?} (see `rollcall students`)")]
    UnknownStudent(String),
    /// Biometric data of this student may not be processed (the sentence says why and what to do).
    #[error("{0}")]
    NoConsent(String),
    #[error("the lesson {0} is no longer in the timetable (someone else changed it): reload the timetable and try again")]
    LessonGone(String),
    #[error("class {0} already exists")]
    ClassExists(String),
    #[error("no session for class {class:?} on {date}")]
    NoSession { class: String, date: NaiveDate },
    #[error("the key from {store} does not open the database {path} (nothing was changed): give the right key (see `rollcall key status`), or restore a backup with `rollcall restore`; if a key rotation was interrupted and a passphrase is used, the new passphrase opens it")]
    WrongKeyFrom { path: PathBuf, store: String },
    #[error("the key does not open the database {0}")]
    WrongKey(PathBuf),
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    #[error("database error: {0}")]
    Other(String),
}

impl StoreError {
    /// Busy now, free in a moment: worth retrying (the live roll queues such writes).
    /// A school's server that went away counts too: the roll keeps its marks until it is back.
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Locked | StoreError::ServerLost(_))
    }
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        // A transaction cut off by a lost connection leaves diesel's bookkeeping broken; the
        // connection is replaced by `revive`.
        if matches!(e, DieselError::BrokenTransactionManager) {
            return StoreError::ServerLost("a transaction was cut off".into());
        }
        classify(&e.to_string()).unwrap_or_else(|| StoreError::Other(e.to_string()))
    }
}

impl From<diesel::ConnectionError> for StoreError {
    fn from(e: diesel::ConnectionError) -> Self {
        classify(&e.to_string()).unwrap_or_else(|| StoreError::Other(e.to_string()))
    }
}

/// SQLite reports these conditions as messages; turn them into errors a user can act on.
fn classify(message: &str) -> Option<StoreError> {
    let m = message.to_ascii_lowercase();
    if m.contains("database is locked") || m.contains("database is busy") || m.contains("lock timeout") {
        Some(StoreError::Locked)
    } else if m.contains("readonly") || m.contains("read-only") {
        Some(StoreError::ReadOnly(message.to_string()))
    } else if m.contains("database or disk is full") {
        Some(StoreError::DiskFull)
    } else if m.contains("server closed the connection")
        || m.contains("no connection to the server")
        || m.contains("terminating connection")
        || m.contains("connection to server")
        || m.contains("the database system is shutting down")
        || m.contains("the database system is starting up")
        || m.contains("could not receive data from server")
        || m.contains("could not send data to server")
    {
        Some(StoreError::ServerLost(message.lines().next().unwrap_or_default().trim().to_string()))
    } else if m.contains("disk i/o error") {
        // A full disk often surfaces as an I/O error (e.g. when the WAL cannot grow).
        Some(StoreError::DiskIo)
    } else {
        None
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = classes)]
pub struct Class {
    pub id: i32,
    pub name: String,
    pub session_start: Option<String>,
    pub late_after_minutes: i32,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
}

impl Class {
    pub fn lesson_start(&self) -> Option<NaiveTime> {
        self.session_start.as_deref().and_then(|s| NaiveTime::parse_from_str(s, "%H:%M").ok())
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = students)]
pub struct Student {
    #[serde(skip)]
    pub id: i32,
    pub student_id: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
}

impl Student {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: i32,
    pub class_id: i32,
    pub date: NaiveDate,
    /// The lesson's scheduled start ("HH:MM"): which of the class's lessons that day this is.
    pub lesson_start: String,
    /// The lesson's scheduled end, when a timetable gave one.
    pub ends_at: Option<NaiveDateTime>,
    /// What lateness is judged against (the lesson's start, or the first camera run's).
    pub starts_at: NaiveDateTime,
    pub late_after_minutes: i32,
    pub source: String,
    pub opened_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    /// Frames examined and faces detected over every run of the session.
    pub frames: i64,
    pub faces: i64,
    #[serde(skip)]
    pub heartbeat_at: Option<NaiveDateTime>,
    #[serde(skip)]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = marks)]
pub struct Mark {
    #[serde(skip)]
    pub id: i32,
    pub session_id: i32,
    #[serde(skip)]
    pub student_id: i32,
    pub status: String,
    pub auto_status: Option<String>,
    pub first_seen: Option<NaiveDateTime>,
    pub last_seen: Option<NaiveDateTime>,
    pub late_minutes: i32,
    pub confidence: Option<f32>,
    pub source: String,
    /// Why a person should check this mark (a face judged a photo or a screen, marked in warn
    /// mode); `None`: nothing to check.
    pub review: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = mood_summaries)]
pub struct MoodRow {
    #[serde(skip)]
    pub id: i32,
    pub session_id: i32,
    #[serde(skip)]
    pub student_id: i32,
    pub samples: i32,
    pub dominant: String,
    pub distribution: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i32,
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub session_id: Option<i32>,
    #[serde(skip)]
    pub student_id: Option<i32>,
    /// The student's school id when the entry was written.
    #[serde(rename = "student_id")]
    pub student_ref: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub reason: String,
}

pub struct Store {
    conn: Db,
    /// The database file; for a server, its address without the password (for display only).
    path: PathBuf,
    /// The server's address, password included, for `location` (None for a file).
    server: Option<server::ServerUrl>,
    /// When `revive` last looked at the server's connection.
    revived_at: Option<std::time::Instant>,
    /// The busy timeout set last (a new server connection gets it again).
    busy_timeout_ms: u32,
    created: bool,
    /// Seals and opens the face templates under this database's key.
    seal: cipher::TemplateSeal,
}

fn now() -> NaiveDateTime {
    Local::now().naive_local()
}

/// Embeddings are stored as little-endian f32 bytes.
pub fn embedding_to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn embedding_from_bytes(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// Create a folder (and its parents) readable by its owner only.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Create `path` as an empty file readable by its owner only, unless it exists. SQLite gives
/// the -wal and -shm files the database file's own permissions.
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<bool> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// An existing database that others can read (made by an earlier version) is closed to them.
#[cfg(unix)]
fn make_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for p in [path.to_path_buf(), sidecar(path, "-wal"), sidecar(path, "-shm")] {
        if let Ok(meta) = std::fs::metadata(&p) {
            if meta.permissions().mode() & 0o077 != 0 {
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(meta.permissions().mode() & 0o700));
            }
        }
    }
}

#[cfg(not(unix))]
fn make_private(_path: &Path) {}

/// `rollcall.sqlite3` + `-wal` = `rollcall.sqlite3-wal`.
pub fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// "host:pid": who runs a session, so another process can tell a killed run from a live one.
pub(crate) fn process_owner() -> String {
    format!("{}:{}", host_name(), std::process::id())
}

fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it.
        if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    std::env::var("COMPUTERNAME").unwrap_or_default()
}

/// Whether a process of this host with this pid is running (unknown elsewhere: `None`).
pub(crate) fn owner_alive(owner: &str) -> Option<bool> {
    let (host, pid) = owner.rsplit_once(':')?;
    if host != host_name() {
        return None;
    }
    let pid: i32 = pid.parse().ok()?;
    #[cfg(unix)]
    {
        // SAFETY: signal 0 only checks that the process exists.
        let r = unsafe { libc::kill(pid, 0) };
        let gone = r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        Some(!gone)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        None
    }
}

/// Where a register is kept: a file on this PC, or a school's server. `Display` never shows a
/// server's password.
#[derive(Clone, Debug)]
pub enum Location {
    File(PathBuf),
    Server(server::ServerUrl),
}

impl Location {
    /// Open it as `Store::open` would (the key from the environment).
    pub fn open(&self) -> Result<Store> {
        match self {
            Location::File(path) => Store::open(path),
            Location::Server(url) => Store::open_server(url, &KeyStore::from_env()),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Server(url) => write!(f, "postgres://{url}"),
        }
    }
}

impl Store {
    /// The database in the OS's app-data folder (e.g. `~/.local/share/rollcall/rollcall.sqlite3`,
    /// `%APPDATA%\Rollcall\data\` on Windows, `~/Library/Application Support/org.rollcall.Rollcall/`).
    pub fn default_path() -> PathBuf {
        directories::ProjectDirs::from("org", "rollcall", "Rollcall")
            .map(|d| d.data_dir().join("rollcall.sqlite3"))
            .unwrap_or_else(|| PathBuf::from("rollcall.sqlite3"))
    }

    /// Open the default database, creating its app-data folder (private to the user) if needed.
    pub fn open_default() -> Result<Store> {
        let path = Self::default_path();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|e| StoreError::Open { path: path.clone(), reason: format!("cannot create folder {}: {e}", dir.display()) })?;
        }
        Self::open(&path)
    }

    /// Open (creating the file if needed) and bring the schema up to date, with the key kept
    /// where the environment says (`keys::KeyStore::from_env`). The folder must exist: a
    /// mistyped path is an error, not a new empty register.
    ///
    /// A `postgres://` URL instead of a path opens the school's server (`open_server`).
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(url) = path.to_str().filter(|s| server::ServerUrl::is_server(s)) {
            return Self::open_server(&server::ServerUrl::parse(url)?, &KeyStore::from_env());
        }
        Self::open_with(path, &KeyStore::from_env())
    }

    /// Open the register on a school's PostgreSQL server: its version checked, its schema
    /// brought up to date if this user may (else `ServerNotPrepared`), a database of a newer
    /// Rollcall refused. Face templates are sealed under the key in `keys`: every PC of a school
    /// must hold the same key to recognise the students the office enrolled.
    pub fn open_server(url: &server::ServerUrl, keys: &KeyStore) -> Result<Store> {
        let mut server = server::Server::connect(url)?;
        if !server.school_exists() {
            let status = server.status()?;
            let schools = status.schools.iter().map(server::School::as_str).collect::<Vec<_>>().join(", ");
            return Err(StoreError::NoSuchSchool { server: status.server, school: status.school.to_string(), schools: if schools.is_empty() { "none yet".into() } else { schools } });
        }
        match server.schema()? {
            server::SchemaState::Current => {}
            _ => {
                server.prepare().map_err(|e| match e {
                    StoreError::Other(reason) if reason.contains("permission denied") || reason.contains("must be owner") => {
                        StoreError::ServerNotPrepared { server: url.to_string(), reason }
                    }
                    e => e,
                })?;
            }
        }
        let key = keys.load_or_create()?;
        let mut store = Store {
            conn: Db::Postgres(server.into_connection()),
            path: PathBuf::from(format!("postgres://{url}")),
            server: Some(url.clone()),
            revived_at: None,
            busy_timeout_ms: DEFAULT_BUSY_TIMEOUT_MS,
            created: false,
            seal: cipher::TemplateSeal::for_key(&key),
        };
        store.set_busy_timeout(DEFAULT_BUSY_TIMEOUT_MS)?;
        if let Err(e) = store.close_stale_sessions() {
            tracing::warn!(error = %e, "could not close the sessions of killed runs now");
        }
        Ok(store)
    }

    /// Where this store's database is, for opening it again (another thread's connection).
    pub fn location(&self) -> Location {
        match &self.server {
            Some(url) => Location::Server(url.clone()),
            None => Location::File(self.path.clone()),
        }
    }

    /// After the server went away: if the connection is dead, make a new one (at most once a
    /// second; `ServerLost` while the server is still away). A file needs nothing.
    pub fn revive(&mut self) -> Result<()> {
        let Some(url) = self.server.clone() else { return Ok(()) };
        if self.revived_at.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) {
            return Ok(());
        }
        self.revived_at = Some(std::time::Instant::now());
        let broken = <Db as diesel::Connection>::TransactionManager::is_broken_transaction_manager(&mut self.conn);
        if !broken && diesel::sql_query("SELECT 1").execute(&mut self.conn).is_ok() {
            return Ok(());
        }
        // Still away (down, restarting, unreachable): keep waiting. A refusal is not waited out.
        let fresh = server::Server::connect(&url).map_err(|e| match e {
            StoreError::ServerUnreachable { reason, .. } | StoreError::ServerOther { reason, .. } => StoreError::ServerLost(reason),
            e => e,
        })?;
        self.conn = Db::Postgres(fresh.into_connection());
        self.set_busy_timeout(self.busy_timeout_ms)?;
        tracing::info!(server = %url, "the connection to the database server is back");
        Ok(())
    }

    /// Whether this store is a school's server rather than a file on this PC.
    pub fn is_server(&self) -> bool {
        self.conn.is_server()
    }

    /// The SQLite connection, for what only a file has (its key, journal and backups).
    fn file_connection(&mut self, what: &'static str) -> Result<&mut SqliteConnection> {
        match &mut self.conn {
            Db::Sqlite(c) => Ok(c),
            Db::Postgres(_) => Err(StoreError::FileOnly(what)),
        }
    }

    /// Open with the key kept in `keys`: a new database gets a new key; an earlier version's
    /// unencrypted one is encrypted in place first (once); an encrypted one must open with the
    /// key, or with the pending key of a rotation that was killed after the swap.
    pub fn open_with(path: &Path, keys: &KeyStore) -> Result<Store> {
        Self::check_location(path)?;
        cipher::recover(path);
        let state = cipher::file_state(path).map_err(|e| StoreError::Open { path: path.to_path_buf(), reason: e.to_string() })?;
        let key = match state {
            cipher::FileState::New => keys.load_or_create()?,
            cipher::FileState::Plain => {
                let key = keys.load_or_create()?;
                tracing::info!(path = %path.display(), "encrypting the database of an earlier version (once)");
                cipher::encrypt_in_place(path, &key)?;
                key
            }
            cipher::FileState::Encrypted => match keys.load()? {
                Some(k) => k,
                None => keys.pending()?.ok_or_else(|| crate::keys::KeyError::Missing(keys.describe()))?,
            },
        };
        let wrong = || StoreError::WrongKeyFrom { path: path.to_path_buf(), store: keys.describe() };
        let store = match Self::open_keyed(path, &key) {
            Err(StoreError::WrongKey(_)) => {
                // A rotation killed after it swapped the file, before it kept the new key.
                let pending = keys.pending()?.ok_or_else(wrong)?;
                let store = Self::open_keyed(path, &pending).map_err(|e| if matches!(e, StoreError::WrongKey(_)) { wrong() } else { e })?;
                keys.replace(&pending)?;
                tracing::info!("an interrupted key rotation was finished");
                store
            }
            other => other?,
        };
        let kept = cipher::kept_unencrypted(path);
        if kept.exists() {
            // The encrypted database opened: the earlier version's clear file is no longer needed.
            cipher::shred(&kept);
            tracing::info!(path = %path.display(), "database encrypted; the unencrypted file was removed");
        }
        Ok(store)
    }

    fn check_location(path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if dir.exists() && !dir.is_dir() {
                return Err(StoreError::FolderIsFile { path: path.to_path_buf(), folder: dir.to_path_buf() });
            }
            if !dir.is_dir() {
                return Err(StoreError::FolderMissing { path: path.to_path_buf(), folder: dir.to_path_buf() });
            }
        }
        match std::fs::metadata(path) {
            Ok(meta) if !meta.is_file() => Err(StoreError::NotAFile(path.to_path_buf())),
            _ => Ok(()),
        }
    }

    /// Open the encrypted database at `path` with `key` (a new file is created under it).
    pub fn open_keyed(path: &Path, key: &DatabaseKey) -> Result<Store> {
        let open_err = |reason: String| StoreError::Open { path: path.to_path_buf(), reason };
        Self::check_location(path)?;
        let created = match create_private_file(path) {
            Ok(created) => created,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Err(StoreError::ReadOnly(format!("cannot create {}: {e}", path.display()))),
            Err(e) => return Err(open_err(e.to_string())),
        };
        make_private(path);
        let url = path.to_str().ok_or_else(|| open_err("the path is not valid UTF-8".into()))?;
        let mut conn = SqliteConnection::establish(url).map_err(|e| open_err(e.to_string()))?;
        // The key before anything is read; a wrong key changes nothing.
        if !cipher::unlock(&mut conn, key)? {
            return Err(StoreError::WrongKey(path.to_path_buf()));
        }
        // busy_timeout first: the other pragmas may already need the lock. Deleted content is
        // overwritten (biometric data must not survive in free pages). Foreign keys stay off
        // while migrations rebuild tables (a rebuilt parent must not cascade), then are checked.
        conn.batch_execute(&format!("PRAGMA busy_timeout = {DEFAULT_BUSY_TIMEOUT_MS}; PRAGMA secure_delete = ON; PRAGMA foreign_keys = OFF;"))?;
        // WAL needs write access; on a read-only file keep the default journal and let writes fail clearly.
        let _ = conn.batch_execute("PRAGMA journal_mode = WAL");
        conn.batch_execute("PRAGMA synchronous = NORMAL")?;
        Self::check_schema_version(&mut conn, path)?;
        let migrated = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| classify(&e.to_string()).unwrap_or_else(|| open_err(format!("schema migration failed: {e}"))))?;
        // Checked only after a migration rebuilt tables: the check reads every row of every
        // table, minutes on a district-sized file (32 million marks), and nothing else writes
        // with foreign keys off.
        if !migrated.is_empty() {
            #[derive(QueryableByName)]
            struct Violation {
                #[diesel(sql_type = diesel::sql_types::Text)]
                table: String,
            }
            let violations: Vec<Violation> = diesel::sql_query("PRAGMA foreign_key_check").load(&mut conn)?;
            if let Some(v) = violations.first() {
                tracing::warn!(table = %v.table, count = violations.len(), "rows pointing at missing rows (kept as they are)");
            }
        }
        conn.batch_execute("PRAGMA foreign_keys = ON")?;
        let mut store = Store { conn: Db::Sqlite(conn), path: path.to_path_buf(), server: None, revived_at: None, busy_timeout_ms: DEFAULT_BUSY_TIMEOUT_MS, created, seal: cipher::TemplateSeal::for_key(key) };
        match store.close_stale_sessions() {
            Ok(s) if s.closed + s.removed > 0 => {
                tracing::info!(closed = s.closed, removed = s.removed, "sessions of killed runs closed")
            }
            Ok(_) => {}
            // A read-only or busy database is still readable: the next writer closes them.
            Err(e) => tracing::warn!(error = %e, "could not close the sessions of killed runs now"),
        }
        Ok(store)
    }

    /// Refuse a database that a newer Rollcall has migrated past what this one knows.
    fn check_schema_version(conn: &mut SqliteConnection, path: &Path) -> Result<()> {
        let known: Vec<String> = diesel::migration::MigrationSource::<diesel::sqlite::Sqlite>::migrations(&MIGRATIONS)
            .map_err(|e| StoreError::Other(e.to_string()))?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect();
        // A database with no migrations table yet is new.
        let applied = match conn.applied_migrations() {
            Ok(v) => v,
            Err(_) => return Ok(()),
        };
        if let Some(v) = applied.iter().map(|v| v.to_string()).find(|v| !known.contains(v)) {
            return Err(StoreError::NewerSchema { database: path.display().to_string(), version: v });
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this open created the database file.
    pub fn was_created(&self) -> bool {
        self.created
    }

    /// The database file and the files SQLite keeps beside it: nothing may be written over these
    /// (none for a server).
    pub fn files(&self) -> Vec<PathBuf> {
        if self.is_server() {
            return Vec::new();
        }
        vec![self.path.clone(), sidecar(&self.path, "-wal"), sidecar(&self.path, "-shm")]
    }

    /// How long a write waits for another writer before it reports `Locked`. The live roll keeps
    /// this short and queues what it could not write, so a long import never stalls the camera.
    pub fn set_busy_timeout(&mut self, ms: u32) -> Result<()> {
        self.busy_timeout_ms = ms;
        match &mut self.conn {
            Db::Sqlite(c) => c.batch_execute(&format!("PRAGMA busy_timeout = {ms}"))?,
            // A row another PC is writing is waited for this long; then `Locked`, as on a file.
            // A server that is away gets it again when `revive` reconnects.
            Db::Postgres(c) => match c.batch_execute(&format!("SET lock_timeout = {ms}")).map_err(StoreError::from) {
                Err(StoreError::ServerLost(_)) => {}
                other => other?,
            },
        }
        Ok(())
    }

    /// Copy the write-ahead log into the database and empty it, so that pages a deletion
    /// overwrote do not survive as older copies in the log.
    fn truncate_wal(&mut self) {
        let Db::Sqlite(conn) = &mut self.conn else { return };
        if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)") {
            tracing::warn!(error = %e, "could not empty the write-ahead log now (another program is reading)");
        }
    }

    // ---- settings ------------------------------------------------------------------------

    pub fn setting(&mut self, key: &str) -> Result<Option<String>> {
        Ok(settings::table.find(key).select(settings::value).first(&mut self.conn).optional()?)
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        on_backend!(&mut self.conn, |c| diesel::insert_into(settings::table)
            .values((settings::key.eq(key), settings::value.eq(value)))
            .on_conflict(settings::key)
            .do_update()
            .set(settings::value.eq(value))
            .execute(c))?;
        Ok(())
    }
}

/// Is this a unique-constraint failure (used by callers that race on creation)?
pub fn is_unique_violation(e: &DieselError) -> bool {
    matches!(e, DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
}

/// An audit entry about to be written.
struct Audit<'a> {
    actor: &'a str,
    action: &'a str,
    session_id: Option<i32>,
    student: Option<(i32, &'a str)>,
    old_value: Option<String>,
    new_value: Option<String>,
    reason: String,
}

impl Audit<'_> {
    fn write(self, conn: &mut Db) -> std::result::Result<(), DieselError> {
        diesel::insert_into(audit_log::table)
            .values((
                audit_log::at.eq(now()),
                audit_log::actor.eq(self.actor),
                audit_log::action.eq(self.action),
                audit_log::session_id.eq(self.session_id),
                audit_log::student_id.eq(self.student.map(|s| s.0)),
                audit_log::student_ref.eq(self.student.map(|s| s.1)),
                audit_log::old_value.eq(self.old_value),
                audit_log::new_value.eq(self.new_value),
                audit_log::reason.eq(self.reason),
            ))
            .execute(conn)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key file of the test's own (a test machine has no credential store).
    fn test_keys(dir: &tempfile::TempDir) -> KeyStore {
        KeyStore::File(dir.path().join("test.key"))
    }

    /// A database of the first release (one class per student, ids reusable), with a register.
    fn first_release_database(path: &Path) {
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        let version = conn.run_next_migration(MIGRATIONS).unwrap();
        assert!(version.to_string().starts_with("20261127"), "{version}");
        conn.batch_execute(
            "INSERT INTO classes (id, name, session_start, late_after_minutes) VALUES (1, '7B', '08:30', 10);
             INSERT INTO students (id, student_id, first_name, last_name, class_id) VALUES (1, 'S1', 'Ada', 'Lovelace', 1), (2, 'S2', 'Alan', 'Turing', 1);
             INSERT INTO enrolments (student_id, model_id, embedding, source, face_size) VALUES (1, 'm', x'0000803f', 'a.jpg', 100.0);
             INSERT INTO sessions (id, class_id, date, starts_at, late_after_minutes, source, opened_at, closed_at)
                 VALUES (1, 1, '2026-11-02', '2026-11-02 08:30:00', 10, 'camera 0', '2026-11-02 08:25:00', '2026-11-02 09:00:00'),
                        (2, 1, '2026-11-03', '2026-11-03 08:30:00', 10, 'camera 0', '2026-11-03 08:25:00', NULL);
             INSERT INTO marks (session_id, student_id, status, auto_status, first_seen, last_seen, late_minutes, confidence, source)
                 VALUES (1, 1, 'present', 'present', '2026-11-02 08:29:00', '2026-11-02 08:40:00', 0, 0.8, 'auto'),
                        (2, 2, 'late', 'late', '2026-11-03 08:45:00', '2026-11-03 08:50:00', 15, 0.8, 'auto');
             INSERT INTO audit_log (at, actor, action, session_id, student_id, old_value, new_value, reason)
                 VALUES ('2026-11-02 10:00:00', 'Ms Smith', 'override_status', 1, 2, 'absent', 'excused', 'dentist');
             UPDATE marks SET status = 'present' WHERE id = 1;",
        )
        .unwrap();
    }

    #[test]
    fn a_first_release_database_is_migrated_with_everything_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        first_release_database(&path);
        let mut store = Store::open_with(&path, &test_keys(&dir)).unwrap();
        let class = store.class("7B").unwrap();
        assert_eq!(class.lesson_start(), NaiveTime::from_hms_opt(8, 30, 0));
        let students = store.students(Some("7B")).unwrap();
        assert_eq!(students.len(), 2);
        assert_eq!(students.iter().find(|s| s.student.student_id == "S1").unwrap().enrolled_photos, 1);
        let register = store.class_register(class.id, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()).unwrap();
        assert_eq!(register.len(), 2, "both students were in 7B all along");
        let nov2 = store.sessions_on(&class, NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()).unwrap().remove(0);
        assert_eq!(nov2.lesson_start, "08:30", "a day's session of an earlier version is the lesson starting at its start");
        assert_eq!(store.marks(nov2.id).unwrap().len(), 1);
        // The session an old process left open is closed on the first start, at its last mark.
        let nov3 = store.sessions_on(&class, NaiveDate::from_ymd_opt(2026, 11, 3).unwrap()).unwrap().remove(0);
        assert_eq!(nov3.closed_at.map(|t| t.to_string()), Some("2026-11-03 08:50:00".into()));
        let audit = store.audit_log().unwrap();
        assert_eq!(audit[0].student_ref.as_deref(), Some("S2"));
        // Templates enrolled before consent was recorded are kept but never used until it is.
        assert!(store.gallery(&[class.id], "m").unwrap().is_empty());
        let s1 = store.student("S1").unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        let grant = crate::consent::ConsentEvent {
            kind: crate::consent::ConsentKind::Granted,
            by: "A Parent".into(),
            relation: None,
            date,
            how: None,
            note: None,
            recorded_at: date.and_hms_opt(9, 0, 0).unwrap(),
            recorded_by: "office".into(),
        };
        store.record_consent(&s1, &grant).unwrap();
        assert_eq!(store.gallery(&[class.id], "m").unwrap()[0].embeddings, vec![vec![1.0f32]]);
        // Opened again: nothing more to migrate, nothing changes.
        drop(store);
        let mut again = Store::open_with(&path, &test_keys(&dir)).unwrap();
        assert_eq!(again.students(None).unwrap().len(), 2);
    }

    #[test]
    fn a_database_from_a_newer_rollcall_is_refused_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.sqlite3");
        drop(Store::open_with(&path, &test_keys(&dir)).unwrap());
        let key = test_keys(&dir).load().unwrap().unwrap();
        let mut conn = cipher::connect(&path, Some(&key)).unwrap();
        conn.batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000000')").unwrap();
        drop(conn);
        let before = std::fs::read(&path).unwrap();
        match Store::open_with(&path, &test_keys(&dir)) {
            Err(StoreError::NewerSchema { version, .. }) => assert_eq!(version, "20991231000000"),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("opened a newer database"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
