//! The server's logs never hold a token or a sensitive value. Every line the server writes
//! while serving a session that touches all of them — tokens good and bad, sensitive fields
//! written, read, filtered on, refused, imported, watched — is captured (everything at DEBUG,
//! the request log included) and scanned. A test binary of its own: it installs the process's
//! global subscriber.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use futures::{StreamExt, TryStreamExt};
use homecoming_client::{ListQuery, date, proto};
use homecoming_tests::{Backend, backend_tests, fixtures::*, spawn_app};
use tracing_subscriber::{EnvFilter, fmt::MakeWriter};

backend_tests!(no_token_or_sensitive_value_reaches_the_log);

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();

fn captured() -> Captured {
    LOG.get_or_init(|| {
        let log = Captured::default();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("debug"))
            .with_writer(log.clone())
            .with_ansi(false)
            .try_init();
        log
    })
    .clone()
}

async fn no_token_or_sensitive_value_reaches_the_log(backend: Backend) {
    let log = captured();
    let app = spawn_app(backend).await;
    let marker = format!("q7x{}", uuid::Uuid::new_v4().simple());
    let sensitive = proto::Person {
        notes: format!("note-{marker}"),
        place_of_birth: format!("place-{marker}"),
        service_number: format!("SN-{marker}"),
        date_of_birth: Some(date(1971, 3, 9)),
        ..person("Zhurnalenko", "Taras")
    };
    let created = app
        .client
        .persons()
        .create(sensitive.clone())
        .await
        .unwrap();
    let viewer_secret = app.token_for(proto::Role::Viewer).await;
    let viewer = app.client_with(Some(&viewer_secret)).await;
    viewer.persons().get(&created.id).await.unwrap();
    let bogus = format!("hc_{marker}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    app.client_with(Some(&bogus))
        .await
        .persons()
        .get(&created.id)
        .await
        .unwrap_err();
    // A filter quoting a sensitive value (refused to a viewer, answered to the admin).
    let filter = format!("service_number = \"SN-{marker}\"");
    viewer
        .persons()
        .list(ListQuery::new().filter(filter.as_str()))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    let found: Vec<_> = app
        .client
        .persons()
        .list(ListQuery::new().filter(filter.as_str()))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    // Refused writes whose messages quote the value.
    app.client
        .persons()
        .create(proto::Person {
            category_codes: vec![format!("code-{marker}")],
            ..sensitive.clone()
        })
        .await
        .unwrap_err();
    app.client
        .persons()
        .update(
            proto::Person {
                notes: format!("updated-{marker}"),
                etag: "W/\"stale\"".into(),
                ..created.clone()
            },
            &["notes"],
        )
        .await
        .unwrap_err();
    // An import with a good row and a bad one.
    app.client
        .persons()
        .import(proto::ImportPersonsRequest {
            persons: vec![
                proto::Person {
                    service_number: format!("SN2-{marker}"),
                    ..sensitive.clone()
                },
                proto::Person {
                    family_name: String::new(),
                    ..sensitive.clone()
                },
            ],
            mode: proto::ImportMode::PerRow as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    // A watch that sees a sensitive change.
    let mut watch = Box::pin(app.client.watch().stream());
    watch.next().await.unwrap().unwrap();
    app.client
        .persons()
        .update(
            proto::Person {
                notes: format!("watched-{marker}"),
                ..app.client.persons().get(&created.id).await.unwrap()
            },
            &["notes"],
        )
        .await
        .unwrap();
    watch.next().await.unwrap().unwrap();
    drop(watch);
    let mut app = app;
    app.stop().await;

    let text = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
    // The capture works: the request log's lines are there, with their request ids.
    assert!(
        text.contains("homecoming::request") && text.contains("request_id="),
        "nothing captured"
    );
    for secret in [&app.admin_token, &viewer_secret, &bogus] {
        assert!(!text.contains(secret.as_str()), "a token secret was logged");
    }
    assert!(
        !text.contains(&marker),
        "a sensitive value was logged:\n{}",
        text.lines()
            .filter(|l| l.contains(&marker))
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(!text.contains("1971-03-09"), "a birth date was logged");
}
