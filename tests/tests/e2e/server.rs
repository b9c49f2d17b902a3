use homecoming_tests::{Backend, backend_tests, spawn_app};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

backend_tests!(
    health_reports_serving_and_shutdown_is_graceful,
    planner_statistics_follow_the_rows,
);

/// PostgreSQL: tables whose rows outgrew their statistics are analyzed (the server does it every
/// 30 s; here it is called directly); fresh ones are left alone. SQLite: nothing to do.
async fn planner_statistics_follow_the_rows(backend: Backend) {
    let app = spawn_app(backend).await;
    let batch: Vec<homecoming_client::proto::Person> = (0..300)
        .map(|i| homecoming_client::proto::Person {
            kind: homecoming_client::proto::PersonKind::Civilian as i32,
            family_name: format!("Stat{i:03}"),
            given_name: "Ivan".into(),
            ..Default::default()
        })
        .collect();
    app.client.persons().batch_create(batch).await.unwrap();
    let store = homecoming_server::store::Store::open(
        &app.database_url,
        &homecoming_server::store::StoreOptions::default(),
    )
    .await
    .unwrap();
    if backend == Backend::Sqlite {
        assert!(store.refresh_statistics().await.unwrap().is_empty());
        return;
    }
    // Row counts reach pg_stat_user_tables within a second or so of the writing transaction.
    let mut analyzed = Vec::new();
    for _ in 0..40 {
        analyzed = store.refresh_statistics().await.unwrap();
        if analyzed.iter().any(|t| t == "persons") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(analyzed.iter().any(|t| t == "persons"), "{analyzed:?}");
    let again = store.refresh_statistics().await.unwrap();
    assert!(!again.iter().any(|t| t == "persons"), "{again:?}");
    store.close().await;
}

async fn health_reports_serving_and_shutdown_is_graceful(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let mut health = HealthClient::new(app.client.channel());
    for service in [
        "",
        "homecoming.v1.PersonService",
        "homecoming.v1.CategoryService",
    ] {
        let r = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.status, ServingStatus::Serving as i32, "{service:?}");
    }
    // Calls in flight when the server is told to stop still complete.
    let client = app.client.clone();
    let in_flight = tokio::spawn(async move {
        let batch = (0..1000)
            .map(|i| homecoming_tests::fixtures::person(&format!("Late{i}"), "Ivan"))
            .collect();
        client.persons().batch_create(batch).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.stop().await;
    let finished = in_flight.await.unwrap();
    // Either it completed, or it had not reached the server before shutdown and was refused;
    // it is never cut off half-written.
    if let Ok(created) = &finished {
        assert_eq!(created.len(), 1000);
    }
    let app = app.restart().await;
    let n = app
        .client
        .persons()
        .list_page(&homecoming_client::ListQuery::new().page_size(1000), "")
        .await
        .unwrap()
        .items
        .len();
    assert!(n == 0 || n == 1000, "all or nothing, got {n}");
    assert_eq!(n == 1000, finished.is_ok());
}
