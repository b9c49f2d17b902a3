//! Access control end to end: every RPC against every role, tokens (wrong, expired, revoked),
//! redaction for viewers, restricted persons, the audit trail, TLS and mutual TLS.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use homecoming_client::{Error, ListQuery, WatchEvent, proto};
use homecoming_server::{
    domain::WireEnum,
    grpc::auth::{Access, METHOD_ROLES, required_role},
};
use homecoming_tests::{Backend, TestApp, backend_tests, fixtures, spawn_app, spawn_app_with};
use prost::Message;
use tonic::{Code, codegen::http::uri::PathAndQuery};

backend_tests!(
    every_rpc_declares_a_role_and_enforces_it,
    wrong_expired_and_revoked_tokens_are_refused,
    token_management_is_for_admins,
    viewers_see_persons_redacted_in_get_list_and_watch,
    restricted_persons_are_invisible_to_everyone_but_admins,
    the_audit_trail_records_reads_writes_and_failures,
    reads_queued_for_the_audit_trail_are_written_at_shutdown,
    reads_are_audited_through_a_journal_that_loses_nothing,
    list_events_naming_thousands_of_ids_move_whole_and_once,
);

/// Every `homecoming.v1` method, from the descriptors the server serves by reflection.
fn all_methods() -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(homecoming_proto::FILE_DESCRIPTOR_SET)
        .expect("descriptor set");
    let mut out = Vec::new();
    for file in set.file {
        if file.package() != "homecoming.v1" {
            continue;
        }
        for service in &file.service {
            for method in &service.method {
                out.push(format!(
                    "/homecoming.v1.{}/{}",
                    service.name(),
                    method.name()
                ));
            }
        }
    }
    out
}

/// Calls `method` with an empty request (every field default) and returns the status code.
pub(crate) async fn call_code(app: &TestApp, method: &str, token: Option<&str>) -> Code {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", app.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut req = tonic::Request::new(());
    if let Some(t) = token {
        req.metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    let path = PathAndQuery::try_from(method.to_owned()).unwrap();
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    if method.ends_with("/Watch") {
        match grpc.server_streaming(req, path, codec).await {
            Ok(_) => Code::Ok,
            Err(s) => s.code(),
        }
    } else {
        match grpc.unary(req, path, codec).await {
            Ok(_) => Code::Ok,
            Err(s) => s.code(),
        }
    }
}

async fn every_rpc_declares_a_role_and_enforces_it(backend: Backend) {
    let methods = all_methods();
    assert!(methods.len() >= 23, "found {methods:?}");
    for m in &methods {
        assert!(
            METHOD_ROLES.iter().any(|(declared, _)| declared == m),
            "{m} has no role in grpc::auth::METHOD_ROLES"
        );
    }
    for (declared, _) in METHOD_ROLES {
        assert!(
            methods.contains(&(*declared).to_owned()),
            "{declared} is not an RPC"
        );
    }
    let app = spawn_app(backend).await;
    let viewer = app.token_for(proto::Role::Viewer).await;
    let editor = app.token_for(proto::Role::Editor).await;
    let roles = [
        (proto::Role::Viewer, viewer.as_str()),
        (proto::Role::Editor, editor.as_str()),
        (proto::Role::Admin, app.admin_token.as_str()),
    ];
    for m in &methods {
        let Access::Requires(required) = required_role(m) else {
            panic!("{m} is not declared with a role");
        };
        assert_eq!(
            call_code(&app, m, None).await,
            Code::Unauthenticated,
            "{m} without a token"
        );
        for (role, token) in roles {
            let code = call_code(&app, m, Some(token)).await;
            let allowed = role as i32 >= required.code();
            if allowed {
                assert!(
                    !matches!(code, Code::Unauthenticated | Code::PermissionDenied),
                    "{m} as {role:?}: {code:?}"
                );
            } else {
                assert_eq!(code, Code::PermissionDenied, "{m} as {role:?}");
            }
        }
    }
    // A method nobody declared is UNIMPLEMENTED, whoever calls, token or not (hardening #9:
    // it was PERMISSION_DENIED, which sent clients looking for a missing role).
    for token in [Some(app.admin_token.as_str()), None] {
        assert_eq!(
            call_code(&app, "/homecoming.v1.PersonService/ExportEverything", token).await,
            Code::Unimplemented
        );
    }
    // Health and reflection stay open.
    assert_eq!(
        call_code(&app, "/grpc.health.v1.Health/Check", None).await,
        Code::Ok
    );
}

/// The next person event of a watch, skipping bookmarks.
async fn next_person(
    w: &mut (impl futures::Stream<Item = Result<WatchEvent, Error>> + Unpin),
) -> (proto::EventType, proto::Person) {
    loop {
        let item = tokio::time::timeout(Duration::from_secs(10), w.next())
            .await
            .expect("watch stalled")
            .expect("stream ended")
            .expect("watch error");
        if let WatchEvent::Events(batch) = item {
            let e = batch.events.into_iter().next().expect("an event");
            let ty = proto::EventType::try_from(e.r#type).expect("event type");
            match e.resource {
                Some(proto::event::Resource::Person(p)) => return (ty, p),
                other => panic!("not a person: {other:?}"),
            }
        }
    }
}

fn reason(e: &Error) -> &str {
    e.reason().unwrap_or_default()
}

async fn wrong_expired_and_revoked_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let wrong = app.client_with(Some("hc_not-a-real-token")).await;
    let e = wrong
        .categories()
        .get("00000000-0000-7000-8000-000000000000")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unauthenticated(_)), "{e:?}");
    assert_eq!(reason(&e), "TOKEN_INVALID");
    let none = app.client_with(None).await;
    let e = none
        .persons()
        .list_page(&ListQuery::new(), "")
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "TOKEN_MISSING");

    // Expires in a second.
    let soon = std::time::SystemTime::now() + Duration::from_secs(1);
    let (_, secret) = app
        .client
        .create_token(
            "short-lived",
            proto::Role::Viewer,
            Some(prost_types::Timestamp::from(soon)),
        )
        .await
        .unwrap();
    let short = app.client_with(Some(&secret)).await;
    short
        .persons()
        .list_page(&ListQuery::new(), "")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let e = short
        .persons()
        .list_page(&ListQuery::new(), "")
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "TOKEN_EXPIRED", "{e:?}");

    // Revoked: refused at once on this server.
    let (token, secret) = app
        .client
        .create_token("revoked-soon", proto::Role::Editor, None)
        .await
        .unwrap();
    let c = app.client_with(Some(&secret)).await;
    c.categories()
        .create(fixtures::category("before-revoke"))
        .await
        .unwrap();
    let revoked = app.client.revoke_token(&token.id).await.unwrap();
    assert!(revoked.revoke_time.is_some());
    let e = c
        .categories()
        .create(fixtures::category("after-revoke"))
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "TOKEN_REVOKED", "{e:?}");
    // Revoking by name again keeps the first time.
    let again = app.client.revoke_token("revoked-soon").await.unwrap();
    assert_eq!(again.revoke_time, revoked.revoke_time);

    // Another role's token is not enough: a viewer cannot write.
    let viewer = app.client_as(proto::Role::Viewer).await;
    let e = viewer
        .categories()
        .create(fixtures::category("by-viewer"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PermissionDenied(_)), "{e:?}");
}

async fn token_management_is_for_admins(backend: Backend) {
    let app = spawn_app(backend).await;
    // The bootstrap token is the admin's; the file is readable by its owner only.
    let tokens: Vec<proto::Token> = app.client.list_tokens().try_collect().await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].name, "admin");
    assert_eq!(tokens[0].role, proto::Role::Admin as i32);
    let (t, secret) = app
        .client
        .create_token("ops-bot", proto::Role::Editor, None)
        .await
        .unwrap();
    assert!(secret.starts_with("hc_") && secret.len() >= 46);
    assert_eq!(t.created_by, "admin");
    let e = app
        .client
        .create_token("ops-bot", proto::Role::Viewer, None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyExists(_)), "{e:?}");
    let e = app
        .client
        .create_token("Bad Name", proto::Role::Unspecified, None)
        .await
        .unwrap_err();
    let fields: Vec<_> = e
        .field_violations()
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["token.name", "token.role"]);
    let editor = app.client_with(Some(&secret)).await;
    let e = editor
        .create_token("sneaky", proto::Role::Admin, None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PermissionDenied(_)), "{e:?}");
    let e = app.client.revoke_token("no-such-token").await.unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    // Secrets are stored only as hashes.
    let db = app.db().await;
    use sea_orm::ConnectionTrait;
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT secret_hash FROM access_tokens",
        ))
        .await
        .unwrap();
    for r in rows {
        let h: String = r.try_get("", "secret_hash").unwrap();
        assert_eq!(h.len(), 64);
        assert_ne!(h, secret);
    }
}

async fn sensitive_person(app: &TestApp) -> proto::Person {
    let x = app
        .client
        .exchanges()
        .create(fixtures::exchange("Stage", (2025, 7, 4)))
        .await
        .unwrap();
    let mut p = fixtures::person("Тестенко", "Іван");
    p.service_number = "SN-0001".into();
    p.place_of_birth = "Testville".into();
    p.notes = "private".into();
    p.date_of_birth = Some(homecoming_client::date(1990, 3, 1));
    p.exchange_id = x.id;
    app.client.persons().create(p).await.unwrap()
}

fn assert_redacted(p: &proto::Person) {
    assert!(p.service_number.is_empty(), "{p:?}");
    assert!(p.place_of_birth.is_empty() && p.notes.is_empty() && p.date_of_birth.is_none());
    assert_eq!(p.family_name, "Тестенко");
    assert_eq!(p.age_at_return, Some(35), "the derived age stays");
}

async fn viewers_see_persons_redacted_in_get_list_and_watch(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = sensitive_person(&app).await;
    assert_eq!(created.service_number, "SN-0001");
    let viewer = app.client_as(proto::Role::Viewer).await;
    assert_redacted(&viewer.persons().get(&created.id).await.unwrap());
    let listed: Vec<proto::Person> = viewer
        .persons()
        .list(ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_redacted(&listed[0]);
    let mut w = Box::pin(
        viewer
            .watch()
            .types([proto::ResourceType::Person])
            .initial_state(true)
            .stream(),
    );
    let (ty, p) = next_person(&mut w).await;
    assert_eq!(ty, proto::EventType::Created);
    assert_redacted(&p);
    // ... and live changes too.
    let mut upd = created.clone();
    upd.notes = "still private".into();
    app.client.persons().update(upd, &["notes"]).await.unwrap();
    let (ty, p) = next_person(&mut w).await;
    assert_eq!(ty, proto::EventType::Updated);
    assert_redacted(&p);
    // Filtering or ordering by a hidden field would reveal it.
    let e = viewer
        .persons()
        .list_page(&ListQuery::new().filter("service_number = \"SN-0001\""), "")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PermissionDenied(_)), "{e:?}");
    let e = viewer
        .persons()
        .list_page(&ListQuery::new().order_by("date_of_birth"), "")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PermissionDenied(_)), "{e:?}");
    // An editor sees everything.
    let editor = app.client_as(proto::Role::Editor).await;
    assert_eq!(
        editor
            .persons()
            .get(&created.id)
            .await
            .unwrap()
            .service_number,
        "SN-0001"
    );
}

async fn restricted_persons_are_invisible_to_everyone_but_admins(backend: Backend) {
    let app = spawn_app(backend).await;
    let open = sensitive_person(&app).await;
    let mut hidden = fixtures::person("Захищенко", "Петро");
    hidden.restricted = true;
    hidden.exchange_id = open.exchange_id.clone();
    let hidden = app.client.persons().create(hidden).await.unwrap();
    assert!(hidden.restricted);
    let editor = app.client_as(proto::Role::Editor).await;
    let viewer = app.client_as(proto::Role::Viewer).await;
    for c in [&editor, &viewer] {
        let e = c.persons().get(&hidden.id).await.unwrap_err();
        assert!(matches!(e, Error::NotFound(_)), "{e:?}");
        let ids: Vec<String> = c
            .persons()
            .list(ListQuery::new())
            .map_ok(|p| p.id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(ids, [open.id.as_str()]);
        let s = c.exchanges().summary(&open.exchange_id).await.unwrap();
        assert_eq!(
            s.persons.unwrap().persons,
            1,
            "figures leave the restricted person out"
        );
    }
    let s = app
        .client
        .exchanges()
        .summary(&open.exchange_id)
        .await
        .unwrap();
    assert_eq!(s.persons.unwrap().persons, 2);
    let ids: Vec<String> = app
        .client
        .persons()
        .list(ListQuery::new().filter("restricted = true"))
        .map_ok(|p| p.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, [hidden.id.as_str()]);
    // Editors can neither change nor create restricted persons.
    let mut upd = hidden.clone();
    upd.notes = "x".into();
    let e = editor.persons().update(upd, &["notes"]).await.unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    let mut p = fixtures::person("Новенко", "Ян");
    p.restricted = true;
    let e = editor.persons().create(p).await.unwrap_err();
    assert!(matches!(e, Error::PermissionDenied(_)), "{e:?}");
    assert_eq!(
        e.details()
            .unwrap()
            .metadata
            .get("field")
            .map(String::as_str),
        Some("person.restricted")
    );

    // Watching as an editor: restricting a person looks like a deletion, releasing like a
    // creation; the admin sees the updates.
    let rev = editor
        .persons()
        .list_page(&ListQuery::new(), "")
        .await
        .unwrap()
        .revision;
    let mut ew = Box::pin(
        editor
            .watch()
            .types([proto::ResourceType::Person])
            .after_list(rev)
            .stream(),
    );
    let mut aw = Box::pin(
        app.client
            .watch()
            .types([proto::ResourceType::Person])
            .after_list(rev)
            .stream(),
    );
    let mut r = open.clone();
    r.restricted = true;
    app.client
        .persons()
        .update(r, &["restricted"])
        .await
        .unwrap();
    let mut r = hidden.clone();
    r.restricted = false;
    app.client
        .persons()
        .update(r, &["restricted"])
        .await
        .unwrap();
    let (t1, p1) = next_person(&mut ew).await;
    assert_eq!(
        (t1, p1.id.as_str()),
        (proto::EventType::Deleted, open.id.as_str())
    );
    let (t2, p2) = next_person(&mut ew).await;
    assert_eq!(
        (t2, p2.id.as_str()),
        (proto::EventType::Created, hidden.id.as_str())
    );
    let (a1, q1) = next_person(&mut aw).await;
    assert_eq!(
        (a1, q1.id.as_str()),
        (proto::EventType::Updated, open.id.as_str())
    );
}

async fn the_audit_trail_records_reads_writes_and_failures(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, editor_secret) = app
        .client
        .create_token("audit-editor", proto::Role::Editor, None)
        .await
        .unwrap();
    let (_, viewer_secret) = app
        .client
        .create_token("audit-viewer", proto::Role::Viewer, None)
        .await
        .unwrap();
    let editor = app.client_with(Some(&editor_secret)).await;
    let viewer = app.client_with(Some(&viewer_secret)).await;
    let p = editor
        .persons()
        .create(fixtures::person("Аудитенко", "Олег"))
        .await
        .unwrap();
    viewer.persons().get(&p.id).await.unwrap();
    let missing = "00000000-0000-7000-8000-000000000000";
    viewer.persons().get(missing).await.unwrap_err();
    let mut stale = p.clone();
    stale.etag = "r0".into();
    stale.notes = "x".into();
    editor
        .persons()
        .update(stale, &["notes"])
        .await
        .unwrap_err();
    app.client_with(Some("hc_wrong"))
        .await
        .persons()
        .get(&p.id)
        .await
        .unwrap_err();

    // Reads are written in batches within ~100 ms: wait for them.
    let mut events = Vec::new();
    for _ in 0..50 {
        events = app
            .client
            .audit_events(
                ListQuery::new()
                    .filter(format!("resource_ids:\"{}\"", p.id))
                    .order_by("id"),
            )
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        if events.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let summary: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e.token_name.clone(),
                e.method.rsplit('/').next().unwrap().to_owned(),
                e.code.clone(),
            )
        })
        .collect();
    let want = |n: &str, m: &str, c: &str| (n.to_owned(), m.to_owned(), c.to_owned());
    assert_eq!(
        summary,
        [
            want("audit-editor", "CreatePerson", "OK"),
            want("audit-viewer", "GetPerson", "OK"),
            want("audit-editor", "UpdatePerson", "ABORTED"),
        ],
        "{events:#?}"
    );
    assert!(events.iter().all(|e| e.peer.starts_with("127.0.0.1:")));
    assert_eq!(events[0].role, proto::Role::Editor as i32);
    let not_found: Vec<proto::AuditEvent> = app
        .client
        .audit_events(ListQuery::new().filter(format!(
            "resource_ids:\"{missing}\" AND code = \"NOT_FOUND\""
        )))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(not_found.len(), 1);
    assert_eq!(not_found[0].token_name, "audit-viewer");
    let refused: Vec<proto::AuditEvent> = app
        .client
        .audit_events(ListQuery::new().filter("code = \"UNAUTHENTICATED\""))
        .try_collect()
        .await
        .unwrap();
    assert!(!refused.is_empty());
    // Filters by time and method; the admin's own audit reads are audited too.
    let recent: Vec<proto::AuditEvent> = app
        .client
        .audit_events(ListQuery::new().filter("time >= \"2020-01-01T00:00:00Z\" AND method = \"/homecoming.v1.AccessService/CreateToken\""))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(recent.len(), 2);
    assert!(recent.iter().all(|e| e.token_name == "admin"));
    let e = viewer
        .audit_events(ListQuery::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::PermissionDenied(_)));
}

async fn reads_queued_for_the_audit_trail_are_written_at_shutdown(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app.person("Останненко", "Гліб").await;
    let viewer = app.client_as(proto::Role::Viewer).await;
    for _ in 0..20 {
        viewer.persons().get(&p.id).await.unwrap();
    }
    // Stopped at once: the reads still waiting in the queue are written before the server ends.
    let app = app.restart().await;
    let reads = app.audit_events_naming(GET_PERSON, &p.id).await;
    assert_eq!(reads.len(), 20);
}

const GET_PERSON: &str = "/homecoming.v1.PersonService/GetPerson";

/// GetPerson events in the database's trail and, on SQLite, in the audit journal beside it,
/// counted by reading the files (the API's list would move the journal first).
async fn reads_on_file(app: &TestApp) -> (i64, Option<i64>) {
    events_on_file(app, GET_PERSON).await
}

/// Events of `method` in the trail and in the journal (SQLite), read from the files.
async fn events_on_file(app: &TestApp, method: &str) -> (i64, Option<i64>) {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let count = |db: sea_orm::DatabaseConnection| async move {
        let sql = format!("SELECT COUNT(*) AS n FROM audit_events WHERE method = '{method}'");
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        let n: i64 = row.try_get("", "n").unwrap();
        db.close().await.unwrap();
        n
    };
    let trail = count(app.db().await).await;
    let journal = match homecoming_server::store::sqlite_file(&app.database_url) {
        Some(file) => {
            let url = format!("sqlite://{}", homecoming_server::store::journal_file(file));
            Some(count(Database::connect(url).await.unwrap()).await)
        }
        None => None,
    };
    (trail, journal)
}

async fn reads_are_audited_through_a_journal_that_loses_nothing(backend: Backend) {
    // The journal is moved only when something needs it (an hour is never reached here).
    let mut app = spawn_app_with(backend, &["--audit-journal-interval", "1h"]).await;
    let sqlite = backend == Backend::Sqlite;
    let p = app.person("Журналенко", "Ігор").await;
    let viewer = app.client_as(proto::Role::Viewer).await;
    for _ in 0..3 {
        viewer.persons().get(&p.id).await.unwrap();
    }
    let filter = format!("method = \"{GET_PERSON}\"");
    let listed = |app: &TestApp| {
        let filter = filter.clone();
        let client = app.client.clone();
        async move {
            let events: Vec<proto::AuditEvent> = client
                .audit_events(ListQuery::new().filter(filter).page_size(1000))
                .try_collect()
                .await
                .unwrap();
            events.len()
        }
    };
    // SQLite: answered reads are on disk in the journal, the database untouched by them.
    let expect = |trail, journal| (trail, sqlite.then_some(journal));
    // What an operator sees of it: the journal's backlog (none on PostgreSQL, which has no
    // journal).
    let journal_gauge =
        |text: String| crate::operability::sample(&text, "homecoming_audit_journal_events", &[]);
    if sqlite {
        assert_eq!(reads_on_file(&app).await, expect(0, 3));
        assert!(journal_gauge(app.scrape().await) >= 3.0);
    } else {
        assert_eq!(journal_gauge(app.scrape().await), 0.0);
    }
    // A list moves the journal into the trail first: it sees every read answered before it.
    assert_eq!(listed(&app).await, 3);
    assert_eq!(reads_on_file(&app).await, expect(3, 0));
    // Reads, then a crash: the next start moves what the journal holds before it serves.
    for _ in 0..2 {
        viewer.persons().get(&p.id).await.unwrap();
    }
    if sqlite {
        assert_eq!(reads_on_file(&app).await, expect(3, 2));
    }
    app.crash();
    app.start_again().await;
    assert_eq!(reads_on_file(&app).await, expect(5, 0));
    assert_eq!(journal_gauge(app.scrape().await), 0.0, "moved at start");
    // A clean stop moves it too; each read is in the trail once.
    let viewer = app.client_as(proto::Role::Viewer).await;
    viewer.persons().get(&p.id).await.unwrap();
    app.stop().await;
    assert_eq!(reads_on_file(&app).await, expect(6, 0));
    app.start_again().await;
    assert_eq!(listed(&app).await, 6);
}

async fn list_events_naming_thousands_of_ids_move_whole_and_once(backend: Backend) {
    let app = spawn_app_with(backend, &["--audit-journal-interval", "1h"]).await;
    let batch = (0..1000)
        .map(|i| fixtures::person(&format!("Спискенко{i}"), "Ігор"))
        .collect();
    let persons = app.client.persons().batch_create(batch).await.unwrap();
    let viewer = app.client_as(proto::Role::Viewer).await;
    // 25 pages of 1,000: 25,000 resource ids, more than one move of the journal takes at once
    // (SQLite), so the move runs in several transactions.
    for _ in 0..25 {
        let page = viewer
            .persons()
            .list_page(&ListQuery::new().page_size(1000), "")
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1000);
    }
    for p in [&persons[0], &persons[499], &persons[999]] {
        let events = app
            .audit_events_naming("/homecoming.v1.PersonService/ListPersons", &p.id)
            .await;
        assert_eq!(
            events.len(),
            25,
            "every list that named {} is on record once",
            p.id
        );
        assert!(events.iter().all(|e| e.resource_ids.len() == 1000));
    }
    let lists = events_on_file(&app, "/homecoming.v1.PersonService/ListPersons").await;
    let expect = (25, (backend == Backend::Sqlite).then_some(0));
    assert_eq!(lists, expect, "all in the trail, none left in the journal");
}
