//! `homecoming-bench hardening`: the figures of the hardening issue, against a release server
//! this command starts (SQLite, or PostgreSQL with `--backend postgres`):
//! - the server's RSS before and after a Watch request of 4 MB (one resource type repeated);
//! - the latency of GetPerson on another connection while two 1.4 MB CreatePerson requests
//!   (150,000 category codes each) are served;
//! - reads answered without an audit record after rounds of `kill -9` under 16 readers;
//! - how long a silent connection stays open, and what a flood of connections past the limit
//!   gets.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use homecoming_client::{Client, ListQuery, proto};
use serde::Serialize;
use tokio::{io::AsyncReadExt, net::TcpStream};

use crate::server::Server;

#[derive(Debug, Default, Serialize)]
pub struct Hardening {
    pub rss_mib_before_watch: f64,
    pub rss_mib_after_watch: f64,
    pub watch_error_violations: usize,
    pub unrelated_get_p50_ms: f64,
    pub unrelated_get_max_ms: f64,
    pub big_creates_ms: Vec<f64>,
    pub kill_rounds: usize,
    pub reads_answered: u64,
    pub reads_recorded: u64,
    pub silent_connection_closed_after_ms: f64,
    pub flood_connections: usize,
    pub flood_closed_at_once: usize,
}

pub async fn run(bin: &std::path::Path, database_url: &str) -> anyhow::Result<Hardening> {
    let mut out = Hardening::default();
    let server = Server::start(
        bin,
        database_url,
        &[
            "--connection-first-byte-timeout",
            "2s",
            "--max-connections",
            "200",
        ],
    )
    .await?;
    let client = client(&server.url, &server.token).await?;

    // 1. A 4 MB Watch request: one violation, and no memory kept.
    out.rss_mib_before_watch = server.rss_mib().0;
    let mut watch = proto::watch_service_client::WatchServiceClient::new(client.channel())
        .max_encoding_message_size(64 << 20)
        .max_decoding_message_size(64 << 20);
    let mut req = tonic::Request::new(proto::WatchRequest {
        types: vec![proto::ResourceType::Person as i32; 4 << 20],
        ..Default::default()
    });
    req.metadata_mut()
        .insert("authorization", format!("Bearer {}", server.token).parse()?);
    let status = watch.watch(req).await.err();
    out.watch_error_violations = status
        .map(|s| homecoming_client::Error::from(s).field_violations().len())
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    out.rss_mib_after_watch = server.rss_mib().0;

    // 2. An unrelated read's latency while two 1.4 MB creates are refused.
    let p = client
        .persons()
        .create(person("Затримченко", Vec::new()))
        .await?;
    let big: Vec<String> = (0..150_000).map(|i| format!("code-{i:06}")).collect();
    let mut creates = Vec::new();
    for _ in 0..2 {
        let c = self::client(&server.url, &server.token).await?;
        let codes = big.clone();
        creates.push(tokio::spawn(async move {
            let t = Instant::now();
            let _ = c.persons().create(person("Великенко", codes)).await;
            t.elapsed().as_secs_f64() * 1000.0
        }));
    }
    let reader = self::client(&server.url, &server.token).await?;
    let mut lat = Vec::new();
    while creates.iter().any(|c| !c.is_finished()) || lat.len() < 20 {
        let t = Instant::now();
        reader.persons().get(&p.id).await?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    for c in creates {
        out.big_creates_ms.push(c.await?);
    }
    lat.sort_by(f64::total_cmp);
    out.unrelated_get_p50_ms = lat[lat.len() / 2];
    out.unrelated_get_max_ms = lat[lat.len() - 1];

    // 4. A silent connection, and a flood past the limit (200).
    let t = Instant::now();
    let mut silent = TcpStream::connect(server.url.trim_start_matches("http://")).await?;
    let mut buf = [0u8; 1024];
    while silent.read(&mut buf).await.unwrap_or(0) > 0 {}
    out.silent_connection_closed_after_ms = t.elapsed().as_secs_f64() * 1000.0;
    let mut flood = Vec::new();
    for _ in 0..1000 {
        if let Ok(s) = TcpStream::connect(server.url.trim_start_matches("http://")).await {
            flood.push(s);
        }
    }
    out.flood_connections = flood.len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for s in &mut flood {
        // Closed at once: end of stream before the first-byte deadline, with no greeting.
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(20), s.read(&mut buf)).await {
            out.flood_closed_at_once += 1;
        }
    }
    drop(flood);

    // 3. kill -9 under 16 readers, five times; then count the records.
    let token = server.token.clone();
    server.kill().await;
    let answered = Arc::new(AtomicU64::new(0));
    for _ in 0..5 {
        let server = Server::start_with(bin, database_url, &[], Some(&token)).await?;
        let mut readers = Vec::new();
        for _ in 0..16 {
            let c = self::client(&server.url, &token).await?;
            let id = p.id.clone();
            let answered = answered.clone();
            readers.push(tokio::spawn(async move {
                while c.persons().get(&id).await.is_ok() {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.kill().await;
        for r in readers {
            r.abort();
        }
        out.kill_rounds += 1;
    }
    let server = Server::start_with(bin, database_url, &[], Some(&token)).await?;
    let admin = self::client(&server.url, &token).await?;
    let filter = format!(
        r#"method = "/homecoming.v1.PersonService/GetPerson" AND resource_ids:"{}" AND code = "OK""#,
        p.id
    );
    let recorded: Vec<proto::AuditEvent> = admin
        .audit_events(ListQuery::new().filter(filter).page_size(1000))
        .try_collect()
        .await?;
    // The reads before the kill rounds (step 2) are recorded too.
    out.reads_answered = answered.load(Ordering::Relaxed) + lat.len() as u64;
    out.reads_recorded = recorded.len() as u64;
    server.stop().await;
    Ok(out)
}

async fn client(url: &str, token: &str) -> anyhow::Result<Client> {
    Ok(Client::builder(url)
        .bearer_token(token)
        .create_retries(0)
        .max_message_bytes(64 << 20)
        .timeout(Duration::from_secs(120))
        .connect()
        .await?)
}

fn person(family: &str, codes: Vec<String>) -> proto::Person {
    proto::Person {
        kind: proto::PersonKind::Military as i32,
        family_name: family.to_owned(),
        given_name: "Тест".to_owned(),
        category_codes: codes,
        ..Default::default()
    }
}
