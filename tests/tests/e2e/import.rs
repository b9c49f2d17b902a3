//! Rosters in: external ids (unique, filterable, looked up), ImportPersons (match by id,
//! external id, service number or name and date of birth; per-row and all-or-nothing modes;
//! request ids), and validate-only writes of every resource that leave no trace.

use futures::TryStreamExt;
use homecoming_client::{Error, ListQuery, proto};
use homecoming_tests::{Backend, backend_tests, fixtures, spawn_app};

backend_tests!(
    external_ids_are_unique_filterable_and_looked_up,
    import_creates_then_finds_every_row_unchanged,
    import_updates_only_what_a_row_carries_and_adds_ids,
    per_row_mode_writes_exactly_the_good_rows,
    all_or_nothing_writes_nothing_when_a_row_fails,
    rows_match_by_service_number_or_name_and_birth_date,
    duplicate_rows_of_one_request_fail_the_later_one,
    a_retried_import_is_answered_from_its_request_id,
    validate_only_writes_nothing_and_uses_no_revision,
    viewers_may_not_import,
);

use proto::import_persons_result::Outcome;

fn xid(system: &str, id: &str) -> proto::ExternalId {
    proto::ExternalId {
        system: system.into(),
        id: id.into(),
    }
}

fn row(family: &str, given: &str, hq: &str) -> proto::Person {
    proto::Person {
        external_ids: vec![xid("coordination-hq", hq)],
        ..fixtures::person(family, given)
    }
}

fn import(persons: Vec<proto::Person>) -> proto::ImportPersonsRequest {
    proto::ImportPersonsRequest {
        persons,
        mode: proto::ImportMode::PerRow as i32,
        ..Default::default()
    }
}

fn outcomes(r: &proto::ImportPersonsResponse) -> Vec<Outcome> {
    r.results
        .iter()
        .map(|x| Outcome::try_from(x.outcome).unwrap_or(Outcome::Unspecified))
        .collect()
}

async fn count(app: &homecoming_tests::TestApp) -> usize {
    let all: Vec<proto::Person> = app
        .client
        .persons()
        .list(ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    all.len()
}

async fn external_ids_are_unique_filterable_and_looked_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let persons = app.client.persons();
    let a = persons
        .create(row("Тестенко", "Іван", "12345"))
        .await
        .unwrap();
    assert_eq!(a.external_ids, [xid("coordination-hq", "12345")]);

    let Err(Error::AlreadyExists(d)) = persons.create(row("Інший", "Петро", "12345")).await
    else {
        panic!("a taken external id must be ALREADY_EXISTS");
    };
    assert_eq!(
        d.metadata.get("field").map(String::as_str),
        Some("person.external_ids[0]")
    );

    let found = persons.lookup("coordination-hq", "12345").await.unwrap();
    assert_eq!(found.id, a.id);
    assert!(matches!(
        persons.lookup("coordination-hq", "404").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        persons.lookup("Bad System", "1").await,
        Err(Error::InvalidArgument { .. })
    ));

    let q = ListQuery::new().filter(r#"external_ids:"coordination-hq/12345""#);
    let listed: Vec<proto::Person> = persons.list(q).try_collect().await.unwrap();
    assert_eq!(
        listed.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        [a.id.as_str()]
    );

    // Freed by an update, the id may be taken by another person.
    let mut moved = a.clone();
    moved.external_ids = vec![xid("icrc", "A-1")];
    persons.update(moved, &["external_ids"]).await.unwrap();
    persons
        .create(row("Інший", "Петро", "12345"))
        .await
        .unwrap();

    // Exchanges have their own.
    let x = proto::Exchange {
        external_ids: vec![xid("coordination-hq", "stage-1")],
        ..fixtures::exchange("Stage 1", (2025, 7, 4))
    };
    let x = app.client.exchanges().create(x).await.unwrap();
    let back = app
        .client
        .exchanges()
        .lookup("coordination-hq", "stage-1")
        .await
        .unwrap();
    assert_eq!(back.id, x.id);

    let bad = proto::Person {
        external_ids: vec![
            xid("coordination-hq", "1"),
            xid("coordination-hq", "1"),
            xid("", "2"),
        ],
        ..fixtures::person("Дубль", "Іван")
    };
    let Err(Error::InvalidArgument { violations, .. }) = persons.create(bad).await else {
        panic!("bad external ids must be INVALID_ARGUMENT");
    };
    let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    assert!(fields.contains(&"person.external_ids[1]"), "{fields:?}");
    assert!(
        fields.contains(&"person.external_ids[2].system"),
        "{fields:?}"
    );
}

async fn import_creates_then_finds_every_row_unchanged(backend: Backend) {
    let app = spawn_app(backend).await;
    let rows: Vec<proto::Person> = (0..30)
        .map(|i| row(&format!("Імпортенко{i}"), "Іван", &format!("r{i}")))
        .collect();
    let first = app
        .client
        .persons()
        .import(import(rows.clone()))
        .await
        .unwrap();
    assert!(first.written);
    assert_eq!(first.created, 30);
    assert!(first.results.iter().all(|r| !r.person_id.is_empty()));
    assert_eq!(count(&app).await, 30);
    let revision = first.revision;

    let again = app.client.persons().import(import(rows)).await.unwrap();
    assert_eq!(outcomes(&again), vec![Outcome::Unchanged; 30]);
    assert_eq!(
        again.revision, 0,
        "nothing changed, so no revision was used"
    );
    let ids: Vec<&str> = first.results.iter().map(|r| r.person_id.as_str()).collect();
    let again_ids: Vec<&str> = again.results.iter().map(|r| r.person_id.as_str()).collect();
    assert_eq!(ids, again_ids);
    let head = app
        .client
        .persons()
        .list_page(&ListQuery::new(), "")
        .await
        .unwrap()
        .revision;
    assert_eq!(head, revision);
}

async fn import_updates_only_what_a_row_carries_and_adds_ids(backend: Backend) {
    let app = spawn_app(backend).await;
    let stored = app
        .client
        .persons()
        .create(proto::Person {
            unit: "Synthetic unit".into(),
            ..row("Оновленко", "Іван", "7")
        })
        .await
        .unwrap();
    let update = proto::Person {
        kind: 0,
        family_name: String::new(),
        given_name: String::new(),
        rank: "sergeant".into(),
        external_ids: vec![xid("coordination-hq", "7"), xid("icrc", "U-7")],
        ..Default::default()
    };
    let r = app
        .client
        .persons()
        .import(import(vec![update]))
        .await
        .unwrap();
    assert_eq!(outcomes(&r), [Outcome::Updated]);
    assert_eq!(r.results[0].person_id, stored.id);
    let p = app.client.persons().get(&stored.id).await.unwrap();
    assert_eq!(p.rank, "sergeant");
    assert_eq!(
        p.unit, "Synthetic unit",
        "a field the row does not carry is kept"
    );
    assert_eq!(p.family_name, "Оновленко");
    assert_eq!(
        p.external_ids,
        [xid("coordination-hq", "7"), xid("icrc", "U-7")]
    );

    // A row naming the person by id (an exported row) matches it too.
    let by_id = proto::Person {
        id: stored.id.clone(),
        rank: "officer".into(),
        ..Default::default()
    };
    let r = app
        .client
        .persons()
        .import(import(vec![by_id]))
        .await
        .unwrap();
    assert_eq!(outcomes(&r), [Outcome::Updated]);
    let missing = proto::Person {
        id: "0190f000-0000-7000-8000-000000000000".into(),
        ..Default::default()
    };
    let r = app
        .client
        .persons()
        .import(import(vec![missing]))
        .await
        .unwrap();
    assert_eq!(outcomes(&r), [Outcome::Failed]);
    assert_eq!(r.results[0].violations[0].field, "persons[0].id");
}

async fn per_row_mode_writes_exactly_the_good_rows(backend: Backend) {
    let app = spawn_app(backend).await;
    let future = proto::Person {
        date_of_birth: Some(homecoming_client::date(2999, 1, 1)),
        ..row("Майбутній", "Іван", "2")
    };
    let unknown_category = proto::Person {
        category_codes: vec!["no-such-category".into()],
        ..row("Категоріенко", "Іван", "3")
    };
    let no_id = fixtures::person("Безномерний", "Іван");
    let rows = vec![
        row("Добрий", "Іван", "1"),
        future,
        unknown_category,
        no_id,
        row("Добрий", "Петро", "5"),
    ];
    let r = app.client.persons().import(import(rows)).await.unwrap();
    assert_eq!(
        outcomes(&r),
        [
            Outcome::Created,
            Outcome::Failed,
            Outcome::Failed,
            Outcome::Failed,
            Outcome::Created
        ]
    );
    assert!(r.written);
    assert_eq!((r.created, r.failed), (2, 3));
    assert_eq!(r.results[1].violations[0].field, "persons[1].date_of_birth");
    assert_eq!(
        r.results[2].violations[0].field,
        "persons[2].category_codes[0]"
    );
    assert_eq!(r.results[3].violations[0].field, "persons[3].external_ids");
    assert_eq!(count(&app).await, 2);
}

async fn all_or_nothing_writes_nothing_when_a_row_fails(backend: Backend) {
    let app = spawn_app(backend).await;
    let bad = proto::Person {
        family_name: String::new(),
        ..row("", "Іван", "2")
    };
    let request = proto::ImportPersonsRequest {
        mode: proto::ImportMode::AllOrNothing as i32,
        ..import(vec![row("Добрий", "Іван", "1"), bad])
    };
    let r = app.client.persons().import(request).await.unwrap();
    assert!(!r.written);
    assert_eq!(outcomes(&r), [Outcome::Created, Outcome::Failed]);
    assert!(r.results[0].person_id.is_empty(), "nothing was created");
    assert_eq!(r.results[1].violations[0].field, "persons[1].family_name");
    assert_eq!(count(&app).await, 0);
}

async fn rows_match_by_service_number_or_name_and_birth_date(backend: Backend) {
    let app = spawn_app(backend).await;
    let persons = app.client.persons();
    let a = persons
        .create(proto::Person {
            service_number: "SN-1".into(),
            date_of_birth: Some(homecoming_client::date(1990, 5, 1)),
            ..fixtures::person("Номерний", "Іван")
        })
        .await
        .unwrap();
    let by_number = proto::ImportPersonsRequest {
        match_rule: proto::MatchRule::ServiceNumber as i32,
        ..import(vec![proto::Person {
            service_number: "SN-1".into(),
            rank: "soldier".into(),
            ..Default::default()
        }])
    };
    let r = persons.import(by_number).await.unwrap();
    assert_eq!(outcomes(&r), [Outcome::Updated]);
    assert_eq!(r.results[0].person_id, a.id);

    let by_name = proto::ImportPersonsRequest {
        match_rule: proto::MatchRule::NameAndDateOfBirth as i32,
        ..import(vec![
            proto::Person {
                date_of_birth: Some(homecoming_client::date(1990, 5, 1)),
                unit: "Synthetic unit".into(),
                ..fixtures::person("Номерний", "Іван")
            },
            proto::Person {
                date_of_birth: Some(homecoming_client::date(1991, 5, 1)),
                ..fixtures::person("Номерний", "Іван")
            },
        ])
    };
    let r = persons.import(by_name).await.unwrap();
    assert_eq!(outcomes(&r), [Outcome::Updated, Outcome::Created]);
    assert_eq!(r.results[0].person_id, a.id);
}

async fn duplicate_rows_of_one_request_fail_the_later_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app
        .client
        .persons()
        .import(import(vec![
            row("Перший", "Іван", "1"),
            row("Другий", "Іван", "1"),
        ]))
        .await
        .unwrap();
    assert_eq!(outcomes(&r), [Outcome::Created, Outcome::Failed]);
    assert!(
        r.results[1].violations[0]
            .description
            .contains("persons[0]")
    );
    assert_eq!(count(&app).await, 1);
}

async fn a_retried_import_is_answered_from_its_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let request = proto::ImportPersonsRequest {
        request_id: "0190f000-0000-7000-8000-00000000beef".into(),
        ..import(vec![row("Повторенко", "Іван", "1")])
    };
    let first = app.client.persons().import(request.clone()).await.unwrap();
    let second = app.client.persons().import(request.clone()).await.unwrap();
    assert_eq!(
        outcomes(&second),
        [Outcome::Created],
        "the first answer, replayed"
    );
    assert_eq!(first.results[0].person_id, second.results[0].person_id);
    assert_eq!(count(&app).await, 1);
    let other = proto::ImportPersonsRequest {
        persons: vec![row("Інший", "Іван", "2")],
        ..request
    };
    assert!(matches!(
        app.client.persons().import(other).await,
        Err(Error::InvalidArgument { .. })
    ));
}

async fn validate_only_writes_nothing_and_uses_no_revision(backend: Backend) {
    let app = spawn_app(backend).await;
    let head = || async {
        app.client
            .persons()
            .list_page(&ListQuery::new(), "")
            .await
            .unwrap()
            .revision
    };
    app.categories(&["known"]).await;
    let before = head().await;

    let would = app
        .client
        .persons()
        .validate_create(proto::Person {
            category_codes: vec!["known".into()],
            ..row("Перевірений", "Іван", "1")
        })
        .await
        .unwrap();
    assert_eq!(would.family_name, "Перевірений");
    // References and uniqueness are checked too.
    let unknown = proto::Person {
        category_codes: vec!["unknown".into()],
        ..fixtures::person("Перевірений", "Іван")
    };
    assert!(matches!(
        app.client.persons().validate_create(unknown).await,
        Err(Error::InvalidArgument { .. })
    ));
    let stored = app.person("Справжній", "Іван").await;
    let after_create = head().await;
    let mut change = stored.clone();
    change.rank = "officer".into();
    let answer = app
        .client
        .persons()
        .validate_update(change, &["rank"])
        .await
        .unwrap();
    assert_eq!(answer.rank, "officer");
    assert_eq!(app.client.persons().get(&stored.id).await.unwrap().rank, "");
    app.client
        .categories()
        .validate_create(fixtures::category("would-be"))
        .await
        .unwrap();
    app.client
        .exchanges()
        .validate_create(fixtures::exchange("Would-be", (2025, 1, 1)))
        .await
        .unwrap();
    let dry = proto::ImportPersonsRequest {
        validate_only: true,
        ..import(vec![row("Сухий", "Іван", "9")])
    };
    let r = app.client.persons().import(dry).await.unwrap();
    assert_eq!(outcomes(&r), [Outcome::Created]);
    assert!(!r.written && r.results[0].person_id.is_empty());

    assert_eq!(
        after_create,
        before + 1,
        "only the real create used a revision"
    );
    assert_eq!(head().await, after_create);
    assert_eq!(count(&app).await, 1);
    let cats: Vec<proto::Category> = app
        .client
        .categories()
        .list(ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(cats.len(), 1);
}

async fn viewers_may_not_import(backend: Backend) {
    let app = spawn_app(backend).await;
    let viewer = app.client_as(proto::Role::Viewer).await;
    assert!(matches!(
        viewer
            .persons()
            .import(import(vec![row("Глядач", "Іван", "1")]))
            .await,
        Err(Error::PermissionDenied(_))
    ));
    let editor = app.client_as(proto::Role::Editor).await;
    let restricted = proto::Person {
        restricted: true,
        ..row("Прихований", "Іван", "2")
    };
    let r = editor
        .persons()
        .import(import(vec![restricted]))
        .await
        .unwrap();
    assert_eq!(outcomes(&r), [Outcome::Failed]);
    assert_eq!(r.results[0].violations[0].field, "persons[0].restricted");
}
