//! The scenarios S0-S6 of one backend's run, against a release server this run starts on a
//! fresh database (see BENCHMARKS.md for what each measures and against which ceiling).

use std::{
    collections::HashSet,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, bail};
use futures::StreamExt;
use homecoming_client::{Client, ListQuery, WatchEvent, proto};
use sea_orm::{ConnectionTrait, Database};

use crate::{
    BackendArg, ceilings, cli, data, load,
    report::{OrderingStats, Report, WatchReport},
    server::{self, Server},
};

/// What one run is given.
pub struct Plan<'a> {
    pub backend: BackendArg,
    pub persons: usize,
    pub seconds: u64,
    pub watchers: usize,
    pub postgres_url: &'a str,
    pub server_bin: &'a Path,
    pub cli_bin: &'a Path,
    pub perf_dir: Option<&'a Path>,
    /// Serve metrics (and so count every call) or run with `--metrics-listen off`.
    pub metrics: bool,
    /// Where the last scrape goes.
    pub scrape: Option<&'a Path>,
    /// Find duplicate candidates on writes, or run with `--duplicate-search false`.
    pub duplicate_search: bool,
    /// Leave the dataset in place at the end.
    pub keep_database: bool,
}

/// A scratch PostgreSQL database named `name` on the server of `postgres_url`, made afresh;
/// returns its URL.
pub async fn scratch_database(postgres_url: &str, name: &str) -> anyhow::Result<String> {
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
    Ok(format!("{prefix}/{name}"))
}

pub async fn drop_database(postgres_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = Database::connect(postgres_url).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\""))
        .await?;
    Ok(())
}

/// A run in progress: the server, its clients, and the report being filled.
struct Run<'a> {
    plan: &'a Plan<'a>,
    server: Server,
    clients: Vec<Client>,
    duration: Duration,
    report: Report,
    cpu: f64,
}

impl Run<'_> {
    /// Runs one scenario under a profile (with `--perf-dir`) and books the server's CPU time.
    async fn scenario<T>(
        &mut self,
        name: &str,
        f: impl AsyncFnOnce(&Self) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let profile = format!("{}-{name}", self.report.backend);
        let perf = self.server.profile(self.plan.perf_dir, &profile).await?;
        let out = f(self).await;
        server::finish(perf).await;
        let now = self.server.cpu_seconds();
        self.report
            .server_cpu_seconds
            .push((name.to_owned(), now - self.cpu));
        self.cpu = now;
        out
    }
}

/// Every scenario on one backend.
pub async fn all(plan: &Plan<'_>) -> anyhow::Result<Report> {
    let duration = Duration::from_secs(plan.seconds);
    let short = duration.min(Duration::from_secs(3));
    let dir = tempfile::tempdir()?;
    let mut report = Report {
        backend: format!("{:?}", plan.backend).to_lowercase(),
        persons: plan.persons,
        ..Default::default()
    };
    let scratch = format!("homecoming_bench_{}", std::process::id());
    let database_url = match plan.backend {
        BackendArg::Sqlite => {
            report.ceilings = ceilings::sqlite(dir.path(), short).await?;
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            )
        }
        BackendArg::Both => bail!("one backend at a time"),
        BackendArg::Postgres => {
            let url = scratch_database(plan.postgres_url, &scratch).await?;
            report.ceilings = ceilings::postgres(&url, short).await?;
            url
        }
    };
    report.ceilings.schema_rows_per_second = schema_ceiling(plan, dir.path(), short).await?;
    eprintln!("ceilings: {:?}", report.ceilings);
    let metrics_addr = format!(
        "127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port()
    );
    let metrics_arg = if plan.metrics {
        metrics_addr.as_str()
    } else {
        "off"
    };
    let search = if plan.duplicate_search {
        "true"
    } else {
        "false"
    };
    let server = Server::start(
        plan.server_bin,
        &database_url,
        &[
            "--metrics-listen",
            metrics_arg,
            "--duplicate-search",
            search,
        ],
    )
    .await?;
    let clients = connect(&server.url, &server.token, 4).await?;
    let mut run = Run {
        plan,
        cpu: server.cpu_seconds(),
        server,
        clients,
        duration,
        report,
    };

    run.report.s0_health = run.scenario("s0", s0_health).await?;
    eprintln!("S0 {:.0}/s", run.report.s0_health.per_second);

    let (ids, exchange_ids, import) = run.scenario("s3", s3_import).await?;
    run.report.s3_seconds = import.as_secs_f64();
    run.report.s3_import_persons_per_second = ids.len() as f64 / import.as_secs_f64();
    run.report.server_rss_mib_after_import = run.server.rss_mib().0;
    eprintln!(
        "S3 {:.0} persons/s",
        run.report.s3_import_persons_per_second
    );

    let ids = Arc::new(ids);
    run.report.s1_get_person = run
        .scenario("s1", async |r| Ok(s1_get_person(r, ids.clone()).await))
        .await?;
    eprintln!("S1 {:.0}/s", run.report.s1_get_person.per_second);
    run.report.s1z_get_person_zipf = run
        .scenario("s1z", async |r| {
            Ok(s1z_get_person_zipf(r, ids.clone()).await)
        })
        .await?;
    eprintln!("S1z {:.0}/s", run.report.s1z_get_person_zipf.per_second);

    let (c1, c32) = run.scenario("s2", s2_create).await?;
    (run.report.s2_create_c1, run.report.s2_create_c32) = (c1, c32);
    eprintln!("S2 c1 {:.0}/s, c32 {:.0}/s", c1.per_second, c32.per_second);

    let (deep, first, deep_page) = run
        .scenario("s4", async |r| s4_pages(r, "family_name", r.duration).await)
        .await?;
    run.report.s4_deep_page_number = deep;
    (run.report.s4_page_1, run.report.s4_page_deep) = (first, deep_page);
    eprintln!(
        "S4 page 1 p99 {:.2} ms, page {deep} p99 {:.2} ms",
        first.p99_ms, deep_page.p99_ms
    );
    run.report.s4_orderings = run
        .scenario("s4o", async |r| {
            let mut out = Vec::new();
            for order_by in ORDERINGS {
                let (_, page_1, page_deep) = s4_pages(r, order_by, short).await?;
                eprintln!(
                    "S4o {order_by}: p99 {:.2} / {:.2} ms",
                    page_1.p99_ms, page_deep.p99_ms
                );
                out.push(OrderingStats {
                    order_by: (*order_by).to_owned(),
                    page_1,
                    page_deep,
                });
            }
            Ok(out)
        })
        .await?;

    let first_exchange = exchange_ids.first().cloned().unwrap_or_default();
    let exchange_ids = Arc::new(exchange_ids);
    let s6 = run
        .scenario("s6", async |r| Ok(s6_summary(r, exchange_ids).await))
        .await?;
    run.report.s6_exchange_summary = s6;
    eprintln!("S6 {:.0}/s, p99 {:.2} ms", s6.per_second, s6.p99_ms);

    run.report.events = seed_events(&database_url, &ids).await?;
    eprintln!("seeded {} events", run.report.events);
    run.report.s7_list_person_events = run
        .scenario("s7", async |r| Ok(s7_timeline(r, ids.clone()).await))
        .await?;
    eprintln!(
        "S7 {:.0}/s, p99 {:.2} ms",
        run.report.s7_list_person_events.per_second, run.report.s7_list_person_events.p99_ms
    );
    run.report.s8_get_person_history = run
        .scenario("s8", async |r| Ok(s8_history(r, ids.clone()).await))
        .await?;
    eprintln!(
        "S8 {:.0}/s, p99 {:.2} ms",
        run.report.s8_get_person_history.per_second, run.report.s8_get_person_history.p99_ms
    );

    // S11: the duplicate candidates S3 and S2 found.
    run.report.candidates = count_rows(&database_url, "duplicate_candidates").await?;
    let (registry, person) = run
        .scenario("s11", async |r| Ok(s11_candidates(r, ids.clone()).await))
        .await?;
    (
        run.report.s11_candidates_registry,
        run.report.s11_candidates_person,
    ) = (registry, person);
    eprintln!(
        "S11 {} candidates; registry page {:.0}/s p99 {:.2} ms, one person's {:.0}/s p99 {:.2} ms",
        run.report.candidates,
        registry.per_second,
        registry.p99_ms,
        person.per_second,
        person.p99_ms
    );

    // S9 and S10: rosters through the command line.
    let rows = plan.persons.min(100_000);
    let s9 = run
        .scenario("s9", async |r| {
            let (url, token) = (&r.server.url, &r.server.token);
            cli::s9_import(plan.cli_bin, url, token, dir.path(), rows, &first_exchange).await
        })
        .await?;
    run.report.s9_ratio_to_s3 = s9.rows_per_second / run.report.s3_import_persons_per_second;
    run.report.s9_cli_import = s9;
    eprintln!(
        "S9 {:.0} rows/s ({:.2} of S3), CLI peak RSS {:.0} MiB",
        s9.rows_per_second, run.report.s9_ratio_to_s3, s9.peak_rss_mib
    );
    let everyone = (plan.persons + rows) as u64;
    let s10 = run
        .scenario("s10", async |r| {
            let (url, token) = (&r.server.url, &r.server.token);
            cli::s10_export(plan.cli_bin, url, token, dir.path(), everyone).await
        })
        .await?;
    run.report.s10_cli_export = s10;
    eprintln!(
        "S10 {} rows at {:.0} rows/s, CLI peak RSS {:.0} MiB",
        s10.rows, s10.rows_per_second, s10.peak_rss_mib
    );

    let writes = (plan.seconds * 3).max(3) as usize * 100;
    run.report.s5 = run
        .scenario("s5", async |r| {
            watch_fan_out(&r.server, plan.watchers, writes).await
        })
        .await?;
    run.report.server_peak_rss_mib = run.server.rss_mib().1;
    eprintln!(
        "S5 p99 {:.2} ms, missed {}",
        run.report.s5.p99_ms, run.report.s5.missed
    );
    if let (Some(path), true) = (plan.scrape, plan.metrics) {
        let text = scrape(&metrics_addr)?;
        let name = match plan.backend {
            BackendArg::Postgres => "postgres",
            _ => "sqlite",
        };
        std::fs::write(path.with_extension(name), text)?;
    }
    run.server.stop().await;
    if plan.keep_database {
        match plan.backend {
            BackendArg::Postgres => eprintln!("kept the database {database_url}"),
            _ => eprintln!("kept the database {}", dir.keep().display()),
        }
    } else if plan.backend == BackendArg::Postgres {
        drop_database(plan.postgres_url, &scratch).await?;
    }
    Ok(run.report)
}

/// S0: the RPC framework's ceiling (health checks, 32 in flight).
async fn s0_health(run: &Run<'_>) -> anyhow::Result<load::Stats> {
    let channels: Vec<_> = run.clients.iter().map(|c| c.channel()).collect();
    Ok(load::closed_loop(32, run.duration, move |t, _| {
        let mut h = tonic_health::pb::health_client::HealthClient::new(
            channels[t % channels.len()].clone(),
        );
        async move {
            h.check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .is_ok()
        }
    })
    .await)
}

/// S3: the import through BatchCreatePersons, batches of 1000, two in flight.
async fn s3_import(run: &Run<'_>) -> anyhow::Result<(Vec<String>, Vec<String>, Duration)> {
    let persons = run.plan.persons;
    let (ids, exchange_ids, took) = import(&run.clients, persons).await?;
    if ids.len() != persons {
        bail!("imported {} persons of {persons}", ids.len());
    }
    Ok((ids, exchange_ids, took))
}

/// S1: GetPerson by random id, 32 in flight.
async fn s1_get_person(run: &Run<'_>, ids: Arc<Vec<String>>) -> load::Stats {
    let cs = run.clients.clone();
    load::closed_loop(32, run.duration, move |t, i| {
        let c = cs[t % cs.len()].clone();
        let id = ids[(mix(t as u64 * 1_000_003 + i) % ids.len() as u64) as usize].clone();
        async move { c.persons().get(&id).await.is_ok() }
    })
    .await
}

/// S2: CreatePerson at concurrency 1 and 32.
async fn s2_create(run: &Run<'_>) -> anyhow::Result<(load::Stats, load::Stats)> {
    let at = |conc: usize| {
        let cs = run.clients.clone();
        load::closed_loop(conc, run.duration, move |t, i| {
            let c = cs[t % cs.len()].clone();
            let mut rng = data::Rng::new(mix(t as u64 * 7919 + i + 1));
            let p = data::person(&mut rng, "");
            async move { c.persons().create(p).await.is_ok() }
        })
    };
    let c1 = at(1).await;
    Ok((c1, at(32).await))
}

/// S1z: GetPerson with a skewed choice, 32 in flight: the id of rank `k` (the newest person
/// first, as a service reads recently returned persons most) with probability ∝ 1/k.
async fn s1z_get_person_zipf(run: &Run<'_>, ids: Arc<Vec<String>>) -> load::Stats {
    let cs = run.clients.clone();
    let cdf = Arc::new(zipf_cdf(ids.len()));
    load::closed_loop(32, run.duration, move |t, i| {
        let c = cs[t % cs.len()].clone();
        let u = (mix(t as u64 * 1_000_003 + i) >> 11) as f64 / (1u64 << 53) as f64;
        let rank = cdf.partition_point(|&p| p < u).min(ids.len() - 1);
        let id = ids[ids.len() - 1 - rank].clone();
        async move { c.persons().get(&id).await.is_ok() }
    })
    .await
}

/// The cumulative Zipf (s = 1) distribution over ranks `0..n`.
fn zipf_cdf(n: usize) -> Vec<f64> {
    let mut cdf: Vec<f64> = (1..=n).map(|k| 1.0 / k as f64).collect();
    let mut sum = 0.0;
    for p in &mut cdf {
        sum += *p;
        *p = sum;
    }
    for p in &mut cdf {
        *p /= sum;
    }
    cdf
}

/// The orderings S4o measures: every sortable field of a person (`id` is the default order),
/// and a descending one of each kind of key.
const ORDERINGS: &[&str] = &[
    "id",
    "family_name desc",
    "given_name",
    "patronymic",
    "date_of_birth",
    "date_of_birth desc",
    "place_of_birth",
    "citizenship",
    "rank",
    "unit",
    "capture_date",
    "capture_region",
    "exchange_id",
    "service_number",
    "create_time",
    "update_time desc",
];

/// S4: a filtered, ordered list: page 1 vs a deep page (1000 on the full dataset), 8 in flight.
/// Returns the deep page's number and both pages' figures.
async fn s4_pages(
    run: &Run<'_>,
    order_by: &str,
    duration: Duration,
) -> anyhow::Result<(usize, load::Stats, load::Stats)> {
    let query = ListQuery::new()
        .filter(r#"category_codes:"held-since-2022" AND status = RETURNED"#)
        .order_by(order_by)
        .page_size(10);
    let deep = if run.plan.persons >= 100_000 {
        1000
    } else {
        10
    };
    // Reach the deep page's token with big pages (a token is bound to the filter and the
    // order, not to the page size): item 10 * (deep - 1) is where page `deep` starts.
    let mut token = String::new();
    let mut skipped = 0;
    while skipped < 10 * (deep - 1) {
        let step = (10 * (deep - 1) - skipped).min(1000) as i32;
        let page = run.clients[0]
            .persons()
            .list_page(&query.clone().page_size(step), &token)
            .await?;
        if page.next_page_token.is_empty() {
            bail!("the filter matched fewer than {deep} pages");
        }
        skipped += page.items.len();
        token = page.next_page_token;
    }
    let page = |t: String| {
        let cs = run.clients.clone();
        let q = query.clone();
        load::closed_loop(8, duration, move |w, _| {
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
    };
    let first = page(String::new()).await;
    Ok((deep, first, page(token).await))
}

/// About five events per person, written straight into the database (the dataset, not a
/// measurement: the API writes events one at a time). Returns how many.
async fn seed_events(database_url: &str, ids: &[String]) -> anyhow::Result<usize> {
    use sea_orm::sea_query::{Alias, Query};
    let db = Database::connect(database_url).await?;
    let columns = [
        "id",
        "create_time",
        "update_time",
        "revision",
        "person_id",
        "event_type",
        "date",
        "date_precision",
        "place",
        "care_status",
        "amount_currency",
        "source",
        "notes",
        "restricted",
    ];
    let mut rng = data::Rng::new(2022);
    let now = now_micros();
    let mut rows: Vec<Vec<sea_orm::Value>> = Vec::new();
    let mut n = 0;
    for id in ids {
        for k in 0..(3 + rng.below(5)) {
            let day = chrono::NaiveDate::from_ymd_opt(2022, 3, 1).unwrap_or_default()
                + chrono::Days::new(rng.below(1100) + 30 * k);
            let event_type = [3, 4, 3, 11, 15][rng.below(5) as usize];
            rows.push(vec![
                uuid::Uuid::now_v7().to_string().into(),
                now.into(),
                now.into(),
                0i64.into(),
                id.clone().into(),
                event_type.into(),
                day.into(),
                1i32.into(),
                format!("Benchmark site {}", rng.below(50)).into(),
                0i32.into(),
                String::new().into(),
                "Benchmark".to_owned().into(),
                String::new().into(),
                false.into(),
            ]);
            n += 1;
        }
    }
    let txn = sea_orm::TransactionTrait::begin(&db).await?;
    for chunk in rows.chunks(1000) {
        let mut q = Query::insert();
        q.into_table(Alias::new("person_events"))
            .columns(columns.map(Alias::new));
        for row in chunk {
            q.values(row.iter().cloned().map(sea_orm::sea_query::Expr::val))?;
        }
        txn.execute(&q).await?;
    }
    txn.commit().await?;
    if database_url.starts_with("sqlite:") {
        // The seeding bypassed the server: fold its write-ahead log (gigabytes at 5,000,000
        // events) back into the database now, so the server's own checkpointer does not hold the
        // one writer connection for it during the timed scenarios (S5's writes timed out
        // waiting for it in a run without this).
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
    }
    db.close().await?;
    Ok(n)
}

/// S7: one random person's timeline (ListPersonEvents with `person_id = …`), 32 in flight.
async fn s7_timeline(run: &Run<'_>, ids: Arc<Vec<String>>) -> load::Stats {
    let cs = run.clients.clone();
    load::closed_loop(32, run.duration, move |t, i| {
        let c = cs[t % cs.len()].clone();
        let id = ids[(mix(t as u64 * 7_919 + i) % ids.len() as u64) as usize].clone();
        async move {
            c.events()
                .list_page(
                    &ListQuery::new().filter(format!("person_id = \"{id}\"")),
                    "",
                )
                .await
                .is_ok_and(|p| !p.items.is_empty())
        }
    })
    .await
}

/// Rows of `table`, counted in the database.
async fn count_rows(database_url: &str, table: &str) -> anyhow::Result<u64> {
    use sea_orm::{
        ConnectionTrait,
        sea_query::{Alias, Expr, Query},
    };
    let db = Database::connect(database_url).await?;
    let q = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from(Alias::new(table))
        .to_owned();
    let n: i64 = match db.query_one(&q).await? {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    db.close().await?;
    Ok(n.max(0) as u64)
}

/// S11: ListDuplicateCandidates — the registry's first page (50 pairs, best first), then one
/// random person's candidates; 32 in flight each.
async fn s11_candidates(run: &Run<'_>, ids: Arc<Vec<String>>) -> (load::Stats, load::Stats) {
    let cs = run.clients.clone();
    let registry = load::closed_loop(32, run.duration, move |t, _| {
        let c = cs[t % cs.len()].clone();
        async move {
            let page: Result<Vec<proto::DuplicateCandidate>, _> =
                futures::TryStreamExt::try_collect(futures::StreamExt::take(
                    c.duplicate_candidates(None, 0.0),
                    50,
                ))
                .await;
            page.is_ok()
        }
    })
    .await;
    let cs = run.clients.clone();
    let person = load::closed_loop(32, run.duration, move |t, i| {
        let c = cs[t % cs.len()].clone();
        let id = ids[(mix(t as u64 * 15_485_863 + i) % ids.len() as u64) as usize].clone();
        async move {
            let page: Result<Vec<proto::DuplicateCandidate>, _> =
                futures::TryStreamExt::try_collect(c.duplicate_candidates(Some(&id), 0.0)).await;
            page.is_ok()
        }
    })
    .await;
    (registry, person)
}

/// S8: one random person's history (GetPersonHistory), 32 in flight.
async fn s8_history(run: &Run<'_>, ids: Arc<Vec<String>>) -> load::Stats {
    let cs = run.clients.clone();
    load::closed_loop(32, run.duration, move |t, i| {
        let c = cs[t % cs.len()].clone();
        let id = ids[(mix(t as u64 * 104_723 + i) % ids.len() as u64) as usize].clone();
        async move {
            let v: Result<Vec<proto::PersonVersion>, _> =
                futures::TryStreamExt::try_collect(c.persons().history(&id)).await;
            v.is_ok_and(|v| !v.is_empty())
        }
    })
    .await
}

/// S6: GetExchangeSummary of random exchanges (50-400 persons each), 8 in flight.
async fn s6_summary(run: &Run<'_>, exchange_ids: Arc<Vec<String>>) -> load::Stats {
    let cs = run.clients.clone();
    load::closed_loop(8, run.duration, move |t, i| {
        let c = cs[t % cs.len()].clone();
        let n = exchange_ids.len() as u64;
        let id = exchange_ids[(mix(t as u64 * 104_729 + i) % n) as usize].clone();
        async move { c.exchanges().summary(&id).await.is_ok() }
    })
    .await
}

/// Batched person rows into a database the server migrated (its whole schema), scratch.
async fn schema_ceiling(plan: &Plan<'_>, dir: &Path, duration: Duration) -> anyhow::Result<f64> {
    let server_bin = plan.server_bin;
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
    match plan.backend {
        BackendArg::Postgres => {
            let name = format!("homecoming_bench_ceiling_{}", std::process::id());
            let url = migrate(scratch_database(plan.postgres_url, &name).await?).await?;
            let rate = ceilings::schema_rows(&url, duration).await;
            drop_database(plan.postgres_url, &name).await?;
            rate
        }
        _ => {
            // `migrate` opens an existing database only: an empty file is one.
            let file = dir.join("schema-ceiling.db");
            std::fs::File::create(&file)?;
            let url = format!("sqlite://{}?mode=rwc", file.display());
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

/// `GET /metrics` of the server at `addr` (plain HTTP/1.1, as Prometheus scrapes it).
fn scrape(addr: &str) -> anyhow::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    let (_, body) = response
        .split_once("\r\n\r\n")
        .context("the metrics answer is not HTTP")?;
    Ok(body.to_owned())
}
