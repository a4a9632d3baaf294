//! Moving a school's register from this PC's file to its PostgreSQL server
//! (`rollcall migrate-to URL`): every row of every table, ids kept, in one transaction on the
//! server, verified table by table before it commits. The file is only read.
//!
//! The copy is generic over the schema: SQLite hands each table over as JSON (binary columns as
//! PostgreSQL's `\x…` hex), and PostgreSQL reads it back into the table's own row type with
//! `json_populate_recordset`, so a column added by a later migration is copied with no change
//! here. Tables go parents first (from the file's foreign keys), and each identity sequence is
//! set past the highest id copied, so the next row the server makes gets a new id.
//!
//! Templates stay sealed as they are: they are sealed under the PC's key with the student's row
//! as associated data, and both the key and the rows come along.

use std::collections::{BTreeMap, BTreeSet};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::Serialize;

use super::db::Db;
use super::server::{Server, ServerUrl};
use super::{Result, Store, StoreError};

/// Rows per statement: a table's JSON is read and written in pieces of this many rows.
const CHUNK: i64 = 2000;

/// One table as copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopiedTable {
    pub table: String,
    pub rows: i64,
}

/// What `migrate-to` did.
#[derive(Debug, Clone, Serialize)]
pub struct ServerCopy {
    /// `user@host:port/db`, without the password.
    pub server: String,
    pub tables: Vec<CopiedTable>,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[diesel(column_name = "type")]
    kind: String,
}

#[derive(QueryableByName)]
struct Parent {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[diesel(column_name = "table")]
    parent: String,
}

#[derive(QueryableByName)]
struct Json {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    rows: Option<String>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// A table's or column's name in double quotes.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The file's tables, parents before the tables that point at them.
fn tables_in_order(conn: &mut SqliteConnection) -> Result<Vec<String>> {
    let names: Vec<Name> =
        diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__diesel%' ORDER BY name")
            .load(conn)?;
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for n in &names {
        let ps: Vec<Parent> = diesel::sql_query(format!("SELECT \"table\" FROM pragma_foreign_key_list({})", super::cipher::quoted(&n.name))).load(conn)?;
        parents.insert(n.name.clone(), ps.into_iter().map(|p| p.parent).filter(|p| *p != n.name).collect());
    }
    let mut order = Vec::new();
    while !parents.is_empty() {
        let ready: Vec<String> = parents.iter().filter(|(_, ps)| ps.iter().all(|p| !parents.contains_key(p))).map(|(t, _)| t.clone()).collect();
        if ready.is_empty() {
            return Err(StoreError::Other(format!("the file's tables point at each other in a circle: {:?}", parents.keys().collect::<Vec<_>>())));
        }
        for t in ready {
            parents.remove(&t);
            order.push(t);
        }
    }
    Ok(order)
}

/// One piece of `table` as a JSON array of objects, keyed by column, binary columns in hex.
fn json_rows(conn: &mut SqliteConnection, table: &str, offset: i64) -> Result<Option<String>> {
    let columns: Vec<Column> = diesel::sql_query(format!("SELECT name, type FROM pragma_table_info({})", super::cipher::quoted(table))).load(conn)?;
    let fields: Vec<String> = columns
        .iter()
        .map(|c| {
            let value = if c.kind.eq_ignore_ascii_case("blob") {
                // PostgreSQL's bytea input reads '\x' and hex digits.
                format!("CASE WHEN {0} IS NULL THEN NULL ELSE '\\x' || hex({0}) END", quoted(&c.name))
            } else {
                quoted(&c.name)
            };
            format!("{}, {value}", super::cipher::quoted(&c.name))
        })
        .collect();
    let q = format!(
        "SELECT json_group_array(json_object({})) AS rows FROM (SELECT * FROM {} ORDER BY rowid LIMIT {CHUNK} OFFSET {offset})",
        fields.join(", "),
        quoted(table)
    );
    let json: Json = diesel::sql_query(q).get_result(conn)?;
    Ok(json.rows.filter(|r| r != "[]"))
}

impl Store {
    /// Copy this file's whole register to the server at `url` (`rollcall migrate-to`): its
    /// schema prepared first, then refused unless its register is empty; every table copied
    /// and counted in one transaction, which commits only if every count equals the file's.
    /// The file is not changed.
    pub fn copy_to_server(&mut self, url: &ServerUrl) -> Result<ServerCopy> {
        let Db::Sqlite(file) = &mut self.conn else { return Err(StoreError::FileOnly("moving a register to a server")) };
        let mut server = Server::connect(url)?;
        server.prepare()?;
        let pg = server.connection_mut();
        let tables = tables_in_order(file)?;
        let with_identity: Vec<Name> = diesel::sql_query(
            "SELECT table_name::text AS name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES'",
        )
        .load(pg)?;
        let with_identity: BTreeSet<String> = with_identity.into_iter().map(|n| n.name).collect();
        // One read transaction on the file: its view stays still while it is read (sessions may
        // be writing); one transaction on the server: all of it is kept, or none.
        let copied = file.transaction(|file| {
            pg.transaction(|pg| -> Result<Vec<CopiedTable>> {
            for t in &tables {
                let n: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM {}", quoted(t))).get_result(pg)?;
                if n.n > 0 && t != "settings" {
                    return Err(StoreError::Other(format!(
                        "the server's register is not empty ({t}: {} rows): moving a file onto a register in use would mix two schools' data; give an empty database",
                        n.n
                    )));
                }
            }
            // A prepared server may hold settings of its own making (none today); the file's win.
            pg.batch_execute("DELETE FROM settings")?;
            let mut copied = Vec::new();
            for t in &tables {
                let mut offset = 0;
                while let Some(json) = json_rows(file, t, offset)? {
                    diesel::sql_query(format!("INSERT INTO {0} SELECT * FROM json_populate_recordset(NULL::{0}, $1::json)", quoted(t)))
                        .bind::<diesel::sql_types::Text, _>(json)
                        .execute(pg)?;
                    offset += CHUNK;
                }
                let in_file: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM {}", quoted(t))).get_result(file)?;
                let on_server: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM {}", quoted(t))).get_result(pg)?;
                if in_file.n != on_server.n {
                    return Err(StoreError::Other(format!("{t}: {} rows in the file but {} copied; nothing was kept on the server", in_file.n, on_server.n)));
                }
                // The next id the server makes follows the highest one copied.
                if with_identity.contains(t) {
                    pg.batch_execute(&format!(
                        "SELECT setval(pg_get_serial_sequence({1}, 'id'), coalesce((SELECT max(id) FROM {0}), 0) + 1, false)",
                        quoted(t),
                        super::cipher::quoted(t)
                    ))?;
                }
                copied.push(CopiedTable { table: t.clone(), rows: on_server.n });
            }
            Ok(copied)
            })
        })?;
        Ok(ServerCopy { server: url.to_string(), tables: copied })
    }
}
