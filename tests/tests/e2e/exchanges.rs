use homecoming_client::{Error, date, proto};
use homecoming_tests::{Backend, backend_tests, fixtures::*, spawn_app};

backend_tests!(
    exchanges_keep_every_field,
    exchanges_referenced_by_persons_cannot_be_deleted,
    categories_in_use_cannot_be_deleted,
);

async fn exchanges_keep_every_field(backend: Backend) {
    let app = spawn_app(backend).await;
    app.categories(&["under-25", "wounded-seriously-ill"]).await;
    let x = proto::Exchange {
        title: "Stage 1 of exchange 66".into(),
        exchange_date: Some(date(2025, 7, 4)),
        status: proto::ExchangeStatus::Completed as i32,
        exchange_number: Some(66),
        stage_number: Some(1),
        framework: "Istanbul agreements".into(),
        counterparty: "Counterparty".into(),
        mediators: vec!["Mediator A".into(), "Mediator B".into()],
        location: "Border crossing point".into(),
        announced_returned_count: None,
        announced_handed_over_count: Some(0),
        category_codes: vec!["wounded-seriously-ill".into(), "under-25".into()],
        source_urls: vec!["https://example.org/news/1".into()],
        notes: "Line one\nLine two".into(),
        ..Default::default()
    };
    let created = app.client.exchanges().create(x.clone()).await.unwrap();
    let got = app.client.exchanges().get(&created.id).await.unwrap();
    assert_eq!(got, created);
    let proto::Exchange {
        id: _,
        create_time: _,
        update_time: _,
        etag: _,
        ..
    } = &got;
    let expected = proto::Exchange {
        id: got.id.clone(),
        create_time: got.create_time,
        update_time: got.update_time,
        etag: got.etag.clone(),
        ..x
    };
    assert_eq!(got, expected);
    assert_eq!(
        got.announced_returned_count, None,
        "withheld counts stay unset"
    );
    assert_eq!(
        got.announced_handed_over_count,
        Some(0),
        "zero is not unset"
    );

    // A full replacement clears what it does not set.
    let replaced = app
        .client
        .exchanges()
        .update(
            proto::Exchange {
                id: got.id.clone(),
                ..exchange("Renamed", (2025, 7, 5))
            },
            &["*"],
        )
        .await
        .unwrap();
    assert!(replaced.mediators.is_empty());
    assert!(replaced.category_codes.is_empty());
    assert_eq!(replaced.exchange_number, None);
    // ... and its category links went with it: the category can now be deleted.
    let cat = app
        .client
        .categories()
        .list_page(&Default::default(), "")
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|c| c.code == "under-25")
        .unwrap();
    app.client.categories().delete(&cat.id, None).await.unwrap();
}

async fn exchanges_referenced_by_persons_cannot_be_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let x = app
        .client
        .exchanges()
        .create(exchange("Stage", (2025, 7, 4)))
        .await
        .unwrap();
    let p = app
        .client
        .persons()
        .create(proto::Person {
            exchange_id: x.id.clone(),
            ..person("Testenko", "Ivan")
        })
        .await
        .unwrap();
    let err = app
        .client
        .exchanges()
        .delete(&x.id, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::FailedPrecondition(_)), "{err:?}");
    assert_eq!(err.reason(), Some("EXCHANGE_IN_USE"));
    app.client.persons().delete(&p.id, None).await.unwrap();
    app.client.exchanges().delete(&x.id, None).await.unwrap();
}

async fn categories_in_use_cannot_be_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let cat = app
        .client
        .categories()
        .create(category("civilian"))
        .await
        .unwrap();
    let p = app
        .client
        .persons()
        .create(proto::Person {
            category_codes: vec!["civilian".into()],
            ..person("Testenko", "Petro")
        })
        .await
        .unwrap();
    let err = app
        .client
        .categories()
        .delete(&cat.id, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::FailedPrecondition(_)), "{err:?}");
    assert_eq!(err.reason(), Some("CATEGORY_IN_USE"));
    app.client
        .persons()
        .update(
            proto::Person {
                id: p.id.clone(),
                ..Default::default()
            },
            &["category_codes"],
        )
        .await
        .unwrap();
    app.client.categories().delete(&cat.id, None).await.unwrap();

    let x = app
        .client
        .exchanges()
        .create(exchange("S", (2025, 1, 1)))
        .await
        .unwrap();
    let cat = app
        .client
        .categories()
        .create(category("civilian"))
        .await
        .unwrap();
    app.client
        .exchanges()
        .update(
            proto::Exchange {
                id: x.id,
                category_codes: vec!["civilian".into()],
                ..Default::default()
            },
            &[],
        )
        .await
        .unwrap();
    let err = app
        .client
        .categories()
        .delete(&cat.id, None)
        .await
        .unwrap_err();
    assert_eq!(err.reason(), Some("CATEGORY_IN_USE"));
}
