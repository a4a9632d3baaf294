//! Encryption at rest: SQLCipher encrypts every page of the file (AES-256, with an HMAC per page),
//! and each face template is sealed once more (AES-256-GCM, a random nonce per row, the student's
//! row id as associated data) so that it stays sealed in a database without file encryption (a
//! server) and cannot be moved to another student's row.
//!
//! Copies between keys (an earlier version's unencrypted file, a key rotation, a backup, a
//! restore) all go through [`export`]: `sqlcipher_export` into an attached database under the
//! new key, then every template unsealed with the old key and sealed with the new, in one
//! transaction, so the copy is one consistent view of a database others may be writing.

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use rand::RngCore;
use zeroize::Zeroizing;

use super::{sidecar, Result, StoreError};
use crate::keys::DatabaseKey;

/// The first byte of a sealed template (its format).
const SEALED_V1: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const SEAL_INFO: &[u8] = b"rollcall template seal v1";

/// Seals and opens face templates under a key derived from the database key.
#[derive(Clone)]
pub struct TemplateSeal {
    cipher: Aes256Gcm,
}

impl TemplateSeal {
    pub fn for_key(key: &DatabaseKey) -> TemplateSeal {
        let mut k = Zeroizing::new([0u8; 32]);
        match key {
            DatabaseKey::Raw(raw) => {
                hkdf::Hkdf::<sha2::Sha256>::new(None, raw.as_ref()).expand(SEAL_INFO, k.as_mut()).expect("32 bytes is a valid HKDF length");
            }
            DatabaseKey::Passphrase(p) => {
                // A passphrase is guessable: a memory-hard derivation (argon2id, OWASP's minimum).
                let params = argon2::Params::new(19 * 1024, 2, 1, Some(32)).expect("valid argon2 parameters");
                argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                    .hash_password_into(p.as_bytes(), SEAL_INFO, k.as_mut())
                    .expect("argon2 accepts any passphrase and this salt");
            }
        }
        TemplateSeal { cipher: Aes256Gcm::new_from_slice(k.as_ref()).expect("a 32-byte key") }
    }

    pub fn seal(&self, student_row: i32, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = student_row.to_le_bytes();
        let sealed = self.cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: &aad }).expect("AES-GCM encryption of a template cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, student_row: i32, blob: &[u8]) -> Result<Vec<u8>> {
        let broken = || StoreError::Other(format!("a face template of student row {student_row} does not open with this database's key (it was changed, or moved from another student): enrol the student again"));
        if !is_sealed(blob) {
            return Err(broken());
        }
        let (nonce, sealed) = blob[1..].split_at(NONCE_LEN);
        let aad = student_row.to_le_bytes();
        self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: &aad }).map_err(|_| broken())
    }
}

/// A sealed template is 29 + 4n bytes, an unsealed one (little-endian f32s) 4n: never confused.
fn is_sealed(blob: &[u8]) -> bool {
    blob.len() >= 1 + NONCE_LEN + TAG_LEN && blob[0] == SEALED_V1 && (blob.len() - 1 - NONCE_LEN - TAG_LEN) % 4 == 0
}

/// What is at a database path, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// No file, or an empty one: a new database.
    New,
    /// An earlier version's database, readable by anyone who copies it.
    Plain,
    /// Encrypted (or not a database at all: the key check tells).
    Encrypted,
}

pub fn file_state(path: &Path) -> std::io::Result<FileState> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::New),
        Err(e) => return Err(e),
    };
    let mut head = [0u8; 16];
    let n = f.read(&mut head)?;
    Ok(if n == 0 {
        FileState::New
    } else if n == 16 && &head == b"SQLite format 3\0" {
        FileState::Plain
    } else {
        FileState::Encrypted
    })
}

pub(super) fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The SQL literal SQLCipher takes as a key: `"x'…'"` for a raw key, the passphrase quoted.
fn key_literal(key: &DatabaseKey) -> Zeroizing<String> {
    match key {
        DatabaseKey::Raw(_) => Zeroizing::new(format!("\"x'{}'\"", key.to_hex().expect("raw").as_str())),
        DatabaseKey::Passphrase(p) => Zeroizing::new(quoted(p)),
    }
}

/// Give the connection its key (before anything else is read) and check that it opens the file:
/// `false` for a wrong key (SQLCipher reads it as "not a database"); any other failure (a full
/// disk, a lock) is that error, not a wrong key.
pub fn unlock(conn: &mut SqliteConnection, key: &DatabaseKey) -> Result<bool> {
    conn.batch_execute(&format!("PRAGMA key = {};", key_literal(key).as_str()))?;
    match conn.batch_execute("SELECT count(*) FROM sqlite_master;") {
        Ok(()) => Ok(true),
        Err(e) if e.to_string().contains("not a database") => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[derive(QueryableByName)]
struct SealedRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    id: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    student_id: i32,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    embedding: Vec<u8>,
}

/// Copy the database of `conn` (a consistent view, while others write) into a new file at `dst`
/// encrypted under `dst_key`, its templates sealed for it. `from`: the seal of the source's
/// templates (`None`: an earlier version's database, whose templates are not sealed).
pub fn export(conn: &mut SqliteConnection, from: Option<&TemplateSeal>, dst: &Path, dst_key: &DatabaseKey) -> Result<()> {
    let target = dst.to_str().ok_or_else(|| StoreError::Other(format!("{} is not a valid UTF-8 path", dst.display())))?;
    if dst.exists() {
        return Err(StoreError::Other(format!("{} exists already", dst.display())));
    }
    // Created private first: SQLite keeps an existing file's permissions.
    super::create_private_file(dst).map_err(|e| StoreError::Other(format!("cannot create {}: {e}", dst.display())))?;
    conn.batch_execute(&format!("ATTACH DATABASE {} AS copy KEY {};", quoted(target), key_literal(dst_key).as_str()))?;
    let to = TemplateSeal::for_key(dst_key);
    let copied = (|| -> Result<()> {
        conn.batch_execute("BEGIN; SELECT sqlcipher_export('copy');")?;
        let rows: Vec<SealedRow> = match diesel::sql_query("SELECT id, student_id, embedding FROM copy.enrolments").load(conn) {
            Ok(rows) => rows,
            // A database the migrations have not reached yet has no templates.
            Err(e) if e.to_string().contains("no such table") => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        for row in rows {
            let plain = match from {
                Some(seal) => seal.open(row.student_id, &row.embedding)?,
                None if is_sealed(&row.embedding) => return Err(StoreError::Other("an unencrypted database holds sealed templates: it was not made by Rollcall".into())),
                None => row.embedding,
            };
            diesel::sql_query("UPDATE copy.enrolments SET embedding = ? WHERE id = ?")
                .bind::<diesel::sql_types::Binary, _>(to.seal(row.student_id, &plain))
                .bind::<diesel::sql_types::Integer, _>(row.id)
                .execute(conn)?;
        }
        conn.batch_execute("COMMIT;")?;
        Ok(())
    })();
    if copied.is_err() {
        let _ = conn.batch_execute("ROLLBACK;");
    }
    let detached = conn.batch_execute("DETACH DATABASE copy;");
    copied?;
    detached?;
    Ok(())
}

/// Open `path` with `key` (no migrations, no side effects) for a check.
pub fn connect(path: &Path, key: Option<&DatabaseKey>) -> Result<SqliteConnection> {
    let url = path.to_str().ok_or_else(|| StoreError::Other(format!("{} is not a valid UTF-8 path", path.display())))?;
    let mut conn = SqliteConnection::establish(url)?;
    if let Some(key) = key {
        if !unlock(&mut conn, key)? {
            return Err(StoreError::WrongKey(path.to_path_buf()));
        }
    }
    conn.batch_execute(&format!("PRAGMA busy_timeout = {};", super::DEFAULT_BUSY_TIMEOUT_MS))?;
    Ok(conn)
}

#[derive(QueryableByName, PartialEq, Eq, Debug)]
struct TableCount {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    rows: i64,
}

/// Every table's row count: a copy must hold what its source held.
fn table_counts(conn: &mut SqliteConnection) -> Result<Vec<TableCount>> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let names: Vec<Name> = diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").load(conn)?;
    let mut out = Vec::new();
    for n in names {
        let q = format!("SELECT '{0}' AS name, count(*) AS rows FROM \"{0}\"", n.name.replace('"', "\"\""));
        out.extend(diesel::sql_query(q).load::<TableCount>(conn)?);
    }
    Ok(out)
}

/// The copy at `copy` (under `key`) passes SQLite's integrity check and holds as many rows in
/// every table as the source.
fn verify_copy(source: &mut SqliteConnection, copy: &Path, key: &DatabaseKey) -> Result<()> {
    let mut c = connect(copy, Some(key))?;
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(&mut c)?;
    if let Some(problem) = rows.into_iter().map(|r| r.integrity_check).find(|r| r != "ok") {
        return Err(StoreError::Other(format!("the encrypted copy fails SQLite's integrity check ({problem})")));
    }
    if table_counts(source)? != table_counts(&mut c)? {
        return Err(StoreError::Other("the encrypted copy does not hold every row of the database".into()));
    }
    Ok(())
}

/// `rollcall.sqlite3.encrypting`: the encrypted copy being made of an unencrypted database.
fn encrypting(path: &Path) -> PathBuf {
    sidecar(path, ".encrypting")
}

/// `rollcall.sqlite3.unencrypted`: the earlier version's file, kept until the copy is verified.
pub fn kept_unencrypted(path: &Path) -> PathBuf {
    sidecar(path, ".unencrypted")
}

/// `rollcall.sqlite3.rotating`: the copy under a new key, during `rollcall key rotate`.
pub fn rotating(path: &Path) -> PathBuf {
    sidecar(path, ".rotating")
}

fn remove_with_sidecars(path: &Path) {
    for p in [path.to_path_buf(), sidecar(path, "-journal"), sidecar(path, "-wal"), sidecar(path, "-shm")] {
        let _ = std::fs::remove_file(p);
    }
}

/// Overwrite a file that held the register in clear, then remove it.
pub fn shred(path: &Path) {
    use std::io::Write;
    if let Ok(meta) = std::fs::metadata(path) {
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(path) {
            let zeros = vec![0u8; 1 << 16];
            let mut left = meta.len();
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                if f.write_all(&zeros[..n]).is_err() {
                    break;
                }
                left -= n as u64;
            }
            let _ = f.sync_all();
        }
    }
    remove_with_sidecars(path);
}

/// Finish or undo what a killed encryption or rotation left, before the database is opened:
/// the live file is always either the old database or the verified new one.
pub fn recover(path: &Path) {
    let enc = encrypting(path);
    let kept = kept_unencrypted(path);
    if enc.exists() || sidecar(&enc, "-journal").exists() {
        if !path.exists() && kept.exists() {
            // Killed between the two renames: put the unencrypted file back; it is encrypted again now.
            let _ = std::fs::rename(&kept, path);
        }
        remove_with_sidecars(&enc);
    }
    // A rotation's copy that was never swapped in (a swapped one has no name of its own left).
    if rotating(path).exists() {
        remove_with_sidecars(&rotating(path));
    }
}

/// Encrypt an earlier version's unencrypted database in place under `key` (see the module doc):
/// the copy is made and verified, the old file is renamed aside, the copy renamed in, and the
/// old file is only shredded once the new one has opened (`Store::open` does that).
pub fn encrypt_in_place(path: &Path, key: &DatabaseKey) -> Result<()> {
    let enc = encrypting(path);
    let kept = kept_unencrypted(path);
    remove_with_sidecars(&enc);
    {
        let mut conn = connect(path, None)?;
        // The write-ahead log folded into the file: the file alone is then the database.
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?;
        let made = export(&mut conn, None, &enc, key).and_then(|_| verify_copy(&mut conn, &enc, key));
        if let Err(e) = made {
            remove_with_sidecars(&enc);
            return Err(e);
        }
    }
    // An unencrypted file kept by an earlier, finished migration of a since-replaced database.
    if kept.exists() {
        shred(&kept);
    }
    let io = |e: std::io::Error| StoreError::Other(format!("cannot put the encrypted database in place at {}: {e}", path.display()));
    std::fs::rename(path, &kept).map_err(io)?;
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sidecar(path, side));
    }
    std::fs::rename(&enc, path).map_err(io)?;
    Ok(())
}

impl super::Store {
    /// Re-encrypt the database under `new` (`rollcall key rotate`) and keep `new` in `keys`.
    /// Refused while a session runs (its process would go on writing to the replaced file).
    /// Killed at any point, the database stays whole and one of the two keys opens it: the new key
    /// is kept as pending first, the copy is made and verified beside the file, renamed over it in
    /// one step, and only then does the new key replace the old (`Store::open_with` finishes a
    /// rotation killed between those two steps).
    pub fn rotate_key(mut self, keys: &crate::keys::KeyStore, new: &DatabaseKey, actor: &str) -> Result<()> {
        if self.is_server() {
            return Err(StoreError::FileOnly("re-encrypting under a new key"));
        }
        if self.running_sessions()? > 0 {
            return Err(StoreError::Other("a session is taking the roll on this database right now; nothing was changed: stop it (and close the app) first".into()));
        }
        let path = self.path.clone();
        let copy = rotating(&path);
        remove_with_sidecars(&copy);
        keys.keep_pending(new)?;
        let super::db::Db::Sqlite(conn) = &mut self.conn else { return Err(StoreError::FileOnly("re-encrypting under a new key")) };
        let made = export(conn, Some(&self.seal), &copy, new).and_then(|_| verify_copy(conn, &copy, new));
        if let Err(e) = made {
            remove_with_sidecars(&copy);
            keys.drop_pending();
            return Err(e);
        }
        {
            let mut c = super::Store::open_keyed(&copy, new)?;
            c.audit_database_event(actor, "key_rotated", "the database was re-encrypted under a new key".into())?;
            c.close_into_file()?;
        }
        self.close_into_file()?;
        for side in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(sidecar(&path, side));
        }
        std::fs::rename(&copy, &path).map_err(|e| StoreError::Other(format!("cannot put the re-encrypted database in place at {}: {e}", path.display())))?;
        keys.replace(new)?;
        Ok(())
    }

    /// How many face templates are stored (each sealed).
    pub fn sealed_templates(&mut self) -> Result<i64> {
        use super::schema::enrolments;
        Ok(enrolments::table.count().get_result(&mut self.conn)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_open_only_for_their_student_and_key() {
        let key = DatabaseKey::random();
        let seal = TemplateSeal::for_key(&key);
        let plain: Vec<u8> = (0..2048u32).map(|i| i as u8).collect();
        let sealed = seal.seal(7, &plain);
        assert_eq!(sealed.len(), plain.len() + 29);
        assert_ne!(seal.seal(7, &plain), sealed, "a fresh nonce each time");
        assert_eq!(seal.open(7, &sealed).unwrap(), plain);
        assert!(seal.open(8, &sealed).is_err(), "moved to another student");
        assert!(TemplateSeal::for_key(&DatabaseKey::random()).open(7, &sealed).is_err(), "another key");
        let mut flipped = sealed.clone();
        flipped[40] ^= 1;
        assert!(seal.open(7, &flipped).is_err(), "changed");
        assert!(seal.open(7, &plain).is_err(), "an unsealed template is not accepted");
    }
}
