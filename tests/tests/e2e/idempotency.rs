use homecoming_client::{Error, ListQuery, proto};
use homecoming_tests::{Backend, backend_tests, fixtures::*, spawn_app, spawn_app_with};

backend_tests!(
    retries_with_the_same_request_id_create_once,
    a_request_id_reused_for_another_request_is_rejected,
    retries_are_remembered_across_restarts,
    request_ids_are_forgotten_after_their_retention,
);

async fn retries_with_the_same_request_id_create_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let rid = uuid::Uuid::new_v4().to_string();
    let c = app.client.categories();
    let first = c
        .create_with_request_id(category("under-25"), &rid)
        .await
        .unwrap();
    let second = c
        .create_with_request_id(category("under-25"), &rid)
        .await
        .unwrap();
    assert_eq!(first, second, "a retry returns the first result");

    let x1 = app
        .client
        .exchanges()
        .create_with_request_id(exchange("Stage", (2025, 7, 4)), &rid)
        .await
        .unwrap();
    let x2 = app
        .client
        .exchanges()
        .create_with_request_id(exchange("Stage", (2025, 7, 4)), &rid)
        .await
        .unwrap();
    assert_eq!(x1.id, x2.id, "request ids are scoped per method");

    let p1 = app
        .client
        .persons()
        .create_with_request_id(person("Testenko", "Ivan"), &rid)
        .await
        .unwrap();
    let p2 = app
        .client
        .persons()
        .create_with_request_id(person("Testenko", "Ivan"), &rid)
        .await
        .unwrap();
    assert_eq!(p1, p2);

    let batch = vec![person("A", "One"), person("B", "Two")];
    let b1 = app
        .client
        .persons()
        .batch_create_with_request_id(batch.clone(), &rid)
        .await
        .unwrap();
    let b2 = app
        .client
        .persons()
        .batch_create_with_request_id(batch, &rid)
        .await
        .unwrap();
    assert_eq!(b1, b2);

    // Concurrent retries of one request still create once.
    let rid2 = uuid::Uuid::new_v4().to_string();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = app.client.clone();
            let rid2 = rid2.clone();
            tokio::spawn(async move {
                client
                    .persons()
                    .create_with_request_id(person("Concurrenko", "Ivan"), rid2)
                    .await
                    .unwrap()
                    .id
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");

    let page = app
        .client
        .persons()
        .list_page(&ListQuery::new().page_size(100), "")
        .await
        .unwrap();
    assert_eq!(page.items.len(), 4, "1 + 2 + 1 persons");
    assert_eq!(
        app.client
            .categories()
            .list_page(&ListQuery::new(), "")
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

async fn a_request_id_reused_for_another_request_is_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    let rid = uuid::Uuid::new_v4().to_string();
    app.client
        .persons()
        .create_with_request_id(person("Testenko", "Ivan"), &rid)
        .await
        .unwrap();
    let err = app
        .client
        .persons()
        .create_with_request_id(person("Otherenko", "Petro"), &rid)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    assert_eq!(err.field_violations()[0].field, "request_id");
    let err = app
        .client
        .persons()
        .create_with_request_id(person("Testenko", "Ivan"), "x".repeat(129))
        .await
        .unwrap_err();
    assert_eq!(err.field_violations()[0].field, "request_id");
}

async fn retries_are_remembered_across_restarts(backend: Backend) {
    let app = spawn_app(backend).await;
    let rid = uuid::Uuid::new_v4().to_string();
    let created = app
        .client
        .exchanges()
        .create_with_request_id(exchange("Stage", (2025, 7, 4)), &rid)
        .await
        .unwrap();
    let app = app.restart().await;
    let again = app
        .client
        .exchanges()
        .create_with_request_id(exchange("Stage", (2025, 7, 4)), &rid)
        .await
        .unwrap();
    assert_eq!(again, created);
    let got = app.client.exchanges().get(&created.id).await.unwrap();
    assert_eq!(got, created, "data survives a restart");
    let all = app
        .client
        .exchanges()
        .list_page(&ListQuery::new(), "")
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1);
    let _: proto::Exchange = got;
}

async fn request_ids_are_forgotten_after_their_retention(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            "--request-id-retention",
            "0s",
            "--compaction-interval",
            "50ms",
        ],
    )
    .await;
    let rid = uuid::Uuid::new_v4().to_string();
    let first = app
        .client
        .persons()
        .create_with_request_id(person("Testenko", "Ivan"), &rid)
        .await
        .unwrap();
    let mut again = first.clone();
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        again = app
            .client
            .persons()
            .create_with_request_id(person("Testenko", "Ivan"), &rid)
            .await
            .unwrap();
        if again.id != first.id {
            break;
        }
    }
    assert_ne!(again.id, first.id, "a forgotten request id creates again");
}
