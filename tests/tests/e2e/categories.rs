use homecoming_client::{Error, ListQuery, proto};
use homecoming_tests::{Backend, backend_tests, fixtures::*, spawn_app};

backend_tests!(
    categories_can_be_created_read_listed_updated_and_deleted,
    duplicate_codes_are_already_exists,
    codes_are_immutable,
);

async fn categories_can_be_created_read_listed_updated_and_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.client.categories();
    let created = c
        .create(proto::Category {
            code: "  under-25 ".into(),
            title: " Under 25 years old ".into(),
            description: "Defenders younger than 25".into(),
            kind: proto::CategoryKind::Demographic as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.code, "under-25", "codes are trimmed");
    assert_eq!(created.title, "Under 25 years old", "titles are trimmed");
    assert!(uuid::Uuid::parse_str(&created.id).is_ok());
    assert!(!created.etag.is_empty());
    assert_eq!(created.create_time, created.update_time);

    let got = c.get(&created.id).await.unwrap();
    assert_eq!(got, created);

    c.create(category("civilian")).await.unwrap();
    let page = c
        .list_page(&ListQuery::new().order_by("code"), "")
        .await
        .unwrap();
    let codes: Vec<_> = page.items.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["civilian", "under-25"]);
    assert!(page.next_page_token.is_empty());
    assert!(page.revision >= 2);

    let updated = c
        .update(
            proto::Category {
                id: created.id.clone(),
                title: "Younger than 25".into(),
                description: "ignored: not in the mask".into(),
                ..Default::default()
            },
            &["title"],
        )
        .await
        .unwrap();
    assert_eq!(updated.title, "Younger than 25");
    assert_eq!(updated.description, "Defenders younger than 25");
    assert_ne!(updated.etag, created.etag);
    let t = |c: &proto::Category| c.update_time.map(|t| (t.seconds, t.nanos));
    assert!(t(&updated) > t(&created));
    assert_eq!(updated.create_time, created.create_time);

    c.delete(&created.id, Some(&updated.etag)).await.unwrap();
    let gone = c.get(&created.id).await.unwrap_err();
    assert!(matches!(gone, Error::NotFound(_)), "{gone:?}");
    let again = c.delete(&created.id, None).await.unwrap_err();
    assert!(matches!(again, Error::NotFound(_)), "{again:?}");
}

async fn duplicate_codes_are_already_exists(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.client.categories();
    c.create(category("illegally-convicted")).await.unwrap();
    let err = c.create(category("illegally-convicted")).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(_)), "{err:?}");
    assert_eq!(err.reason(), Some("CATEGORY_ALREADY_EXISTS"));
}

async fn codes_are_immutable(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.client.categories();
    let created = c.create(category("held-since-2022")).await.unwrap();
    let err = c
        .update(
            proto::Category {
                id: created.id.clone(),
                code: "renamed".into(),
                ..Default::default()
            },
            &["code"],
        )
        .await
        .unwrap_err();
    assert_eq!(err.field_violations()[0].field, "update_mask.paths[0]");
    // Echoing the resource back unchanged (empty mask) is fine; changing the code is not.
    let same = c.update(created.clone(), &[]).await.unwrap();
    assert_eq!(same.code, "held-since-2022");
    let err = c
        .update(
            proto::Category {
                code: "renamed".into(),
                ..created
            },
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(err.field_violations()[0].field, "category.code");
}
