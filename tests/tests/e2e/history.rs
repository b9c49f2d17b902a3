//! A person's record history: every version with who wrote it and what changed, kept through
//! change-log compaction, redacted for viewers, hidden with a restricted person.

use std::time::Duration;

use futures::TryStreamExt;
use homecoming_client::{Client, Error, date, proto};
use homecoming_tests::{Backend, backend_tests, fixtures, spawn_app, spawn_app_with};

backend_tests!(
    every_version_names_its_writer_and_its_changes,
    history_outlives_change_log_compaction,
    viewers_see_that_sensitive_fields_changed_but_not_their_values,
    a_restricted_persons_history_is_for_admins_only,
);

async fn history(c: &Client, id: &str) -> Result<Vec<proto::PersonVersion>, Error> {
    c.persons().history(id).try_collect().await
}

fn change<'a>(v: &'a proto::PersonVersion, field: &str) -> Option<&'a proto::FieldChange> {
    v.changes.iter().find(|c| c.field == field)
}

async fn every_version_names_its_writer_and_its_changes(backend: Backend) {
    use proto::person_version::Operation;
    let app = spawn_app(backend).await;
    let p = app.person("Історенко", "Іван").await;
    let editor = app.client_as(proto::Role::Editor).await;
    editor
        .persons()
        .update(
            proto::Person {
                id: p.id.clone(),
                status: proto::PersonStatus::InCaptivity as i32,
                ..Default::default()
            },
            &["status"],
        )
        .await
        .unwrap();
    editor
        .events()
        .create(proto::PersonEvent {
            person_id: p.id.clone(),
            r#type: proto::PersonEventType::Captured as i32,
            date: Some(date(2022, 5, 20)),
            ..Default::default()
        })
        .await
        .unwrap();
    let versions = history(&app.client, &p.id).await.unwrap();
    assert_eq!(versions.len(), 3, "{versions:#?}");
    assert_eq!(versions[0].operation, Operation::Created as i32);
    assert_eq!(versions[0].token_name, "admin");
    assert_eq!(versions[0].role, proto::Role::Admin as i32);
    let name = change(&versions[0], "family_name").unwrap();
    assert_eq!(
        (name.old_value.as_str(), name.new_value.as_str()),
        ("\"\"", "\"Історенко\"")
    );
    assert_eq!(versions[1].operation, Operation::Updated as i32);
    assert!(
        versions[1].token_name.starts_with("test-role-editor"),
        "{}",
        versions[1].token_name
    );
    assert_eq!(versions[1].role, proto::Role::Editor as i32);
    let status = change(&versions[1], "status").unwrap();
    assert_eq!(
        (status.old_value.as_str(), status.new_value.as_str()),
        ("\"UNSPECIFIED\"", "\"IN_CAPTIVITY\"")
    );
    assert_eq!(versions[1].changes.len(), 1);
    // The timeline's change to the person is a version too, by the event's writer.
    let capture = change(&versions[2], "capture_date").unwrap();
    assert_eq!(capture.new_value, "\"2022-05-20\"");
    assert!(versions[2].revision > versions[1].revision);
    // A deleted person's history stays.
    app.client.persons().delete(&p.id, None).await.unwrap();
    let versions = history(&app.client, &p.id).await.unwrap();
    assert_eq!(
        versions.last().unwrap().operation,
        Operation::Deleted as i32
    );
    let e = history(&app.client, "00000000-0000-7000-8000-000000000000")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
}

async fn history_outlives_change_log_compaction(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            "--change-log-max-revisions",
            "1",
            "--compaction-interval",
            "100ms",
        ],
    )
    .await;
    let p = app.person("Триваленко", "Іван").await;
    for unit in ["Unit 1", "Unit 2", "Unit 3"] {
        app.client
            .persons()
            .update(
                proto::Person {
                    id: p.id.clone(),
                    unit: unit.into(),
                    ..Default::default()
                },
                &["unit"],
            )
            .await
            .unwrap();
    }
    app.categories(&["later"]).await;
    // Compaction keeps only the last revision of the change log.
    let start = tokio::time::Instant::now();
    loop {
        let e = app.client.watch().start_revision(1).max_retries(0).stream();
        let first = futures::StreamExt::next(&mut Box::pin(e)).await;
        if matches!(first, Some(Err(Error::RevisionCompacted { .. }))) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no compaction");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let versions = history(&app.client, &p.id).await.unwrap();
    assert_eq!(versions.len(), 4);
    assert_eq!(
        change(&versions[3], "unit").unwrap().new_value,
        "\"Unit 3\""
    );
}

async fn viewers_see_that_sensitive_fields_changed_but_not_their_values(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app
        .client
        .persons()
        .create(proto::Person {
            service_number: "SN-000001".into(),
            identity_documents: vec![proto::IdentityDocument {
                r#type: proto::IdentityDocumentType::MilitaryId as i32,
                number: "AA-1".into(),
                issuer: "Synthetic office".into(),
            }],
            ..fixtures::person("Прихованенко", "Іван")
        })
        .await
        .unwrap();
    let viewer = app.client_as(proto::Role::Viewer).await;
    let versions = history(&viewer, &p.id).await.unwrap();
    let sn = change(&versions[0], "service_number").unwrap();
    assert!(sn.redacted);
    assert_eq!(
        (sn.old_value.as_str(), sn.new_value.as_str()),
        ("null", "null")
    );
    let docs = change(&versions[0], "identity_documents").unwrap();
    assert!(docs.redacted);
    assert!(!docs.new_value.contains("AA-1"), "{}", docs.new_value);
    assert!(docs.new_value.contains("Synthetic office"));
    let text = format!("{versions:?}");
    assert!(!text.contains("SN-000001") && !text.contains("AA-1"));
    let admin = history(&app.client, &p.id).await.unwrap();
    assert_eq!(
        change(&admin[0], "service_number").unwrap().new_value,
        "\"SN-000001\""
    );
}

async fn a_restricted_persons_history_is_for_admins_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app.person("Закритенко", "Іван").await;
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
    for role in [proto::Role::Viewer, proto::Role::Editor] {
        let c = app.client_as(role).await;
        let e = history(&c, &p.id).await.unwrap_err();
        assert!(matches!(e, Error::NotFound(_)), "{role:?}: {e:?}");
    }
    assert_eq!(history(&app.client, &p.id).await.unwrap().len(), 2);
}
