//! A server the benchmark starts itself, so it can read the server's CPU time and memory from
//! /proc.

use std::{net::TcpListener, path::Path, process::Stdio, time::Duration};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// A metrics port of its own for each server (the default one would be shared), unless the
/// caller chose (`--metrics-listen off` to measure without metrics).
fn metrics_port(extra: &[&str]) -> anyhow::Result<Vec<String>> {
    if extra.contains(&"--metrics-listen") {
        return Ok(Vec::new());
    }
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    Ok(vec!["--metrics-listen".into(), format!("127.0.0.1:{port}")])
}

pub struct Server {
    child: Child,
    pub url: String,
    pub pid: u32,
    /// The admin token the server created on its first start.
    pub token: String,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start(bin: &Path, database_url: &str, extra: &[&str]) -> anyhow::Result<Server> {
        Self::start_with(bin, database_url, extra, None).await
    }

    /// As `start`, on a database that has its tokens already (`token`: the admin's).
    pub async fn start_with(
        bin: &Path,
        database_url: &str,
        extra: &[&str],
        token: Option<&str>,
    ) -> anyhow::Result<Server> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = tempfile::tempdir()?;
        let token_file = dir.path().join("admin-token");
        let mut cmd = Command::new(bin);
        cmd.arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database-url")
            .arg(database_url)
            .arg("--admin-token-file")
            .arg(&token_file)
            .args(extra)
            .args(metrics_port(extra)?)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let child = cmd.spawn().with_context(|| {
            format!(
                "starting {} (build it: cargo build --release -p homecoming-server)",
                bin.display()
            )
        })?;
        let pid = child.id().context("server pid")?;
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if let Ok(ch) = tonic::transport::Endpoint::from_shared(url.clone())?
                .connect()
                .await
            {
                let mut h = tonic_health::pb::health_client::HealthClient::new(ch);
                if h.check(tonic_health::pb::HealthCheckRequest::default())
                    .await
                    .is_ok()
                {
                    let token = match token {
                        Some(t) => t.to_owned(),
                        None => std::fs::read_to_string(&token_file)
                            .context("reading the admin token (the database must be new)")?
                            .trim()
                            .to_owned(),
                    };
                    return Ok(Server {
                        child,
                        url,
                        pid,
                        token,
                        _dir: dir,
                    });
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("server did not become healthy")
    }

    /// User + system CPU seconds used so far (Linux clock ticks of 1/100 s).
    pub fn cpu_seconds(&self) -> f64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) else {
            return 0.0;
        };
        // Fields after the command name (which may hold spaces) start after ") ".
        let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
            return 0.0;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
        (ticks(11) + ticks(12)) / 100.0
    }

    /// (current, peak) resident memory in MiB.
    pub fn rss_mib(&self) -> (f64, f64) {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", self.pid)) else {
            return (0.0, 0.0);
        };
        let kib = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        (kib("VmRSS:"), kib("VmHWM:"))
    }

    /// Starts `perf record` (call graphs by frame pointer) on this server until the returned
    /// recorder is finished; `None` without a directory. The profile is `DIR/NAME.data`.
    pub async fn profile(&self, dir: Option<&Path>, name: &str) -> anyhow::Result<Option<Perf>> {
        let Some(dir) = dir else { return Ok(None) };
        std::fs::create_dir_all(dir)?;
        let out = dir.join(format!("{name}.data"));
        let child = Command::new("perf")
            .args(["record", "-F", "499", "-g", "-p"])
            .arg(self.pid.to_string())
            .arg("-o")
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting perf record (install perf: apt-get install linux-perf)")?;
        // perf needs a moment to attach before the load starts.
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok(Some(Perf { child }))
    }

    /// Kills the server as `kill -9` would, and waits for it to be gone.
    pub async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    pub async fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await;
    }
}

/// A running `perf record`; `finish` stops it and waits for the profile to be written.
pub struct Perf {
    child: Child,
}

impl Perf {
    pub async fn finish(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .arg("-INT")
                .arg(pid.to_string())
                .status()
                .await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await;
    }
}

/// Finishes a profile if one is running.
pub async fn finish(perf: Option<Perf>) {
    if let Some(p) = perf {
        p.finish().await;
    }
}
