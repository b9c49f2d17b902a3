//! Configuration: command-line flags, each with an environment fallback (`HOMECOMING_*`).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteSynchronous {
    /// An acknowledged write survives power loss (fsync on every commit).
    Full,
    /// An acknowledged write survives a crash of the process; the last commits may be lost on
    /// power loss. Faster.
    Normal,
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "homecoming-server",
    version,
    about = "Homecoming: the registry of prisoner exchanges, over gRPC"
)]
pub struct Config {
    /// Address to serve gRPC on.
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_LISTEN",
        default_value = "127.0.0.1:50051"
    )]
    pub listen: SocketAddr,

    /// `sqlite://FILE?mode=rwc` (created if missing) or `postgres://USER@HOST:PORT/DB`.
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_DATABASE_URL",
        default_value = "sqlite://homecoming.db?mode=rwc"
    )]
    pub database_url: String,

    /// Where Prometheus scrapes `GET /metrics` (plain HTTP, a port of its own), or `off`.
    /// Loopback by default: the metrics hold no personal data, but say how busy the registry is.
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_METRICS_LISTEN",
        default_value = "127.0.0.1:9464",
        value_parser = parse_listen_or_off
    )]
    pub metrics_listen: MaybeAddr,

    /// Export a span per call and per store operation to this OTLP/gRPC collector
    /// (`http://127.0.0.1:4317`); off when not given.
    #[arg(long, global = true, env = "HOMECOMING_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// Log format; the level comes from RUST_LOG (default `info`).
    #[arg(long, global = true, env = "HOMECOMING_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Largest request or response message, in bytes.
    #[arg(long, global = true, env = "HOMECOMING_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_message_bytes: usize,

    /// Requests handled at once across all connections; more wait.
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_MAX_CONCURRENT_REQUESTS",
        default_value_t = 1024
    )]
    pub max_concurrent_requests: usize,

    /// Connections open at once; a new one beyond is closed at accept (keep it below the
    /// process's file-descriptor limit, `ulimit -n`, less the database connections).
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_MAX_CONNECTIONS",
        default_value_t = 1000
    )]
    pub max_connections: usize,

    /// A connection that sends nothing this long after it opened is closed.
    #[arg(long, global = true, env = "HOMECOMING_CONNECTION_FIRST_BYTE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub connection_first_byte_timeout: Duration,

    /// A connection is asked to go away (HTTP/2 GOAWAY; clients reconnect, watches resume)
    /// after this long, idle or not; `0`: never.
    #[arg(long, global = true, env = "HOMECOMING_MAX_CONNECTION_AGE", default_value = "1h", value_parser = parse_duration)]
    pub max_connection_age: Duration,

    /// After `--max-connection-age`, calls still running on the connection get this long
    /// before it is closed.
    #[arg(long, global = true, env = "HOMECOMING_MAX_CONNECTION_AGE_GRACE", default_value = "10m", value_parser = parse_duration)]
    pub max_connection_age_grace: Duration,

    /// How often an HTTP/2 ping checks that a connection's peer is still there.
    #[arg(long, global = true, env = "HOMECOMING_HTTP2_KEEPALIVE_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub http2_keepalive_interval: Duration,

    /// A peer that does not answer a ping within this is gone: its connection is closed.
    #[arg(long, global = true, env = "HOMECOMING_HTTP2_KEEPALIVE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub http2_keepalive_timeout: Duration,

    /// Requests handled at once on one connection (HTTP/2 streams).
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_MAX_CONCURRENT_STREAMS",
        default_value_t = 256
    )]
    pub max_concurrent_streams: u32,

    /// Longest a request may run before it fails with DEADLINE_EXCEEDED/CANCELLED (e.g. `30s`,
    /// `500ms`, `2m`). A shorter client deadline wins.
    #[arg(long, global = true, env = "HOMECOMING_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// How long in-flight calls may take to finish after SIGINT/SIGTERM.
    #[arg(long, global = true, env = "HOMECOMING_SHUTDOWN_GRACE", default_value = "20s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Database connections (SQLite: readers, beside the one writer; PostgreSQL: the pool).
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_DB_MAX_CONNECTIONS",
        default_value_t = 8
    )]
    pub db_max_connections: u32,

    /// SQLite durability.
    #[arg(long, global = true, env = "HOMECOMING_SQLITE_SYNCHRONOUS", value_enum, default_value_t = SqliteSynchronous::Full)]
    pub sqlite_synchronous: SqliteSynchronous,

    /// Find duplicate candidates when persons are written (created, updated, imported).
    #[arg(long, global = true, env = "HOMECOMING_DUPLICATE_SEARCH", default_value_t = true, action = clap::ArgAction::Set)]
    pub duplicate_search: bool,

    /// Idle time after which a watch that asked for progress gets a bookmark.
    #[arg(long, global = true, env = "HOMECOMING_WATCH_PROGRESS_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    pub watch_progress_interval: Duration,

    /// How often the change log is re-read for watchers when no notification came (the fallback
    /// for commits of other replicas).
    #[arg(long, global = true, env = "HOMECOMING_WATCH_POLL_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub watch_poll_interval: Duration,

    /// Change log entries (what watches resume from) are kept at least this long.
    #[arg(long, global = true, env = "HOMECOMING_CHANGE_LOG_RETENTION", default_value = "7d", value_parser = parse_duration)]
    pub change_log_retention: Duration,

    /// Keep at most this many revisions in the change log (0: no limit by count; retention
    /// still applies).
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_CHANGE_LOG_MAX_REVISIONS",
        default_value_t = 0
    )]
    pub change_log_max_revisions: i64,

    /// Events kept decoded in memory for watchers, in whole revisions (older ones are read from
    /// the database).
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_WATCH_CACHE_EVENTS",
        default_value_t = 10_000
    )]
    pub watch_cache_events: usize,

    /// The most the watch cache may hold, in bytes of change log rows (whole revisions; at
    /// least the newest): imports write revisions of a thousand persons.
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_WATCH_CACHE_BYTES",
        default_value_t = 16 << 20
    )]
    pub watch_cache_bytes: usize,

    /// SQLite: how often the audit events of reads, committed to the audit journal beside the
    /// database file (`FILE-audit`), are moved into the database's trail. Each move is a commit
    /// that empties the readers' page caches; ListAuditEvents and backups move first anyway.
    #[arg(long, global = true, env = "HOMECOMING_AUDIT_JOURNAL_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub audit_journal_interval: Duration,

    /// How long request ids (AIP-155) are remembered: a retry within it returns the first
    /// result; an older one creates again.
    #[arg(long, global = true, env = "HOMECOMING_REQUEST_ID_RETENTION", default_value = "7d", value_parser = parse_duration)]
    pub request_id_retention: Duration,

    /// How often the change log is compacted.
    #[arg(long, global = true, env = "HOMECOMING_COMPACTION_INTERVAL", default_value = "10m", value_parser = parse_duration)]
    pub compaction_interval: Duration,

    /// Where the first start writes the administrator token it creates (only when the
    /// database has no tokens). Default: beside the SQLite file (`<file>.admin-token`), or
    /// `homecoming.admin-token` in the working directory for PostgreSQL.
    #[arg(long, global = true, env = "HOMECOMING_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,

    /// How long a token looked up is trusted before it is read again (a revocation on another
    /// replica, or with `token revoke`, takes effect within it).
    #[arg(long, global = true, env = "HOMECOMING_TOKEN_CACHE_TTL", default_value = "2s", value_parser = parse_duration)]
    pub token_cache_ttl: Duration,

    /// Audit events of reads that may wait to be written; when full, reads wait.
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_AUDIT_QUEUE",
        default_value_t = 10_000
    )]
    pub audit_queue: usize,

    /// PEM certificate chain to serve TLS with (with --tls-key).
    #[arg(long, global = true, env = "HOMECOMING_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, global = true, env = "HOMECOMING_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// PEM CA certificate(s): clients must present a certificate signed by one (mutual TLS).
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_TLS_CLIENT_CA",
        requires = "tls_cert"
    )]
    pub tls_client_ca: Option<PathBuf>,

    /// Serve without TLS on an address other than loopback (refused otherwise: tokens and
    /// personal data would cross the network in clear text).
    #[arg(
        long,
        global = true,
        env = "HOMECOMING_ALLOW_INSECURE",
        default_value_t = false
    )]
    pub allow_insecure: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve gRPC (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo data (the 4 July 2025 exchange stage and a synthetic roster) and exit.
    /// Running it again changes nothing.
    DemoData,
    /// A consistent copy of the SQLite database while the server runs (PostgreSQL: pg_dump).
    Backup {
        /// Where the copy goes (must not exist); created readable by its owner only.
        file: PathBuf,
    },
    /// Manage bearer tokens directly in the database (works while the server runs).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Clone, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (shown this once) on standard output.
    Create {
        /// Unique name, e.g. `ops-bot` (lowercase letters, digits, . _ -).
        #[arg(long)]
        name: String,
        /// viewer, editor or admin.
        #[arg(long)]
        role: String,
        /// Expire after this long (e.g. `90d`); default: never.
        #[arg(long, value_parser = parse_duration)]
        expires_in: Option<Duration>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id or name.
    Revoke {
        /// The token's id or name.
        token: String,
    },
}

impl Config {
    /// Reads the TLS files the configuration names; refuses clear text on a non-loopback address
    /// unless `--allow-insecure`.
    pub fn tls(&self) -> anyhow::Result<Option<ServerTlsConfig>> {
        let config = self;
        let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
        let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
            if !config.listen.ip().is_loopback() && !config.allow_insecure {
                anyhow::bail!(
                    "refusing to serve {} without TLS: give --tls-cert and --tls-key, or \
                     --allow-insecure if the network is trusted (tokens and personal data would \
                     travel in clear text)",
                    config.listen
                );
            }
            return Ok(None);
        };
        let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
        if let Some(ca) = &config.tls_client_ca {
            tls = tls.client_ca_root(Certificate::from_pem(read(ca)?));
        }
        Ok(Some(tls))
    }

    /// Where the bootstrap admin token goes.
    pub fn admin_token_path(&self) -> PathBuf {
        if let Some(p) = &self.admin_token_file {
            return p.clone();
        }
        match sqlite_file(&self.database_url) {
            Some(file) => PathBuf::from(format!("{file}.admin-token")),
            None => PathBuf::from("homecoming.admin-token"),
        }
    }
}

pub(crate) use crate::store::sqlite_file;

impl Config {
    /// A configuration from arguments (the first is the program name), without the environment
    /// mattering beyond clap's fallbacks. Handy in tests.
    pub fn from_args<I, T>(args: I) -> Result<Config, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Config::try_parse_from(args)
    }
}

/// `250ms`, `30s`, `5m`, `1h`, `7d`, or a bare number of seconds.
/// An address to listen on, or none (`off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaybeAddr(pub Option<SocketAddr>);

pub fn parse_listen_or_off(s: &str) -> Result<MaybeAddr, String> {
    match s.trim() {
        "off" | "none" | "" => Ok(MaybeAddr(None)),
        a => a
            .parse()
            .map(|a| MaybeAddr(Some(a)))
            .map_err(|e| format!("{a:?} is not an address like 127.0.0.1:9464, nor `off`: {e}")),
    }
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30s, 500ms or 2m"))?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        "d" => Ok(Duration::from_secs(n * 86_400)),
        other => Err(format!("unknown duration unit {other:?} (ms, s, m, h, d)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_common_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
    }

    #[test]
    fn defaults_serve_on_localhost_with_a_sqlite_file() {
        let c = Config::from_args(["homecoming-server"]);
        let c = c.ok();
        assert_eq!(
            c.as_ref().map(|c| c.listen.to_string()),
            Some("127.0.0.1:50051".into())
        );
        assert!(c.is_some_and(|c| c.database_url.starts_with("sqlite://homecoming.db")));
    }

    #[test]
    fn global_flags_are_accepted_after_the_subcommand() {
        let c = Config::from_args([
            "homecoming-server",
            "token",
            "list",
            "--database-url",
            "postgres://u@h/db",
        ]);
        assert_eq!(
            c.ok().map(|c| c.database_url),
            Some("postgres://u@h/db".into())
        );
    }

    #[test]
    fn the_admin_token_file_lies_beside_the_sqlite_file() {
        let c = Config::from_args([
            "homecoming-server",
            "--database-url",
            "sqlite:///tmp/x/r.db?mode=rwc",
        ]);
        assert_eq!(
            c.ok().map(|c| c.admin_token_path()),
            Some(PathBuf::from("/tmp/x/r.db.admin-token"))
        );
        let c = Config::from_args(["homecoming-server", "--database-url", "postgres://u@h/db"]);
        assert_eq!(
            c.ok().map(|c| c.admin_token_path()),
            Some(PathBuf::from("homecoming.admin-token"))
        );
    }
}
