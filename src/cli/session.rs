//! Who is running a command: the database it works on and the account it signs in as
//! (`--user NAME` or ROLLCALL_USER; the password from ROLLCALL_PASSWORD or typed, never an
//! argument). Every command that opens the database signs in first and says what it needs;
//! the rule itself is `rollcall::accounts`.

use std::io::IsTerminal;
use std::path::Path;

use rollcall::accounts::{self, Account};
use rollcall::storage::Store;

pub const PASSWORD_VAR: &str = "ROLLCALL_PASSWORD";

/// What a command needs of the account.
pub enum Need<'a> {
    /// Any signed-in account.
    Anyone,
    /// An office account (the phrase says what for: "enrol students").
    Office(&'a str),
    /// An account that sees this class.
    Class(&'a str),
}

pub struct Caller<'a> {
    pub db: Option<&'a Path>,
    pub user: Option<&'a str>,
}

impl Caller<'_> {
    /// Open the database, sign in, and check `need`: the store and the signed-in account.
    pub fn signed(&self, need: Need) -> anyhow::Result<(Store, Account)> {
        let mut store = super::attendance::open_store(self.db)?;
        let name = self.user.filter(|u| !u.trim().is_empty()).ok_or(accounts::SignInError::NoUser)?;
        let password = password(&format!("Password for {name}: "))?;
        let signed = accounts::sign_in(&mut store, name, &password, "cli")?;
        if signed.created {
            eprintln!("note: this database had no account: {name} is now its first office account (create others with `rollcall account add`)");
        }
        let me = signed.account;
        match need {
            Need::Anyone => {}
            Need::Office(what) => me.require_office(what)?,
            Need::Class(class) => me.require_class(class)?,
        }
        Ok((store, me))
    }

    /// `signed`, when only the store is needed.
    pub fn store(&self, need: Need) -> anyhow::Result<Store> {
        Ok(self.signed(need)?.0)
    }
}

/// A password from ROLLCALL_PASSWORD, else typed on the terminal (not echoed).
pub fn password(prompt: &str) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var(PASSWORD_VAR) {
        return Ok(p);
    }
    anyhow::ensure!(std::io::stdin().is_terminal(), "give the password in {PASSWORD_VAR} (there is no terminal to ask on)");
    Ok(rpassword::prompt_password(prompt)?)
}
