//! `homecoming export persons|exchanges|categories|events`: pages of 1,000 streamed into the
//! file as they arrive, so memory stays flat at any size. The server redacts what the caller's
//! role may not see and audits each page as the read it is. An export carries ids and external
//! ids: importing it again matches every row and changes nothing.

use std::{io::IsTerminal, path::PathBuf, time::Instant};

use clap::{Args, ValueEnum};
use futures::{Stream, StreamExt, pin_mut};
use homecoming_client::{Client, Error, ListQuery};

use crate::{
    columns::{self, Column},
    files::{Format, Output},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Collection {
    Persons,
    Exchanges,
    Categories,
    Events,
}

#[derive(Args)]
pub struct ExportArgs {
    pub what: Collection,
    /// AIP-160 filter, e.g. `status = RETURNED AND capture_date >= "2022-01-01"`.
    #[arg(long, default_value = "")]
    pub filter: String,
    /// e.g. `family_name, given_name`.
    #[arg(long, default_value = "")]
    pub order_by: String,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The file (default: standard output; XLSX needs a file).
    #[arg(short = 'o', long = "output")]
    pub file: Option<PathBuf>,
    /// Header cells as display labels (`Family name`) instead of field names; import reads both.
    #[arg(long)]
    pub labels: bool,
    /// CSV delimiter: `;` suits spreadsheets in a Ukrainian locale.
    #[arg(long, default_value = ",")]
    pub delimiter: char,
}

pub async fn run(client: &Client, args: ExportArgs) -> anyhow::Result<()> {
    let format = args
        .format
        .or_else(|| args.file.as_deref().and_then(Format::of_path))
        .unwrap_or(Format::Csv);
    let delimiter = u8::try_from(args.delimiter)
        .map_err(|_| crate::Usage("--delimiter must be one ASCII character".into()))?;
    let query = ListQuery::new()
        .filter(args.filter.clone())
        .order_by(args.order_by.clone())
        .page_size(1000);
    let out = Output::create(args.file.as_deref(), format, delimiter)?;
    let started = Instant::now();
    let n = match args.what {
        Collection::Persons => {
            write_all(
                out,
                &columns::persons(),
                client.persons().list(query),
                &args,
            )
            .await?
        }
        Collection::Exchanges => {
            write_all(
                out,
                &columns::exchanges(),
                client.exchanges().list(query),
                &args,
            )
            .await?
        }
        Collection::Categories => {
            write_all(
                out,
                &columns::categories(),
                client.categories().list(query),
                &args,
            )
            .await?
        }
        Collection::Events => {
            write_all(out, &columns::events(), client.events().list(query), &args).await?
        }
    };
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    if args.file.is_some() || !std::io::stdout().is_terminal() {
        eprintln!(
            "exported {n} rows in {secs:.1} s ({:.0} rows/s)",
            n as f64 / secs
        );
    }
    Ok(())
}

async fn write_all<T>(
    mut out: Output,
    cols: &[Column<T>],
    items: impl Stream<Item = Result<T, Error>>,
    args: &ExportArgs,
) -> anyhow::Result<u64> {
    let header: Vec<String> = cols
        .iter()
        .map(|c| if args.labels { c.label } else { c.name }.to_owned())
        .collect();
    if !matches!(out, Output::Jsonl(_)) {
        out.write(&header, || serde_json::Value::Null)?;
    }
    pin_mut!(items);
    let mut n = 0u64;
    while let Some(item) = items.next().await {
        let item = item?;
        let cells: Vec<String> = cols.iter().map(|c| (c.get)(&item)).collect();
        out.write(&cells, || columns::to_json(cols, &item))?;
        n += 1;
    }
    out.finish()?;
    Ok(n)
}
