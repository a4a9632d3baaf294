//! The school office's tables (rosters, timetables) read from CSV or XLSX, row by row. The file
//! may be hostile or just odd, and is read defensively:
//! - CSV is streamed, never read whole; its encoding is taken from a byte-order mark (UTF-8,
//!   UTF-16), else UTF-8 if it is valid UTF-8, else Windows-1252 (what Excel's plain "CSV" is on
//!   a Western European Windows), and the caller is told which was used.
//! - XLSX is read cell by cell, keeping only the rows actually present: a sheet that declares a
//!   cell at XFD1048576 costs one cell, not a 17-billion-cell grid. A workbook whose parts
//!   would unpack to more than `MAX_UNPACKED_BYTES` is refused before it is opened.
//! - Sizes are bounded: the file, the rows the table may have, the columns read.
//!
//! What the rows mean is the caller's (`roster`, `timetable`): it sees each row with its 1-based
//! line number (the header is line 1) and may stop the reading.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::Context;
use calamine::{Reader, Xlsx};
use serde::Serialize;

/// A table file larger than this is not one of ours.
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// What an XLSX's parts may unpack to (a zip bomb of a few KB otherwise fills the memory).
pub const MAX_UNPACKED_BYTES: u64 = 256 << 20;
/// Columns past this are ignored (our tables have a handful).
const MAX_COLUMNS: u32 = 64;

/// Something wrong with a row of a table, said before anything is changed.
#[derive(Debug, Clone, Serialize)]
pub struct RowProblem {
    /// 1-based row in the file (the header is row 1); 0 for the file as a whole.
    pub row: usize,
    pub problem: String,
}

/// What kind of table a file is, for the limits and the sentences.
pub struct Table {
    /// "a roster file"
    pub file: &'static str,
    /// What a row is: "students"
    pub rows: &'static str,
    pub max_rows: usize,
}

/// Read `path` (CSV, or XLSX by its extension) and hand each row to `visit(line, cells)`, which
/// returns false to stop. Returns the CSV's text encoding (`None` for a workbook).
pub fn read_rows(path: &Path, table: &Table, visit: impl FnMut(usize, &[String]) -> bool) -> anyhow::Result<Option<String>> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot open {}", path.display()))?;
    anyhow::ensure!(meta.is_file(), "{} is not a file", path.display());
    anyhow::ensure!(
        meta.len() <= MAX_FILE_BYTES,
        "{} is {} MB: {} is at most {} MB ({} {}); split it",
        path.display(),
        meta.len() >> 20,
        table.file,
        MAX_FILE_BYTES >> 20,
        table.max_rows,
        table.rows
    );
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "xlsx" | "xlsm" => read_xlsx(path, table, visit).map(|()| None),
        "xls" | "ods" | "numbers" => anyhow::bail!("{} is a .{ext} spreadsheet: save it as Excel (.xlsx) or as CSV UTF-8 and import that", path.display()),
        _ => read_csv(path, visit).map(Some),
    }
}

/// The encoding of a CSV: a byte-order mark says; else UTF-8 if every byte sequence is valid
/// UTF-8 (checked streaming); else Windows-1252.
fn sniff_encoding(path: &Path) -> anyhow::Result<&'static encoding_rs::Encoding> {
    let mut file = BufReader::new(File::open(path).with_context(|| format!("cannot open {}", path.display()))?);
    let mut buf = vec![0u8; 64 << 10];
    let mut decoder = encoding_rs::UTF_8.new_decoder_without_bom_handling();
    let mut out = vec![0u8; buf.len() * 3 + 16];
    let mut first = true;
    loop {
        let n = file.read(&mut buf)?;
        if first {
            first = false;
            if let Some((enc, _)) = encoding_rs::Encoding::for_bom(&buf[..n]) {
                return Ok(enc);
            }
        }
        let last = n == 0;
        let (result, _, _) = decoder.decode_to_utf8_without_replacement(&buf[..n], &mut out, last);
        if let encoding_rs::DecoderResult::Malformed(_, _) = result {
            return Ok(encoding_rs::WINDOWS_1252);
        }
        if last {
            return Ok(encoding_rs::UTF_8);
        }
    }
}

fn read_csv(path: &Path, mut visit: impl FnMut(usize, &[String]) -> bool) -> anyhow::Result<String> {
    let encoding = sniff_encoding(path)?;
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let text = encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(encoding)).bom_override(true).build(file);
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(text);
    let mut record = csv::StringRecord::new();
    let mut line = 0;
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                line += 1;
                let row: Vec<String> = record.iter().take(MAX_COLUMNS as usize).map(str::to_string).collect();
                if !visit(line, &row) {
                    break;
                }
            }
            Err(e) => anyhow::bail!("{} is not a readable CSV file (row {}): {e}", path.display(), line + 1),
        }
    }
    Ok(encoding.name().to_string())
}

/// Refuse a workbook whose parts declare more than `MAX_UNPACKED_BYTES` unpacked.
fn check_unpacked_size(path: &Path, table: &Table) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).with_context(|| format!("{} is not an Excel workbook (.xlsx)", path.display()))?;
    let mut total = 0u64;
    for i in 0..zip.len() {
        total = total.saturating_add(zip.by_index_raw(i)?.size());
    }
    anyhow::ensure!(
        total <= MAX_UNPACKED_BYTES,
        "{} would unpack to {} MB: {} is far smaller (is it damaged, or not what it should be?)",
        path.display(),
        total >> 20,
        table.file
    );
    Ok(())
}

fn read_xlsx(path: &Path, table: &Table, mut visit: impl FnMut(usize, &[String]) -> bool) -> anyhow::Result<()> {
    check_unpacked_size(path, table)?;
    let mut wb: Xlsx<_> = calamine::open_workbook(path).with_context(|| format!("cannot open {} as a spreadsheet", path.display()))?;
    let sheet = wb.sheet_names().first().cloned().with_context(|| format!("{} has no sheets", path.display()))?;
    let mut cells = wb.worksheet_cells_reader(&sheet).with_context(|| format!("cannot read sheet {sheet:?} of {}", path.display()))?;
    // Only the rows actually present, and within bounds.
    let mut rows: BTreeMap<u32, Vec<(u32, String)>> = BTreeMap::new();
    while let Some(cell) = cells.next_cell().with_context(|| format!("cannot read sheet {sheet:?} of {}", path.display()))? {
        let (r, c) = cell.get_position();
        if c >= MAX_COLUMNS {
            continue;
        }
        if r as usize > table.max_rows {
            anyhow::bail!(
                "{}: sheet {sheet:?} has a cell at row {} ({} has at most {} {}): delete what is below the table and save again",
                path.display(),
                r + 1,
                table.file,
                table.max_rows,
                table.rows
            );
        }
        let text = cell_text(cell.get_value());
        if !text.is_empty() {
            rows.entry(r).or_default().push((c, text));
        }
    }
    drop(cells);
    for (r, cells) in rows {
        let width = cells.iter().map(|(c, _)| *c as usize + 1).max().unwrap_or(0);
        let mut row = vec![String::new(); width];
        for (c, text) in cells {
            row[c as usize] = text;
        }
        if !visit(r as usize + 1, &row) {
            break;
        }
    }
    Ok(())
}

fn cell_text(d: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef;
    match d {
        // Student numbers typed into Excel come back as floats: 1042.0 means "1042".
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::String(s) => s.trim().to_string(),
        DataRef::SharedString(s) => s.trim().to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::Empty => String::new(),
        other => calamine::Data::from(other.clone()).to_string().trim().to_string(),
    }
}
