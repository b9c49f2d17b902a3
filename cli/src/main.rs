//! # homecoming
//!
//! The operator's command line for the Homecoming registry, in the manner of etcdctl and
//! kubectl: a gRPC client of the server through `homecoming-client` (never the database).
//!
//! ```text
//! homecoming [--server URL] [--token-file F] import persons roster.csv --system coordination-hq --dry-run
//! homecoming export persons --filter 'status = RETURNED' --format xlsx -o returned.xlsx
//! homecoming get person ID | list persons --filter F | watch | summary EXCHANGE_ID | statistics
//! ```
//!
//! # Layout
//! - here: the command line and what each command's errors say;
//! - `columns`: each resource's columns in files and tables (names, labels, cells);
//! - `files`: CSV / XLSX / JSON Lines in and out;
//! - `import`, `export`: rosters in and out;
//! - `show`: get, list, watch, summary and statistics as tables or JSON.
//!
//! Exit codes: 0 success; 1 the command ran but not everything succeeded (an import with
//! failed rows); 2 bad usage or input (unknown columns, an unreadable file); 3 the server
//! refused or could not be reached (down, wrong token, missing role).

mod columns;
mod duplicates;
mod export;
mod files;
mod import;
mod show;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use homecoming_client::{Client, Error};

#[derive(Parser)]
#[command(
    name = "homecoming",
    version,
    about = "The Homecoming registry's command line"
)]
struct Cli {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputKind {
    Table,
    Json,
}

/// Where the server is and who is calling.
#[derive(Args, Clone)]
struct Conn {
    /// The server (`https://` for TLS).
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    server: String,
    /// A file holding the bearer token (e.g. the server's first admin token file).
    #[arg(long, global = true, env = "HOMECOMING_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// The bearer token itself (prefer --token-file: a command line is visible to others).
    #[arg(long, global = true, env = "HOMECOMING_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// PEM file of the CA that signed the server's certificate.
    #[arg(long, global = true)]
    tls_ca: Option<PathBuf>,
    /// PEM client certificate and key, for servers that require mutual TLS.
    #[arg(long, global = true, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    #[arg(long, global = true, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The name the server's certificate is checked against (default: the URL's host).
    #[arg(long, global = true)]
    tls_domain: Option<String>,
    /// Deadline of each call, in seconds.
    #[arg(long, global = true, default_value_t = 60)]
    timeout: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Import a roster: CSV, XLSX or JSON Lines (see `homecoming import persons --help`).
    Import {
        #[command(subcommand)]
        what: import::ImportWhat,
    },
    /// Export persons, exchanges, categories or events (streamed page by page).
    Export(export::ExportArgs),
    /// One record.
    Get(show::GetArgs),
    /// Records matching a filter.
    List(show::ListArgs),
    /// Follow changes as they happen (resumes after a broken connection).
    Watch(show::WatchArgs),
    /// What the records of one exchange say (the article's facts).
    Summary {
        /// The exchange's id.
        exchange_id: String,
        /// Human tables, or JSON for scripts.
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: OutputKind,
    },
    /// Persons recorded twice: candidate pairs, best first; `merge` and `dismiss` them.
    Duplicates(duplicates::DuplicatesArgs),
    /// Figures across exchanges by year and by exchange.
    Statistics {
        /// First exchange date included (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Last exchange date included (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
        /// Human tables, or JSON for scripts.
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: OutputKind,
    },
}

/// An error of the command line's own (bad usage or input): exit code 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// The command ran, but not everything succeeded: exit code 1 (the details are printed).
#[derive(Debug)]
pub struct Incomplete;

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not every row was written")
    }
}

impl std::error::Error for Incomplete {}

async fn connect(c: &Conn) -> anyhow::Result<Client> {
    let token = match (&c.token, &c.token_file) {
        (Some(t), _) => Some(t.trim().to_owned()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| {
                    Usage(format!(
                        "cannot read the token file {}: {e}",
                        path.display()
                    ))
                })?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    let mut b = Client::builder(c.server.clone())
        .timeout(Duration::from_secs(c.timeout))
        .connect_timeout(Duration::from_secs(5));
    if let Some(t) = token {
        b = b.bearer_token(t);
    }
    if let Some(ca) = &c.tls_ca {
        let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
        b = b.tls_ca_pem(pem);
    }
    if let (Some(cert), Some(key)) = (&c.tls_cert, &c.tls_key) {
        let cert =
            std::fs::read(cert).with_context(|| format!("cannot read {}", cert.display()))?;
        let key = std::fs::read(key).with_context(|| format!("cannot read {}", key.display()))?;
        b = b.tls_identity_pem(cert, key);
    }
    if let Some(d) = &c.tls_domain {
        b = b.tls_domain(d.clone());
    }
    // Lazily: the first call says whether the server answers, with the error explained.
    Ok(b.connect_lazy()?)
}

/// What an error means for an operator, and its exit code.
fn explain(e: &anyhow::Error, server: &str) -> (String, u8) {
    if let Some(u) = e.downcast_ref::<Usage>() {
        return (u.0.clone(), 2);
    }
    if e.downcast_ref::<Incomplete>().is_some() {
        return (e.to_string(), 1);
    }
    if let Some(err) = e.downcast_ref::<Error>() {
        let msg = match err {
            Error::Unavailable(_) | Error::Transport(_) | Error::DeadlineExceeded(_) => format!(
                "the server at {server} does not answer ({err}); is it running? (--server, HOMECOMING_SERVER)"
            ),
            Error::Unauthenticated(_) => format!(
                "the server refused the token ({err}); give a valid one with --token-file or HOMECOMING_TOKEN"
            ),
            Error::PermissionDenied(_) => {
                format!(
                    "the token's role may not do this ({err}); ask an admin for a token with the role it needs"
                )
            }
            Error::InvalidArgument { violations, .. } if !violations.is_empty() => {
                let list: Vec<String> = violations
                    .iter()
                    .map(|v| format!("  {}: {}", v.field, v.description))
                    .collect();
                format!("{err}\n{}", list.join("\n"))
            }
            other => other.to_string(),
        };
        return (msg, 3);
    }
    (format!("{e:#}"), 2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let server = cli.conn.server.clone();
    let result = run(cli).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let (msg, code) = explain(&e, &server);
            eprintln!("homecoming: {msg}");
            ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let client = connect(&cli.conn).await?;
    match cli.command {
        Command::Import { what } => import::run(&client, what).await,
        Command::Export(args) => export::run(&client, args).await,
        Command::Get(args) => show::get(&client, args).await,
        Command::List(args) => show::list(&client, args).await,
        Command::Watch(args) => show::watch(&client, args).await,
        Command::Summary {
            exchange_id,
            output,
        } => show::summary(&client, &exchange_id, output).await,
        Command::Duplicates(args) => duplicates::run(&client, args).await,
        Command::Statistics { from, to, output } => {
            show::statistics(&client, from.as_deref(), to.as_deref(), output).await
        }
    }
}
