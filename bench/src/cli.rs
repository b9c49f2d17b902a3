//! S9 and S10: rosters through the `homecoming` command line against the running server.
//! S9 imports a 100,000-row CSV roster in a Ukrainian locale (`;`, BOM, CRLF, `DD.MM.YYYY`,
//! one external id a row) and is read against S3's rate (the same rows through
//! BatchCreatePersons) in the same run; S10 exports every person as CSV. Both report the
//! CLI's peak resident memory, read from /proc while it runs.

use std::{
    fmt::Write as _,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use homecoming_client::proto;
use serde::Serialize;

use crate::data;

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct CliRun {
    pub rows: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub peak_rss_mib: f64,
}

/// An enum's short name; unset is an empty cell.
fn short(name: &str, prefix: &str) -> String {
    match name.trim_start_matches(prefix) {
        "UNSPECIFIED" => String::new(),
        n => n.to_owned(),
    }
}

fn day(d: &Option<homecoming_client::Date>) -> String {
    d.as_ref()
        .map(|d| format!("{:02}.{:02}.{}", d.day, d.month, d.year))
        .unwrap_or_default()
}

/// Writes a roster of `rows` synthetic persons returned in `exchange_id`.
pub fn write_roster(path: &Path, rows: usize, exchange_id: &str) -> anyhow::Result<()> {
    let mut rng = data::Rng::new(1_000_009);
    let mut s = String::with_capacity(rows * 160);
    s.push('\u{feff}');
    s.push_str("external_id;kind;family_name;given_name;patronymic;date_of_birth;sex;service;rank_group;capture_date;capture_region;status;exchange_id\r\n");
    for i in 0..rows {
        let p = data::person(&mut rng, exchange_id);
        let e = |n: Option<&str>, prefix: &str| n.map(|n| short(n, prefix)).unwrap_or_default();
        writeln!(
            s,
            "{i};{};{};{};{};{};{};{};{};{};{};{};{}\r",
            e(
                proto::PersonKind::try_from(p.kind)
                    .ok()
                    .map(|k| k.as_str_name()),
                "PERSON_KIND_"
            ),
            p.family_name,
            p.given_name,
            p.patronymic,
            day(&p.date_of_birth),
            e(
                proto::Sex::try_from(p.sex).ok().map(|k| k.as_str_name()),
                "SEX_"
            ),
            e(
                proto::ServiceBranch::try_from(p.service)
                    .ok()
                    .map(|k| k.as_str_name()),
                "SERVICE_BRANCH_"
            ),
            e(
                proto::RankGroup::try_from(p.rank_group)
                    .ok()
                    .map(|k| k.as_str_name()),
                "RANK_GROUP_"
            ),
            day(&p.capture_date),
            p.capture_region,
            e(
                proto::PersonStatus::try_from(p.status)
                    .ok()
                    .map(|k| k.as_str_name()),
                "PERSON_STATUS_"
            ),
            p.exchange_id,
        )?;
    }
    std::fs::write(path, s)?;
    Ok(())
}

/// Runs the CLI to completion, polling its peak RSS (VmHWM); fails if it fails.
async fn run_cli(
    bin: &Path,
    server: &str,
    token: &str,
    args: &[&str],
) -> anyhow::Result<(Duration, f64)> {
    let started = Instant::now();
    let mut child = tokio::process::Command::new(bin)
        .args(["--server", server, "--token", token])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (cargo build --release -p homecoming-cli)",
                bin.display()
            )
        })?;
    let pid = child.id().context("cli pid")?;
    let mut peak = 0.0f64;
    let mut stderr = child.stderr.take().context("cli stderr")?;
    let drain = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut stderr, &mut buf).await;
        buf
    });
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(kib) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        {
            peak = peak.max(kib / 1024.0);
        }
        tokio::select! {
            s = child.wait() => break s?,
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    };
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&drain.await.unwrap_or_default()).into_owned();
    if !status.success() {
        bail!("homecoming {args:?} failed ({status}): {err}");
    }
    eprintln!("{}", err.lines().last().unwrap_or_default());
    Ok((took, peak))
}

/// S9: `homecoming import persons` of a fresh roster of `rows`.
pub async fn s9_import(
    bin: &Path,
    server: &str,
    token: &str,
    dir: &Path,
    rows: usize,
    exchange_id: &str,
) -> anyhow::Result<CliRun> {
    let file = dir.join("roster.csv");
    write_roster(&file, rows, exchange_id)?;
    let f = file.to_str().context("path")?;
    let (took, peak) = run_cli(
        bin,
        server,
        token,
        &["import", "persons", f, "--system", "bench-roster"],
    )
    .await?;
    Ok(CliRun {
        rows: rows as u64,
        seconds: took.as_secs_f64(),
        rows_per_second: rows as f64 / took.as_secs_f64(),
        peak_rss_mib: peak,
    })
}

/// S10: `homecoming export persons` of everyone, as CSV.
pub async fn s10_export(
    bin: &Path,
    server: &str,
    token: &str,
    dir: &Path,
    rows: u64,
) -> anyhow::Result<CliRun> {
    let file = dir.join("export.csv");
    let f = file.to_str().context("path")?;
    let (took, peak) = run_cli(bin, server, token, &["export", "persons", "-o", f]).await?;
    let lines = std::fs::read(&file)?
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64;
    // Notes may hold newlines; the bench's persons have none, so a line is a row (plus header).
    if lines.saturating_sub(1) < rows {
        bail!(
            "exported {} rows, expected at least {rows}",
            lines.saturating_sub(1)
        );
    }
    let _ = std::fs::remove_file(&file);
    Ok(CliRun {
        rows: lines.saturating_sub(1),
        seconds: took.as_secs_f64(),
        rows_per_second: lines.saturating_sub(1) as f64 / took.as_secs_f64(),
        peak_rss_mib: peak,
    })
}
