//! Storage ceilings measured in the same run, on the same database type and durability, without
//! gRPC or the ORM: single-row commits, batched inserts in one transaction, primary-key reads,
//! and batched inserts of person rows into the registry's own schema (every index it keeps).

use std::time::{Duration, Instant};

use sea_orm::sqlx::{
    self, Executor, Pool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Ceilings {
    pub commits_per_second: f64,
    pub batched_rows_per_second: f64,
    pub pk_reads_per_second: f64,
    /// Person rows a second into the registry's `persons` table (migrated by the server, with
    /// all its indexes), 100 a statement in one transaction, starting empty: what S3 would reach
    /// if the server cost nothing but the rows of its main table.
    pub schema_rows_per_second: f64,
}

/// SQLite in `dir`, WAL and synchronous=FULL as the server runs by default.
pub async fn sqlite(dir: &std::path::Path, duration: Duration) -> anyhow::Result<Ceilings> {
    let opts = SqliteConnectOptions::new()
        .filename(dir.join("ceiling.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?;
    pool.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        .await?;
    run(&pool, duration).await
}

/// PostgreSQL at `url`, default durability (fsync on commit).
pub async fn postgres(url: &str, duration: Duration) -> anyhow::Result<Ceilings> {
    let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
    pool.execute(
        "CREATE TABLE IF NOT EXISTS bench_ceiling (id BIGINT PRIMARY KEY, v TEXT NOT NULL)",
    )
    .await?;
    let c = run_pg(&pool, duration).await;
    let _ = pool.execute("DROP TABLE IF EXISTS bench_ceiling").await;
    c
}

/// The three measurements, for one backend: `$insert` and `$select` differ only in their
/// placeholders, `$table` is the scratch table.
macro_rules! measure {
    ($name:ident, $db:ty, $table:literal, $insert:literal, $select:literal) => {
        async fn $name(pool: &Pool<$db>, duration: Duration) -> anyhow::Result<Ceilings> {
            let mut c = Ceilings::default();
            let start = Instant::now();
            let mut n = 0i64;
            while start.elapsed() < duration {
                sqlx::query($insert)
                    .bind(n)
                    .bind("single row")
                    .execute(pool)
                    .await?;
                n += 1;
            }
            c.commits_per_second = n as f64 / start.elapsed().as_secs_f64();

            let start = Instant::now();
            let mut rows = 0i64;
            let mut tx = pool.begin().await?;
            while start.elapsed() < duration {
                let mut q = format!("INSERT INTO {} (id, v) VALUES ", $table);
                for i in 0..100 {
                    if i > 0 {
                        q.push(',');
                    }
                    q.push_str(&format!("({}, 'batched')", 10_000_000 + rows + i));
                }
                // Only integers this loop made are spliced in.
                sqlx::query(sqlx::AssertSqlSafe(q))
                    .execute(&mut *tx)
                    .await?;
                rows += 100;
            }
            tx.commit().await?;
            c.batched_rows_per_second = rows as f64 / start.elapsed().as_secs_f64();

            let max = n.max(1);
            let start = Instant::now();
            let mut reads = 0u64;
            let mut x = 88172645463325252u64;
            while start.elapsed() < duration {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let _: Option<(String,)> = sqlx::query_as($select)
                    .bind((x % max as u64) as i64)
                    .fetch_optional(pool)
                    .await?;
                reads += 1;
            }
            c.pk_reads_per_second = reads as f64 / start.elapsed().as_secs_f64();
            Ok(c)
        }
    };
}

measure!(
    run,
    sqlx::Sqlite,
    "t",
    "INSERT INTO t (id, v) VALUES (?, ?)",
    "SELECT v FROM t WHERE id = ?"
);
measure!(
    run_pg,
    sqlx::Postgres,
    "bench_ceiling",
    "INSERT INTO bench_ceiling (id, v) VALUES ($1, $2)",
    "SELECT v FROM bench_ceiling WHERE id = $1"
);

/// Inserts synthetic person rows into a migrated registry database for `duration`, 100 a
/// statement, in one transaction; returns rows per second.
pub async fn schema_rows(url: &str, duration: Duration) -> anyhow::Result<f64> {
    const COLUMNS: &str = "id, kind, family_name, given_name, patronymic, date_of_birth, \
        place_of_birth, sex, citizenship, service, rank, rank_group, unit, service_number, \
        capture_date, capture_region, status, exchange_id, convicted_in_captivity, \
        category_codes, aftercare_medical_examination, aftercare_rehabilitation, \
        aftercare_payments, notes, create_time, update_time, revision, restricted";
    let mut rng = crate::data::Rng::new(7);
    let mut statement = |first: u64| {
        let mut q = format!("INSERT INTO persons ({COLUMNS}) VALUES ");
        for i in 0..100 {
            if i > 0 {
                q.push(',');
            }
            let n = first + i;
            // Only numbers and fixed ASCII words this function made are spliced in.
            q.push_str(&format!(
                "('{:032x}', 1, 'Family{}', 'Given{}', '', '19{:02}-0{}-1{}', '', 1, '', {}, '', {}, \
                 '', 'S-{:08}', '20{:02}-0{}-2{}', 'Region{}', {}, NULL, false, '[]', 0, 0, 0, '', \
                 {n}, {n}, 1, false)",
                n * 2_654_435_761 % (1 << 62),
                rng.below(5000),
                rng.below(60),
                50 + rng.below(50),
                1 + rng.below(9),
                rng.below(9),
                1 + rng.below(5),
                1 + rng.below(3),
                rng.below(100_000_000),
                14 + rng.below(12),
                1 + rng.below(9),
                rng.below(9),
                rng.below(25),
                1 + rng.below(4),
            ));
        }
        q
    };
    macro_rules! insert_for {
        ($pool:expr) => {{
            let start = Instant::now();
            let mut rows = 0u64;
            let mut tx = $pool.begin().await?;
            while start.elapsed() < duration {
                sqlx::query(sqlx::AssertSqlSafe(statement(rows)))
                    .execute(&mut *tx)
                    .await?;
                rows += 100;
            }
            tx.commit().await?;
            rows as f64 / start.elapsed().as_secs_f64()
        }};
    }
    if url.starts_with("sqlite:") {
        let opts: SqliteConnectOptions = url.parse()?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full),
            )
            .await?;
        Ok(insert_for!(pool))
    } else {
        let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
        Ok(insert_for!(pool))
    }
}
