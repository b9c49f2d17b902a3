use homecoming_client::{Error, ListQuery, date, proto};
use homecoming_tests::{Backend, backend_tests, fixtures::*, spawn_app};

backend_tests!(
    invalid_requests_name_every_bad_field,
    unknown_references_are_invalid_arguments,
    ids_must_be_uuids_and_exist,
    stale_etags_abort_updates_and_deletes,
    text_limits_are_enforced,
);

fn fields(err: &Error) -> Vec<String> {
    err.field_violations()
        .iter()
        .map(|v| v.field.clone())
        .collect()
}

async fn invalid_requests_name_every_bad_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let err = app
        .client
        .persons()
        .create(proto::Person {
            kind: 0,
            family_name: "   ".into(),
            given_name: "".into(),
            date_of_birth: Some(date(2001, 2, 30)),
            sex: 42,
            category_codes: vec!["Not A Code".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    // The first violation's kind (a field's value), not the code's name again.
    assert_eq!(err.reason(), Some("FIELD_INVALID"));
    assert!(
        err.to_string()
            .contains("30 February 2001 does not exist: February 2001 has 28 days"),
        "an impossible date is named as such: {err}"
    );
    let mut f = fields(&err);
    f.sort();
    assert_eq!(
        f,
        [
            "person.category_codes[0]",
            "person.date_of_birth",
            "person.family_name",
            "person.given_name",
            "person.kind",
            "person.sex",
        ],
        "every bad field, each once: {err}"
    );
    let err = app
        .client
        .persons()
        .create(proto::Person {
            family_name: "   ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        fields(&err),
        ["person.kind", "person.family_name", "person.given_name"]
    );

    let err = app
        .client
        .exchanges()
        .create(proto::Exchange {
            source_urls: vec!["not a url".into()],
            stage_number: Some(-1),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let mut f = fields(&err);
    f.sort();
    assert_eq!(
        f,
        [
            "exchange.exchange_date",
            "exchange.source_urls[0]",
            "exchange.stage_number",
            "exchange.title",
        ]
    );
    let err = app
        .client
        .categories()
        .create(proto::Category::default())
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["category.code", "category.title"]);
}

async fn unknown_references_are_invalid_arguments(backend: Backend) {
    let app = spawn_app(backend).await;
    let err = app
        .client
        .persons()
        .create(proto::Person {
            exchange_id: uuid::Uuid::now_v7().to_string(),
            category_codes: vec!["missing-code".into()],
            ..person("Testenko", "Ivan")
        })
        .await
        .unwrap_err();
    let mut f = fields(&err);
    f.sort();
    assert_eq!(f, ["person.category_codes[0]", "person.exchange_id"]);
    let err = app
        .client
        .persons()
        .create(proto::Person {
            exchange_id: "not-an-id".into(),
            ..person("Testenko", "Ivan")
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["person.exchange_id"]);
    let err = app
        .client
        .exchanges()
        .create(proto::Exchange {
            category_codes: vec!["missing-code".into()],
            ..exchange("S", (2025, 1, 1))
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["exchange.category_codes[0]"]);
}

async fn ids_must_be_uuids_and_exist(backend: Backend) {
    let app = spawn_app(backend).await;
    let err = app.client.persons().get("abc").await.unwrap_err();
    assert_eq!(fields(&err), ["id"]);
    let err = app.client.persons().get("").await.unwrap_err();
    assert_eq!(fields(&err), ["id"]);
    let missing = uuid::Uuid::now_v7().to_string();
    for err in [
        app.client.persons().get(&missing).await.unwrap_err(),
        app.client.exchanges().get(&missing).await.unwrap_err(),
        app.client.categories().get(&missing).await.unwrap_err(),
        app.client
            .persons()
            .delete(&missing, None)
            .await
            .unwrap_err(),
        app.client
            .persons()
            .update(
                proto::Person {
                    id: missing.clone(),
                    ..person("A", "B")
                },
                &[],
            )
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");
        let reason = err.reason().unwrap_or_default();
        assert!(
            [
                "PERSON_NOT_FOUND",
                "EXCHANGE_NOT_FOUND",
                "CATEGORY_NOT_FOUND"
            ]
            .contains(&reason),
            "{err:?}"
        );
    }
    let err = app
        .client
        .persons()
        .update(person("A", "B"), &[])
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["person.id"]);
}

async fn stale_etags_abort_updates_and_deletes(backend: Backend) {
    let app = spawn_app(backend).await;
    let persons = app.client.persons();
    let p = persons.create(person("Testenko", "Ivan")).await.unwrap();
    let first = persons
        .update(
            proto::Person {
                given_name: "Ivanna".into(),
                ..p.clone()
            },
            &["given_name"],
        )
        .await
        .unwrap();
    // A second writer still holding the old etag loses.
    let err = persons
        .update(
            proto::Person {
                given_name: "Olena".into(),
                ..p.clone()
            },
            &["given_name"],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Aborted(_)), "{err:?}");
    assert_eq!(err.reason(), Some("ETAG_MISMATCH"));
    assert_eq!(
        err.details().unwrap().metadata.get("current_etag"),
        Some(&first.etag)
    );
    let err = persons.delete(&p.id, Some(&p.etag)).await.unwrap_err();
    assert!(matches!(err, Error::Aborted(_)), "{err:?}");
    assert_eq!(persons.get(&p.id).await.unwrap().given_name, "Ivanna");
    persons.delete(&p.id, Some(&first.etag)).await.unwrap();
}

async fn text_limits_are_enforced(backend: Backend) {
    let app = spawn_app(backend).await;
    let err = app
        .client
        .persons()
        .create(proto::Person {
            notes: "n".repeat(10_001),
            unit: "u".repeat(201),
            category_codes: (0..51).map(|i| format!("c{i}")).collect(),
            ..person(&"Ш".repeat(201), "Ivan")
        })
        .await
        .unwrap_err();
    let mut f = fields(&err);
    f.sort();
    f.dedup();
    assert!(f.contains(&"person.family_name".to_owned()), "{f:?}");
    assert!(f.contains(&"person.notes".to_owned()), "{f:?}");
    assert!(f.contains(&"person.unit".to_owned()), "{f:?}");
    assert!(f.contains(&"person.category_codes".to_owned()), "{f:?}");
    // At the limit is fine; NUL bytes are not.
    app.client
        .persons()
        .create(proto::Person {
            notes: "n".repeat(10_000),
            ..person(&"Ш".repeat(200), "Ivan")
        })
        .await
        .unwrap();
    let err = app
        .client
        .persons()
        .create(person("Nul\0l", "Ivan"))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["person.family_name"]);

    let err = app
        .client
        .persons()
        .list_page(&ListQuery::new().page_size(-1), "")
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["page_size"]);
}
