use homecoming_client::{Error, date, proto};
use homecoming_tests::{Backend, backend_tests, fixtures::*, spawn_app};

backend_tests!(
    persons_keep_every_field_and_derive_age_and_days,
    derived_figures_follow_the_exchange_date,
    batch_create_is_atomic_and_ordered,
    aftercare_steps_update_one_at_a_time,
    the_fathers_name_is_kept_updated_and_checked,
);

async fn persons_keep_every_field_and_derive_age_and_days(backend: Backend) {
    let app = spawn_app(backend).await;
    app.categories(&["under-25"]).await;
    let x = app
        .client
        .exchanges()
        .create(exchange("Stage", (2025, 7, 4)))
        .await
        .unwrap();
    let p = proto::Person {
        kind: proto::PersonKind::Military as i32,
        family_name: "Вигаданенко".into(),
        given_name: "Остап".into(),
        patronymic: "Іванович".into(),
        date_of_birth: Some(date(2005, 7, 5)),
        place_of_birth: "Synthetic town".into(),
        sex: proto::Sex::Male as i32,
        citizenship: "UA".into(),
        service: proto::ServiceBranch::NationalGuard as i32,
        rank: "Junior sergeant".into(),
        rank_group: proto::RankGroup::Sergeant as i32,
        unit: "Unit 0000".into(),
        service_number: "SN-000001".into(),
        capture_date: Some(date(2022, 5, 20)),
        capture_region: "Donetsk".into(),
        status: proto::PersonStatus::Returned as i32,
        exchange_id: x.id.clone(),
        convicted_in_captivity: true,
        category_codes: vec!["under-25".into()],
        aftercare: Some(proto::Aftercare {
            medical_examination: proto::CareStatus::InProgress as i32,
            rehabilitation: proto::CareStatus::NotStarted as i32,
            payments: proto::CareStatus::Completed as i32,
        }),
        notes: "Synthetic record".into(),
        ..Default::default()
    };
    let created = app.client.persons().create(p.clone()).await.unwrap();
    assert_eq!(created.age_at_return, Some(19), "one day short of 20");
    assert_eq!(created.days_in_captivity, Some(1141));
    let got = app.client.persons().get(&created.id).await.unwrap();
    assert_eq!(got, created);
    let expected = proto::Person {
        id: got.id.clone(),
        create_time: got.create_time,
        update_time: got.update_time,
        etag: got.etag.clone(),
        age_at_return: Some(19),
        days_in_captivity: Some(1141),
        ..p
    };
    assert_eq!(got, expected);
}

async fn derived_figures_follow_the_exchange_date(backend: Backend) {
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
            date_of_birth: Some(date(1966, 1, 1)),
            capture_date: Some(date(2025, 7, 1)),
            exchange_id: x.id.clone(),
            ..person("Testenko", "Mykola")
        })
        .await
        .unwrap();
    assert_eq!((p.age_at_return, p.days_in_captivity), (Some(59), Some(3)));
    app.client
        .exchanges()
        .update(
            proto::Exchange {
                id: x.id.clone(),
                exchange_date: Some(date(2026, 1, 2)),
                ..Default::default()
            },
            &["exchange_date"],
        )
        .await
        .unwrap();
    let p = app.client.persons().get(&p.id).await.unwrap();
    assert_eq!(p.age_at_return, Some(60));
    assert_eq!(p.days_in_captivity, Some(185));

    let unknown = app
        .client
        .persons()
        .create(person("Testenko", "Taras"))
        .await
        .unwrap();
    assert_eq!(
        (unknown.age_at_return, unknown.days_in_captivity),
        (None, None)
    );
}

async fn batch_create_is_atomic_and_ordered(backend: Backend) {
    let app = spawn_app(backend).await;
    let persons = app.client.persons();
    let batch: Vec<_> = (0..300)
        .map(|i| person(&format!("Batchenko{i:03}"), "Ivan"))
        .collect();
    let created = persons.batch_create(batch).await.unwrap();
    assert_eq!(created.len(), 300);
    for (i, p) in created.iter().enumerate() {
        assert_eq!(p.family_name, format!("Batchenko{i:03}"));
        assert_eq!(persons.get(&p.id).await.unwrap(), *p);
    }
    let count_before = count(&app).await;

    let mut bad = vec![
        person("Good", "One"),
        person("", "Two"),
        person("Good", "Three"),
    ];
    bad[2].category_codes = vec!["no-such-code".into()];
    let err = persons.batch_create(bad).await.unwrap_err();
    let fields: Vec<_> = err
        .field_violations()
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["requests[1].person.family_name"]);

    // Reference errors name the entry too, and nothing of the batch is written.
    let mut refs = vec![person("Good", "One"), person("Good", "Two")];
    refs[1].category_codes = vec!["no-such-code".into()];
    refs[0].exchange_id = uuid::Uuid::now_v7().to_string();
    let err = persons.batch_create(refs).await.unwrap_err();
    let mut fields: Vec<_> = err
        .field_violations()
        .iter()
        .map(|v| v.field.clone())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "requests[0].person.exchange_id",
            "requests[1].person.category_codes[0]"
        ]
    );
    assert_eq!(count(&app).await, count_before);

    let too_many: Vec<_> = (0..1001).map(|i| person(&format!("P{i}"), "X")).collect();
    let err = persons.batch_create(too_many).await.unwrap_err();
    assert_eq!(err.field_violations()[0].field, "requests");
    let err = persons.batch_create(vec![]).await.unwrap_err();
    assert_eq!(err.field_violations()[0].field, "requests");
    assert_eq!(count(&app).await, count_before);
}

async fn count(app: &homecoming_tests::TestApp) -> usize {
    use futures::TryStreamExt;
    let all: Vec<_> = app
        .client
        .persons()
        .list(homecoming_client::ListQuery::new().page_size(1000))
        .try_collect()
        .await
        .unwrap();
    all.len()
}

async fn aftercare_steps_update_one_at_a_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app
        .client
        .persons()
        .create(person("Testenko", "Ivan"))
        .await
        .unwrap();
    let updated = app
        .client
        .persons()
        .update(
            proto::Person {
                id: p.id.clone(),
                etag: p.etag.clone(),
                aftercare: Some(proto::Aftercare {
                    payments: proto::CareStatus::Completed as i32,
                    medical_examination: proto::CareStatus::InProgress as i32,
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["aftercare.payments"],
        )
        .await
        .unwrap();
    let care = updated.aftercare.unwrap();
    assert_eq!(care.payments, proto::CareStatus::Completed as i32);
    assert_eq!(care.medical_examination, 0, "not in the mask");
    assert_eq!(updated.family_name, "Testenko");

    let err = app
        .client
        .persons()
        .update(
            proto::Person {
                id: p.id.clone(),
                ..Default::default()
            },
            &["age_at_return"],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }));
    assert!(
        err.field_violations()[0]
            .description
            .contains("output only")
    );

    // Clearing a required field through the mask is rejected, naming the field.
    let err = app
        .client
        .persons()
        .update(
            proto::Person {
                id: p.id.clone(),
                ..Default::default()
            },
            &["family_name"],
        )
        .await
        .unwrap_err();
    assert_eq!(err.field_violations()[0].field, "person.family_name");
}

async fn the_fathers_name_is_kept_updated_and_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let persons = app.client.persons();
    let created = persons
        .create(proto::Person {
            father_name: "  Вигадан ".into(),
            ..person("Вигаданенко", "Остап")
        })
        .await
        .unwrap();
    assert_eq!(created.father_name, "Вигадан", "trimmed");
    assert_eq!(
        persons.get(&created.id).await.unwrap().father_name,
        "Вигадан"
    );
    let updated = persons
        .update(
            proto::Person {
                id: created.id.clone(),
                father_name: "Вигаданій".into(),
                ..Default::default()
            },
            &["father_name"],
        )
        .await
        .unwrap();
    assert_eq!(updated.father_name, "Вигаданій");
    assert_eq!(updated.family_name, "Вигаданенко");
    let err = persons
        .create(proto::Person {
            father_name: "Ш".repeat(201),
            ..person("Вигаданенко", "Тарас")
        })
        .await
        .unwrap_err();
    let fields: Vec<_> = err
        .field_violations()
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["person.father_name"]);
}
