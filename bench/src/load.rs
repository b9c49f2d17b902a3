//! A closed-loop load generator: `in_flight` tasks over `connections` clients, each issuing its
//! next call as soon as the previous one answers, for a fixed time. Latencies are recorded
//! per call (microseconds).

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Stats {
    pub calls: u64,
    pub errors: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

impl Stats {
    pub fn from_latencies(mut micros: Vec<u64>, errors: u64, elapsed: Duration) -> Stats {
        micros.sort_unstable();
        let pct = |p: f64| {
            if micros.is_empty() {
                return 0.0;
            }
            let i = ((micros.len() as f64 * p) as usize).min(micros.len() - 1);
            micros[i] as f64 / 1000.0
        };
        let seconds = elapsed.as_secs_f64();
        Stats {
            calls: micros.len() as u64,
            errors,
            seconds,
            per_second: micros.len() as f64 / seconds.max(1e-9),
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            p999_ms: pct(0.999),
        }
    }
}

/// Runs `call(task, i)` from `in_flight` tasks for `duration`.
pub async fn closed_loop<F, Fut>(in_flight: usize, duration: Duration, call: F) -> Stats
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let call = Arc::new(call);
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..in_flight.max(1))
        .map(|t| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0;
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let s = Instant::now();
                    if call(t, i).await {
                        lat.push(s.elapsed().as_micros() as u64);
                    } else {
                        errors += 1;
                    }
                    i += 1;
                }
                (lat, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    Stats::from_latencies(all, errors, start.elapsed())
}
