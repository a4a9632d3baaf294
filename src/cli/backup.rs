//! `rollcall backup` and `rollcall restore`: one call each into `rollcall::backup`, the
//! passphrase from ROLLCALL_BACKUP_PASSPHRASE (scripts) or the terminal (never an argument: it
//! would stay in the shell's history and the process list).

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use super::attendance::open_store;
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

pub fn backup(out: &Printer, db: Option<&Path>, file: &Path, force: bool) -> anyhow::Result<Outcome> {
    let mut store = open_store(db)?;
    let pass = passphrase(true)?;
    let h = backup::backup(&mut store, file, &pass, force)?;
    out.print(&h, |w| {
        writeln!(w, "wrote {} ({} bytes of database, encrypted), taken {}:", file.display(), h.database_bytes, h.created_at.format("%Y-%m-%d %H:%M:%S"))?;
        describe(w, &h.contents)?;
        writeln!(w, "keep the passphrase safe: without it the backup cannot be read by anyone, the school included")
    })?;
    Ok(Outcome::Done)
}

pub fn restore(out: &Printer, db: Option<&Path>, file: &Path, check: bool, by: &str) -> anyhow::Result<Outcome> {
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
    let r = backup::restore(&path, file, &pass, by)?;
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
