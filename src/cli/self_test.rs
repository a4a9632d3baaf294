//! `rollcall self-test`: the installation's report (`rollcall::self_test`), printed; exit 1 with
//! the first failure's sentence when something the app needs is missing.

use std::path::Path;

use rollcall::self_test::{self, Options};
use rollcall::storage::Store;

use super::{EngineArgs, Outcome, Printer};

pub fn run(out: &Printer, engine: &EngineArgs, db: Option<&Path>) -> anyhow::Result<Outcome> {
    let options = Options { models_dir: engine.models.clone(), database: db.map(Path::to_path_buf).unwrap_or_else(Store::default_path) };
    let report = self_test::run(&options);
    out.print(&report, |s| {
        s.push_str(&report.to_text());
        Ok(())
    })?;
    match report.first_problem() {
        None => Ok(Outcome::Done),
        Some(p) => anyhow::bail!("the self-test failed: {p}"),
    }
}
