//! What a backup and a restore need from the database: a consistent copy under another key,
//! taken while others write (one read transaction's view, see `cipher::export`), the integrity
//! check, the counts a restore reports, and whether a session is running on it.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::schema::*;
use super::{Audit, Result, Store, StoreError};
use crate::keys::DatabaseKey;

/// What a database holds, in counts (what a backup says it contains, what a restore brought back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Contents {
    pub classes: i64,
    pub students: i64,
    pub templates: i64,
    pub sessions: i64,
    pub marks: i64,
    pub consent_events: i64,
    pub audit_entries: i64,
}

impl Store {
    /// Write a consistent copy of the database to `path` (which must not exist), encrypted
    /// under `key` with its templates sealed for it, while sessions may be writing: the copy is
    /// one read transaction's view. Deleted content is not copied.
    pub fn snapshot_into(&mut self, path: &Path, key: &DatabaseKey) -> Result<()> {
        let super::db::Db::Sqlite(conn) = &mut self.conn else { return Err(StoreError::FileOnly("a backup")) };
        super::cipher::export(conn, Some(&self.seal), path, key)
    }

    /// SQLite's own check of every page and index: `None` when sound, else its first complaint.
    pub fn integrity_problem(&mut self) -> Result<Option<String>> {
        #[derive(QueryableByName)]
        struct Check {
            #[diesel(sql_type = diesel::sql_types::Text)]
            integrity_check: String,
        }
        let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(self.file_connection("SQLite's integrity check")?)?;
        Ok(rows.into_iter().map(|r| r.integrity_check).find(|r| r != "ok"))
    }

    pub fn contents(&mut self) -> Result<Contents> {
        let c = &mut self.conn;
        Ok(Contents {
            classes: classes::table.count().get_result(c)?,
            students: students::table.count().get_result(c)?,
            templates: enrolments::table.count().get_result(c)?,
            sessions: sessions::table.count().get_result(c)?,
            marks: marks::table.count().get_result(c)?,
            consent_events: consent_events::table.count().get_result(c)?,
            audit_entries: audit_log::table.count().get_result(c)?,
        })
    }

    /// Sessions still open once the ones of killed runs were closed (`open` does that): a
    /// camera is taking a roll on this database right now.
    pub fn running_sessions(&mut self) -> Result<i64> {
        Ok(sessions::table.filter(sessions::closed_at.is_null()).count().get_result(&mut self.conn)?)
    }

    /// The newest schema migration applied (a backup records it; a restore refuses a newer one).
    pub fn schema_version(&mut self) -> Result<String> {
        use diesel_migrations::MigrationHarness;
        let applied = super::db::on_backend!(&mut self.conn, |c| c.applied_migrations()).map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(applied.iter().map(|v| v.to_string()).max().unwrap_or_default())
    }

    /// Audit an event about the whole database (a restore), with who did it.
    pub fn audit_database_event(&mut self, actor: &str, action: &'static str, reason: String) -> Result<()> {
        let entry = Audit { actor, action, session_id: None, student: None, old_value: None, new_value: None, reason };
        self.conn.immediate_transaction(|conn| entry.write(conn))?;
        Ok(())
    }

    /// Empty the write-ahead log into the file and close: the file alone is then the database
    /// (before it is replaced by a restore).
    pub fn close_into_file(mut self) -> Result<()> {
        if let super::db::Db::Sqlite(conn) = &mut self.conn {
            conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?;
        }
        Ok(())
    }
}
