use homecoming_tests::{Backend, backend_tests, spawn_app};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

backend_tests!(health_reports_serving_and_shutdown_is_graceful);

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
