//! The one printer: everything the CLI puts on stdout goes through here, as text or as one JSON
//! object (`--json`). A closed pipe (`rollcall embed … | head`) is an error like any other write
//! failure, which `main` ends quietly; text never carries control characters from the data (a
//! name cannot move the cursor or recolour the terminal).

use std::io::Write;

use serde::Serialize;

pub struct Printer {
    json: bool,
}

impl Printer {
    pub fn new(json: bool) -> Self {
        Printer { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Print `value` as JSON, or the text `text` writes.
    pub fn print(&self, value: &impl Serialize, text: impl FnOnce(&mut String) -> std::fmt::Result) -> anyhow::Result<()> {
        if self.json {
            return self.json(value);
        }
        let mut s = String::new();
        text(&mut s)?;
        self.raw(&s)
    }

    /// Print one JSON object on its own line.
    pub fn json(&self, value: &impl Serialize) -> anyhow::Result<()> {
        let mut out = serde_json::to_string(value)?;
        out.push('\n');
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }

    /// Print text (in text mode only).
    pub fn text(&self, text: impl FnOnce(&mut String) -> std::fmt::Result) -> anyhow::Result<()> {
        if self.json {
            return Ok(());
        }
        let mut s = String::new();
        text(&mut s)?;
        self.raw(&s)
    }

    fn raw(&self, s: &str) -> anyhow::Result<()> {
        // Line by line, so that the line breaks the text itself writes stay.
        let clean: String = s.split_inclusive('\n').map(|line| match line.strip_suffix('\n') {
            Some(l) => rollcall::roster::sanitize(l) + "\n",
            None => rollcall::roster::sanitize(line),
        }).collect();
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(clean.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }
}

/// Whether an error is a write to a pipe whose reader has gone.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
