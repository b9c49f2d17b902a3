//! What an adversarial run found (hardening issue), one test per defect, each tried as an
//! attacker or an unlucky operator would: through real gRPC, with the public client or raw
//! messages.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use futures::{StreamExt, TryStreamExt};
use homecoming_client::{Client, Error, ListQuery, WatchEvent, proto};
use homecoming_tests::{Backend, TestApp, backend_tests, fixtures, spawn_app, spawn_app_with};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tonic::{Code, codegen::http::uri::PathAndQuery};

backend_tests!(
    an_editor_cannot_restrict_through_a_padded_mask,
    ids_a_database_refuses_never_stop_the_audit_trail,
    repeated_entries_make_one_small_error,
    a_huge_list_of_codes_is_refused_without_looking_at_it,
    every_answered_read_has_its_audit_record_after_a_crash,
    silent_and_surplus_connections_are_closed,
    text_with_nul_is_invalid_argument_on_both_backends,
    a_lost_database_connection_is_unavailable_and_reads_are_retried,
    unknown_methods_and_undecodable_requests_are_audited,
    a_watch_from_a_future_revision_waits_and_its_bookmarks_stay_at_the_head,
    replays_do_not_show_a_person_restricted_since,
    messages_over_the_limit_are_resource_exhausted,
    a_reference_from_a_restricted_person_still_blocks_a_delete,
);

async fn admin_events(app: &TestApp, filter: &str) -> Vec<proto::AuditEvent> {
    app.client
        .audit_events(ListQuery::new().filter(filter).page_size(1000))
        .try_collect()
        .await
        .unwrap()
}

async fn an_editor_cannot_restrict_through_a_padded_mask(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app.person("Маскенко", "Ігор").await;
    let editor = app.client_as(proto::Role::Editor).await;
    for path in [" restricted", "restricted ", "\trestricted", " *"] {
        let e = editor
            .persons()
            .update(
                proto::Person {
                    id: p.id.clone(),
                    restricted: true,
                    ..fixtures::person("Маскенко", "Ігор")
                },
                &[path],
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::PermissionDenied(_)), "{path:?}: {e:?}");
    }
    let seen = editor.persons().get(&p.id).await.unwrap();
    assert!(!seen.restricted, "the person is still there for editors");
}

async fn ids_a_database_refuses_never_stop_the_audit_trail(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app.person("Слідченко", "Олег").await;
    let viewer = app.client_as(proto::Role::Viewer).await;
    let long = "7".repeat(3000);
    let huge = "x".repeat(10_000_000);
    for bad in ["x\u{0}y", long.as_str(), huge.as_str()] {
        let e = viewer.persons().get(bad).await.unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    }
    // The trail goes on: a read after them is answered and recorded.
    viewer.persons().get(&p.id).await.unwrap();
    let events = admin_events(&app, r#"method = "/homecoming.v1.PersonService/GetPerson""#).await;
    let ids: Vec<&str> = events
        .iter()
        .flat_map(|e| e.resource_ids.iter().map(String::as_str))
        .collect();
    assert!(ids.contains(&p.id.as_str()), "{ids:?}");
    for size in [
        "invalid id (3 bytes)",
        "invalid id (3000 bytes)",
        "invalid id (10000000 bytes)",
    ] {
        assert!(ids.contains(&size), "{size} in {ids:?}");
    }
}

async fn repeated_entries_make_one_small_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let viewer = app.client_as(proto::Role::Viewer).await;
    // 1 MB of the same type: the count is checked before the entries.
    let request = proto::WatchRequest {
        types: vec![proto::ResourceType::Person as i32; 500_000],
        ..Default::default()
    };
    let mut watch = proto::watch_service_client::WatchServiceClient::new(viewer.channel())
        .max_decoding_message_size(64 << 20);
    let mut req = tonic::Request::new(request);
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", app.token_for(proto::Role::Viewer).await)
            .parse()
            .unwrap(),
    );
    let e = Error::from(watch.watch(req).await.unwrap_err());
    assert_eq!(e.field_violations().len(), 1, "{e:?}");
    assert_eq!(e.field_violations()[0].field, "types");

    // A batch of 1000 persons with 50 unknown codes each: 50,000 violations, capped.
    let batch: Vec<proto::Person> = (0..1000)
        .map(|i| proto::Person {
            category_codes: (0..50).map(|c| format!("no-such-{i}-{c}")).collect(),
            ..fixtures::person("Пакетенко", "Іван")
        })
        .collect();
    let e = app.client.persons().batch_create(batch).await.unwrap_err();
    let v = e.field_violations();
    assert_eq!(v.len(), 101, "100 listed and a count");
    assert!(
        v[100].description.starts_with("and 49900 more"),
        "{:?}",
        v[100]
    );

    // A mask of 10,000 paths: one violation, before any path is read.
    let p = app.person("Маскенко", "Ігор").await;
    let paths: Vec<String> = (0..10_000).map(|i| format!("nope{i}")).collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let e = app
        .client
        .persons()
        .update(
            proto::Person {
                id: p.id,
                ..Default::default()
            },
            &paths,
        )
        .await
        .unwrap_err();
    assert_eq!(e.field_violations().len(), 1, "{e:?}");
    assert_eq!(e.field_violations()[0].field, "update_mask.paths");
}

async fn a_huge_list_of_codes_is_refused_without_looking_at_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let codes: Vec<String> = (0..150_000).map(|i| format!("code-{i}")).collect();
    let e = app
        .client
        .persons()
        .create(proto::Person {
            category_codes: codes,
            ..fixtures::person("Кодченко", "Іван")
        })
        .await
        .unwrap_err();
    let v = e.field_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].field, "person.category_codes");
    assert!(v[0].description.contains("at most 50"), "{v:?}");
}

async fn every_answered_read_has_its_audit_record_after_a_crash(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let p = app.person("Читаченко", "Ігор").await;
    let viewer = app.client_as(proto::Role::Viewer).await;
    let mut answered = 0;
    for _ in 0..40 {
        viewer.persons().get(&p.id).await.unwrap();
        answered += 1;
    }
    // As SIGKILL would: nothing queued gets a chance to be written.
    app.crash();
    app.start_again().await;
    let events = admin_events(
        &app,
        &format!(
            r#"method = "/homecoming.v1.PersonService/GetPerson" AND resource_ids:"{}""#,
            p.id
        ),
    )
    .await;
    assert_eq!(events.len(), answered, "every answered read is on record");
}

async fn silent_and_surplus_connections_are_closed(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            "--connection-first-byte-timeout",
            "300ms",
            "--max-connections",
            "4",
        ],
    )
    .await;
    // A connection that says nothing is closed.
    let silent = TcpStream::connect(app.addr).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), read_to_end(silent)).await;
    assert!(closed.is_ok(), "the server closed the silent connection");

    // Beyond the limit, new connections are closed at once (the test's client holds one).
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        // An HTTP/2 preface keeps them from the first-byte deadline.
        s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut surplus = TcpStream::connect(app.addr).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), surplus.read(&mut buf))
        .await
        .expect("closed at once")
        .unwrap_or(0);
    assert_eq!(
        n, 0,
        "the fifth connection was closed before the server said anything"
    );
    // The held client still works.
    app.client
        .categories()
        .list_page(&ListQuery::new(), "")
        .await
        .unwrap();
    drop(held);
}

async fn text_with_nul_is_invalid_argument_on_both_backends(backend: Backend) {
    let app = spawn_app(backend).await;
    let e = app
        .client
        .persons()
        .list_page(&ListQuery::new().filter("family_name = \"a\u{0}b\""), "")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    assert_eq!(e.field_violations()[0].field, "filter");

    // A page token of ours, with a NUL put in its sort key.
    for i in 0..3 {
        app.client
            .persons()
            .create(fixtures::person(&format!("Токенко{i}"), "Іван"))
            .await
            .unwrap();
    }
    let q = ListQuery::new().order_by("family_name").page_size(1);
    let page = app.client.persons().list_page(&q, "").await.unwrap();
    let json = String::from_utf8(URL_SAFE_NO_PAD.decode(&page.next_page_token).unwrap()).unwrap();
    let forged = json.replacen("Токенко0", "Токен\\u0000ко", 1);
    assert_ne!(forged, json);
    let e = app
        .client
        .persons()
        .list_page(&q, &URL_SAFE_NO_PAD.encode(forged.as_bytes()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    assert_eq!(e.field_violations()[0].field, "page_token");

    let e = app.client.revoke_token("a\u{0}b").await.unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
}

async fn a_lost_database_connection_is_unavailable_and_reads_are_retried(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app.person("Обривенко", "Ігор").await;
    if backend == Backend::Postgres {
        // What a PostgreSQL restart does to the pool: every connection ends with 57P01.
        use sea_orm::ConnectionTrait;
        let db = app.db().await;
        db.execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await
        .unwrap();
        // Without retries the first read meets a dead connection: UNAVAILABLE, not INTERNAL.
        let once = Client::builder(format!("http://{}", app.addr))
            .bearer_token(&app.admin_token)
            .create_retries(0)
            .connect()
            .await
            .unwrap();
        let mut codes = Vec::new();
        for _ in 0..8 {
            match once.persons().get(&p.id).await {
                Ok(_) => codes.push(Code::Ok),
                Err(e) => codes.push(e.code()),
            }
        }
        assert!(
            codes
                .iter()
                .all(|c| matches!(c, Code::Ok | Code::Unavailable)),
            "{codes:?}"
        );
        db.execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await
        .unwrap();
    }
    // The client retries reads: they succeed through the broken connections.
    for _ in 0..8 {
        app.client.persons().get(&p.id).await.unwrap();
    }
}

async fn unknown_methods_and_undecodable_requests_are_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let channel = app.client.channel();
    let mut grpc = tonic::client::Grpc::new(channel);
    // Undecodable: a length-delimited field whose length runs past the end.
    let garbage: Vec<u8> = vec![0x0a, 0xff, 0x01];
    for (method, expected) in [
        (
            "/homecoming.v1.PersonService/ExportEverything",
            Code::Unimplemented,
        ),
        ("/homecoming.v1.PersonService/GetPerson", Code::Internal),
    ] {
        grpc.ready().await.unwrap();
        let mut req = tonic::Request::new(garbage.clone());
        req.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", app.admin_token).parse().unwrap(),
        );
        let status = grpc
            .unary(req, PathAndQuery::from_static(method), RawCodec)
            .await
            .unwrap_err();
        assert_eq!(status.code(), expected, "{method}: {status:?}");
    }
    let unknown = admin_events(
        &app,
        r#"method = "/homecoming.v1.PersonService/ExportEverything""#,
    )
    .await;
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].code, "UNIMPLEMENTED");
    let undecodable = admin_events(
        &app,
        r#"method = "/homecoming.v1.PersonService/GetPerson" AND code != "OK""#,
    )
    .await;
    assert_eq!(undecodable.len(), 1, "{undecodable:?}");
    assert_eq!(undecodable[0].token_name, "admin");
}

async fn a_watch_from_a_future_revision_waits_and_its_bookmarks_stay_at_the_head(backend: Backend) {
    let app = spawn_app_with(backend, &["--watch-progress-interval", "200ms"]).await;
    let first = app.categories(&["early"]).await;
    let head = app
        .client
        .categories()
        .list_page(&ListQuery::new(), "")
        .await
        .unwrap()
        .revision;
    assert!(first[0].etag.ends_with(&head.to_string()));
    let start = head + 5;
    let mut watch = Box::pin(
        app.client
            .watch()
            .types([proto::ResourceType::Category])
            .start_revision(start)
            .progress_notify(true)
            .stream(),
    );
    let bookmark = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match bookmark {
        WatchEvent::Progress(r) => assert!(r <= head, "bookmark {r} past the head {head}"),
        other => panic!("expected a bookmark, got {other:?}"),
    }
    let codes: Vec<String> = (0..6).map(|i| format!("later-{i}")).collect();
    let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    app.categories(&refs).await;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            WatchEvent::Events(b) => {
                assert_eq!(b.revision, start, "nothing before the start revision");
                break;
            }
            WatchEvent::Progress(r) => assert!(r < start, "bookmark {r}"),
            WatchEvent::InitialStateDone(_) => panic!("no initial state was asked for"),
        }
    }
}

async fn replays_do_not_show_a_person_restricted_since(backend: Backend) {
    let app = spawn_app(backend).await;
    let editor = app.client_as(proto::Role::Editor).await;
    let p = editor
        .persons()
        .create_with_request_id(fixtures::person("Повторенко", "Іван"), "replay-1")
        .await
        .unwrap();
    app.client
        .persons()
        .update(
            proto::Person {
                id: p.id.clone(),
                restricted: true,
                ..Default::default()
            },
            &["restricted"],
        )
        .await
        .unwrap();
    let e = editor
        .persons()
        .create_with_request_id(fixtures::person("Повторенко", "Іван"), "replay-1")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    // The admin still gets the first answer.
    let again = app
        .client
        .persons()
        .create_with_request_id(fixtures::person("Повторенко", "Іван"), "replay-1")
        .await;
    assert!(matches!(again, Err(Error::InvalidArgument { .. }) | Ok(_)));
}

async fn messages_over_the_limit_are_resource_exhausted(backend: Backend) {
    let app = spawn_app_with(backend, &["--max-message-bytes", "2000"]).await;
    let e = app
        .client
        .persons()
        .create(proto::Person {
            notes: "n".repeat(5000),
            ..fixtures::person("Великенко", "Іван")
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
}

/// Decision (README, access control): the reference still blocks a delete, and the refusal
/// says only that persons reference the exchange, not which.
async fn a_reference_from_a_restricted_person_still_blocks_a_delete(backend: Backend) {
    let app = spawn_app(backend).await;
    let x = app
        .client
        .exchanges()
        .create(fixtures::exchange("Stage", (2025, 7, 4)))
        .await
        .unwrap();
    app.client
        .persons()
        .create(proto::Person {
            restricted: true,
            exchange_id: x.id.clone(),
            ..fixtures::person("Прихованенко", "Іван")
        })
        .await
        .unwrap();
    let editor = app.client_as(proto::Role::Editor).await;
    let e = editor.exchanges().delete(&x.id, None).await.unwrap_err();
    assert_eq!(e.reason(), Some("EXCHANGE_IN_USE"));
    assert!(!e.to_string().contains("Прихованенко"), "{e}");
}

/// Reads until the peer closes (the server's own greeting included).
async fn read_to_end(mut s: TcpStream) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

/// Sends and receives raw bytes (for requests no generated type can express).
#[derive(Clone, Copy)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        *self
    }

    fn decoder(&mut self) -> Self::Decoder {
        *self
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use prost::bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        use prost::bytes::Buf;
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}
