//! Measures watch delivery latency: W watchers on one server, N writes at R per second; for
//! every event, latency = receipt time - the event's commit time (both clocks are this
//! machine's). Reports p50 / p99 / max and events missed (must be 0).
//!
//! Start a server (`cargo run --release -p homecoming-server -- --database-url
//! sqlite:///tmp/latency.db?mode=rwc --sqlite-synchronous normal`), then:
//! `HOMECOMING_TOKEN=$(cat /tmp/latency.db.admin-token) cargo run --release -p homecoming-client
//! --example watch_latency -- 300 600 100` (watchers, writes, writes per second;
//! `HOMECOMING_URL` names the server; the token needs the editor role).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use homecoming_client::{Client, Error, WatchEvent, proto};

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let watchers = arg(1, 300) as usize;
    let writes = arg(2, 600) as usize;
    let rate = arg(3, 100).max(1);
    let url = std::env::var("HOMECOMING_URL").unwrap_or_else(|_| "http://127.0.0.1:50051".into());
    // One connection per 100 watchers (the server allows 256 streams per connection).
    let token = std::env::var("HOMECOMING_TOKEN").unwrap_or_default();
    let mut clients = Vec::new();
    for _ in 0..watchers.div_ceil(100).max(1) {
        clients.push(
            Client::builder(url.clone())
                .bearer_token(&token)
                .connect()
                .await?,
        );
    }
    let writer = clients[0].clone();
    let tag = format!("lat{}", std::process::id());

    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(watchers);
    let mut tasks = Vec::new();
    for w in 0..watchers {
        let client = clients[w % clients.len()].clone();
        let ready = ready_tx.clone();
        tasks.push(tokio::spawn(async move {
            let mut stream = Box::pin(
                client
                    .watch()
                    .types([proto::ResourceType::Category])
                    .stream(),
            );
            let mut latencies = Vec::with_capacity(writes);
            let mut seen = 0usize;
            let deadline = Instant::now() + Duration::from_secs(120);
            while seen < writes && Instant::now() < deadline {
                match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
                    Ok(Some(Ok(WatchEvent::Progress(_)))) => {
                        let _ = ready.send(()).await;
                    }
                    Ok(Some(Ok(WatchEvent::Events(batch)))) => {
                        let received = now_micros();
                        for e in batch.events {
                            let committed = e
                                .time
                                .map(|t| t.seconds * 1_000_000 + i64::from(t.nanos) / 1000)
                                .unwrap_or(received);
                            latencies.push((received - committed).max(0));
                            seen += 1;
                        }
                    }
                    Ok(Some(Ok(_))) => {}
                    Ok(Some(Err(e))) => eprintln!("watcher {w}: {e}"),
                    Ok(None) | Err(_) => break,
                }
            }
            (seen, latencies)
        }));
    }
    drop(ready_tx);
    for _ in 0..watchers {
        ready_rx.recv().await;
    }
    println!("{watchers} watchers ready; writing {writes} categories at {rate}/s");

    let start = Instant::now();
    let interval = Duration::from_micros(1_000_000 / rate);
    for i in 0..writes {
        tokio::time::sleep_until((start + interval * i as u32).into()).await;
        writer
            .categories()
            .create(proto::Category {
                code: format!("{tag}-{i}"),
                title: format!("Latency probe {i}"),
                ..Default::default()
            })
            .await?;
    }
    let wrote = start.elapsed();

    let mut all = Vec::new();
    let mut missed = 0usize;
    for t in tasks {
        let (seen, lat) = t.await.unwrap_or((0, Vec::new()));
        missed += writes.saturating_sub(seen);
        all.extend(lat);
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |v| *v as f64 / 1000.0)
    };
    println!(
        "wrote {writes} in {:.1}s; delivered {} events; missed {missed}",
        wrote.as_secs_f64(),
        all.len()
    );
    println!(
        "latency commit->receipt: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}
