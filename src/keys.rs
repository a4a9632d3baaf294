//! The key that encrypts the database, and where it is kept (issue 12, part 1).
//!
//! Three places, chosen in this order:
//! 1. `ROLLCALL_KEY_FILE`: a file readable by its owner only, holding a random 256-bit key in hex
//!    (created on first start if it does not exist). For a headless box or CI, where there is no
//!    credential store; a file others can read is refused, not used.
//! 2. `ROLLCALL_PASSPHRASE`: a passphrase (SQLCipher derives the page key from it with PBKDF2 and
//!    the file's own salt). For scripted use where no file may be kept.
//! 3. Otherwise the operating system's credential store (Windows Credential Manager, the macOS
//!    Keychain, the Secret Service on Linux), where a random 256-bit key is made on first start.
//!
//! A key rotation first keeps the new key as *pending* beside the current one, then swaps the
//! database, then promotes the pending key: a rotation killed at any point leaves a database
//! that one of the two keys opens (the store tries both and finishes the job).
//!
//! This module knows nothing of SQLite: `storage` turns a [`DatabaseKey`] into SQLCipher's
//! `PRAGMA key` and into the key that seals face templates.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;
use zeroize::Zeroizing;

pub const KEY_FILE_ENV: &str = "ROLLCALL_KEY_FILE";
pub const PASSPHRASE_ENV: &str = "ROLLCALL_PASSPHRASE";
/// The credential store entry: one key per user account of the PC, for every database it opens.
const KEYRING_SERVICE: &str = "org.rollcall.Rollcall";
const KEYRING_USER: &str = "database key";
const KEYRING_PENDING_USER: &str = "database key (rotation in progress)";
/// A passphrase that guards every student's data must resist an offline guess.
pub const MIN_PASSPHRASE_CHARS: usize = 10;

/// The secret that opens the database.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseKey {
    /// 32 random bytes, used as SQLCipher's raw key (no key derivation at each open).
    Raw(Zeroizing<[u8; 32]>),
    /// A passphrase SQLCipher derives the key from.
    Passphrase(Zeroizing<String>),
}

impl fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DatabaseKey::Raw(_) => "DatabaseKey::Raw(..)",
            DatabaseKey::Passphrase(_) => "DatabaseKey::Passphrase(..)",
        })
    }
}

impl DatabaseKey {
    pub fn random() -> DatabaseKey {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(k.as_mut());
        DatabaseKey::Raw(k)
    }

    pub fn to_hex(&self) -> Option<Zeroizing<String>> {
        match self {
            DatabaseKey::Raw(k) => Some(Zeroizing::new(k.iter().map(|b| format!("{b:02x}")).collect())),
            DatabaseKey::Passphrase(_) => None,
        }
    }

    pub fn from_hex(text: &str) -> Option<DatabaseKey> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut k = Zeroizing::new([0u8; 32]);
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(DatabaseKey::Raw(k))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the key file {0} can be read by other users of this computer: make it private (`chmod 600 {0}`) and try again; it was not used")]
    LoosePermissions(String),
    #[error("the key file {path} is not a Rollcall key (64 hexadecimal characters expected): give the right file in {KEY_FILE_ENV}")]
    BadKeyFile { path: String },
    #[error("cannot use the key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("no credential store is available on this computer ({0}): set {KEY_FILE_ENV} to a file only you can read (it is created on first start; keep a copy somewhere safe), or {PASSPHRASE_ENV} to a passphrase")]
    NoCredentialStore(String),
    #[error("the database is encrypted and its key is missing from {0}: bring back the key (the key file, or this computer's account whose credential store holds it), or restore a backup with `rollcall restore`")]
    Missing(String),
    #[error("the passphrase is too short: use at least {MIN_PASSPHRASE_CHARS} characters (a sentence is easiest to remember)")]
    WeakPassphrase,
}

/// Where the database key is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStore {
    File(PathBuf),
    Passphrase(Zeroizing<String>),
    CredentialStore,
}

impl KeyStore {
    /// From the environment (see the module doc for the order).
    pub fn from_env() -> KeyStore {
        if let Some(path) = std::env::var_os(KEY_FILE_ENV).filter(|p| !p.is_empty()) {
            return KeyStore::File(PathBuf::from(path));
        }
        if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
            if !p.is_empty() {
                return KeyStore::Passphrase(Zeroizing::new(p));
            }
        }
        KeyStore::CredentialStore
    }

    /// Where the key is, in words (for messages and `rollcall key status`).
    pub fn describe(&self) -> String {
        match self {
            KeyStore::File(p) => format!("the key file {}", p.display()),
            KeyStore::Passphrase(_) => format!("the passphrase in {PASSPHRASE_ENV}"),
            KeyStore::CredentialStore => format!("this computer's credential store ({})", credential_store_name()),
        }
    }

    /// The current key, if one exists.
    pub fn load(&self) -> Result<Option<DatabaseKey>, KeyError> {
        match self {
            KeyStore::File(p) => read_key_file(p),
            KeyStore::Passphrase(p) => Ok(Some(DatabaseKey::Passphrase(p.clone()))),
            KeyStore::CredentialStore => keyring_get(KEYRING_USER),
        }
    }

    /// The current key, made (and kept) now if there is none: for a new or unencrypted database.
    pub fn load_or_create(&self) -> Result<DatabaseKey, KeyError> {
        if let Some(k) = self.load()? {
            if let DatabaseKey::Passphrase(p) = &k {
                if p.chars().count() < MIN_PASSPHRASE_CHARS {
                    return Err(KeyError::WeakPassphrase);
                }
            }
            return Ok(k);
        }
        let key = DatabaseKey::random();
        match self {
            KeyStore::File(p) => {
                if !write_key_file(p, &key)? {
                    // Another process made it first: use theirs.
                    return read_key_file(p)?.ok_or_else(|| KeyError::Missing(self.describe()));
                }
            }
            KeyStore::CredentialStore => {
                keyring_set(KEYRING_USER, &key)?;
                // Read back: a store that accepts and forgets would lose the register.
                if keyring_get(KEYRING_USER)?.as_ref() != Some(&key) {
                    return Err(KeyError::NoCredentialStore("it did not keep the key it was given".into()));
                }
            }
            KeyStore::Passphrase(_) => unreachable!("a passphrase is always loaded"),
        }
        Ok(key)
    }

    /// The key a rotation is moving to, kept before the database is swapped.
    pub fn pending(&self) -> Result<Option<DatabaseKey>, KeyError> {
        match self {
            KeyStore::File(p) => read_key_file(&pending_file(p)),
            KeyStore::Passphrase(_) => Ok(None),
            KeyStore::CredentialStore => keyring_get(KEYRING_PENDING_USER),
        }
    }

    /// Keep `key` as pending (a rotation's first step). A passphrase cannot be kept: the person
    /// who rotates types the new one.
    pub fn keep_pending(&self, key: &DatabaseKey) -> Result<(), KeyError> {
        match self {
            KeyStore::File(p) => {
                let pending = pending_file(p);
                let _ = std::fs::remove_file(&pending);
                write_key_file(&pending, key)?;
                Ok(())
            }
            KeyStore::Passphrase(_) => Ok(()),
            KeyStore::CredentialStore => keyring_set(KEYRING_PENDING_USER, key),
        }
    }

    /// Make `key` the key (a rotation's last step, once the database uses it; or the recovery of a
    /// rotation killed between the two), and forget the pending one. The key is given, not read
    /// back from the pending place: another process may have forgotten that meanwhile.
    pub fn replace(&self, key: &DatabaseKey) -> Result<(), KeyError> {
        match self {
            KeyStore::File(p) => {
                let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
                let hex = key.to_hex().expect("a key file holds a raw key");
                let mut tmp = tempfile::Builder::new().prefix(".rollcall-key-").tempfile_in(dir).map_err(|e| key_file_err(p, e))?;
                writeln!(tmp, "{}", hex.as_str()).and_then(|_| tmp.as_file().sync_all()).map_err(|e| key_file_err(p, e))?;
                tmp.persist(p).map_err(|e| key_file_err(p, e.error))?;
            }
            KeyStore::Passphrase(_) => {}
            KeyStore::CredentialStore => keyring_set(KEYRING_USER, key)?,
        }
        self.drop_pending();
        Ok(())
    }

    /// Forget a pending key (a rotation that never swapped the database).
    pub fn drop_pending(&self) {
        match self {
            KeyStore::File(p) => {
                let _ = std::fs::remove_file(pending_file(p));
            }
            KeyStore::Passphrase(_) => {}
            KeyStore::CredentialStore => keyring_delete(KEYRING_PENDING_USER),
        }
    }
}

fn pending_file(p: &Path) -> PathBuf {
    crate::storage::sidecar(p, ".next")
}

fn key_file_err(p: &Path, e: impl fmt::Display) -> KeyError {
    KeyError::KeyFile { path: p.display().to_string(), reason: e.to_string() }
}

fn read_key_file(p: &Path) -> Result<Option<DatabaseKey>, KeyError> {
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(key_file_err(p, e)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(KeyError::LoosePermissions(p.display().to_string()));
        }
    }
    if !meta.is_file() || meta.len() > 1024 {
        return Err(KeyError::BadKeyFile { path: p.display().to_string() });
    }
    let text = Zeroizing::new(std::fs::read_to_string(p).map_err(|e| key_file_err(p, e))?);
    DatabaseKey::from_hex(&text).map(Some).ok_or_else(|| KeyError::BadKeyFile { path: p.display().to_string() })
}

/// Write a new key file, private to its owner, in one step (a partial file is never seen under
/// the final name). `false`: the file already existed (left as it was).
fn write_key_file(p: &Path, key: &DatabaseKey) -> Result<bool, KeyError> {
    let hex = key.to_hex().expect("a key file holds a raw key");
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::storage::create_private_dir(dir).map_err(|e| key_file_err(p, e))?;
    }
    let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".rollcall-key-").tempfile_in(dir).map_err(|e| key_file_err(p, e))?;
    writeln!(tmp, "{}", hex.as_str()).and_then(|_| tmp.as_file().sync_all()).map_err(|e| key_file_err(p, e))?;
    // tempfile creates files readable by the owner only; hard_link fails if the name is taken.
    match std::fs::hard_link(tmp.path(), p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(_) => match tmp.persist_noclobber(p) {
            Ok(_) => Ok(true),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(key_file_err(p, e.error)),
        },
    }
}

fn credential_store_name() -> &'static str {
    if cfg!(target_os = "windows") {
        "Windows Credential Manager"
    } else if cfg!(target_os = "macos") {
        "macOS Keychain"
    } else {
        "Secret Service"
    }
}

fn keyring_entry(user: &str) -> Result<keyring::Entry, KeyError> {
    keyring::Entry::new(KEYRING_SERVICE, user).map_err(|e| KeyError::NoCredentialStore(e.to_string()))
}

fn keyring_get(user: &str) -> Result<Option<DatabaseKey>, KeyError> {
    match keyring_entry(user)?.get_password() {
        Ok(text) => {
            let text = Zeroizing::new(text);
            DatabaseKey::from_hex(&text).map(Some).ok_or_else(|| KeyError::NoCredentialStore(format!("its entry {KEYRING_SERVICE:?} / {user:?} is not a Rollcall key")))
        }
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(KeyError::NoCredentialStore(e.to_string())),
    }
}

fn keyring_set(user: &str, key: &DatabaseKey) -> Result<(), KeyError> {
    let hex = key.to_hex().expect("the credential store holds a raw key");
    keyring_entry(user)?.set_password(&hex).map_err(|e| KeyError::NoCredentialStore(e.to_string()))
}

fn keyring_delete(user: &str) {
    if let Ok(e) = keyring_entry(user) {
        let _ = e.delete_credential();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let k = DatabaseKey::random();
        assert_eq!(DatabaseKey::from_hex(&k.to_hex().unwrap()), Some(k));
        assert_eq!(DatabaseKey::from_hex("zz"), None);
        assert_eq!(DatabaseKey::from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn key_file_is_made_private_once_and_loose_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/rollcall.key");
        let store = KeyStore::File(path.clone());
        assert_eq!(store.load().unwrap(), None);
        let first = store.load_or_create().unwrap();
        assert_eq!(store.load_or_create().unwrap(), first, "a second start uses the same key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = store.load().unwrap_err().to_string();
            assert!(e.contains("chmod 600"), "{e}");
        }
    }

    #[test]
    fn pending_key_replaces_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::File(dir.path().join("k"));
        let old = store.load_or_create().unwrap();
        let new = DatabaseKey::random();
        store.keep_pending(&new).unwrap();
        assert_eq!(store.load().unwrap(), Some(old));
        assert_eq!(store.pending().unwrap(), Some(new.clone()));
        store.replace(&new).unwrap();
        assert_eq!(store.load().unwrap(), Some(new));
        assert_eq!(store.pending().unwrap(), None);
    }
}
