use std::{collections::BTreeMap, time::Duration};

use futures::{Stream, StreamExt};
use homecoming_client::{Error, ListQuery, WatchEvent, filter::field, proto};
use homecoming_tests::{Backend, TestApp, backend_tests, fixtures::*, spawn_app, spawn_app_with};
use tokio::time::timeout;

backend_tests!(
    a_watcher_sees_every_revision_once_in_order_under_concurrent_writers,
    writes_through_one_replica_reach_watchers_on_another,
    the_stream_resumes_after_a_crash_with_no_gap_and_no_duplicate,
    a_watcher_that_stops_reading_loses_nothing,
    filters_initial_state_and_bookmarks,
    compacted_revisions_end_the_watch_with_out_of_range,
    shutdown_ends_watches_with_unavailable,
    changes_from_memory_are_those_the_change_log_gives,
    the_watch_cache_is_bounded_by_size,
);

const LONG: Duration = Duration::from_secs(60);

/// Reads event batches until `until` has been delivered; returns (revision, resource ids).
async fn collect_until(
    stream: &mut (impl Stream<Item = Result<WatchEvent, Error>> + Unpin),
    until: i64,
) -> Vec<(i64, Vec<String>)> {
    batches_until(stream, until)
        .await
        .into_iter()
        .map(|batch| {
            let ids = batch
                .events
                .iter()
                .map(|e| match &e.resource {
                    Some(proto::event::Resource::Person(p)) => p.id.clone(),
                    Some(proto::event::Resource::Exchange(x)) => x.id.clone(),
                    Some(proto::event::Resource::Category(c)) => c.id.clone(),
                    Some(proto::event::Resource::PersonEvent(e)) => e.id.clone(),
                    None => String::new(),
                })
                .collect();
            (batch.revision, ids)
        })
        .collect()
}

/// Reads whole event batches until revision `until` has been delivered.
async fn batches_until(
    stream: &mut (impl Stream<Item = Result<WatchEvent, Error>> + Unpin),
    until: i64,
) -> Vec<proto::EventBatch> {
    let mut out = Vec::new();
    let mut last = 0;
    while last < until {
        let next = timeout(LONG, stream.next()).await.expect("watch stalled");
        match next.expect("stream ended").expect("watch error") {
            WatchEvent::Events(batch) => {
                last = batch.revision;
                out.push(batch);
            }
            WatchEvent::Progress(r) => last = last.max(r),
            WatchEvent::InitialStateDone(_) => {}
        }
    }
    out
}

fn rev(etag: &str) -> i64 {
    etag.trim_start_matches('r').parse().unwrap()
}

async fn a_watcher_sees_every_revision_once_in_order_under_concurrent_writers(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut stream = Box::pin(app.client.watch().start_revision(1).stream());
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let client = app.client.clone();
            tokio::spawn(async move {
                let mut done = Vec::new();
                for i in 0..200 {
                    let p = client
                        .persons()
                        .create(person(&format!("W{w}"), &format!("N{i}")))
                        .await
                        .unwrap();
                    done.push((rev(&p.etag), p.id));
                }
                done
            })
        })
        .collect();
    let mut written = BTreeMap::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    assert_eq!(written.len(), 1600);
    let seen = collect_until(&mut stream, 1600).await;
    let revisions: Vec<i64> = seen.iter().map(|(r, _)| *r).collect();
    assert_eq!(
        revisions,
        (1..=1600).collect::<Vec<_>>(),
        "each revision once, in order"
    );
    for (r, ids) in seen {
        assert_eq!(ids, [written[&r].clone()], "revision {r} carries its write");
    }
}

async fn writes_through_one_replica_reach_watchers_on_another(backend: Backend) {
    let a = spawn_app(backend).await;
    let b = a.replica().await;
    let mut on_a = Box::pin(a.client.watch().start_revision(1).stream());
    let mut on_b = Box::pin(b.client.watch().start_revision(1).stream());
    let mut written = Vec::new();
    for i in 0..40 {
        let via = if i % 2 == 0 { &a } else { &b };
        let p = via
            .client
            .persons()
            .create(person("Replica", &format!("{i}")))
            .await
            .unwrap();
        written.push(p.id);
    }
    for stream in [&mut on_a, &mut on_b] {
        let seen = collect_until(stream, 40).await;
        let ids: Vec<String> = seen.into_iter().flat_map(|(_, ids)| ids).collect();
        assert_eq!(ids, written, "every write of either replica, in order");
    }
}

async fn the_stream_resumes_after_a_crash_with_no_gap_and_no_duplicate(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let watcher = app.client.clone();
    let mut stream = Box::pin(watcher.watch().start_revision(1).stream());
    for i in 0..30 {
        app.client
            .persons()
            .create(person("Before", &format!("{i}")))
            .await
            .unwrap();
    }
    let first = collect_until(&mut stream, 30).await;
    // Crash while the watch is open; writes continue as soon as the server is back.
    app.crash();
    app.start_again().await;
    for i in 0..30 {
        app.client
            .persons()
            .create(person("After", &format!("{i}")))
            .await
            .unwrap();
    }
    let second = collect_until(&mut stream, 60).await;
    let revisions: Vec<i64> = first.iter().chain(&second).map(|(r, _)| *r).collect();
    assert_eq!(revisions, (1..=60).collect::<Vec<_>>());
}

async fn a_watcher_that_stops_reading_loses_nothing(backend: Backend) {
    let app = spawn_app_with(backend, &["--watch-cache-events", "50"]).await;
    let mut slow = Box::pin(app.client.watch().start_revision(1).stream());
    let mut fast = Box::pin(app.client.watch().start_revision(1).stream());
    // The slow watcher reads one batch, then nothing while 600 writes go by (far more than
    // its buffers and the cache hold). Writers must not wait for it.
    app.client
        .persons()
        .create(person("First", "One"))
        .await
        .unwrap();
    collect_until(&mut slow, 1).await;
    let writes = async {
        for chunk in 0..12 {
            let batch = (0..50)
                .map(|i| person(&format!("Bulk{chunk}"), &format!("{i}")))
                .collect();
            app.client.persons().batch_create(batch).await.unwrap();
        }
        for i in 0..588 {
            app.client
                .categories()
                .create(category(&format!("c{i}")))
                .await
                .unwrap();
        }
    };
    timeout(LONG, writes)
        .await
        .expect("writers were held up by a slow watcher");
    let fast_seen = collect_until(&mut fast, 601).await;
    assert_eq!(fast_seen.len(), 601);
    let slow_seen = collect_until(&mut slow, 601).await;
    let revisions: Vec<i64> = slow_seen.iter().map(|(r, _)| *r).collect();
    assert_eq!(revisions, (2..=601).collect::<Vec<_>>());
    assert_eq!(slow_seen[0].1.len(), 50, "a batch create is one revision");
}

async fn filters_initial_state_and_bookmarks(backend: Backend) {
    let app = spawn_app_with(backend, &["--watch-progress-interval", "200ms"]).await;
    let x = app
        .client
        .exchanges()
        .create(exchange("Stage", (2025, 7, 4)))
        .await
        .unwrap();
    let other = app
        .client
        .exchanges()
        .create(exchange("Other", (2025, 7, 5)))
        .await
        .unwrap();
    let in_x = |n: &str| proto::Person {
        exchange_id: x.id.clone(),
        ..person(n, "Ivan")
    };
    let before = app
        .client
        .persons()
        .batch_create(vec![in_x("A"), in_x("B"), person("C", "Ivan")])
        .await
        .unwrap();

    // List-then-watch and initial state agree on where the live part starts.
    let filter = field("exchange_id").eq(&x.id).to_string();
    let page = app
        .client
        .persons()
        .list_page(&ListQuery::new().filter(filter.clone()), "")
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    let mut live = Box::pin(
        app.client
            .watch()
            .types([proto::ResourceType::Person])
            .filter(filter.clone())
            .after_list(page.revision)
            .progress_notify(true)
            .stream(),
    );
    let mut initial = Box::pin(
        app.client
            .watch()
            .types([proto::ResourceType::Person])
            .filter(filter.clone())
            .initial_state(true)
            .stream(),
    );
    let mut initial_ids = Vec::new();
    let done_at = loop {
        match timeout(LONG, initial.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            WatchEvent::Events(b) => initial_ids.extend(b.events.into_iter().map(|e| {
                assert_eq!(e.r#type, proto::EventType::Created as i32);
                match e.resource {
                    Some(proto::event::Resource::Person(p)) => p.id,
                    other => panic!("{other:?}"),
                }
            })),
            WatchEvent::InitialStateDone(r) => break r,
            WatchEvent::Progress(_) => {}
        }
    };
    initial_ids.sort();
    let mut want: Vec<String> = before[..2].iter().map(|p| p.id.clone()).collect();
    want.sort();
    assert_eq!(initial_ids, want);
    assert_eq!(done_at, page.revision);

    // Idle: bookmarks at the current revision.
    match timeout(LONG, live.next()).await.unwrap().unwrap().unwrap() {
        WatchEvent::Progress(r) => assert_eq!(r, page.revision),
        other => panic!("expected a bookmark, got {other:?}"),
    }

    // Changes: one outside the filter (not delivered), one into it, one leaving it.
    app.client
        .persons()
        .create(person("Elsewhere", "Ivan"))
        .await
        .unwrap();
    let joined = app.client.persons().create(in_x("D")).await.unwrap();
    let left = app
        .client
        .persons()
        .update(
            proto::Person {
                id: before[0].id.clone(),
                exchange_id: other.id.clone(),
                ..Default::default()
            },
            &["exchange_id"],
        )
        .await
        .unwrap();
    for stream in [&mut live, &mut initial] {
        let mut got = Vec::new();
        while got.len() < 2 {
            if let WatchEvent::Events(b) = timeout(LONG, stream.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap()
            {
                got.extend(b.events);
            }
        }
        let ids: Vec<_> = got
            .iter()
            .map(|e| match &e.resource {
                Some(proto::event::Resource::Person(p)) => (p.id.clone(), e.r#type),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            ids,
            [
                (joined.id.clone(), proto::EventType::Created as i32),
                (left.id.clone(), proto::EventType::Updated as i32),
            ]
        );
    }

    // Bad watches are rejected like bad lists.
    for (builder, field_name) in [
        (app.client.watch().filter("status = RETURNED"), "filter"),
        (
            app.client
                .watch()
                .types([proto::ResourceType::Person])
                .filter("nope = 1"),
            "filter",
        ),
        (app.client.watch().start_revision(-1), "start_revision"),
        (
            app.client.watch().start_revision(3).initial_state(true),
            "start_revision",
        ),
    ] {
        let mut s = Box::pin(builder.max_retries(0).stream());
        let err = timeout(LONG, s.next()).await.unwrap().unwrap().unwrap_err();
        assert_eq!(err.field_violations()[0].field, field_name, "{err}");
    }
}

async fn compacted_revisions_end_the_watch_with_out_of_range(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            "--change-log-max-revisions",
            "5",
            "--compaction-interval",
            "100ms",
        ],
    )
    .await;
    for i in 0..20 {
        app.client
            .categories()
            .create(category(&format!("c{i}")))
            .await
            .unwrap();
    }
    // Compaction runs every 100 ms (also while the writes ran); wait until it has caught up.
    let mut oldest = 0;
    for _ in 0..100 {
        let mut s = Box::pin(app.client.watch().start_revision(1).max_retries(0).stream());
        match timeout(LONG, s.next()).await.unwrap().unwrap() {
            Err(Error::RevisionCompacted {
                oldest_revision, ..
            }) => {
                assert!(
                    oldest_revision >= oldest && oldest_revision <= 16,
                    "{oldest_revision}"
                );
                oldest = oldest_revision;
                if oldest == 16 {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => panic!("{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(oldest, 16, "the newest 5 revisions are kept");
    // From the oldest available revision, the watch works.
    let mut s = Box::pin(app.client.watch().start_revision(oldest).stream());
    let seen = collect_until(&mut s, 20).await;
    assert_eq!(
        seen.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
        (16..=20).collect::<Vec<_>>()
    );
}

async fn shutdown_ends_watches_with_unavailable(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let mut raw = homecoming_client::proto::watch_service_client::WatchServiceClient::new(
        app.client.channel(),
    );
    let mut stream = raw
        .watch(app.authorized(proto::WatchRequest::default()))
        .await
        .unwrap()
        .into_inner();
    // The first message says where "now" is.
    let first = stream.message().await.unwrap().unwrap();
    assert!(matches!(
        first.kind,
        Some(proto::watch_response::Kind::Progress(_))
    ));
    let stopping = tokio::spawn(async move {
        app.stop().await;
        app
    });
    let end = timeout(LONG, stream.message()).await.unwrap();
    let status = end.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    let _app = timeout(LONG, stopping).await.unwrap().unwrap();
}

/// This process's commits reach its watchers from memory, as the writes built them; a watch
/// that replays the same revisions from the change log must see exactly the same events, field
/// for field, for every kind of write.
async fn changes_from_memory_are_those_the_change_log_gives(backend: Backend) {
    // A cache of one revision: the live watcher, kept in step, is served from it; a watch
    // started afterwards replays from the change log.
    let app = spawn_app_with(backend, &["--watch-cache-events", "1"]).await;
    let c = &app.client;
    let mut live = Box::pin(c.watch().start_revision(1).stream());
    let mut from_memory = Vec::new();
    let mut revision = 0;
    macro_rules! step {
        ($write:expr) => {{
            let out = $write.await.unwrap();
            revision += 1;
            from_memory.extend(batches_until(&mut live, revision).await);
            out
        }};
    }
    let cat = step!(c.categories().create(category("mem")));
    let x = step!(c.exchanges().create(proto::Exchange {
        category_codes: vec![cat.code.clone()],
        ..exchange("From memory", (2025, 2, 5))
    }));
    let p = step!(c.persons().create(proto::Person {
        exchange_id: x.id.clone(),
        category_codes: vec![cat.code.clone()],
        ..crate::record::full()
    }));
    step!(c.persons().update(
        proto::Person {
            id: p.id.clone(),
            distinguishing_marks: "A synthetic scar, since healed.".into(),
            ..Default::default()
        },
        &["distinguishing_marks"],
    ));
    let e = step!(c.events().create(crate::events::event(
        &p.id,
        proto::PersonEventType::Captured,
        (2024, 3, 1),
    )));
    step!(c.events().delete(&e.id, None));
    let batch = step!(
        c.persons()
            .batch_create((0..3).map(|i| person("Memory", &format!("{i}"))).collect())
    );
    step!(c.persons().delete(&batch[1].id, None));
    step!(c.categories().update(
        proto::Category {
            id: cat.id.clone(),
            title: "Renamed".into(),
            ..Default::default()
        },
        &["title"],
    ));
    assert_eq!(from_memory.len() as i64, revision, "one batch per write");

    let mut replay = Box::pin(c.watch().start_revision(1).stream());
    let from_log = batches_until(&mut replay, revision).await;
    assert_eq!(from_memory, from_log);

    let text = app.scrape().await;
    let fed = |source: &str| {
        metric(
            &text,
            &format!("homecoming_watch_feed_revisions_total{{source=\"{source}\"}}"),
        )
    };
    // A poll of the change log may win a race with an announcement now and then; most come
    // from memory, or that path is broken.
    assert!(
        fed("memory") > fed("change_log"),
        "memory {} vs change log {}:\n{text}",
        fed("memory"),
        fed("change_log")
    );
}

/// A sample's value in a scrape (0 when absent).
fn metric(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// An import's revisions (a batch of persons each) push the small ones out of the watch cache
/// by their size, however few events they are; the newest stays even when it alone is larger
/// than the bound; and a watch from the first revision still gets every one (from the log).
async fn the_watch_cache_is_bounded_by_size(backend: Backend) {
    const BOUND: f64 = 10_000.0;
    let app = spawn_app_with(backend, &["--watch-cache-bytes", "10000"]).await;
    let c = &app.client;
    let mut live = Box::pin(c.watch().start_revision(1).stream());
    for chunk in 0..3 {
        let batch = (0..50)
            .map(|i| person(&format!("Sized{chunk}"), &format!("{i}")))
            .collect();
        c.persons().batch_create(batch).await.unwrap();
    }
    let (events, bytes) = cache_held(&app, &mut live, 3).await;
    assert_eq!(
        events, 50.0,
        "only the newest revision of 50 persons is kept"
    );
    assert!(
        bytes > BOUND,
        "that revision alone is over the bound: {bytes}"
    );
    for i in 0..2 {
        c.categories()
            .create(category(&format!("s{i}")))
            .await
            .unwrap();
    }
    let (events, bytes) = cache_held(&app, &mut live, 5).await;
    assert_eq!(
        events, 2.0,
        "the two small revisions pushed the large one out"
    );
    assert!(bytes > 0.0 && bytes < BOUND, "{bytes}");

    let mut replay = Box::pin(c.watch().start_revision(1).stream());
    let seen = collect_until(&mut replay, 5).await;
    let sizes: Vec<(i64, usize)> = seen.iter().map(|(r, ids)| (*r, ids.len())).collect();
    assert_eq!(sizes, [(1, 50), (2, 50), (3, 50), (4, 1), (5, 1)]);
}

/// What the watch cache holds (events, bytes) once `live` has seen revision `until`.
async fn cache_held(
    app: &TestApp,
    live: &mut (impl Stream<Item = Result<WatchEvent, Error>> + Unpin),
    until: i64,
) -> (f64, f64) {
    collect_until(live, until).await;
    let text = app.scrape().await;
    (
        metric(&text, "homecoming_watch_cache_events"),
        metric(&text, "homecoming_watch_cache_bytes"),
    )
}
