//! A school's PostgreSQL server (issue 14): reaching it, checking that it can hold Rollcall's
//! register, and bringing its schema up to date.
//!
//! The schema on PostgreSQL is the twin of the SQLite file's: `migrations/postgres/` holds, under
//! the same names, one migration for each of `migrations/sqlite/` (a test compares the schemas
//! they build). The URL's password is never printed: a server is named by `user@host:port/db`.
//!
//! Every failure to reach or use the server is a sentence a school's IT can act on, and a refused
//! server is left as it was: the version and schema checks read, and only `prepare` writes.
//!
//! **Schools in one database.** A district's database holds one register per school, each in a
//! PostgreSQL schema of the school's name (`north`, `south`; a database made before schools holds
//! its one school in `public`). A connection works in exactly one school: its `search_path` is
//! that schema alone, so every table name the register uses means that school's table, and no
//! query can reach another school's rows by falling through to a second schema. The district's IT
//! can make that a permission as well (a role per school, with rights on its schema only): a
//! school this user may not use is refused by name, and the "only school" a user may use is
//! chosen without `--school`.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{Result, StoreError};

pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The oldest PostgreSQL accepted: 14, the oldest still in a long-term distribution (Ubuntu
/// 22.04); the PostgreSQL project no longer supports 13 and older.
pub const OLDEST_SERVER_VERSION: i32 = 14;

/// How long to wait for a server that does not answer (libpq waits for ever by default).
const CONNECT_TIMEOUT_S: u32 = 10;

/// Serialises `prepare` between Rollcall processes (two classroom PCs started at once): any
/// 64-bit number of our own for `pg_advisory_lock`.
const MIGRATION_LOCK: i64 = 0x526f_6c6c_6361_6c6c; // "Rollcall"

/// The school a connection works in: the name of the PostgreSQL schema holding its register.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct School(String);

impl School {
    /// The schema of a database made before schools: its one school.
    pub const DEFAULT: &'static str = "public";

    /// A school's name as its schema's: lower-case letters, digits and `_`, starting with a
    /// letter, at most 63 bytes (PostgreSQL's limit), and none of the server's own schemas.
    pub fn parse(name: &str) -> Result<School> {
        let bad = |why: &str| StoreError::BadSchool(format!("{name:?} {why}; a school's name is lower-case letters, digits and _, starting with a letter (e.g. north_high)"));
        if name.is_empty() || name.len() > 63 {
            return Err(bad("is empty or longer than 63 characters"));
        }
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(bad("has characters a school's name cannot have"));
        }
        if name.starts_with("pg_") || name == "information_schema" {
            return Err(bad("is a name the server keeps for itself"));
        }
        Ok(School(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn quoted(&self) -> String {
        // Parsed names need no escaping; quoted so that none is read as a keyword.
        format!("\"{}\"", self.0)
    }
}

impl std::fmt::Display for School {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The query parameter naming the school, as `--school` and `ROLLCALL_SCHOOL` do. libpq does not
/// know it: it is taken out of the URL before connecting.
const SCHOOL_PARAMETER: &str = "school";

/// A `postgres://` URL, parsed; `Display` shows it without its password.
#[derive(Clone)]
pub struct ServerUrl {
    url: url::Url,
    /// `None`: the only school this user may use (or the first, in a new database).
    school: Option<School>,
}

impl ServerUrl {
    /// Whether `s` names a server rather than a file.
    pub fn is_server(s: &str) -> bool {
        s.starts_with("postgres://") || s.starts_with("postgresql://")
    }

    pub fn parse(s: &str) -> Result<ServerUrl> {
        let bad = |why: &str| StoreError::BadServerUrl(format!("{why}; the form is postgres://USER:PASSWORD@HOST:PORT/DATABASE"));
        if !Self::is_server(s) {
            return Err(bad("not a postgres:// URL"));
        }
        let mut url = url::Url::parse(s).map_err(|e| bad(&e.to_string()))?;
        if url.host_str().map_or(true, str::is_empty) {
            return Err(bad("no host"));
        }
        if url.username().is_empty() {
            return Err(bad("no user name"));
        }
        if url.path().trim_start_matches('/').is_empty() {
            return Err(bad("no database name"));
        }
        let mut school = None;
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in url.query_pairs() {
            if k == SCHOOL_PARAMETER {
                school = Some(School::parse(&v)?);
            } else {
                pairs.push((k.into_owned(), v.into_owned()));
            }
        }
        if !pairs.iter().any(|(k, _)| k == "connect_timeout") {
            pairs.push(("connect_timeout".into(), CONNECT_TIMEOUT_S.to_string()));
        }
        url.query_pairs_mut().clear().extend_pairs(pairs);
        Ok(ServerUrl { url, school })
    }

    /// The same server, in `school`.
    pub fn in_school(mut self, school: School) -> ServerUrl {
        self.school = Some(school);
        self
    }

    /// The school asked for, if one was.
    pub fn school(&self) -> Option<&School> {
        self.school.as_ref()
    }

    /// `location` (as `--db` takes it) in the school named `school` (as `--school` takes it): the
    /// server's URL with the school in it, so that every front end and every thread reopening the
    /// register works in the same school. A file holds one school: `--school` with a file is refused.
    pub fn location_in_school(location: Option<&std::path::Path>, school: &str) -> Result<std::path::PathBuf> {
        let school = School::parse(school)?;
        let Some(url) = location.and_then(|l| l.to_str()).filter(|l| Self::is_server(l)) else {
            return Err(StoreError::BadSchool(format!(
                "--school {school} picks a school in a district's database on a PostgreSQL server, and needs that server's address (--db postgres://…); a register file on this PC holds one school"
            )));
        };
        let mut url = url::Url::parse(url).map_err(|e| StoreError::BadServerUrl(e.to_string()))?;
        let pairs: Vec<(String, String)> = url.query_pairs().filter(|(k, _)| k != SCHOOL_PARAMETER).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        url.query_pairs_mut().clear().extend_pairs(pairs).append_pair(SCHOOL_PARAMETER, school.as_str());
        Ok(std::path::PathBuf::from(url.as_str()))
    }

    pub fn database(&self) -> &str {
        self.url.path().trim_start_matches('/')
    }

    pub fn user(&self) -> &str {
        self.url.username()
    }

    fn host_port(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        }
    }

    fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The address as `--db` takes it and the app's setting keeps it: with its school (and its
    /// password only if one was written into it).
    pub fn location(&self) -> String {
        let mut url = self.url.clone();
        if let Some(school) = &self.school {
            url.query_pairs_mut().append_pair(SCHOOL_PARAMETER, school.as_str());
        }
        url.into()
    }

    /// Keep `password` for this address in `passfile`, in libpq's password-file format and
    /// readable by this user only (as PostgreSQL's own `~/.pgpass`), and return the address
    /// without it, pointing libpq at that file: what the app keeps when the office chooses the
    /// school's server, so that its settings hold no password. A line kept earlier for the same
    /// server, database and user is replaced.
    pub fn with_password_file(mut self, password: &str, passfile: &std::path::Path) -> Result<ServerUrl> {
        if password.contains(['\n', '\r']) {
            return Err(StoreError::BadServerUrl("a password cannot hold a line break".into()));
        }
        let escape = |s: &str| s.replace('\\', "\\\\").replace(':', "\\:");
        let host = self.url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
        let user = percent_encoding::percent_decode_str(self.url.username()).decode_utf8_lossy().into_owned();
        let key = format!("{}:{}:{}:{}:", escape(&host), self.url.port().unwrap_or(5432), escape(self.database()), escape(&user));
        let kept = std::fs::read_to_string(passfile).unwrap_or_default();
        let mut lines: Vec<String> = kept.lines().filter(|l| !l.starts_with(&key)).map(str::to_string).collect();
        lines.push(format!("{key}{}", escape(password)));
        let write = || -> std::io::Result<()> {
            if let Some(dir) = passfile.parent().filter(|d| !d.as_os_str().is_empty()) {
                super::create_private_dir(dir)?;
            }
            // Written whole beside it, then renamed over it: never a half-written file.
            let next = passfile.with_extension("pgpass-new");
            let _ = std::fs::remove_file(&next);
            super::create_private_file(&next)?;
            std::fs::write(&next, lines.join("\n") + "\n")?;
            std::fs::rename(&next, passfile)
        };
        write().map_err(|e| StoreError::Other(format!("cannot keep the server's password in {}: {e}", passfile.display())))?;
        let _ = self.url.set_password(None);
        let pairs: Vec<(String, String)> = self.url.query_pairs().filter(|(k, _)| k != "passfile").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        self.url.query_pairs_mut().clear().extend_pairs(pairs).append_pair("passfile", &passfile.to_string_lossy());
        Ok(self)
    }
}

impl std::fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}/{}", self.user(), self.host_port(), self.database())?;
        match &self.school {
            Some(school) => write!(f, "?school={school}"),
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerUrl({self})")
    }
}

/// Where the schema of a server's database stands against what this Rollcall knows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "migrations")]
pub enum SchemaState {
    /// No Rollcall tables yet.
    Empty,
    /// Every migration this Rollcall knows is applied.
    Current,
    /// These migrations are still to be applied (by `prepare`).
    Behind(Vec<String>),
}

/// What `check` and `prepare` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerStatus {
    /// `user@host:port/db`, without the password.
    pub server: String,
    /// As the server reports it, e.g. "15.18 (Debian 15.18-0+deb12u1)".
    pub version: String,
    /// The school checked or prepared.
    pub school: School,
    /// Every school whose register is in this database and this user may use.
    pub schools: Vec<School>,
    pub schema: SchemaState,
    /// Migrations `prepare` applied just now.
    pub applied_now: Vec<String>,
}

/// A connection to a school's server whose version was checked, working in one school.
pub struct Server {
    conn: PgConnection,
    url: ServerUrl,
    version: String,
    school: School,
    /// Whether the school's schema exists yet (`prepare` makes it).
    school_exists: bool,
}

#[derive(QueryableByName)]
struct SchemaName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// The schools whose register is in this database and which this user may use, by name.
fn schools(conn: &mut PgConnection) -> Result<Vec<School>> {
    let names: Vec<SchemaName> = diesel::sql_query(
        "SELECT n.nspname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = '__diesel_schema_migrations' AND c.relkind = 'r' AND has_schema_privilege(n.oid, 'USAGE') ORDER BY 1",
    )
    .load(conn)?;
    // A schema someone made by hand with a name no school can have is not a school.
    Ok(names.into_iter().filter_map(|n| School::parse(&n.name).ok()).collect())
}

/// The school to work in: the one asked for, else the only one this user may use (a new
/// database's first school is `public`); several and none asked for is a question for the user.
/// Returns whether its schema exists.
fn choose_school(conn: &mut PgConnection, url: &ServerUrl) -> Result<(School, bool)> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        usable: bool,
    }
    let school = match &url.school {
        Some(s) => s.clone(),
        None => {
            let mut all = schools(conn)?;
            match all.len() {
                0 => School(School::DEFAULT.into()),
                1 => all.remove(0),
                _ => {
                    return Err(StoreError::SchoolNeeded {
                        server: url.to_string(),
                        schools: all.iter().map(School::as_str).collect::<Vec<_>>().join(", "),
                    })
                }
            }
        }
    };
    let found: Found = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists, \
         coalesce((SELECT has_schema_privilege(oid, 'USAGE') FROM pg_namespace WHERE nspname = $1), true) AS usable",
    )
    .bind::<diesel::sql_types::Text, _>(school.as_str())
    .get_result(conn)?;
    if !found.usable {
        return Err(StoreError::SchoolRefused { server: url.to_string(), user: url.user().to_string(), school: school.to_string() });
    }
    Ok((school, found.exists))
}

impl Server {
    /// Connect and check the server's version; reads only.
    pub fn connect(url: &ServerUrl) -> Result<Server> {
        let mut conn = PgConnection::establish(url.as_str()).map_err(|e| connect_error(url, &e.to_string()))?;
        #[derive(QueryableByName)]
        struct Version {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            num: i32,
            #[diesel(sql_type = diesel::sql_types::Text)]
            text: String,
        }
        let v: Version =
            diesel::sql_query("SELECT current_setting('server_version_num')::int AS num, current_setting('server_version') AS text").get_result(&mut conn)?;
        check_version(url, v.num, &v.text)?;
        // The register's times are the school's local wall-clock times, written by the PCs; the
        // server's own clock only fills defaults, in UTC as SQLite's CURRENT_TIMESTAMP does.
        conn.batch_execute("SET TIME ZONE 'UTC'")?;
        let (school, school_exists) = choose_school(&mut conn, url)?;
        // The school's schema alone: a table it lacks is an error, never another schema's table.
        conn.batch_execute(&format!("SET search_path TO {}", school.quoted()))?;
        Ok(Server { conn, url: url.clone(), version: v.text, school, school_exists })
    }

    pub fn url(&self) -> &ServerUrl {
        &self.url
    }

    /// The school this connection works in.
    pub fn school(&self) -> &School {
        &self.school
    }

    /// Whether the school's schema exists yet: a school asked for by name is made only by
    /// `prepare` (a mistyped name must not start an empty register).
    pub fn school_exists(&self) -> bool {
        self.school_exists
    }

    /// Where the schema stands; refuses a database migrated by a newer Rollcall. Reads only.
    pub fn schema(&mut self) -> Result<SchemaState> {
        #[derive(QueryableByName)]
        struct Exists {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            exists: bool,
        }
        let e: Exists = diesel::sql_query("SELECT to_regclass('__diesel_schema_migrations') IS NOT NULL AS exists").get_result(&mut self.conn)?;
        if !e.exists {
            return Ok(SchemaState::Empty);
        }
        let known = known_versions()?;
        // Read, not diesel's `applied_migrations`: that first runs `CREATE TABLE IF NOT EXISTS`,
        // which a classroom PC's role (no right to change the schema) may not.
        #[derive(QueryableByName)]
        struct Applied {
            #[diesel(sql_type = diesel::sql_types::Text)]
            version: String,
        }
        let applied: Vec<String> =
            diesel::sql_query("SELECT version::text AS version FROM __diesel_schema_migrations").load::<Applied>(&mut self.conn)?.into_iter().map(|a| a.version).collect();
        if let Some(v) = applied.iter().find(|v| !known.contains(v)) {
            return Err(StoreError::NewerSchema { database: self.url.to_string(), version: v.clone() });
        }
        let behind: Vec<String> = known.into_iter().filter(|v| !applied.contains(v)).collect();
        Ok(if behind.is_empty() { SchemaState::Current } else { SchemaState::Behind(behind) })
    }

    /// What `check` reports: the server and its schema, nothing written.
    pub fn status(&mut self) -> Result<ServerStatus> {
        let schema = self.schema()?;
        let schools = schools(&mut self.conn)?;
        Ok(ServerStatus { server: self.url.to_string(), version: self.version.clone(), school: self.school.clone(), schools, schema, applied_now: vec![] })
    }

    /// Create or update Rollcall's tables in the school's schema (made first if it is new: a
    /// district's new school). Each migration is one transaction (PostgreSQL's DDL is
    /// transactional), so a dropped connection leaves the last complete step; two processes
    /// preparing at once take turns.
    pub fn prepare(&mut self) -> Result<ServerStatus> {
        self.conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
        if !self.school_exists {
            if let Err(e) = self.conn.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", self.school.quoted())) {
                let _ = self.conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
                return Err(StoreError::ServerNotPrepared { server: self.url.to_string(), reason: format!("cannot add the school {}: {e}", self.school) });
            }
            self.school_exists = true;
        }
        let result = self.schema().and_then(|_| {
            self.conn
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|applied| applied.iter().map(|v| v.to_string()).collect::<Vec<_>>())
                .map_err(|e| StoreError::Other(format!("schema migration failed on {}: {e}", self.url)))
        });
        // The lock is the session's: it goes with the connection in any case.
        let _ = self.conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
        let applied_now = result?;
        Ok(ServerStatus { applied_now, ..self.status()? })
    }

    /// The connection, for the register (`Store::open_server`).
    pub(crate) fn into_connection(self) -> PgConnection {
        self.conn
    }

    pub(crate) fn connection_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    #[cfg(test)]
    pub(crate) fn connection(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

fn known_versions() -> Result<Vec<String>> {
    Ok(diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
        .map_err(|e| StoreError::Other(e.to_string()))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect())
}

fn check_version(url: &ServerUrl, num: i32, text: &str) -> Result<()> {
    if num / 10000 < OLDEST_SERVER_VERSION {
        return Err(StoreError::ServerTooOld { server: url.to_string(), version: text.to_string() });
    }
    Ok(())
}

/// libpq says why a connection failed in English sentences; sort them into what IT can act on.
fn connect_error(url: &ServerUrl, message: &str) -> StoreError {
    let m = message.to_ascii_lowercase();
    let server = url.to_string();
    let reason = message.trim().lines().last().unwrap_or_default().trim().to_string();
    if m.contains("password authentication failed") || m.contains("no password supplied") || m.contains("authentication failed") {
        StoreError::ServerRefused { server, user: url.user().to_string() }
    } else if m.contains("does not exist") && m.contains("database") {
        StoreError::NoServerDatabase { server, database: url.database().to_string() }
    } else if m.contains("connection refused")
        || m.contains("could not translate host name")
        || m.contains("timeout expired")
        || m.contains("no route to host")
        || m.contains("network is unreachable")
        || m.contains("could not connect")
    {
        StoreError::ServerUnreachable { server, reason }
    } else {
        StoreError::ServerOther { server, reason }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The superuser URL of the throw-away server `scripts/test.sh` starts
    /// (`scripts/pg-cluster.sh start DIR` prints one).
    pub const TEST_SERVER_VAR: &str = "ROLLCALL_TEST_POSTGRES";

    fn admin_url() -> url::Url {
        let s = std::env::var(TEST_SERVER_VAR).unwrap_or_else(|_| {
            panic!("{TEST_SERVER_VAR} is not set: these tests need a PostgreSQL server; scripts/test.sh starts one (or: scripts/pg-cluster.sh start DIR, and export the URL it prints)")
        });
        url::Url::parse(&s).expect("a postgres:// URL")
    }

    /// A new, empty database on the test server, for one test.
    pub(crate) fn fresh_database(name: &str) -> ServerUrl {
        let admin = admin_url();
        let mut conn = PgConnection::establish(admin.as_str()).expect("the test server answers");
        let db = format!("rollcall_{name}_{}", std::process::id());
        // Each its own statement: neither may run inside a transaction block.
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).unwrap();
        conn.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
        let mut u = admin.clone();
        u.set_path(&db);
        ServerUrl::parse(u.as_str()).unwrap()
    }

    #[test]
    fn the_url_is_shown_without_its_password() {
        let u = ServerUrl::parse("postgres://office:s3cret@db.school.example:5433/rollcall?sslmode=require").unwrap();
        assert_eq!(u.to_string(), "office@db.school.example:5433/rollcall");
        assert!(!format!("{u:?}").contains("s3cret"));
        assert!(u.as_str().contains("sslmode=require") && u.as_str().contains("connect_timeout=10"));
        for bad in ["postgres://host/db", "postgres://user@/db", "postgres://user@host", "mysql://u@h/d"] {
            assert!(matches!(ServerUrl::parse(bad), Err(StoreError::BadServerUrl(_))), "{bad}");
        }
    }

    #[test]
    fn a_school_is_named_as_a_schema_and_travels_in_the_address() {
        for good in ["north", "st_marys_2", "public"] {
            assert_eq!(School::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "North", "north high", "2nd", "pg_catalog", "information_schema", "a\"b", &"x".repeat(64)] {
            assert!(matches!(School::parse(bad), Err(StoreError::BadSchool(_))), "{bad}");
        }
        let u = ServerUrl::parse("postgres://office:pw@db/district?sslmode=require&school=north").unwrap();
        assert_eq!(u.school().map(School::as_str), Some("north"));
        assert!(!u.as_str().contains("school"), "libpq does not know the parameter: {}", u.as_str());
        assert_eq!(u.to_string(), "office@db/district?school=north");
        // `--school` puts the school into `--db`'s address, in place of one already there.
        let at = ServerUrl::location_in_school(Some(std::path::Path::new("postgres://office:pw@db/district?school=south&sslmode=require")), "north").unwrap();
        let again = ServerUrl::parse(at.to_str().unwrap()).unwrap();
        assert_eq!(again.school().map(School::as_str), Some("north"));
        assert!(again.as_str().contains("sslmode=require") && again.as_str().contains("pw@"));
        let e = ServerUrl::location_in_school(Some(std::path::Path::new("/data/rollcall.sqlite3")), "north").unwrap_err();
        assert!(e.to_string().contains("a register file on this PC holds one school"), "{e}");
        assert!(ServerUrl::location_in_school(None, "north").is_err());
    }

    #[test]
    fn a_password_kept_in_a_password_file_opens_the_server_and_is_not_in_the_address() {
        let url = fresh_database("passfile");
        let password = url.url.password().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config").join("server.pgpass");
        let kept = url.clone().in_school(School::parse("north").unwrap()).with_password_file(&password, &file).unwrap();
        let location = kept.location();
        assert!(!location.contains(&password) && location.contains("passfile=") && location.contains("school=north"), "{location}");
        #[cfg(unix)]
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions()) & 0o777, 0o600);
        // libpq finds the password in the file: the address alone connects.
        let server = Server::connect(&ServerUrl::parse(&location).unwrap()).unwrap();
        assert_eq!(server.school().as_str(), "north");
        assert!(!server.school_exists());
        // Kept again (a new password): the line is replaced, not added to.
        ServerUrl::parse(&location).unwrap().with_password_file("not-the-password", &file).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 1);
        let e = Server::connect(&ServerUrl::parse(&location).unwrap()).err().unwrap();
        assert!(matches!(e, StoreError::ServerRefused { .. }), "{e}");
        assert!(url.with_password_file("two\nlines", &file).is_err());
    }

    #[test]
    fn a_server_older_than_14_is_refused() {
        let u = ServerUrl::parse("postgres://u@h/d").unwrap();
        let e = check_version(&u, 130016, "13.16").unwrap_err();
        assert!(e.to_string().contains("PostgreSQL 13.16") && e.to_string().contains("14 or newer"), "{e}");
        assert!(check_version(&u, 140000, "14.0").is_ok());
        assert!(check_version(&u, 180001, "18.1").is_ok());
    }

    #[test]
    fn each_sqlite_migration_has_a_postgres_twin_of_the_same_name() {
        let names = |dir: &str| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names("migrations/sqlite"), names("migrations/postgres"));
    }

    #[test]
    fn prepare_creates_the_schema_once_and_check_reads_it() {
        let url = fresh_database("prepare");
        let mut server = Server::connect(&url).unwrap();
        assert_eq!(server.schema().unwrap(), SchemaState::Empty);
        let first = server.prepare().unwrap();
        assert_eq!(first.applied_now.len(), known_versions().unwrap().len());
        assert_eq!(first.schema, SchemaState::Current);
        let again = Server::connect(&url).unwrap().prepare().unwrap();
        assert!(again.applied_now.is_empty());
        assert_eq!(Server::connect(&url).unwrap().status().unwrap().schema, SchemaState::Current);
    }

    #[test]
    fn a_database_of_a_newer_rollcall_is_refused_and_left_alone() {
        let url = fresh_database("newer");
        let mut server = Server::connect(&url).unwrap();
        server.prepare().unwrap();
        server.connection().batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000000')").unwrap();
        let e = Server::connect(&url).unwrap().prepare().unwrap_err();
        assert!(matches!(&e, StoreError::NewerSchema { version, .. } if version == "20991231000000"), "{e}");
        assert!(e.to_string().contains("newer Rollcall"), "{e}");
    }

    #[test]
    fn a_wrong_password_an_unreachable_host_and_a_missing_database_say_so() {
        let good = fresh_database("refused");
        let mut wrong = good.url.clone();
        wrong.set_password(Some("not-the-password")).unwrap();
        let e = Server::connect(&ServerUrl { url: wrong, school: None }).err().unwrap();
        assert!(matches!(e, StoreError::ServerRefused { .. }), "{e}");
        assert!(e.to_string().contains("wrong user name or password") && !e.to_string().contains("not-the-password"), "{e}");

        // A port nobody listens on: bound, then let go.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut closed = good.url.clone();
        closed.set_port(Some(port)).unwrap();
        let e = Server::connect(&ServerUrl { url: closed, school: None }).err().unwrap();
        assert!(matches!(e, StoreError::ServerUnreachable { .. }), "{e}");

        let mut missing = good.url.clone();
        missing.set_path("rollcall_no_such_database");
        let e = Server::connect(&ServerUrl { url: missing, school: None }).err().unwrap();
        assert!(matches!(e, StoreError::NoServerDatabase { .. }), "{e}");

        // Nothing was written: the database reached with the right password is still empty.
        assert_eq!(Server::connect(&good).unwrap().schema().unwrap(), SchemaState::Empty);
    }

    // ---- the two schemas are twins -------------------------------------------------------

    /// A backend's schema as sorted lines a diff shows well: columns, unique keys, foreign keys
    /// and the indexes created by name.
    #[derive(Debug, Default, PartialEq)]
    struct Shape {
        columns: Vec<String>,
        unique_keys: Vec<String>,
        foreign_keys: Vec<String>,
        indexes: Vec<String>,
    }

    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        line: String,
    }

    /// The rows of a query returning one text column `line`, sorted (a macro: it serves both
    /// backends' connections).
    macro_rules! lines {
        ($conn:expr, $q:expr $(,)?) => {{
            let mut v: Vec<String> = diesel::sql_query($q).load::<Line>($conn).unwrap().into_iter().map(|l| l.line).collect();
            v.sort();
            v
        }};
    }

    /// Type names of the two engines, as one vocabulary.
    fn kind(t: &str) -> &'static str {
        match t.to_ascii_lowercase().as_str() {
            "integer" | "bigint" => "integer",
            "real" => "real",
            "text" => "text",
            "blob" | "bytea" => "binary",
            "timestamp" | "timestamp without time zone" => "timestamp",
            "date" => "date",
            other => panic!("a column type with no twin: {other}"),
        }
    }

    fn normalise_columns(raw: Vec<String>) -> Vec<String> {
        let mut v: Vec<String> = raw
            .into_iter()
            .map(|l| {
                let (head, ty) = l.rsplit_once('|').unwrap();
                format!("{head}|{}", kind(ty))
            })
            .collect();
        v.sort();
        v
    }

    fn sqlite_shape(conn: &mut diesel::sqlite::SqliteConnection) -> Shape {
        const TABLES: &str = "m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%'";
        let columns = lines!(conn, &format!("SELECT m.name || '.' || p.name || '|' || (p.\"notnull\" OR p.pk > 0) || '|' || p.type AS line FROM sqlite_master m, pragma_table_info(m.name) p WHERE {TABLES}"));
        let unique_keys = lines!(
            conn,
            &format!(
                "SELECT m.name || '(' || (SELECT group_concat(name, ',') FROM (SELECT ii.name FROM pragma_index_info(il.name) ii ORDER BY ii.seqno)) || ')' || CASE il.partial WHEN 1 THEN ' partial' ELSE '' END AS line \
                 FROM sqlite_master m, pragma_index_list(m.name) il WHERE {TABLES} AND il.\"unique\" = 1"
            ),
        );
        let foreign_keys = lines!(conn, &format!("SELECT m.name || '.' || f.\"from\" || ' -> ' || f.\"table\" || ' on delete ' || lower(f.on_delete) AS line FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE {TABLES}"));
        let indexes = lines!(conn, &format!("SELECT il.name AS line FROM sqlite_master m, pragma_index_list(m.name) il WHERE {TABLES} AND il.origin = 'c'"));
        Shape { columns: normalise_columns(columns), unique_keys, foreign_keys, indexes }
    }

    fn postgres_shape(conn: &mut PgConnection) -> Shape {
        let columns = lines!(
            conn,
            "SELECT table_name || '.' || column_name || '|' || CASE is_nullable WHEN 'NO' THEN '1' ELSE '0' END || '|' || data_type AS line \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '\\_\\_diesel%'",
        );
        const INDEXES: &str = "pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public' AND t.relname NOT LIKE '\\_\\_diesel%'";
        // An integer primary key is SQLite's rowid, which has no index of its own: left out.
        let unique_keys = lines!(
            conn,
            &format!(
                "SELECT t.relname || '(' || (SELECT string_agg(pg_get_indexdef(ix.indexrelid, k, true), ',' ORDER BY k) FROM generate_series(1, ix.indnatts::int) k) || ')' \
                 || CASE WHEN ix.indpred IS NOT NULL THEN ' partial' ELSE '' END AS line FROM {INDEXES} AND ix.indisunique \
                 AND NOT (ix.indisprimary AND ix.indnatts = 1 AND i.relname <> 'settings_pkey')"
            ),
        )
        .into_iter()
        // SQLite's `name ... UNIQUE COLLATE NOCASE` is PostgreSQL's unique index on lower(name).
        .map(|l| l.replace("lower(name)", "name"))
        .collect();
        let foreign_keys = lines!(
            conn,
            "SELECT cl.relname || '.' || a.attname || ' -> ' || rf.relname || ' on delete ' || CASE c.confdeltype WHEN 'c' THEN 'cascade' WHEN 'a' THEN 'no action' ELSE c.confdeltype::text END AS line \
             FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_class rf ON rf.oid = c.confrelid \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] WHERE c.contype = 'f'",
        );
        let indexes = lines!(
            conn,
            &format!("SELECT i.relname AS line FROM {INDEXES} AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid) AND i.relname <> 'accounts_name_nocase'"),
        );
        Shape { columns: normalise_columns(columns), unique_keys, foreign_keys, indexes }
    }

    #[test]
    fn the_postgres_schema_is_the_twin_of_the_sqlite_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = diesel::sqlite::SqliteConnection::establish(dir.path().join("twin.db").to_str().unwrap()).unwrap();
        conn.batch_execute("PRAGMA foreign_keys = OFF").unwrap();
        conn.run_pending_migrations(super::super::MIGRATIONS).unwrap();
        let sqlite = sqlite_shape(&mut conn);

        let url = fresh_database("twin");
        let mut server = Server::connect(&url).unwrap();
        server.prepare().unwrap();
        let postgres = postgres_shape(server.connection());

        assert!(sqlite.columns.len() > 90 && sqlite.indexes.len() >= 10, "{sqlite:#?}");
        assert_eq!(sqlite.columns, postgres.columns);
        assert_eq!(sqlite.unique_keys, postgres.unique_keys);
        assert_eq!(sqlite.foreign_keys, postgres.foreign_keys);
        assert_eq!(sqlite.indexes, postgres.indexes);
    }

    /// A server prepared by the first release, with a register in it, keeps every row through
    /// the later migrations, as an SQLite file does (`storage::tests`).
    #[test]
    fn a_first_release_server_database_is_migrated_with_its_register() {
        let url = fresh_database("first_release");
        let mut server = Server::connect(&url).unwrap();
        let conn = server.connection();
        conn.run_next_migration(POSTGRES_MIGRATIONS).unwrap();
        conn.batch_execute(
            "INSERT INTO classes (id, name, session_start, late_after_minutes) VALUES (1, '7B', '08:30', 10);
             INSERT INTO students (id, student_id, first_name, last_name, class_id) VALUES (1, 'S1', 'Ada', 'Lovelace', 1), (2, 'S2', 'Alan', 'Turing', 1);
             INSERT INTO enrolments (student_id, model_id, embedding, source, face_size) VALUES (1, 'm', '\\x0000803f', 'a.jpg', 100.0);
             INSERT INTO sessions (id, class_id, date, starts_at, late_after_minutes, source, opened_at, closed_at)
                 VALUES (1, 1, '2026-11-02', '2026-11-02 08:30:00', 10, 'camera 0', '2026-11-02 08:25:00', '2026-11-02 09:00:00');
             INSERT INTO marks (session_id, student_id, status, auto_status, first_seen, last_seen, late_minutes, confidence, source)
                 VALUES (1, 1, 'present', 'present', '2026-11-02 08:29:00', '2026-11-02 08:40:00', 0, 0.8, 'auto');
             INSERT INTO audit_log (at, actor, action, session_id, student_id, old_value, new_value, reason)
                 VALUES ('2026-11-02 10:00:00', 'Ms Smith', 'override_status', 1, 2, 'absent', 'excused', 'dentist');",
        )
        .unwrap();
        let status = server.prepare().unwrap();
        assert_eq!(status.applied_now.len(), known_versions().unwrap().len() - 1);
        let conn = server.connection();
        assert_eq!(lines!(conn, "SELECT student_id || '>' || class_id AS line FROM memberships"), ["1>1", "2>1"]);
        assert_eq!(lines!(conn, "SELECT lesson_start || ' ' || frames || ' ' || faces AS line FROM sessions"), ["08:30 1 1"]);
        assert_eq!(lines!(conn, "SELECT coalesce(student_ref, '-') AS line FROM audit_log"), ["S2"]);
        assert_eq!(lines!(conn, "SELECT status || ' ' || coalesce(review, '-') AS line FROM marks"), ["present -"]);
    }
}
