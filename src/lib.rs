//! Rollcall's core: everything the product does, with no user interface of its own.
//! See ARCHITECTURE.md for the map and the invariants.

pub mod accounts;
pub mod attendance;
pub mod backup;
pub mod calendar;
pub mod consent;
pub mod enrolment;
pub mod eval;
pub mod files;
pub mod keys;
pub mod recognition;
pub mod privacy;
pub mod report;
pub mod retention;
pub mod roster;
pub mod runtime;
pub mod schedule;
pub mod self_test;
pub mod settings;
pub mod status;
pub mod source;
pub mod spreadsheet;
pub mod vision;
pub mod storage;
pub mod timetable;
pub mod tracking;
