//! `rollcall backup` and `rollcall restore`: one call each into `rollcall::backup`, the
//! passphrase from ROLLCALL_BACKUP_PASSPHRASE (scripts) or the terminal (never an argument: it
//! would stay in the shell's history and the process list).

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use super::session::{Caller, Need};
use super::{Outcome, Printer};
use rollcall::backup;
use rollcall::storage::{Contents, Store};

const PASSPHRASE_VAR: &str = "ROLLCALL_BACKUP_PASSPHRASE";

/// The passphrase: the environment, else typed (twice when it creates a backup).
fn passphrase(confirm: bool) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var(PASSPHRASE_VAR) {
        return Ok(p);
    }
    anyhow::ensure!(std::io::stdin().is_terminal(), "give the backup passphrase in {PASSPHRASE_VAR} (there is no terminal to ask on)");
    let p = rpassword::prompt_password("Backup passphrase: ")?;
    if confirm {
        anyhow::ensure!(rpassword::prompt_password("The same again: ")? == p, "the two passphrases differ: nothing was written");
    }
    Ok(p)
}

fn describe(w: &mut String, c: &Contents) -> std::fmt::Result {
    writeln!(w, "  {} class(es), {} student(s), {} face template(s), {} register(s) with {} mark(s), {} consent event(s), {} audit entries", c.classes, c.students, c.templates, c.sessions, c.marks, c.consent_events, c.audit_entries)
}

pub fn backup(out: &Printer, at: &Caller, file: &Path, force: bool) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("back up the register"))?;
    let pass = passphrase(true)?;
    let h = backup::backup(&mut store, file, &pass, force, &me.name)?;
    out.print(&h, |w| {
        writeln!(w, "wrote {} ({} bytes of database, encrypted), taken {}:", file.display(), h.database_bytes, h.created_at.format("%Y-%m-%d %H:%M:%S"))?;
        describe(w, &h.contents)?;
        writeln!(w, "keep the passphrase safe: without it the backup cannot be read by anyone, the school included")
    })?;
    Ok(Outcome::Done)
}

pub fn auto(out: &Printer, at: &Caller, force: bool) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("back up the register"))?;
    let done = backup::auto_backup(&mut store, chrono::Local::now().naive_local(), force, &me.name)?;
    out.print(&done, |w| {
        match &done.written {
            Some(f) => writeln!(w, "wrote {}", f.display())?,
            None => writeln!(w, "today's automatic backup is already there (--force makes another)")?,
        }
        for f in &done.removed {
            writeln!(w, "removed the older {}", f.display())?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

pub fn set_auto_passphrase(out: &Printer, at: &Caller) -> anyhow::Result<Outcome> {
    let (mut store, me) = at.signed(Need::Office("set the automatic backups' passphrase"))?;
    backup::set_auto_passphrase(&mut store, &passphrase(true)?, &me.name)?;
    out.print(&serde_json::json!({ "auto_passphrase_set": true }), |w| {
        writeln!(w, "the automatic backups will use this passphrase: keep it safe, a restore needs it")
    })?;
    Ok(Outcome::Done)
}

pub fn restore(out: &Printer, at: &Caller, file: &Path, check: bool) -> anyhow::Result<Outcome> {
    let db = at.db;
    let path = match db {
        Some(p) => p.to_path_buf(),
        None => {
            // A new PC: the app-data folder may not exist yet (created private, as the app does).
            let p = Store::default_path();
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir)?;
            }
            p
        }
    };
    std::fs::File::open(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let pass = passphrase(false)?;
    if check {
        let h = backup::verify(file, &pass, &path)?;
        out.print(&h, |w| {
            writeln!(w, "{} is a sound backup taken {} (Rollcall {}):", file.display(), h.created_at.format("%Y-%m-%d %H:%M:%S"), h.rollcall_version)?;
            describe(w, &h.contents)
        })?;
        return Ok(Outcome::Done);
    }
    // Signed in on the database being replaced (on a new PC, the first sign-in creates it).
    let (store, me) = at.signed(Need::Office("restore a backup"))?;
    drop(store);
    let r = backup::restore(&path, file, &pass, &me.name)?;
    out.print(&r, |w| {
        writeln!(w, "restored the backup taken {} into {}:", r.backup.created_at.format("%Y-%m-%d %H:%M:%S"), path.display())?;
        describe(w, &r.contents)?;
        match &r.replaced_kept_at {
            Some(p) => writeln!(w, "the database it replaced is kept at {}", p.display()),
            None => Ok(()),
        }
    })?;
    Ok(Outcome::Done)
}
