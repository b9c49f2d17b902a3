//! `homecoming import persons FILE`: a roster in, 1,000 rows per `ImportPersons` call.
//!
//! Cells are read by header (`columns`); a row whose cells do not read, or that repeats an
//! external id or person id of an earlier row of the file, is reported and not sent. Every
//! failed row is printed as `file:line: column: message`; `--errors FILE.csv` writes the
//! rejected rows as they were, with an `error` column, to fix and import again (the `error`
//! column is ignored on import). Exit code 0 only when every row was written (or, with
//! `--dry-run`, would be).

use std::{collections::HashMap, io::IsTerminal, path::PathBuf, time::Instant};

use clap::{Args, Subcommand, ValueEnum};
use homecoming_client::{Client, proto};
use indicatif::{ProgressBar, ProgressStyle};

use crate::{
    Incomplete, Usage,
    columns::{self, Column},
    files::{self, Format, Output, Row},
};

/// Rows per call: the server's limit.
const CHUNK: usize = 1000;
/// Calls in flight at once.
const IN_FLIGHT: usize = 2;

#[derive(Subcommand)]
pub enum ImportWhat {
    /// Persons from CSV, XLSX or JSON Lines. Headers are the proto field names (`family_name`,
    /// `date_of_birth`, `aftercare.payments`, …) or the labels an export writes (`Family name`);
    /// `id` and `external_ids` match rows to stored persons; output-only columns are ignored.
    Persons(ImportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchArg {
    /// One of the row's external ids (the default).
    ExternalId,
    /// The service number.
    ServiceNumber,
    /// Family name, given name and date of birth.
    NameAndDateOfBirth,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The file (`-` is not accepted: a roster is a file you keep).
    pub file: PathBuf,
    /// The format; by default from the extension (.csv/.tsv/.txt, .xlsx, .jsonl/.ndjson).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The XLSX sheet (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
    /// The system whose ids the `external_id` column holds (e.g. coordination-hq).
    #[arg(long)]
    pub system: Option<String>,
    /// How rows without an `id` find the person they are about.
    #[arg(long = "match", value_enum, default_value = "external-id")]
    pub match_rule: MatchArg,
    /// Validate everything (references and uniqueness included) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write nothing unless every row is good: the whole file is validated first.
    #[arg(long)]
    pub all_or_nothing: bool,
    /// Link every row to this exchange (its id).
    #[arg(long)]
    pub exchange: Option<String>,
    /// Write the rejected rows here (CSV, with an `error` column).
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// Only these fields are written to matched persons (update-mask paths, comma-separated);
    /// by default every field a row carries.
    #[arg(long, value_delimiter = ',')]
    pub fields: Vec<String>,
}

/// Headers that are not columns of a person but mean something here.
const EXTERNAL_ID: &str = "external_id";
const ERROR: &str = "error";

/// Which column each header of the file is.
enum Header {
    Column(usize),
    /// The id in `--system`.
    ExternalId,
    /// Output only, or the `error` column of a rejected-rows file.
    Ignored,
}

fn headers(
    cols: &[Column<proto::Person>],
    names: impl Iterator<Item = String>,
    system: Option<&str>,
) -> Result<HashMap<String, Header>, Usage> {
    let mut map = HashMap::new();
    let mut unknown = Vec::new();
    for h in names {
        let key = h.trim().to_lowercase();
        let found = cols
            .iter()
            .position(|c| c.name == key || c.label.to_lowercase() == key);
        let header = match found {
            Some(i) if cols[i].set.is_some() => Header::Column(i),
            Some(_) => Header::Ignored,
            None if key == EXTERNAL_ID => {
                if system.is_none() {
                    return Err(Usage(
                        "the file has an external_id column: say whose ids they are with --system NAME".into(),
                    ));
                }
                Header::ExternalId
            }
            None if key == ERROR || key.is_empty() => Header::Ignored,
            None => {
                unknown.push(h.clone());
                continue;
            }
        };
        map.insert(h, header);
    }
    if !unknown.is_empty() {
        let known: Vec<&str> = cols
            .iter()
            .filter(|c| c.set.is_some())
            .map(|c| c.name)
            .collect();
        return Err(Usage(format!(
            "unknown column(s): {} (known: {}, external_id with --system)",
            unknown.join(", "),
            known.join(", ")
        )));
    }
    Ok(map)
}

/// One row on its way: where it came from, the person read from it, and what is wrong.
struct Pending {
    row: Row,
    person: proto::Person,
    errors: Vec<(String, String)>,
}

struct Report {
    file: String,
    created: u64,
    updated: u64,
    unchanged: u64,
    failed: u64,
    errors: Option<Output>,
    error_header: Vec<String>,
}

impl Report {
    fn fail(&mut self, row: &Row, errors: &[(String, String)]) -> anyhow::Result<()> {
        self.failed += 1;
        for (column, message) in errors {
            eprintln!("{}:{}: {column}: {message}", self.file, row.line);
        }
        if let Some(out) = &mut self.errors {
            let mut cells: Vec<String> = self
                .error_header
                .iter()
                .map(|h| {
                    row.cells
                        .iter()
                        .find(|(k, _)| k == h)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                })
                .collect();
            cells.push(
                errors
                    .iter()
                    .map(|(c, m)| format!("{c}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            out.write(&cells, || serde_json::Value::Null)?;
        }
        Ok(())
    }
}

/// The column a server violation names: `persons[3].aftercare.payments` → `aftercare.payments`.
fn column_of(field: &str) -> String {
    match field.split_once("].") {
        Some((_, rest)) if field.starts_with("persons[") => rest.to_owned(),
        _ if field.starts_with("persons[") => "(row)".to_owned(),
        _ => field.to_owned(),
    }
}

pub async fn run(client: &Client, what: ImportWhat) -> anyhow::Result<()> {
    let ImportWhat::Persons(args) = what;
    let format = match args.format.or_else(|| Format::of_path(&args.file)) {
        Some(f) => f,
        None => {
            return Err(Usage(format!(
                "{}: cannot tell the format from the extension; give --format csv|xlsx|jsonl",
                args.file.display()
            ))
            .into());
        }
    };
    if args.all_or_nothing && !args.dry_run {
        // Validate the whole file first; write only if every row is good.
        let mut check = ImportArgs {
            dry_run: true,
            errors: args.errors.clone(),
            fields: args.fields.clone(),
            format: Some(format),
            sheet: args.sheet.clone(),
            system: args.system.clone(),
            exchange: args.exchange.clone(),
            file: args.file.clone(),
            match_rule: args.match_rule,
            all_or_nothing: true,
        };
        eprintln!("checking every row before writing (--all-or-nothing)…");
        import_file(client, &check, format).await?;
        check.dry_run = false;
        check.errors = None;
        return import_file(client, &check, format).await;
    }
    import_file(client, &args, format).await
}

async fn import_file(client: &Client, args: &ImportArgs, format: Format) -> anyhow::Result<()> {
    let cols = columns::persons();
    let input = files::open(&args.file, format, args.sheet.as_deref())
        .map_err(|e| Usage(format!("{e:#}")))?;
    let file = args.file.display().to_string();
    let total = match format {
        // The header line, and a possible last line without a newline, even out roughly.
        Format::Csv | Format::Jsonl => files::count_lines(&args.file).ok(),
        Format::Xlsx => None,
    };
    let error_header: Vec<String> = if input.header.is_empty() {
        cols.iter()
            .filter(|c| c.set.is_some())
            .map(|c| c.name.to_owned())
            .collect()
    } else {
        input
            .header
            .iter()
            .filter(|h| !h.eq_ignore_ascii_case(ERROR))
            .cloned()
            .collect()
    };
    let mut report = Report {
        file: file.clone(),
        created: 0,
        updated: 0,
        unchanged: 0,
        failed: 0,
        errors: None,
        error_header: error_header.clone(),
    };
    if let Some(path) = &args.errors {
        let mut out = Output::create(Some(path), Format::Csv, input.delimiter)?;
        let mut h = error_header.clone();
        h.push(ERROR.to_owned());
        out.write(&h, || serde_json::Value::Null)?;
        report.errors = Some(out);
    }
    let mut known = if input.header.is_empty() {
        HashMap::new()
    } else {
        headers(&cols, input.header.iter().cloned(), args.system.as_deref())?
    };
    let progress = Progress::new(total);
    let started = Instant::now();
    // External ids and ids seen so far in this file, with their lines.
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut chunk: Vec<Pending> = Vec::with_capacity(CHUNK);
    // Calls in flight, answered in order: the next chunk is read while one is written.
    let mut inflight = std::collections::VecDeque::new();
    for row in input {
        let row = row.map_err(|e| Usage(format!("{e:#}")))?;
        // JSON Lines: keys may differ per row.
        for (h, _) in &row.cells {
            if !known.contains_key(h) {
                let more = headers(&cols, std::iter::once(h.clone()), args.system.as_deref())?;
                known.extend(more);
            }
        }
        let pending = read_row(&cols, &known, row, args, &mut seen);
        if pending.errors.is_empty() {
            chunk.push(pending);
        } else {
            report.fail(&pending.row, &pending.errors)?;
            progress.inc(1);
        }
        if chunk.len() == CHUNK {
            if inflight.len() == IN_FLIGHT
                && let Some(call) = inflight.pop_front()
            {
                record(call.await??, &mut report, &progress)?;
            }
            inflight.push_back(tokio::spawn(send(
                client.clone(),
                request_of(args),
                std::mem::take(&mut chunk),
            )));
        }
    }
    if !chunk.is_empty() {
        inflight.push_back(tokio::spawn(send(client.clone(), request_of(args), chunk)));
    }
    while let Some(call) = inflight.pop_front() {
        record(call.await??, &mut report, &progress)?;
    }
    progress.finish();
    if let Some(out) = report.errors.take() {
        out.finish()?;
    }
    let rows = report.created + report.updated + report.unchanged + report.failed;
    let secs = started.elapsed().as_secs_f64();
    let verb = if args.dry_run { "would be " } else { "" };
    eprintln!(
        "{file}: {rows} rows in {secs:.1} s ({:.0} rows/s): {verb}created {}, {verb}updated {}, unchanged {}, failed {}{}",
        rows as f64 / secs.max(1e-9),
        report.created,
        report.updated,
        report.unchanged,
        report.failed,
        if args.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        },
    );
    if report.failed > 0 {
        if let Some(p) = &args.errors {
            eprintln!(
                "rejected rows are in {} (fix them and import that file)",
                p.display()
            );
        }
        return Err(Incomplete.into());
    }
    Ok(())
}

/// Reads one row's cells into a person; what does not read is the row's errors.
fn read_row(
    cols: &[Column<proto::Person>],
    known: &HashMap<String, Header>,
    row: Row,
    args: &ImportArgs,
    seen: &mut HashMap<String, u64>,
) -> Pending {
    let mut person = proto::Person::default();
    let mut errors = Vec::new();
    for (h, cell) in &row.cells {
        if h.is_empty() {
            // A JSON Lines line that is no object (see `files`).
            errors.push(("(row)".to_owned(), cell.clone()));
            continue;
        }
        match known.get(h) {
            Some(Header::Column(i)) => {
                if let Some(set) = cols[*i].set
                    && let Err(e) = set(&mut person, cell)
                {
                    errors.push((cols[*i].name.to_owned(), e));
                }
            }
            Some(Header::ExternalId) => {
                if let (Some(system), false) = (&args.system, cell.trim().is_empty()) {
                    let x = proto::ExternalId {
                        system: system.clone(),
                        id: cell.trim().to_owned(),
                    };
                    if !person.external_ids.contains(&x) {
                        person.external_ids.push(x);
                    }
                }
            }
            Some(Header::Ignored) | None => {}
        }
    }
    if let Some(x) = &args.exchange {
        person.exchange_id = x.clone();
    }
    let mut keys: Vec<String> = person
        .external_ids
        .iter()
        .map(|x| format!("{}/{}", x.system, x.id))
        .collect();
    if !person.id.is_empty() {
        keys.push(format!("id {}", person.id));
    }
    for k in keys {
        match seen.get(&k) {
            Some(line) if *line != row.line => errors.push((
                if k.starts_with("id ") {
                    "id"
                } else {
                    "external_ids"
                }
                .to_owned(),
                format!("{k} is also on line {line} of this file"),
            )),
            _ => {
                seen.insert(k, row.line);
            }
        }
    }
    Pending {
        row,
        person,
        errors,
    }
}

/// The request of every chunk, without its rows.
fn request_of(args: &ImportArgs) -> proto::ImportPersonsRequest {
    proto::ImportPersonsRequest {
        persons: Vec::new(),
        match_rule: match args.match_rule {
            MatchArg::ExternalId => proto::MatchRule::ExternalId,
            MatchArg::ServiceNumber => proto::MatchRule::ServiceNumber,
            MatchArg::NameAndDateOfBirth => proto::MatchRule::NameAndDateOfBirth,
        } as i32,
        mode: if args.all_or_nothing {
            proto::ImportMode::AllOrNothing
        } else {
            proto::ImportMode::PerRow
        } as i32,
        update_mask: (!args.fields.is_empty()).then(|| prost_types::FieldMask {
            paths: args.fields.clone(),
        }),
        validate_only: args.dry_run,
        request_id: String::new(),
    }
}

/// Sends one chunk (with a request id of its own: retries write once).
async fn send(
    client: Client,
    mut request: proto::ImportPersonsRequest,
    chunk: Vec<Pending>,
) -> anyhow::Result<(Vec<Pending>, proto::ImportPersonsResponse)> {
    request.persons = chunk.iter().map(|p| p.person.clone()).collect();
    let response = client.persons().import(request).await?;
    Ok((chunk, response))
}

/// Counts a chunk's outcomes and reports its failed rows.
fn record(
    (chunk, response): (Vec<Pending>, proto::ImportPersonsResponse),
    report: &mut Report,
    progress: &Progress,
) -> anyhow::Result<()> {
    let n = chunk.len() as u64;
    use proto::import_persons_result::Outcome;
    for (r, pending) in response.results.iter().zip(&chunk) {
        match Outcome::try_from(r.outcome) {
            Ok(Outcome::Created) => report.created += 1,
            Ok(Outcome::Updated) => report.updated += 1,
            Ok(Outcome::Unchanged) => report.unchanged += 1,
            _ => {
                let errors: Vec<(String, String)> = r
                    .violations
                    .iter()
                    .map(|v| (column_of(&v.field), v.description.clone()))
                    .collect();
                report.fail(&pending.row, &errors)?;
            }
        }
    }
    progress.inc(n);
    Ok(())
}

/// A progress bar with rows/s and an ETA on a terminal; a plain line per 10,000 rows otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    done: std::cell::Cell<u64>,
    started: Instant,
}

impl Progress {
    fn new(total: Option<u64>) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total.unwrap_or(0).saturating_sub(1));
            let style =
                ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Self {
            bar,
            done: std::cell::Cell::new(0),
            started: Instant::now(),
        }
    }

    fn inc(&self, n: u64) {
        let before = self.done.get();
        self.done.set(before + n);
        match &self.bar {
            Some(bar) => bar.inc(n),
            None => {
                if (before + n) / 10_000 > before / 10_000 {
                    let secs = self.started.elapsed().as_secs_f64().max(1e-9);
                    eprintln!(
                        "{} rows ({:.0} rows/s)",
                        before + n,
                        (before + n) as f64 / secs
                    );
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_name_the_column() {
        assert_eq!(
            column_of("persons[3].aftercare.payments"),
            "aftercare.payments"
        );
        assert_eq!(column_of("persons[3]"), "(row)");
        assert_eq!(column_of("update_mask"), "update_mask");
    }

    #[test]
    fn unknown_headers_are_refused_and_labels_accepted() {
        let cols = columns::persons();
        let ok = headers(
            &cols,
            ["Family name".to_owned(), "age_at_return".to_owned()].into_iter(),
            None,
        );
        assert!(matches!(
            ok.as_ref().map(|m| m.get("Family name")),
            Ok(Some(Header::Column(_)))
        ));
        let bad = headers(&cols, ["nickname".to_owned()].into_iter(), None);
        assert!(bad.is_err_and(|e| e.0.contains("nickname")));
        assert!(headers(&cols, ["external_id".to_owned()].into_iter(), None).is_err());
    }
}
