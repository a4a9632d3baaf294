//! Rollcall's core: everything the product does, with no user interface of its own.
//! See ARCHITECTURE.md for the map and the invariants.

pub mod eval;
pub mod recognition;
pub mod runtime;
pub mod vision;
