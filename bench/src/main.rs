//! # homecoming-bench
//!
//! One command runs the whole benchmark on one backend and prints a table and JSON:
//!
//! ```text
//! cargo build --release -p homecoming-server -p homecoming-bench
//! target/release/homecoming-bench all [--backend both|sqlite|postgres] [--persons 1000000] [--quick]
//! ```
//!
//! `--backend both` (the default) runs SQLite, then PostgreSQL (`--postgres-url`, a server the
//! benchmark may create a database on), one after the other, and prints both tables.
//!
//! # Layout
//! - `data`: the deterministic synthetic dataset (generated names only).
//! - `load`: the closed-loop load generator and latency statistics.
//! - `server`: starts the release server and reads its CPU time and memory from /proc;
//!   `--perf-dir` records a `perf` profile of it per scenario (`tools/perf_summary.py` sums one
//!   up).
//! - `ceilings`: raw storage rates on the same database type, without gRPC or the ORM.
//! - `scenarios`: the scenarios S0-S10 of one backend's run; `report`: the table and JSON;
//!   `cli`: S9 and S10, the `homecoming` command line's import and export.
//! - here: the command line. `--quick` runs everything on small data for a
//!   few seconds (the CI smoke test): it checks that every scenario runs and loses nothing,
//!   never a timing.

mod ceilings;
mod cli;
mod data;
mod hardening;
mod load;
mod report;
mod scenarios;
mod server;

use std::path::PathBuf;

use anyhow::bail;
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::report::{lost_anything, print_table};

#[derive(Parser)]
#[command(
    name = "homecoming-bench",
    about = "Benchmarks for the Homecoming registry"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendArg {
    Both,
    Sqlite,
    Postgres,
}

/// Which server binary to run, and where PostgreSQL is.
#[derive(clap::Args)]
struct Target {
    /// A PostgreSQL server the benchmark may create a database on.
    #[arg(
        long,
        env = "HOMECOMING_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    #[arg(long, default_value = "target/release/homecoming-server")]
    server_bin: PathBuf,
    /// The command line, for S9 and S10 (cargo build --release -p homecoming-cli).
    #[arg(long, default_value = "target/release/homecoming")]
    cli_bin: PathBuf,
}

#[derive(Subcommand)]
enum Cmd {
    /// The hardening figures (memory after a 4 MB request, latency during oversized creates,
    /// reads answered without an audit record after kill -9, connection bounds).
    Hardening {
        #[arg(long, value_enum, default_value = "sqlite")]
        backend: BackendArg,
        #[command(flatten)]
        target: Target,
    },
    /// Every scenario on one backend, against a server this command starts.
    All {
        #[arg(long, value_enum, default_value = "both")]
        backend: BackendArg,
        /// Persons to import (S3) before S1, S2 and S4.
        #[arg(long, default_value_t = 1_000_000)]
        persons: usize,
        /// Small data, short runs: a smoke test of every scenario.
        #[arg(long)]
        quick: bool,
        #[command(flatten)]
        target: Target,
        /// Seconds per timed scenario.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Watchers for S5.
        #[arg(long, default_value_t = 1000)]
        watchers: usize,
        /// Also write the JSON report here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Record a `perf` profile of the server during each scenario into this directory
        /// (`<backend>-<scenario>.data`; build the server with frame pointers, see BENCHMARKS.md).
        #[arg(long)]
        perf_dir: Option<PathBuf>,
        /// Run the server with `--metrics-listen off` (no per-call metrics), to measure what
        /// the metrics cost.
        #[arg(long)]
        no_metrics: bool,
        /// Save the server's `/metrics` after the last scenario here (`<FILE>.<backend>`).
        #[arg(long)]
        scrape: Option<PathBuf>,
        /// Run the server with `--duplicate-search false`, to measure what the candidate
        /// search costs the writes.
        #[arg(long)]
        no_duplicate_search: bool,
        /// Keep the dataset when the run ends (the SQLite file's directory, or the PostgreSQL
        /// database, named on stderr), e.g. to EXPLAIN the list queries on it.
        #[arg(long)]
        keep_database: bool,
    },
}
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli { command } = Cli::parse();
    match command {
        Cmd::Hardening {
            backend,
            target:
                Target {
                    postgres_url,
                    server_bin,
                    ..
                },
        } => {
            let dir = tempfile::tempdir()?;
            let scratch = format!("homecoming_bench_hardening_{}", std::process::id());
            let url = match backend {
                BackendArg::Postgres => {
                    scenarios::scratch_database(&postgres_url, &scratch).await?
                }
                _ => format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("hardening.db").display()
                ),
            };
            let figures = hardening::run(&server_bin, &url).await?;
            if backend == BackendArg::Postgres {
                scenarios::drop_database(&postgres_url, &scratch).await?;
            }
            println!("{}", serde_json::to_string_pretty(&figures)?);
            Ok(())
        }
        Cmd::All {
            backend,
            persons,
            quick,
            target:
                Target {
                    postgres_url,
                    server_bin,
                    cli_bin,
                },
            seconds,
            watchers,
            json,
            perf_dir,
            no_metrics,
            scrape,
            no_duplicate_search,
            keep_database,
        } => {
            let (persons, seconds, watchers) = if quick {
                (persons.min(5_000), 1, watchers.min(20))
            } else {
                (persons, seconds, watchers)
            };
            let backends = match backend {
                BackendArg::Both => vec![BackendArg::Sqlite, BackendArg::Postgres],
                one => vec![one],
            };
            let mut reports = Vec::new();
            for backend in backends {
                let report = scenarios::all(&scenarios::Plan {
                    backend,
                    persons,
                    seconds,
                    watchers,
                    postgres_url: &postgres_url,
                    server_bin: &server_bin,
                    cli_bin: &cli_bin,
                    perf_dir: perf_dir.as_deref(),
                    metrics: !no_metrics,
                    scrape: scrape.as_deref(),
                    duplicate_search: !no_duplicate_search,
                    keep_database,
                })
                .await?;
                print_table(&report);
                reports.push(report);
            }
            let text = serde_json::to_string_pretty(&reports)?;
            println!("{text}");
            if let Some(path) = json {
                std::fs::write(path, &text)?;
            }
            for r in &reports {
                print_table(r);
            }
            match reports.iter().find(|r| lost_anything(r)) {
                Some(r) => bail!(
                    "{}: a scenario lost events, failed calls or made none",
                    r.backend
                ),
                None => Ok(()),
            }
        }
    }
}
