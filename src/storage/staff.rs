//! Staff accounts as stored: the account rows, the classes a teacher teaches, and sign-in
//! bookkeeping (failed attempts and the lock), each a single statement with its audit entry in
//! the same transaction. What a role may do is decided in `crate::accounts`, not here.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::schema::*;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
use super::{now, Audit, Result, Store, StoreError};

/// An account as stored (never leaves the core with its hash: see `crate::accounts::Account`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: i32,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub failed_sign_ins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub disabled_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub last_sign_in_at: Option<NaiveDateTime>,
}

/// What `accounts` lists: no hash.
#[derive(Debug, Clone, Serialize)]
pub struct AccountInfo {
    pub name: String,
    pub role: String,
    pub classes: Vec<String>,
    pub locked_until: Option<NaiveDateTime>,
    pub disabled: bool,
    pub last_sign_in_at: Option<NaiveDateTime>,
}

/// The outcome of a failed sign-in, as recorded.
#[derive(Debug, Clone, Copy)]
pub struct FailedSignIn {
    pub failures: i32,
    pub locked_until: Option<NaiveDateTime>,
}

fn audit<'a>(actor: &'a str, action: &'a str, reason: String) -> Audit<'a> {
    Audit { actor, action, session_id: None, student: None, old_value: None, new_value: None, reason }
}

impl Store {
    pub fn account_count(&mut self) -> Result<i64> {
        Ok(accounts::table.count().get_result(&mut self.conn)?)
    }

    /// The account of this name (names compare without case).
    pub fn account(&mut self, name: &str) -> Result<Option<AccountRow>> {
        // Names are matched regardless of case, as the unique key compares them on both backends.
        Ok(accounts::table.filter(lower(accounts::name).eq(lower(name))).select(AccountRow::as_select()).first(&mut self.conn).optional()?)
    }

    /// The names of the classes an account teaches.
    pub fn account_classes(&mut self, account_id: i32) -> Result<Vec<String>> {
        Ok(account_classes::table
            .inner_join(classes::table)
            .filter(account_classes::account_id.eq(account_id))
            .select(classes::name)
            .order(classes::name)
            .load(&mut self.conn)?)
    }

    /// Create an account, with the classes it teaches; audited. `first`: the database had no
    /// account (the check is in the same transaction, so two first sign-ins cannot both win).
    pub fn create_account(&mut self, name: &str, role: &str, password_hash: &str, classes_taught: &[String], actor: &str, first: bool) -> Result<AccountRow> {
        self.conn.immediate_transaction(|conn| {
            if first && accounts::table.count().get_result::<i64>(conn)? > 0 {
                return Err(StoreError::Other("an account was created meanwhile: sign in with it".into()));
            }
            let ids = class_ids(conn, classes_taught)?;
            let row: AccountRow = super::db::on_backend!(conn, |c| diesel::insert_into(accounts::table)
                .values((accounts::name.eq(name), accounts::role.eq(role), accounts::password_hash.eq(password_hash), accounts::created_at.eq(now())))
                .returning(AccountRow::as_returning())
                .get_result(c))
                .map_err(|e| match e {
                    diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => StoreError::Other(format!("an account named {name:?} exists already")),
                    e => e.into(),
                })?;
            for id in ids {
                diesel::insert_into(account_classes::table).values((account_classes::account_id.eq(row.id), account_classes::class_id.eq(id))).execute(conn)?;
            }
            let what = if classes_taught.is_empty() { format!("{role} account {name:?} created") } else { format!("{role} account {name:?} created, teaching {}", classes_taught.join(", ")) };
            let what = if first { format!("{what}: the first account, made at the first sign-in") } else { what };
            audit(actor, "account_created", what).write(conn)?;
            Ok(row)
        })
    }

    /// Change what an account teaches (replacing its classes); audited.
    pub fn set_account_classes(&mut self, account_id: i32, name: &str, classes_taught: &[String], actor: &str) -> Result<()> {
        self.conn.immediate_transaction(|conn| {
            let ids = class_ids(conn, classes_taught)?;
            diesel::delete(account_classes::table.filter(account_classes::account_id.eq(account_id))).execute(conn)?;
            for id in ids {
                diesel::insert_into(account_classes::table).values((account_classes::account_id.eq(account_id), account_classes::class_id.eq(id))).execute(conn)?;
            }
            Ok(audit(actor, "account_classes", format!("account {name:?} now teaches {}", if classes_taught.is_empty() { "no class".into() } else { classes_taught.join(", ") })).write(conn)?)
        })
    }

    pub fn set_account_password(&mut self, account_id: i32, name: &str, password_hash: &str, actor: &str) -> Result<()> {
        self.conn.immediate_transaction(|conn| {
            diesel::update(accounts::table.find(account_id))
                .set((accounts::password_hash.eq(password_hash), accounts::failed_sign_ins.eq(0), accounts::locked_until.eq(None::<NaiveDateTime>)))
                .execute(conn)?;
            Ok(audit(actor, "account_password", format!("the password of account {name:?} was changed")).write(conn)?)
        })
    }

    /// Disable (`true`) or enable an account; a disabled account cannot sign in. Audited.
    pub fn set_account_disabled(&mut self, account_id: i32, name: &str, disabled: bool, actor: &str) -> Result<()> {
        self.conn.immediate_transaction(|conn| {
            let at = if disabled { Some(now()) } else { None };
            diesel::update(accounts::table.find(account_id)).set((accounts::disabled_at.eq(at), accounts::failed_sign_ins.eq(0), accounts::locked_until.eq(None::<NaiveDateTime>))).execute(conn)?;
            Ok(audit(actor, if disabled { "account_disabled" } else { "account_enabled" }, format!("account {name:?}")).write(conn)?)
        })
    }

    pub fn accounts(&mut self) -> Result<Vec<AccountInfo>> {
        let rows: Vec<AccountRow> = accounts::table.select(AccountRow::as_select()).order(accounts::name).load(&mut self.conn)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let classes = self.account_classes(r.id)?;
            out.push(AccountInfo { name: r.name, role: r.role, classes, locked_until: r.locked_until, disabled: r.disabled_at.is_some(), last_sign_in_at: r.last_sign_in_at });
        }
        Ok(out)
    }

    /// A successful sign-in: the failures are forgotten; audited.
    pub fn record_sign_in(&mut self, account_id: i32, name: &str, front_end: &str) -> Result<()> {
        self.conn.immediate_transaction(|conn| {
            diesel::update(accounts::table.find(account_id))
                .set((accounts::failed_sign_ins.eq(0), accounts::locked_until.eq(None::<NaiveDateTime>), accounts::last_sign_in_at.eq(now())))
                .execute(conn)?;
            Ok(audit(name, "sign_in", format!("signed in ({front_end})")).write(conn)?)
        })
    }

    /// A failed sign-in (`account`: the account named, if it exists): counted in one statement;
    /// the `lock_after`-th failure in a row locks the account for `lock_for`. Audited.
    pub fn record_failed_sign_in(&mut self, account: Option<i32>, name: &str, front_end: &str, lock_after: i32, lock_for: Duration) -> Result<FailedSignIn> {
        self.conn.immediate_transaction(|conn| {
            let Some(id) = account else {
                audit(name, "sign_in_failed", format!("no account of this name ({front_end})")).write(conn)?;
                return Ok(FailedSignIn { failures: 0, locked_until: None });
            };
            let lock_at = now() + lock_for;
            // One statement counts the failure (the row stays locked to this transaction), a
            // second sets the lock if this was the failure too many.
            let failures: i32 = diesel::update(accounts::table.find(id))
                .set(accounts::failed_sign_ins.eq(accounts::failed_sign_ins + 1))
                .returning(accounts::failed_sign_ins)
                .get_result(conn)?;
            let locked_until: Option<NaiveDateTime> = if failures >= lock_after {
                diesel::update(accounts::table.find(id)).set(accounts::locked_until.eq(lock_at)).returning(accounts::locked_until).get_result(conn)?
            } else {
                accounts::table.find(id).select(accounts::locked_until).first(conn)?
            };
            let reason = match locked_until {
                Some(until) if failures >= lock_after => format!("wrong password ({failures} in a row): locked until {}", until.format("%H:%M")),
                _ => format!("wrong password ({failures} in a row, {front_end})"),
            };
            audit(name, "sign_in_failed", reason).write(conn)?;
            Ok(FailedSignIn { failures, locked_until: if failures >= lock_after { locked_until } else { None } })
        })
    }
}

fn class_ids(conn: &mut super::db::Db, names: &[String]) -> Result<Vec<i32>> {
    names
        .iter()
        .map(|n| classes::table.filter(classes::name.eq(n)).select(classes::id).first(conn).optional()?.ok_or_else(|| StoreError::UnknownClass(n.clone())))
        .collect()
}
