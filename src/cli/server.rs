//! `rollcall server check URL` and `rollcall server prepare URL`: whether a school's PostgreSQL
//! server can hold Rollcall's register, and creating or updating its tables there;
//! `rollcall migrate-to URL`: this PC's register moved there (one call into the store each). The password may be left out of the URL: libpq then takes it from
//! PGPASSWORD or ~/.pgpass, so it need not appear in a shell's history.

use std::fmt::Write as _;

use super::session::{Caller, Need};
use super::{Outcome, Printer};
use rollcall::storage::server::{SchemaState, School, Server, ServerStatus, ServerUrl};

/// The server's address, in the school `--school` names (else the one the address names, if any).
fn address(url: &str, school: Option<&str>) -> anyhow::Result<ServerUrl> {
    let url = ServerUrl::parse(url)?;
    Ok(match school {
        Some(s) => url.in_school(School::parse(s)?),
        None => url,
    })
}

pub fn check(out: &Printer, url: &str, school: Option<&str>) -> anyhow::Result<Outcome> {
    let status = Server::connect(&address(url, school)?)?.status()?;
    print(out, &status)
}

pub fn prepare(out: &Printer, url: &str, school: Option<&str>) -> anyhow::Result<Outcome> {
    let status = Server::connect(&address(url, school)?)?.prepare()?;
    print(out, &status)
}

pub fn migrate_to(out: &Printer, at: &Caller, url: &str, school: Option<&str>) -> anyhow::Result<Outcome> {
    let url = address(url, school)?;
    let mut store = at.store(Need::Office("move the register to a server"))?;
    let copy = store.copy_to_server(&url)?;
    out.print(&copy, |w| {
        writeln!(w, "{} now holds this PC's register ({}), every count checked:", copy.server, store.path().display())?;
        for t in &copy.tables {
            writeln!(w, "  {:<22} {:>9} rows", t.table, t.rows)?;
        }
        writeln!(w, "the file is unchanged; use the server from now on with --db or ROLLCALL_DB set to its URL")
    })?;
    Ok(Outcome::Done)
}

fn print(out: &Printer, s: &ServerStatus) -> anyhow::Result<Outcome> {
    out.print(s, |w| {
        writeln!(w, "{}: PostgreSQL {}", s.server, s.version)?;
        let schools: Vec<&str> = s.schools.iter().map(School::as_str).collect();
        writeln!(w, "school {} (schools in this database: {})", s.school, if schools.is_empty() { "none yet".to_string() } else { schools.join(", ") })?;
        if !s.applied_now.is_empty() {
            writeln!(w, "applied {} migration(s): {}", s.applied_now.len(), s.applied_now.join(", "))?;
        }
        match &s.schema {
            SchemaState::Empty => writeln!(w, "no Rollcall tables yet: `rollcall server prepare` creates them"),
            SchemaState::Current => writeln!(w, "Rollcall's schema is up to date"),
            SchemaState::Behind(v) => writeln!(w, "{} migration(s) to apply ({}): `rollcall server prepare` applies them", v.len(), v.join(", ")),
        }
    })?;
    Ok(Outcome::Done)
}
