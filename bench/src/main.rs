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
//! - here: the scenarios S0-S6 and the report. `--quick` runs everything on small data for a
//!   few seconds (the CI smoke test): it checks that every scenario runs and loses nothing,
//!   never a timing.

mod ceilings;
mod data;
mod load;
mod server;

use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use homecoming_client::{Client, ListQuery, WatchEvent, proto};
use sea_orm::{ConnectionTrait, Database};
use serde::Serialize;

use crate::{ceilings::Ceilings, load::Stats, server::Server};

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
enum BackendArg {
    Both,
    Sqlite,
    Postgres,
}

#[derive(Subcommand)]
enum Cmd {
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
        /// A PostgreSQL server the benchmark may create a database on.
        #[arg(
            long,
            env = "HOMECOMING_BENCH_POSTGRES_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        postgres_url: String,
        #[arg(long, default_value = "target/release/homecoming-server")]
        server_bin: PathBuf,
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
    },
}

#[derive(Debug, Default, Serialize)]
struct Report {
    backend: String,
    persons: usize,
    ceilings: Ceilings,
    s0_health: Stats,
    s1_get_person: Stats,
    s2_create_c1: Stats,
    s2_create_c32: Stats,
    s3_import_persons_per_second: f64,
    s3_seconds: f64,
    s4_page_1: Stats,
    s4_page_deep: Stats,
    s4_deep_page_number: usize,
    s6_exchange_summary: Stats,
    s5: WatchReport,
    server_cpu_seconds: Vec<(String, f64)>,
    server_rss_mib_after_import: f64,
    server_peak_rss_mib: f64,
}

#[derive(Debug, Default, Serialize)]
struct WatchReport {
    watchers: usize,
    writes: usize,
    delivered: u64,
    missed: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    server_rss_mib: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli { command } = Cli::parse();
    match command {
        Cmd::All {
            backend,
            persons,
            quick,
            postgres_url,
            server_bin,
            seconds,
            watchers,
            json,
            perf_dir,
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
                let report = all(
                    backend,
                    persons,
                    seconds,
                    watchers,
                    &postgres_url,
                    &server_bin,
                    perf_dir.as_deref(),
                )
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

/// What the smoke test checks: every scenario ran and nothing was lost.
fn lost_anything(report: &Report) -> bool {
    report.s5.missed > 0
        || report.s0_health.errors + report.s1_get_person.errors > 0
        || report.s2_create_c1.errors + report.s2_create_c32.errors > 0
        || report.s4_page_1.errors + report.s4_page_deep.errors > 0
        || report.s6_exchange_summary.errors > 0
        || [
            &report.s0_health,
            &report.s1_get_person,
            &report.s2_create_c1,
            &report.s4_page_deep,
            &report.s6_exchange_summary,
        ]
        .iter()
        .any(|s| s.calls == 0)
}

async fn all(
    backend: BackendArg,
    persons: usize,
    seconds: u64,
    watchers: usize,
    postgres_url: &str,
    server_bin: &std::path::Path,
    perf_dir: Option<&std::path::Path>,
) -> anyhow::Result<Report> {
    let duration = Duration::from_secs(seconds);
    let dir = tempfile::tempdir()?;
    let mut report = Report {
        backend: format!("{backend:?}").to_lowercase(),
        persons,
        ..Default::default()
    };
    let database_url = match backend {
        BackendArg::Sqlite => {
            report.ceilings =
                ceilings::sqlite(dir.path(), duration.min(Duration::from_secs(3))).await?;
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            )
        }
        BackendArg::Both => bail!("one backend at a time"),
        BackendArg::Postgres => {
            let name = format!("homecoming_bench_{}", std::process::id());
            let admin = Database::connect(postgres_url)
                .await
                .context("PostgreSQL for the benchmark")?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .await?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            let (prefix, _) = postgres_url.rsplit_once('/').context("postgres url")?;
            let url = format!("{prefix}/{name}");
            report.ceilings =
                ceilings::postgres(&url, duration.min(Duration::from_secs(3))).await?;
            url
        }
    };
    report.ceilings.schema_rows_per_second = schema_ceiling(
        backend,
        dir.path(),
        postgres_url,
        server_bin,
        duration.min(Duration::from_secs(3)),
    )
    .await?;
    eprintln!("ceilings: {:?}", report.ceilings);
    let server = Server::start(server_bin, &database_url, &[]).await?;
    let mut cpu = server.cpu_seconds();
    let mut lap = |name: &str, server: &Server, report: &mut Report| {
        let now = server.cpu_seconds();
        report.server_cpu_seconds.push((name.to_owned(), now - cpu));
        cpu = now;
    };
    let clients = connect(&server.url, &server.token, 4).await?;
    let backend_name = report.backend.clone();
    let profile = |scenario: &str| format!("{backend_name}-{scenario}");

    // S0: the RPC framework's ceiling.
    let perf = server.profile(perf_dir, &profile("s0")).await?;
    let channels: Vec<_> = clients.iter().map(|c| c.channel()).collect();
    report.s0_health = load::closed_loop(32, duration, move |t, _| {
        let mut h = tonic_health::pb::health_client::HealthClient::new(
            channels[t % channels.len()].clone(),
        );
        async move {
            h.check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .is_ok()
        }
    })
    .await;
    server::finish(perf).await;
    lap("s0", &server, &mut report);
    eprintln!("S0 {:.0}/s", report.s0_health.per_second);

    // S3: import through BatchCreatePersons, batches of 1000, two in flight.
    let perf = server.profile(perf_dir, &profile("s3")).await?;
    let (ids, exchange_ids, import) = import(&clients, persons).await?;
    report.s3_seconds = import.as_secs_f64();
    report.s3_import_persons_per_second = ids.len() as f64 / import.as_secs_f64();
    if ids.len() != persons {
        bail!("imported {} persons of {persons}", ids.len());
    }
    server::finish(perf).await;
    lap("s3", &server, &mut report);
    report.server_rss_mib_after_import = server.rss_mib().0;
    eprintln!("S3 {:.0} persons/s", report.s3_import_persons_per_second);

    // S1: GetPerson by random id.
    let perf = server.profile(perf_dir, &profile("s1")).await?;
    let ids = Arc::new(ids);
    let cs = clients.clone();
    let ids1 = ids.clone();
    report.s1_get_person = load::closed_loop(32, duration, move |t, i| {
        let c = cs[t % cs.len()].clone();
        let id = ids1[(mix(t as u64 * 1_000_003 + i) % ids1.len() as u64) as usize].clone();
        async move { c.persons().get(&id).await.is_ok() }
    })
    .await;
    server::finish(perf).await;
    lap("s1", &server, &mut report);
    eprintln!("S1 {:.0}/s", report.s1_get_person.per_second);

    // S2: CreatePerson at concurrency 1 and 32.
    let perf = server.profile(perf_dir, &profile("s2")).await?;
    for (conc, slot) in [(1usize, 0), (32, 1)] {
        let cs = clients.clone();
        let stats = load::closed_loop(conc, duration, move |t, i| {
            let c = cs[t % cs.len()].clone();
            let mut rng = data::Rng::new(mix(t as u64 * 7919 + i + 1));
            let p = data::person(&mut rng, "");
            async move { c.persons().create(p).await.is_ok() }
        })
        .await;
        if slot == 0 {
            report.s2_create_c1 = stats;
        } else {
            report.s2_create_c32 = stats;
        }
    }
    server::finish(perf).await;
    lap("s2", &server, &mut report);
    eprintln!(
        "S2 c1 {:.0}/s, c32 {:.0}/s",
        report.s2_create_c1.per_second, report.s2_create_c32.per_second
    );

    // S4: a filtered, ordered list: page 1 vs a deep page (1000 on the full dataset).
    let perf = server.profile(perf_dir, &profile("s4")).await?;
    let query = ListQuery::new()
        .filter(r#"category_codes:"held-since-2022" AND status = RETURNED"#)
        .order_by("family_name")
        .page_size(10);
    let deep = if persons >= 100_000 { 1000 } else { 10 };
    // Reach the deep page's token with big pages (a token is bound to the filter and the
    // order, not to the page size): item 10 * (deep - 1) is where page `deep` starts.
    let mut token = String::new();
    let mut skipped = 0;
    while skipped < 10 * (deep - 1) {
        let step = (10 * (deep - 1) - skipped).min(1000) as i32;
        let page = clients[0]
            .persons()
            .list_page(&query.clone().page_size(step), &token)
            .await?;
        if page.next_page_token.is_empty() {
            bail!("the filter matched fewer than {deep} pages");
        }
        skipped += page.items.len();
        token = page.next_page_token;
    }
    report.s4_deep_page_number = deep;
    for (t, slot) in [(String::new(), 0), (token, 1)] {
        let cs = clients.clone();
        let q = query.clone();
        let stats = load::closed_loop(8, duration, move |w, _| {
            let c = cs[w % cs.len()].clone();
            let q = q.clone();
            let t = t.clone();
            async move {
                c.persons()
                    .list_page(&q, &t)
                    .await
                    .is_ok_and(|p| p.items.len() == 10)
            }
        })
        .await;
        if slot == 0 {
            report.s4_page_1 = stats;
        } else {
            report.s4_page_deep = stats;
        }
    }
    server::finish(perf).await;
    lap("s4", &server, &mut report);
    eprintln!(
        "S4 page 1 p99 {:.2} ms, page {deep} p99 {:.2} ms",
        report.s4_page_1.p99_ms, report.s4_page_deep.p99_ms
    );

    // S6: GetExchangeSummary of random exchanges (50-400 persons each).
    let perf = server.profile(perf_dir, &profile("s6")).await?;
    let cs = clients.clone();
    let exchange_ids = Arc::new(exchange_ids);
    report.s6_exchange_summary = load::closed_loop(8, duration, move |t, i| {
        let c = cs[t % cs.len()].clone();
        let n = exchange_ids.len() as u64;
        let id = exchange_ids[(mix(t as u64 * 104_729 + i) % n) as usize].clone();
        async move { c.exchanges().summary(&id).await.is_ok() }
    })
    .await;
    server::finish(perf).await;
    lap("s6", &server, &mut report);
    eprintln!(
        "S6 {:.0}/s, p99 {:.2} ms",
        report.s6_exchange_summary.per_second, report.s6_exchange_summary.p99_ms
    );

    // S5: watch fan-out while writes run at 100/s.
    let perf = server.profile(perf_dir, &profile("s5")).await?;
    report.s5 = watch_fan_out(&server, watchers, (seconds * 3).max(3) as usize * 100).await?;
    server::finish(perf).await;
    lap("s5", &server, &mut report);
    report.server_peak_rss_mib = server.rss_mib().1;
    eprintln!(
        "S5 p99 {:.2} ms, missed {}",
        report.s5.p99_ms, report.s5.missed
    );
    server.stop().await;
    if backend == BackendArg::Postgres
        && let Some((_, name)) = database_url.rsplit_once('/')
    {
        let admin = Database::connect(postgres_url).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\""))
            .await?;
    }
    Ok(report)
}

/// Batched person rows into a database the server migrated (its whole schema), scratch.
async fn schema_ceiling(
    backend: BackendArg,
    dir: &std::path::Path,
    postgres_url: &str,
    server_bin: &std::path::Path,
    duration: Duration,
) -> anyhow::Result<f64> {
    let migrate = |url: String| async move {
        let status = tokio::process::Command::new(server_bin)
            .args(["--database-url", &url, "migrate"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await?;
        if !status.success() {
            bail!("homecoming-server migrate failed on {url}");
        }
        anyhow::Ok(url)
    };
    match backend {
        BackendArg::Postgres => {
            let name = format!("homecoming_bench_ceiling_{}", std::process::id());
            let admin = Database::connect(postgres_url).await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .await?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            let (prefix, _) = postgres_url.rsplit_once('/').context("postgres url")?;
            let url = migrate(format!("{prefix}/{name}")).await?;
            let rate = ceilings::schema_rows(&url, duration).await;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .await?;
            rate
        }
        _ => {
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.join("schema-ceiling.db").display()
            );
            ceilings::schema_rows(&migrate(url).await?, duration).await
        }
    }
}

fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

async fn connect(url: &str, token: &str, n: usize) -> anyhow::Result<Vec<Client>> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(
            Client::builder(url)
                .bearer_token(token)
                .timeout(Duration::from_secs(120))
                .connect()
                .await?,
        );
    }
    Ok(out)
}

/// Categories, exchanges of 50-400 persons, and the persons; returns the person ids.
async fn import(
    clients: &[Client],
    persons: usize,
) -> anyhow::Result<(Vec<String>, Vec<String>, Duration)> {
    let c = &clients[0];
    for (code, kind) in data::CATEGORIES {
        c.categories()
            .create_with_request_id(
                proto::Category {
                    code: (*code).to_owned(),
                    title: format!("Category {code}"),
                    kind: *kind as i32,
                    ..Default::default()
                },
                format!("bench-category-{code}"),
            )
            .await?;
    }
    let mut rng = data::Rng::new(20250704);
    let mut batches: Vec<Vec<proto::Person>> = Vec::new();
    let mut current = Vec::with_capacity(1000);
    let mut made = 0;
    let mut exchange_no = 0;
    let mut exchange_ids = Vec::new();
    let start = Instant::now();
    while made < persons {
        let x = c
            .exchanges()
            .create(data::exchange(exchange_no, &mut rng))
            .await?;
        exchange_no += 1;
        exchange_ids.push(x.id.clone());
        let size = data::exchange_size(&mut rng).min(persons - made);
        for _ in 0..size {
            current.push(data::person(&mut rng, &x.id));
            if current.len() == 1000 {
                batches.push(std::mem::take(&mut current));
            }
        }
        made += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    let done = Arc::new(AtomicU64::new(0));
    let results = futures::stream::iter(batches.into_iter().enumerate().map(|(i, batch)| {
        let c = clients[i % clients.len()].clone();
        let done = done.clone();
        async move {
            let r = c.persons().batch_create(batch).await;
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(100) {
                eprintln!("  imported {} batches", n);
            }
            r
        }
    }))
    .buffered(2)
    .collect::<Vec<_>>()
    .await;
    let mut ids = Vec::with_capacity(persons);
    for r in results {
        ids.extend(r?.into_iter().map(|p| p.id));
    }
    Ok((ids, exchange_ids, start.elapsed()))
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

/// W watchers of categories while `writes` categories are created at 100/s.
async fn watch_fan_out(
    server: &Server,
    watchers: usize,
    writes: usize,
) -> anyhow::Result<WatchReport> {
    let clients = connect(&server.url, &server.token, watchers.div_ceil(100).max(1)).await?;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(watchers.max(1));
    let tag = format!("s5-{}", std::process::id());
    let mut tasks = Vec::new();
    for w in 0..watchers {
        let client = clients[w % clients.len()].clone();
        let ready = ready_tx.clone();
        let tag = tag.clone();
        tasks.push(tokio::spawn(async move {
            let mut stream = Box::pin(
                client
                    .watch()
                    .types([proto::ResourceType::Category])
                    .stream(),
            );
            let mut lat = Vec::with_capacity(writes);
            let mut seen = HashSet::new();
            while seen.len() < writes {
                match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
                    Ok(Some(Ok(WatchEvent::Progress(_)))) => {
                        let _ = ready.send(()).await;
                    }
                    Ok(Some(Ok(WatchEvent::Events(b)))) => {
                        let now = now_micros();
                        for e in b.events {
                            if let Some(proto::event::Resource::Category(c)) = &e.resource
                                && c.code.starts_with(&tag)
                                && seen.insert(c.code.clone())
                            {
                                let t = e
                                    .time
                                    .map(|t| t.seconds * 1_000_000 + i64::from(t.nanos) / 1000)
                                    .unwrap_or(now);
                                lat.push((now - t).max(0) as u64);
                            }
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
            (seen.len(), lat)
        }));
    }
    drop(ready_tx);
    for _ in 0..watchers {
        ready_rx.recv().await;
    }
    let writer = clients[0].clone();
    let start = Instant::now();
    for i in 0..writes {
        tokio::time::sleep_until((start + Duration::from_millis(10) * i as u32).into()).await;
        writer
            .categories()
            .create(proto::Category {
                code: format!("{tag}-{i}"),
                title: "Watch probe".into(),
                ..Default::default()
            })
            .await?;
    }
    let rss = server.rss_mib().0;
    let mut all = Vec::new();
    let mut delivered = 0u64;
    for t in tasks {
        let (n, lat) = t.await?;
        delivered += n as u64;
        all.extend(lat);
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |v| *v as f64 / 1000.0)
    };
    Ok(WatchReport {
        watchers,
        writes,
        delivered,
        missed: (watchers * writes) as u64 - delivered,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        server_rss_mib: rss,
    })
}

fn print_table(r: &Report) {
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    println!("\n| {} | figure | ceiling | ratio |", r.backend);
    println!("|---|---|---|---|");
    println!(
        "| S0 Health/Check | {:.0}/s, p99 {:.2} ms | (the RPC framework) | 1.00 |",
        r.s0_health.per_second, r.s0_health.p99_ms
    );
    println!(
        "| S1 GetPerson ({} persons) | {:.0}/s, p99 {:.2} ms | S0 {:.0}/s; raw PK reads {:.0}/s | {:.2} of S0; {:.2} of raw |",
        r.persons,
        r.s1_get_person.per_second,
        r.s1_get_person.p99_ms,
        r.s0_health.per_second,
        r.ceilings.pk_reads_per_second,
        ratio(r.s1_get_person.per_second, r.s0_health.per_second),
        ratio(r.s1_get_person.per_second, r.ceilings.pk_reads_per_second)
    );
    println!(
        "| S2 CreatePerson c=1 | {:.0}/s, p99 {:.2} ms | raw commits {:.0}/s | {:.2} |",
        r.s2_create_c1.per_second,
        r.s2_create_c1.p99_ms,
        r.ceilings.commits_per_second,
        ratio(r.s2_create_c1.per_second, r.ceilings.commits_per_second)
    );
    println!(
        "| S2 CreatePerson c=32 | {:.0}/s, p99 {:.2} ms | raw commits {:.0}/s | {:.2} |",
        r.s2_create_c32.per_second,
        r.s2_create_c32.p99_ms,
        r.ceilings.commits_per_second,
        ratio(r.s2_create_c32.per_second, r.ceilings.commits_per_second)
    );
    println!(
        "| S3 import {} persons | {:.0} persons/s ({:.1} s) | raw batched inserts {:.0} rows/s; person rows into the registry schema {:.0}/s | {:.3} of raw; {:.2} of schema |",
        r.persons,
        r.s3_import_persons_per_second,
        r.s3_seconds,
        r.ceilings.batched_rows_per_second,
        r.ceilings.schema_rows_per_second,
        ratio(
            r.s3_import_persons_per_second,
            r.ceilings.batched_rows_per_second
        ),
        ratio(
            r.s3_import_persons_per_second,
            r.ceilings.schema_rows_per_second
        )
    );
    println!(
        "| S4 ListPersons page 1 / page {} | p99 {:.2} / {:.2} ms, {:.0} / {:.0} per s | page 1 | {:.2} (p99 deep / first) |",
        r.s4_deep_page_number,
        r.s4_page_1.p99_ms,
        r.s4_page_deep.p99_ms,
        r.s4_page_1.per_second,
        r.s4_page_deep.per_second,
        ratio(r.s4_page_deep.p99_ms, r.s4_page_1.p99_ms)
    );
    println!(
        "| S6 GetExchangeSummary (50-400 persons) | {:.0}/s, p99 {:.2} ms | S0 {:.0}/s | {:.2} of S0 |",
        r.s6_exchange_summary.per_second,
        r.s6_exchange_summary.p99_ms,
        r.s0_health.per_second,
        ratio(r.s6_exchange_summary.per_second, r.s0_health.per_second)
    );
    println!(
        "| S5 watch fan-out {} watchers, {} writes at 100/s | p50 {:.2} ms, p99 {:.2} ms, missed {} | 100 ms p99 target | {:.2} |",
        r.s5.watchers,
        r.s5.writes,
        r.s5.p50_ms,
        r.s5.p99_ms,
        r.s5.missed,
        ratio(r.s5.p99_ms, 100.0)
    );
    println!(
        "| server memory | RSS {:.0} MiB after import, {:.0} MiB with watchers, peak {:.0} MiB | 300 MiB target | {:.2} |",
        r.server_rss_mib_after_import,
        r.s5.server_rss_mib,
        r.server_peak_rss_mib,
        ratio(r.server_peak_rss_mib, 300.0)
    );
    println!(
        "| server CPU seconds per scenario | {} | | |\n",
        r.server_cpu_seconds
            .iter()
            .map(|(n, s)| format!("{n} {s:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
