//! Files in and out: CSV (`,` `;` or tab, detected from the header line; a UTF-8 BOM and CRLF
//! line ends handled), XLSX (read with calamine, written with rust_xlsxwriter in constant
//! memory) and JSON Lines. Rows are read as (header, cell) pairs with the line they came from,
//! one at a time where the format allows it.

use std::{
    fs::File,
    io::{self, BufRead, BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use calamine::{Data, Reader};
use serde_json::Value as Json;

use crate::columns::cell_of_json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Xlsx,
    Jsonl,
}

impl Format {
    /// By the file's extension (`.csv`, `.tsv`, `.txt`, `.xlsx`, `.jsonl`, `.ndjson`).
    pub fn of_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_lowercase();
        match ext.as_str() {
            "csv" | "tsv" | "txt" => Some(Format::Csv),
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// One data row: the line (CSV, JSON Lines) or spreadsheet row it came from, and its cells by
/// header.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<(String, String)>,
}

/// Rows of an input file.
pub struct Input {
    /// The header as the file writes it (CSV and XLSX; JSON Lines: the keys met so far).
    pub header: Vec<String>,
    /// The CSV delimiter (`,` for other formats), for a report of rejected rows.
    pub delimiter: u8,
    rows: Box<dyn Iterator<Item = anyhow::Result<Row>>>,
}

impl Iterator for Input {
    type Item = anyhow::Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next()
    }
}

/// Opens an input file of `format` (`sheet`: the XLSX sheet; the first by default).
pub fn open(path: &Path, format: Format, sheet: Option<&str>) -> anyhow::Result<Input> {
    match format {
        Format::Csv => open_csv(path),
        Format::Xlsx => open_xlsx(path, sheet),
        Format::Jsonl => open_jsonl(path),
    }
}

/// A reader past a UTF-8 byte order mark.
fn without_bom(path: &Path) -> anyhow::Result<BufReader<File>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut r = BufReader::new(file);
    if r.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
        r.consume(3);
    }
    Ok(r)
}

/// The delimiter of a header line: whichever of `;`, tab and `,` it has most of outside quotes
/// (`,` on a tie or when there is none: a one-column file).
pub fn detect_delimiter(header_line: &str) -> u8 {
    let (mut comma, mut semi, mut tab, mut quoted) = (0, 0, 0, false);
    for c in header_line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => comma += 1,
            ';' if !quoted => semi += 1,
            '\t' if !quoted => tab += 1,
            _ => {}
        }
    }
    if semi > comma && semi >= tab {
        b';'
    } else if tab > comma && tab > semi {
        b'\t'
    } else {
        b','
    }
}

fn open_csv(path: &Path) -> anyhow::Result<Input> {
    let mut first = String::new();
    without_bom(path)?.read_line(&mut first)?;
    let delimiter = detect_delimiter(&first);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(without_bom(path)?);
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("{}: cannot read the header line", path.display()))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let names = header.clone();
    let shown = path.display().to_string();
    let mut record = csv::StringRecord::new();
    let rows = std::iter::from_fn(move || {
        loop {
            match reader.read_record(&mut record) {
                Err(e) => return Some(Err(anyhow::anyhow!("{shown}: {e}"))),
                Ok(false) => return None,
                Ok(true) => {}
            }
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            // The reader stands on the record's last line once it is read (blank lines before
            // it counted); a quoted cell may span lines, so step back over its newlines.
            let inner: usize = record.iter().map(|c| c.matches('\n').count()).sum();
            let line = reader.position().line().saturating_sub(inner as u64);
            return Some(Ok(Row {
                line,
                cells: names
                    .iter()
                    .cloned()
                    .zip(record.iter().map(|c| c.trim().to_owned()))
                    .collect(),
            }));
        }
    });
    Ok(Input {
        header,
        delimiter,
        rows: Box::new(rows),
    })
}

/// An XLSX cell as text: dates as `YYYY-MM-DD`, whole numbers without `.0`.
fn xlsx_cell(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => dt
            .as_datetime()
            .map(|t| t.date().to_string())
            .unwrap_or_else(|| dt.to_string()),
        Data::DateTimeIso(s) => s.get(..10).unwrap_or(s).to_owned(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn open_xlsx(path: &Path, sheet: Option<&str>) -> anyhow::Result<Input> {
    let mut book = calamine::open_workbook_auto(path)
        .with_context(|| format!("cannot open {} as a spreadsheet", path.display()))?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(s) if names.iter().any(|n| n == s) => s.to_owned(),
        Some(s) => bail!(
            "{}: no sheet {s:?} (sheets: {})",
            path.display(),
            names.join(", ")
        ),
        None => match names.first() {
            Some(n) => n.clone(),
            None => bail!("{}: the workbook has no sheet", path.display()),
        },
    };
    let range = book
        .worksheet_range(&name)
        .with_context(|| format!("{}: cannot read sheet {name:?}", path.display()))?;
    let start_row = range.start().map_or(0, |(r, _)| r);
    let mut rows = range.rows().enumerate();
    let header: Vec<String> = match rows.next() {
        Some((_, cells)) => cells.iter().map(xlsx_cell).collect(),
        None => Vec::new(),
    };
    let names = header.clone();
    let data: Vec<anyhow::Result<Row>> = rows
        .filter(|(_, cells)| cells.iter().any(|c| !xlsx_cell(c).is_empty()))
        .map(|(i, cells)| {
            Ok(Row {
                // Spreadsheet rows count from 1.
                line: u64::from(start_row) + i as u64 + 1,
                cells: names
                    .iter()
                    .cloned()
                    .zip(cells.iter().map(xlsx_cell))
                    .collect(),
            })
        })
        .collect();
    Ok(Input {
        header,
        delimiter: b',',
        rows: Box::new(data.into_iter()),
    })
}

fn open_jsonl(path: &Path) -> anyhow::Result<Input> {
    let reader = without_bom(path)?;
    let shown = path.display().to_string();
    let rows = reader.lines().enumerate().filter_map(move |(i, line)| {
        let line_no = i as u64 + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => return Some(Err(anyhow::anyhow!("{shown}:{line_no}: {e}"))),
        };
        if line.trim().is_empty() {
            return None;
        }
        Some(match serde_json::from_str::<Json>(&line) {
            Ok(Json::Object(o)) => Ok(Row {
                line: line_no,
                cells: o
                    .iter()
                    .map(|(k, v)| (k.clone(), cell_of_json(v)))
                    .collect(),
            }),
            Ok(_) => Ok(Row {
                line: line_no,
                cells: vec![("".into(), "(not a JSON object)".into())],
            }),
            Err(e) => Ok(Row {
                line: line_no,
                cells: vec![("".into(), format!("(invalid JSON: {e})"))],
            }),
        })
    });
    Ok(Input {
        header: Vec::new(),
        delimiter: b',',
        rows: Box::new(rows),
    })
}

/// Rows of an output file (or standard output), written as they come.
pub enum Output {
    Csv(Box<csv::Writer<Box<dyn Write>>>),
    Jsonl(BufWriter<Box<dyn Write>>),
    Xlsx {
        book: Box<rust_xlsxwriter::Workbook>,
        path: PathBuf,
        row: u32,
    },
}

/// Most rows a worksheet holds (Excel's limit), the header included.
const XLSX_MAX_ROWS: u32 = 1_048_576;

impl Output {
    /// `path` `None` or `-`: standard output (not for XLSX).
    pub fn create(path: Option<&Path>, format: Format, delimiter: u8) -> anyhow::Result<Output> {
        let sink = || -> anyhow::Result<Box<dyn Write>> {
            Ok(match path {
                None => Box::new(io::stdout().lock()),
                Some(p) if p.as_os_str() == "-" => Box::new(io::stdout().lock()),
                Some(p) => Box::new(
                    File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
                ),
            })
        };
        Ok(match format {
            Format::Csv => Output::Csv(Box::new(
                csv::WriterBuilder::new()
                    .delimiter(delimiter)
                    .from_writer(Box::new(BufWriter::new(sink()?))),
            )),
            Format::Jsonl => Output::Jsonl(BufWriter::new(sink()?)),
            Format::Xlsx => {
                let Some(p) = path.filter(|p| p.as_os_str() != "-") else {
                    bail!("XLSX is written to a file: give -o FILE.xlsx");
                };
                // Fails early on an unwritable path, before any page is read.
                File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
                let mut book = Box::new(rust_xlsxwriter::Workbook::new());
                book.add_worksheet_with_constant_memory();
                Output::Xlsx {
                    book,
                    path: p.to_owned(),
                    row: 0,
                }
            }
        })
    }

    /// Writes one row of cells (CSV, XLSX) or one JSON object (JSON Lines: `json`).
    pub fn write(&mut self, cells: &[String], json: impl FnOnce() -> Json) -> anyhow::Result<()> {
        match self {
            Output::Csv(w) => w.write_record(cells)?,
            Output::Jsonl(w) => {
                serde_json::to_writer(&mut *w, &json())?;
                w.write_all(b"\n")?;
            }
            Output::Xlsx { book, row, .. } => {
                if *row >= XLSX_MAX_ROWS {
                    bail!(
                        "more rows than a worksheet holds ({XLSX_MAX_ROWS}); export CSV or JSON Lines, or filter"
                    );
                }
                let sheet = book.worksheet_from_index(0)?;
                for (col, cell) in cells.iter().enumerate() {
                    let col = u16::try_from(col).context("too many columns")?;
                    if !cell.is_empty() {
                        sheet.write_string(*row, col, cell)?;
                    }
                }
                *row += 1;
            }
        }
        Ok(())
    }

    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            Output::Csv(mut w) => w.flush()?,
            Output::Jsonl(mut w) => w.flush()?,
            Output::Xlsx { mut book, path, .. } => book
                .save(&path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        }
        Ok(())
    }
}

/// Counts the data rows of a CSV or JSON Lines file cheaply (for a progress bar's total).
pub fn count_lines(path: &Path) -> anyhow::Result<u64> {
    let mut r = BufReader::new(File::open(path)?);
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        n += buf[..k].iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_detected_outside_quotes() {
        assert_eq!(detect_delimiter("a;b;c"), b';');
        assert_eq!(detect_delimiter("a,b,c"), b',');
        assert_eq!(detect_delimiter("a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter("\"a,b\";c"), b';');
        assert_eq!(detect_delimiter("single"), b',');
    }

    #[test]
    fn a_ukrainian_locale_csv_reads_with_bom_crlf_and_blank_lines() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("roster.csv");
        std::fs::write(
            &path,
            "\u{feff}external_id;family_name ;date_of_birth\r\n1; Вигаданий ;04.07.1990\r\n\r\n;;\r\n2;Тестовий;01.01.1991\r\n",
        )?;
        let input = open(&path, Format::Csv, None)?;
        assert_eq!(
            input.header,
            ["external_id", "family_name", "date_of_birth"]
        );
        assert_eq!(input.delimiter, b';');
        let rows: Vec<Row> = input.collect::<anyhow::Result<_>>()?;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].cells[1], ("family_name".into(), "Вигаданий".into()));
        assert_eq!(rows[1].line, 5);
        Ok(())
    }
}
