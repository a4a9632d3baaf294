//! Shared by the integration tests: where the real data sets are, and one loaded engine.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use serde_json::Value;

/// The shared data sets (`ROLLCALL_DATASETS`, default `../shared/datasets`). When they are absent
/// a test is skipped with a notice, except under `CI=true`, where absence is a failure: CI must
/// never go green by testing nothing.
pub fn datasets() -> Option<PathBuf> {
    let dir = std::env::var_os("ROLLCALL_DATASETS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets"));
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("data sets not found at {} (set ROLLCALL_DATASETS); they are required in CI", dir.display());
    }
    eprintln!("NOTICE: data sets not found at {}; skipping this test", dir.display());
    None
}

/// Whether this run puts `Env::new()`'s schools on the test PostgreSQL server.
pub fn on_postgres() -> bool {
    std::env::var("ROLLCALL_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub const OFFICE: &str = "office";
pub const OFFICE_PASSWORD: &str = "office password for tests";
pub const TEACHER_PASSWORD: &str = "teacher password for tests";

/// A school of its own for one test: a temporary folder with the database in `school/` and its
/// key in a private key file of its own, `keys/rollcall.key` (a test machine has no credential store).
pub struct Env {
    pub dir: tempfile::TempDir,
    /// The school's register on the test PostgreSQL server instead of a file (`Env::on_server`).
    pub server: Option<String>,
}

impl Env {
    /// A school on the backend this run tests: a file, or a database of its own on the test
    /// PostgreSQL server when `ROLLCALL_TEST_BACKEND=postgres` (`scripts/test.sh` runs the storage,
    /// attendance and CLI tests both ways). Tests about the file itself ask for `on_file`.
    pub fn new() -> Env {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        if on_postgres() {
            Env::on_server(&format!("t{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)))
        } else {
            Env::on_file()
        }
    }
    /// A school whose register is a file, whatever the run's backend.
    pub fn on_file() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("school")).unwrap();
        Env { dir, server: None }
    }
    /// A school whose register is a new, empty database of its own on the throw-away PostgreSQL
    /// server `scripts/test.sh` starts (`ROLLCALL_TEST_POSTGRES`, its superuser URL).
    pub fn on_server(name: &str) -> Env {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let admin = std::env::var("ROLLCALL_TEST_POSTGRES")
            .expect("ROLLCALL_TEST_POSTGRES is not set: scripts/test.sh starts a PostgreSQL server for these tests (or scripts/pg-cluster.sh start DIR)");
        let db = format!("rollcall_{name}_{}", std::process::id());
        let mut conn = diesel::pg::PgConnection::establish(&admin).expect("the test server answers");
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).unwrap();
        conn.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&db);
        Env::on_server_url(url.as_str())
    }
    /// A school on a database made beforehand, by its URL.
    pub fn on_server_url(url: &str) -> Env {
        let mut env = Env::on_file();
        env.server = Some(url.to_string());
        env
    }
    /// Where the register is, as `--db`/`ROLLCALL_DB` takes it: the file, or the server's URL.
    pub fn location(&self) -> std::ffi::OsString {
        match &self.server {
            Some(url) => url.into(),
            None => self.db().into(),
        }
    }
    /// The register's file (a test that reads it asks for `Env::on_file`).
    pub fn db(&self) -> PathBuf {
        assert!(self.server.is_none(), "this test reads the register's file: make its school with Env::on_file()");
        self.dir.path().join("school").join("rollcall.sqlite3")
    }
    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("keys").join("rollcall.key")
    }
    pub fn keys(&self) -> rollcall::keys::KeyStore {
        rollcall::keys::KeyStore::File(self.key_file())
    }
    /// The `rollcall` command on this school's database, signed in as its office account
    /// (created by the first command).
    pub fn cmd(&self) -> Command {
        self.cmd_as(OFFICE, OFFICE_PASSWORD)
    }
    /// The command signed in as another account.
    pub fn cmd_as(&self, user: &str, password: &str) -> Command {
        let mut c = Command::cargo_bin("rollcall").unwrap();
        c.envs(self.vars()).env("ROLLCALL_USER", user).env("ROLLCALL_PASSWORD", password);
        c
    }
    /// What a process started by hand needs to work on this school: database, key, account.
    pub fn vars(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            ("ROLLCALL_DB", self.location()),
            ("ROLLCALL_KEY_FILE", self.key_file().into()),
            ("ROLLCALL_USER", OFFICE.into()),
            ("ROLLCALL_PASSWORD", OFFICE_PASSWORD.into()),
        ]
    }
    /// A teacher account (password `TEACHER_PASSWORD`) teaching `classes`.
    pub fn add_teacher(&self, name: &str, classes: &[&str]) {
        let mut c = self.cmd();
        c.args(["account", "add", name, "--role", "teacher"]).env("ROLLCALL_NEW_PASSWORD", TEACHER_PASSWORD);
        for class in classes {
            c.args(["--class", class]);
        }
        c.assert().success();
    }
    /// The store, opened as the CLI opens it.
    pub fn store(&self) -> rollcall::storage::Store {
        match &self.server {
            Some(url) => rollcall::storage::Store::open_server(&rollcall::storage::server::ServerUrl::parse(url).unwrap(), &self.keys()).unwrap(),
            None => rollcall::storage::Store::open_with(&self.db(), &self.keys()).unwrap(),
        }
    }
    /// A bare SQL connection to the encrypted database (for checks the CLI cannot make).
    pub fn sql(&self) -> diesel::sqlite::SqliteConnection {
        self.sql_at(&self.db())
    }
    pub fn sql_at(&self, path: &Path) -> diesel::sqlite::SqliteConnection {
        let key = self.keys().load().unwrap().expect("the database key");
        rollcall::storage::cipher::connect(path, Some(&key)).unwrap()
    }
    /// A connection of the test's own to the register, on whichever backend it is.
    pub fn conn(&self) -> Conn {
        match &self.server {
            Some(url) => Conn::Postgres(pg_connection(url)),
            None => Conn::Sqlite(self.sql()),
        }
    }
    /// The same database as this school's, in the school `school` of it (`?school=` in its address).
    pub fn in_school(&self, school: &str) -> Env {
        let mut url = url::Url::parse(self.server.as_ref().expect("a school on a server")).unwrap();
        url.query_pairs_mut().append_pair("school", school);
        Env::on_server_url(url.as_str())
    }
    /// Take the register's write lock as another writer (a long roster import) would: SQLite's
    /// write lock on a file, Rollcall's advisory write lock on a server. Held until `release`.
    pub fn hold_write_lock(&self) -> Conn {
        use diesel::connection::SimpleConnection;
        let mut conn = self.conn();
        match &mut conn {
            Conn::Sqlite(c) => c.batch_execute("BEGIN IMMEDIATE"),
            Conn::Postgres(c) => c.batch_execute(&format!("BEGIN; {}", rollcall::storage::SERVER_WRITE_LOCK)),
        }
        .unwrap();
        conn
    }
    /// Everything the register holds, to search for what must not be there: on a file, every
    /// page of it decrypted (free pages included); on a server, every row of every table.
    pub fn contents(&self) -> Contents {
        use diesel::prelude::*;
        let Some(url) = &self.server else { return Contents::File(decrypted_database(self)) };
        #[derive(QueryableByName)]
        struct Text {
            #[diesel(sql_type = diesel::sql_types::Text)]
            text: String,
        }
        let mut conn = pg_connection(url);
        let tables: Vec<Text> =
            diesel::sql_query("SELECT table_name::text AS text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'").load(&mut conn).unwrap();
        let mut all = String::new();
        for t in tables {
            let rows: Vec<Text> = diesel::sql_query(format!("SELECT coalesce(string_agg(t::text, E'\\n'), '') AS text FROM \"{}\" t", t.text)).load(&mut conn).unwrap();
            all.push_str(&rows[0].text);
        }
        Contents::Server(all)
    }
    /// Start `rollcall ARGS` on this school, kill it after `delay` (as a power cut or a closed
    /// laptop would; on a server its connection drops), and say whether it had finished by then.
    pub fn kill_after(&self, args: &[&std::ffi::OsStr], delay: std::time::Duration) -> bool {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("rollcall"))
            .envs(self.vars())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        finished
    }
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.cmd().arg("--json").args(args).assert().success().get_output().stdout.clone();
        serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
    }
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// A connection to a school's database on the server, working in its school (the address's
/// `?school=`, which libpq does not know, made the connection's search path as Rollcall does).
pub fn pg_connection(url: &str) -> diesel::pg::PgConnection {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let mut url = url::Url::parse(url).unwrap();
    let school = url.query_pairs().find(|(k, _)| k == "school").map(|(_, v)| v.into_owned());
    let rest: Vec<(String, String)> = url.query_pairs().filter(|(k, _)| k != "school").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    url.query_pairs_mut().clear().extend_pairs(rest);
    let mut conn = diesel::pg::PgConnection::establish(url.as_str().trim_end_matches('?')).expect("the test server answers");
    if let Some(school) = school {
        conn.batch_execute(&format!("SET search_path TO \"{school}\"")).unwrap();
    }
    conn
}

/// A test's own connection to a register (`Env::conn`).
#[derive(diesel::MultiConnection)]
pub enum Conn {
    Postgres(diesel::pg::PgConnection),
    Sqlite(diesel::sqlite::SqliteConnection),
}

impl Conn {
    /// End what `Env::hold_write_lock` began.
    pub fn release(mut self) {
        use diesel::connection::SimpleConnection;
        self.batch_execute("COMMIT").unwrap();
    }
}

/// What `Env::contents` read.
pub enum Contents {
    File(Vec<u8>),
    /// Rows as PostgreSQL prints them (bytes as `\x` and hex).
    Server(String),
}

impl Contents {
    pub fn has(&self, bytes: &[u8]) -> bool {
        match self {
            Contents::File(raw) => contains(raw, bytes),
            Contents::Server(rows) => {
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                contains(rows.as_bytes(), bytes) || rows.contains(&hex)
            }
        }
    }
}

/// The clip's two people, with a parent's consent on record, and a student without consent (registered by hand).
pub const ROSTER: &str =
    "student_id,first_name,last_name,class,consent,consent_by,consent_date\nLMM,Lin-Manuel,Miranda,Stage,granted,Luz Miranda,2026-09-01\nALC,Alex,Lacamoire,Stage,granted,A Lacamoire,2026-09-01\nABS,Absent,Student,Stage,,,\n";

/// A roster CSV with a parent's consent on record for every student (the consent columns added).
pub fn with_consent(csv: &str) -> String {
    let mut lines = csv.lines();
    let mut out = format!("{},consent,consent_by,consent_date\n", lines.next().unwrap());
    for l in lines.filter(|l| !l.is_empty()) {
        out.push_str(&format!("{l},granted,A Parent,2026-09-01\n"));
    }
    out
}

/// Import the roster and enrol the two reference people of the clip.
pub fn enrolled_stage(d: &Path) -> Env {
    enrol_stage(Env::new(), d)
}

/// `enrolled_stage` in a school made beforehand (on a server, say).
pub fn enrol_stage(env: Env, d: &Path) -> Env {
    let roster = env.write("roster.csv", ROSTER);
    env.cmd().args(["roster", "import"]).arg(&roster).assert().success();
    let refs = d.join("video_hamilton/reference");
    env.cmd().args(["enroll", "LMM"]).arg(refs.join("lin_manuel_miranda.png")).assert().success();
    env.cmd().args(["enroll", "ALC"]).arg(refs.join("alex_lacamoire.png")).assert().success();
    env
}

/// The students on a day report's register when the class had one lesson that day.
pub fn students_of(report: &Value) -> &Vec<Value> {
    let lessons = report["lessons"].as_array().unwrap();
    assert_eq!(lessons.len(), 1, "one lesson that day: {report}");
    lessons[0]["students"].as_array().unwrap()
}

pub fn status_of(report: &Value, id: &str) -> String {
    students_of(report).iter().find(|s| s["student_id"] == id).unwrap()["status"].as_str().unwrap().to_string()
}

/// Serve the clip as a live MJPEG stream over HTTP (one client), as an IP camera would.
pub fn serve_stream(clip: &Path, port: u16) -> std::process::Child {
    let child = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "quiet", "-re", "-i"])
        .arg(clip)
        .args(["-an", "-c:v", "mjpeg", "-q:v", "5", "-f", "mpjpeg", "-listen", "1"])
        .arg(format!("http://127.0.0.1:{port}/cam"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg (installed by scripts/setup.sh)");
    // ffmpeg takes a single client: a test that connects before it listens gets "connection
    // refused" and ffmpeg then waits for a client forever. Wait until the port is listening
    // (read from the kernel's table, which does not use up the one client).
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !listening(port) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child
}

/// A local TCP port in the LISTEN state (Linux's /proc/net/tcp; elsewhere, after a short wait).
pub fn listening(port: u16) -> bool {
    match std::fs::read_to_string("/proc/net/tcp") {
        Ok(table) => table.lines().skip(1).any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3 && cols[1].ends_with(&format!(":{port:04X}")) && cols[3] == "0A"
        }),
        Err(_) => {
            std::thread::sleep(std::time::Duration::from_secs(1));
            true
        }
    }
}

pub fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Run and expect a failure with `code` (and no panic); the stderr.
pub fn fails(env: &Env, args: &[&str], code: i32) -> String {
    let out = env.cmd().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr_of(&out));
    assert!(!stderr_of(&out).contains("panicked"), "{}", stderr_of(&out));
    stderr_of(&out)
}

/// The database file's bytes as they are on disk, with its write-ahead log: what someone who
/// copies the file could read, free pages included.
pub fn raw_database(env: &Env) -> Vec<u8> {
    let mut bytes = std::fs::read(env.db()).unwrap();
    if let Ok(wal) = std::fs::read(rollcall::storage::sidecar(&env.db(), "-wal")) {
        bytes.extend(wal);
    }
    bytes
}

/// What someone with the file *and its key* could read: every page of the file and of its
/// write-ahead log decrypted as SQLCipher 4 stores it (AES-256-CBC, the IV in each page's reserved
/// tail; the raw key is the cipher key), free pages included.
pub fn decrypted_database(env: &Env) -> Vec<u8> {
    use aes::cipher::{BlockDecryptMut, KeyIvInit};
    const PAGE: usize = 4096;
    const RESERVE: usize = 80; // IV (16) + HMAC-SHA512 (64)
    let key = env.keys().load().unwrap().unwrap().to_hex().unwrap();
    let key: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&key[2 * i..2 * i + 2], 16).unwrap()).collect();
    let decrypt = |page: &[u8], first: bool| -> Vec<u8> {
        let start = if first { 16 } else { 0 };
        let iv = &page[PAGE - RESERVE..PAGE - RESERVE + 16];
        let mut data = page[start..PAGE - RESERVE].to_vec();
        cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, iv).unwrap().decrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(&mut data).unwrap();
        data
    };
    let mut out = Vec::new();
    let file = std::fs::read(env.db()).unwrap();
    for (i, page) in file.chunks_exact(PAGE).enumerate() {
        out.extend(decrypt(page, i == 0));
    }
    if let Ok(wal) = std::fs::read(rollcall::storage::sidecar(&env.db(), "-wal")) {
        // 32-byte WAL header, then frames of a 24-byte header and a page.
        for frame in wal.get(32..).unwrap_or_default().chunks_exact(24 + PAGE) {
            let page_no = u32::from_be_bytes(frame[0..4].try_into().unwrap());
            out.extend(decrypt(&frame[24..], page_no == 1));
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
