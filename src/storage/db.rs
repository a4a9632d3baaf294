//! One connection type for both backends: the SQLite file on this PC or a school's PostgreSQL
//! server (issue 14). The register's queries are written once, in diesel's query builder, against
//! `Db`; diesel's `MultiConnection` runs each on whichever backend it holds.
//!
//! What the common dialect lacks is done here once, per backend: `INSERT … ON CONFLICT` (an
//! upsert is one statement on both, never a read then a write) and SQLite's `BEGIN IMMEDIATE`
//! (a writer takes the lock before it reads, so two writers never deadlock on the upgrade).
//! What only a file has (its key, its journal, its backups) asks for `Store::file_connection`.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sqlite::SqliteConnection;

/// The transaction-level advisory lock Rollcall's writers take on PostgreSQL, as SQLite's
/// `BEGIN IMMEDIATE` does on a file: the register's checks-then-writes (is this session open
/// already? is this mark new?) then hold between PCs exactly as between processes on one PC.
/// A write transaction lasts milliseconds, so classrooms writing at once only queue briefly.
/// The lock is the school's: its number is the school's schema name hashed with "RollWrit"
/// (0x526f_6c6c_5772_6974), so the schools of a district's database never wait for each other.
pub const WRITE_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema(), 5940085646104357236))";

/// A connection to the register, on either backend.
#[derive(diesel::MultiConnection)]
pub enum Db {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Run the same statement on whichever connection `Db` holds: for the few statements the
/// common dialect cannot express (upserts). `$c` is bound to the inner connection.
macro_rules! on_backend {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            $crate::storage::db::Db::Postgres($c) => $body,
            $crate::storage::db::Db::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

impl Db {
    /// A write transaction. It takes the write lock first (`BEGIN IMMEDIATE` on SQLite,
    /// `WRITE_LOCK` on PostgreSQL), so a writer waits its turn (busy or lock timeout, then
    /// `Locked`) and what it read still holds when it writes.
    pub fn immediate_transaction<T, E, F>(&mut self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut Db) -> std::result::Result<T, E>,
        E: From<DieselError>,
    {
        match self {
            Db::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
            Db::Postgres(_) => {
                <Db as Connection>::TransactionManager::begin_transaction(self)?;
                if let Err(e) = diesel::sql_query(WRITE_LOCK).execute(self) {
                    let _ = <Db as Connection>::TransactionManager::rollback_transaction(self);
                    return Err(e.into());
                }
            }
        }
        match f(self) {
            Ok(value) => {
                if let Err(e) = <Db as Connection>::TransactionManager::commit_transaction(self) {
                    let _ = <Db as Connection>::TransactionManager::rollback_transaction(self);
                    return Err(e.into());
                }
                Ok(value)
            }
            Err(e) => {
                // The work's own error is the one worth reporting; a failed rollback (a dropped
                // connection) leaves nothing written either.
                let _ = <Db as Connection>::TransactionManager::rollback_transaction(self);
                Err(e)
            }
        }
    }

    pub fn is_server(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }
}
