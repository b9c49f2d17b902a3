//! What an operator sees of the server: the metrics endpoint moving with calls, request ids
//! round-tripping into the audit trail, the ErrorInfo reasons.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use homecoming_client::{ListQuery, filter::field, proto};
use homecoming_proto::v1::person_service_client::PersonServiceClient;
use homecoming_tests::{Backend, TestApp, backend_tests, fixtures::*, spawn_app};
use tonic::Code;

backend_tests!(
    metrics_move_with_calls,
    open_watches_and_in_flight_calls_are_gauged,
    request_ids_round_trip_into_the_audit_trail,
    error_reasons_name_the_kind_of_input,
);

/// The value of the sample `name{…}` whose labels include every one of `labels`
/// (`grpc_method="GetPerson"`), 0 when there is none.
pub(crate) fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(series, _)| {
            let metric = series.split('{').next().unwrap_or_default();
            metric == name && labels.iter().all(|want| series.contains(want))
        })
        .filter_map(|(_, v)| v.parse::<f64>().ok())
        .sum()
}

/// Scrapes until `check` holds on the text (gauges follow streams that end asynchronously).
async fn scrape_until(app: &TestApp, what: &str, check: impl Fn(&str) -> bool) -> String {
    for _ in 0..100 {
        let text = app.scrape().await;
        if check(&text) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("metrics never showed {what}:\n{}", app.scrape().await);
}

async fn metrics_move_with_calls(backend: Backend) {
    let app = spawn_app(backend).await;
    let get = [
        "grpc_method=\"GetPerson\"",
        "grpc_service=\"homecoming.v1.PersonService\"",
    ];
    let before = app.scrape().await;
    let p = app.person("Metrykenko", "Ivan").await;
    app.client.persons().get(&p.id).await.unwrap();
    app.client.persons().get(&p.id).await.unwrap();
    let missing = uuid::Uuid::now_v7().to_string();
    app.client.persons().get(&missing).await.unwrap_err();
    let viewer = app.client_with(None).await;
    viewer.persons().get(&p.id).await.unwrap_err();
    let after = app.scrape().await;

    let ok = |t: &str| {
        sample(
            t,
            "grpc_server_handled_total",
            &[get[0], get[1], "grpc_code=\"OK\""],
        )
    };
    assert_eq!(ok(&after) - ok(&before), 2.0, "{after}");
    for code in ["NOT_FOUND", "UNAUTHENTICATED"] {
        let label = format!("grpc_code=\"{code}\"");
        assert_eq!(
            sample(&after, "grpc_server_handled_total", &[get[0], &label]),
            1.0,
            "{code}"
        );
    }
    assert_eq!(
        sample(&after, "grpc_server_started_total", &get),
        4.0,
        "started counts every call"
    );
    // The latency histogram: one observation per call, every one under +Inf, none of them 0 s.
    let count = sample(
        &after,
        "grpc_server_handling_seconds_count",
        &[get[0], "grpc_code=\"OK\""],
    );
    assert_eq!(count, 2.0);
    assert_eq!(
        sample(
            &after,
            "grpc_server_handling_seconds_bucket",
            &[get[0], "grpc_code=\"OK\"", "le=\"+Inf\""]
        ),
        2.0
    );
    assert!(
        sample(
            &after,
            "grpc_server_handling_seconds_sum",
            &[get[0], "grpc_code=\"OK\""]
        ) > 0.0
    );
    // The write committed, and the store's view of it.
    assert!(
        sample(&after, "homecoming_head_revision", &[]) >= 1.0,
        "{after}"
    );
    assert!(sample(&after, "homecoming_store_group_commit_writes_count", &[]) >= 1.0);
    assert!(
        sample(
            &after,
            "homecoming_store_commit_duration_seconds_count",
            &[]
        ) >= 1.0
    );
    assert!(sample(&after, "homecoming_change_log_oldest_revision", &[]) >= 1.0);
    assert!(sample(&after, "homecoming_db_pool_max_connections", &[]) >= 1.0);
    assert!(sample(&after, "homecoming_audit_queue_capacity", &[]) >= 1.0);
    let backend_label = match backend {
        Backend::Sqlite => "backend=\"sqlite\"",
        Backend::Postgres => "backend=\"postgres\"",
    };
    assert_eq!(
        sample(&after, "homecoming_build_info", &[backend_label]),
        1.0
    );
    // A path nobody serves is counted under one bounded label, never under its own name.
    let code = crate::access::call_code(
        &app,
        "/homecoming.v1.PersonService/ExportEverything",
        Some(&app.admin_token),
    )
    .await;
    assert_eq!(code, Code::Unimplemented);
    let text = app.scrape().await;
    assert_eq!(
        sample(
            &text,
            "grpc_server_handled_total",
            &["grpc_service=\"unknown\"", "grpc_code=\"UNIMPLEMENTED\""]
        ),
        1.0,
        "{text}"
    );
    assert!(!text.contains("ExportEverything"));
}

async fn open_watches_and_in_flight_calls_are_gauged(backend: Backend) {
    let app = spawn_app(backend).await;
    let watch = ["grpc_method=\"Watch\"", "grpc_type=\"server_stream\""];
    let mut stream = Box::pin(app.client.watch().stream());
    // The watch says where "now" is first: it is open once that arrives.
    stream.next().await.expect("a first message").unwrap();
    let text = scrape_until(&app, "the open watch", |t| {
        sample(t, "homecoming_watch_streams", &[]) == 1.0
    })
    .await;
    assert_eq!(
        sample(&text, "grpc_server_in_flight_requests", &watch),
        1.0,
        "{text}"
    );
    app.person("Potokenko", "Olha").await;
    stream.next().await.expect("the event").unwrap();
    let text = app.scrape().await;
    assert_eq!(
        sample(&text, "homecoming_watch_lag_revisions_max", &[]),
        0.0
    );
    drop(stream);
    // The client left: the stream ends as CANCELLED, and the gauges go back to 0.
    let text = scrape_until(&app, "the watch closed", |t| {
        sample(t, "homecoming_watch_streams", &[]) == 0.0
            && sample(t, "grpc_server_in_flight_requests", &watch) == 0.0
            && sample(
                t,
                "grpc_server_handled_total",
                &[watch[0], "grpc_code=\"CANCELLED\""],
            ) == 1.0
    })
    .await;
    assert_eq!(
        sample(&text, "grpc_server_handling_seconds_count", &[watch[0]]),
        1.0
    );
}

async fn request_ids_round_trip_into_the_audit_trail(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app.person("Zapytenko", "Marta").await;
    let mut raw = PersonServiceClient::new(app.client.channel());

    // The client's id comes back, and is the audit event's.
    let mut req = app.authorized(proto::GetPersonRequest { id: p.id.clone() });
    req.metadata_mut()
        .insert("x-request-id", "ops-check-0001".parse().unwrap());
    let answer = raw.get_person(req).await.unwrap();
    assert_eq!(
        answer
            .metadata()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("ops-check-0001")
    );
    // A failure carries it too (in the headers of the trailers-only answer).
    let mut req = app.authorized(proto::GetPersonRequest {
        id: uuid::Uuid::now_v7().to_string(),
    });
    req.metadata_mut()
        .insert("x-request-id", "ops-check-0002".parse().unwrap());
    let err = raw.get_person(req).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(
        err.metadata()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("ops-check-0002")
    );
    // A refused call (no token) is audited with its id as well.
    let mut req = tonic::Request::new(proto::GetPersonRequest { id: p.id.clone() });
    req.metadata_mut()
        .insert("x-request-id", "ops-check-0003".parse().unwrap());
    let err = raw.get_person(req).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    // Without one (or with one unfit to log), the server makes one: a UUID.
    for sent in [None, Some("has spaces and \u{7f}")] {
        let mut req = app.authorized(proto::GetPersonRequest { id: p.id.clone() });
        if let Some(s) = sent
            && let Ok(v) = s.parse()
        {
            req.metadata_mut().insert("x-request-id", v);
        }
        let answer = raw.get_person(req).await.unwrap();
        let id = answer
            .metadata()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id:?}");
    }
    // A write records the id in its own transaction's audit event.
    let mut req = app.authorized(proto::CreateCategoryRequest {
        category: Some(category("request-id-check")),
        ..Default::default()
    });
    req.metadata_mut()
        .insert("x-request-id", "ops-check-0004".parse().unwrap());
    homecoming_proto::v1::category_service_client::CategoryServiceClient::new(app.client.channel())
        .create_category(req)
        .await
        .unwrap();

    for (id, method, code) in [
        ("ops-check-0001", "GetPerson", "OK"),
        ("ops-check-0002", "GetPerson", "NOT_FOUND"),
        ("ops-check-0003", "GetPerson", "UNAUTHENTICATED"),
        ("ops-check-0004", "CreateCategory", "OK"),
    ] {
        let events: Vec<proto::AuditEvent> = app
            .client
            .audit_events(ListQuery::new().filter(field("request_id").eq(id)))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "{id}: {events:?}");
        assert!(events[0].method.ends_with(method), "{id}: {events:?}");
        assert_eq!(events[0].code, code, "{id}");
        assert_eq!(events[0].request_id, id);
    }
}

async fn error_reasons_name_the_kind_of_input(backend: Backend) {
    let app = spawn_app(backend).await;
    let persons = app.client.persons();
    let reason = |e: homecoming_client::Error| e.reason().unwrap_or_default().to_owned();
    let list_err = |q: ListQuery| {
        let persons = app.client.persons();
        async move {
            persons
                .list(q)
                .try_collect::<Vec<_>>()
                .await
                .expect_err("a bad list request")
        }
    };
    assert_eq!(
        reason(list_err(ListQuery::new().filter("family_name = ")).await),
        "FILTER_SYNTAX"
    );
    assert_eq!(
        reason(list_err(ListQuery::new().order_by("shoe_size")).await),
        "ORDER_BY_INVALID"
    );
    let mut raw = PersonServiceClient::new(app.client.channel());
    let err = raw
        .list_persons(app.authorized(proto::ListPersonsRequest {
            page_token: "not-a-token".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(
        reason(homecoming_client::Error::from(err)),
        "PAGE_TOKEN_INVALID"
    );
    let missing = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        reason(persons.get(&missing).await.unwrap_err()),
        "PERSON_NOT_FOUND"
    );
    let err = app.client.exchanges().get(&missing).await.unwrap_err();
    assert_eq!(reason(err), "EXCHANGE_NOT_FOUND");
    let viewer = app.client_as(proto::Role::Viewer).await;
    let err = viewer
        .categories()
        .create(category("not-for-viewers"))
        .await
        .unwrap_err();
    assert_eq!(reason(err), "ROLE_INSUFFICIENT");
}
