//! `rollcall key status` and `rollcall key rotate`: where the database key is kept, and
//! re-encrypting the database under a new one (one call into the store each).

use std::fmt::Write as _;
use std::io::IsTerminal;

use super::session::{Caller, Need};
use super::{Outcome, Printer};
use rollcall::keys::{DatabaseKey, KeyStore, MIN_PASSPHRASE_CHARS};

const NEW_PASSPHRASE_VAR: &str = "ROLLCALL_NEW_PASSPHRASE";

pub fn status(out: &Printer, at: &Caller) -> anyhow::Result<Outcome> {
    let mut store = at.store(Need::Office("see the database key's status"))?;
    let keys = KeyStore::from_env();
    #[derive(serde::Serialize)]
    struct Status {
        database: String,
        encrypted: bool,
        key_kept_in: String,
        sealed_templates: i64,
    }
    let s = Status { database: store.path().display().to_string(), encrypted: true, key_kept_in: keys.describe(), sealed_templates: store.sealed_templates()? };
    out.print(&s, |w| {
        writeln!(w, "{} is encrypted (SQLCipher: AES-256 on every page, with an HMAC per page)", s.database)?;
        writeln!(w, "its key is kept in {}", s.key_kept_in)?;
        writeln!(w, "{} face template(s), each sealed once more (AES-256-GCM)", s.sealed_templates)
    })?;
    Ok(Outcome::Done)
}

/// The new key: a random one where the key store keeps keys; a passphrase typed twice (or from
/// ROLLCALL_NEW_PASSPHRASE) where the key is a passphrase.
fn new_key(keys: &KeyStore) -> anyhow::Result<DatabaseKey> {
    if !matches!(keys, KeyStore::Passphrase(_)) {
        return Ok(DatabaseKey::random());
    }
    let p = match std::env::var(NEW_PASSPHRASE_VAR) {
        Ok(p) => p,
        Err(_) => {
            anyhow::ensure!(std::io::stdin().is_terminal(), "give the new passphrase in {NEW_PASSPHRASE_VAR} (there is no terminal to ask on)");
            let p = rpassword::prompt_password("New database passphrase: ")?;
            anyhow::ensure!(rpassword::prompt_password("The same again: ")? == p, "the two passphrases differ: nothing was changed");
            p
        }
    };
    anyhow::ensure!(p.chars().count() >= MIN_PASSPHRASE_CHARS, "the new passphrase is too short: use at least {MIN_PASSPHRASE_CHARS} characters; nothing was changed");
    Ok(DatabaseKey::Passphrase(zeroize::Zeroizing::new(p)))
}

pub fn rotate(out: &Printer, at: &Caller) -> anyhow::Result<Outcome> {
    let (store, me) = at.signed(Need::Office("change the database key"))?;
    let keys = KeyStore::from_env();
    let key = new_key(&keys)?;
    let path = store.path().to_path_buf();
    store.rotate_key(&keys, &key, &me.name)?;
    let passphrase = matches!(keys, KeyStore::Passphrase(_));
    out.print(&serde_json::json!({ "database": path, "rotated": true, "key_kept_in": keys.describe() }), |w| {
        writeln!(w, "{} is now encrypted under a new key, kept in {}", path.display(), keys.describe())?;
        if passphrase {
            writeln!(w, "from now on set ROLLCALL_PASSPHRASE to the new passphrase")?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}
