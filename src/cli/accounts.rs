//! `rollcall account …`: staff accounts (one call each into `rollcall::accounts`).

use std::fmt::Write as _;
use std::io::IsTerminal;

use super::session::{Caller, Need};
use super::{Outcome, Printer};
use rollcall::accounts::{self, Role};

const NEW_PASSWORD_VAR: &str = "ROLLCALL_NEW_PASSWORD";

/// A new password: ROLLCALL_NEW_PASSWORD, else typed twice.
fn new_password(name: &str) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var(NEW_PASSWORD_VAR) {
        return Ok(p);
    }
    anyhow::ensure!(std::io::stdin().is_terminal(), "give the new password in {NEW_PASSWORD_VAR} (there is no terminal to ask on)");
    let p = rpassword::prompt_password(format!("New password for {name}: "))?;
    anyhow::ensure!(rpassword::prompt_password("The same again: ")? == p, "the two passwords differ: nothing was changed");
    Ok(p)
}

pub fn list(out: &Printer, at: &Caller) -> anyhow::Result<Outcome> {
    let list = at.store(Need::Office("list accounts"))?.accounts()?;
    out.print(&serde_json::json!({ "accounts": list }), |w| {
        for a in &list {
            let classes = if a.role == "teacher" { format!("  teaches {}", if a.classes.is_empty() { "no class".into() } else { a.classes.join(", ") }) } else { String::new() };
            let state = if a.disabled { "  (disabled)".to_string() } else if let Some(u) = a.locked_until { format!("  (locked until {})", u.format("%H:%M")) } else { String::new() };
            writeln!(w, "{:<24} {:<8}{classes}{state}", a.name, a.role)?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn add(out: &Printer, at: &Caller, name: &str, role: Role, classes: &[String]) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("create accounts"))?;
    accounts::create_account(&mut store, &me, name, role, classes, &new_password(name)?)?;
    out.print(&serde_json::json!({ "created": name, "role": role, "classes": classes }), |w| writeln!(w, "{} account {name} created{}", role.as_str(), if classes.is_empty() { String::new() } else { format!(", teaching {}", classes.join(", ")) }))?;
    Ok(Outcome::Done)
}

pub fn password(out: &Printer, at: &Caller, name: &str) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Anyone)?;
    accounts::set_password(&mut store, &me, name, &new_password(name)?)?;
    out.print(&serde_json::json!({ "password_changed": name }), |w| writeln!(w, "the password of {name} was changed"))?;
    Ok(Outcome::Done)
}

pub fn classes(out: &Printer, at: &Caller, name: &str, classes: &[String]) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("change what an account teaches"))?;
    accounts::set_classes(&mut store, &me, name, classes)?;
    out.print(&serde_json::json!({ "account": name, "classes": classes }), |w| writeln!(w, "{name} now teaches {}", if classes.is_empty() { "no class".into() } else { classes.join(", ") }))?;
    Ok(Outcome::Done)
}

pub fn set_disabled(out: &Printer, at: &Caller, name: &str, disabled: bool) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("disable or enable accounts"))?;
    accounts::set_disabled(&mut store, &me, name, disabled)?;
    out.print(&serde_json::json!({ "account": name, "disabled": disabled }), |w| writeln!(w, "{name} is {}", if disabled { "disabled" } else { "enabled (and unlocked)" }))?;
    Ok(Outcome::Done)
}
