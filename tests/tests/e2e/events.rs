//! Persons' timelines: each event type and what it sets on the person, partial dates,
//! contradictions refused, the person and the timeline in one revision, and restricted
//! persons' events hidden.

use std::time::Duration;

use futures::StreamExt;
use homecoming_client::{Error, ListQuery, WatchEvent, date, proto};
use homecoming_tests::{Backend, TestApp, backend_tests, fixtures, spawn_app};

backend_tests!(
    each_event_type_sets_what_it_says_on_the_person,
    dates_known_to_the_month_or_year_stay_so,
    contradictions_are_refused_naming_the_field,
    the_person_and_the_timeline_change_in_one_revision,
    restricted_persons_events_are_invisible_to_non_admins,
    timelines_filter_across_persons,
);

pub(crate) fn event(
    person: &str,
    t: proto::PersonEventType,
    (y, m, d): (i32, i32, i32),
) -> proto::PersonEvent {
    proto::PersonEvent {
        person_id: person.to_owned(),
        r#type: t as i32,
        date: Some(date(y, m, d)),
        ..Default::default()
    }
}

async fn record(app: &TestApp, e: proto::PersonEvent) -> proto::PersonEvent {
    app.client.events().create(e).await.unwrap()
}

async fn timeline(app: &TestApp, person: &str) -> Vec<proto::PersonEvent> {
    app.client
        .events()
        .list_page(
            &ListQuery::new().filter(format!("person_id = \"{person}\"")),
            "",
        )
        .await
        .unwrap()
        .items
}

async fn each_event_type_sets_what_it_says_on_the_person(backend: Backend) {
    use proto::PersonEventType as T;
    let app = spawn_app(backend).await;
    let x = app
        .client
        .exchanges()
        .create(fixtures::exchange("Stage", (2025, 7, 4)))
        .await
        .unwrap();
    let p = app.person("Хронікенко", "Іван").await;
    let persons = app.client.persons();
    record(&app, event(&p.id, T::Captured, (2022, 5, 20))).await;
    let now = persons.get(&p.id).await.unwrap();
    assert_eq!(now.status, proto::PersonStatus::InCaptivity as i32);
    assert_eq!(now.capture_date, Some(date(2022, 5, 20)));
    record(&app, event(&p.id, T::Transferred, (2023, 2, 1))).await;
    record(&app, event(&p.id, T::Hospitalised, (2023, 3, 1))).await;
    record(&app, event(&p.id, T::Convicted, (2023, 9, 1))).await;
    assert!(persons.get(&p.id).await.unwrap().convicted_in_captivity);
    record(
        &app,
        proto::PersonEvent {
            exchange_id: x.id.clone(),
            ..event(&p.id, T::Exchanged, (2025, 7, 4))
        },
    )
    .await;
    let now = persons.get(&p.id).await.unwrap();
    assert_eq!(now.status, proto::PersonStatus::Returned as i32);
    assert_eq!(now.exchange_id, x.id);
    assert_eq!(
        now.days_in_captivity,
        Some(1141),
        "derived from the new exchange"
    );
    for (t, (y, m, d)) in [
        (T::MedicalExamination, (2025, 7, 5)),
        (T::Rehabilitation, (2025, 8, 1)),
    ] {
        record(
            &app,
            proto::PersonEvent {
                care_status: proto::CareStatus::InProgress as i32,
                ..event(&p.id, t, (y, m, d))
            },
        )
        .await;
    }
    record(
        &app,
        proto::PersonEvent {
            care_status: proto::CareStatus::Completed as i32,
            amount: Some(proto::Money {
                minor_units: 40_000_000,
                currency: "UAH".into(),
            }),
            ..event(&p.id, T::Payment, (2025, 9, 1))
        },
    )
    .await;
    record(&app, event(&p.id, T::FamilyInformed, (2025, 7, 4))).await;
    let now = persons.get(&p.id).await.unwrap();
    let care = now.aftercare.unwrap();
    assert_eq!(
        care.medical_examination,
        proto::CareStatus::InProgress as i32
    );
    assert_eq!(care.rehabilitation, proto::CareStatus::InProgress as i32);
    assert_eq!(care.payments, proto::CareStatus::Completed as i32);

    // The timeline, in order; the payment keeps its amount.
    let events = timeline(&app, &p.id).await;
    let dates: Vec<_> = events.iter().map(|e| e.date.unwrap()).collect();
    let mut sorted = dates.clone();
    sorted.sort_by_key(|d| (d.year, d.month, d.day));
    assert_eq!(dates, sorted);
    assert_eq!(events.len(), 9);
    let payment = events
        .iter()
        .find(|e| e.r#type == T::Payment as i32)
        .unwrap();
    assert_eq!(payment.amount.as_ref().unwrap().minor_units, 40_000_000);

    // A death, then the remains' repatriation: deceased.
    let q = app.person("Загибленко", "Петро").await;
    record(&app, event(&q.id, T::Captured, (2022, 3, 1))).await;
    record(&app, event(&q.id, T::Died, (2023, 3, 1))).await;
    record(&app, event(&q.id, T::RepatriatedRemains, (2024, 2, 1))).await;
    assert_eq!(
        persons.get(&q.id).await.unwrap().status,
        proto::PersonStatus::Deceased as i32
    );
}

async fn dates_known_to_the_month_or_year_stay_so(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app.person("Неточенко", "Іван").await;
    let month = record(
        &app,
        event(&p.id, proto::PersonEventType::Transferred, (2023, 4, 0)),
    )
    .await;
    assert_eq!(month.date, Some(date(2023, 4, 0)));
    assert_eq!(month.date_precision, proto::DatePrecision::Month as i32);
    let year = record(
        &app,
        event(&p.id, proto::PersonEventType::Interned, (2022, 0, 0)),
    )
    .await;
    assert_eq!(year.date, Some(date(2022, 0, 0)));
    assert_eq!(year.date_precision, proto::DatePrecision::Year as i32);
    assert_eq!(app.client.events().get(&year.id).await.unwrap(), year);
    // Known to the year, it sorts with the year's first day.
    let ids: Vec<String> = timeline(&app, &p.id)
        .await
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, [year.id.clone(), month.id.clone()]);
    let e = app
        .client
        .events()
        .create(event(
            &p.id,
            proto::PersonEventType::Transferred,
            (2023, 13, 0),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.field_violations()[0].field, "event.date");
}

async fn contradictions_are_refused_naming_the_field(backend: Backend) {
    use proto::PersonEventType as T;
    let app = spawn_app(backend).await;
    let x = app
        .client
        .exchanges()
        .create(fixtures::exchange("Stage", (2025, 7, 4)))
        .await
        .unwrap();
    let p = app.person("Суперечненко", "Іван").await;
    let fields = |e: Error| -> Vec<String> {
        e.field_violations()
            .iter()
            .map(|v| v.field.clone())
            .collect()
    };
    let events = app.client.events();
    let e = events
        .create(event(&p.id, T::Captured, (2099, 1, 1)))
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["event.date"]);
    let e = events
        .create(event(&p.id, T::Exchanged, (2025, 7, 4)))
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["event.exchange_id"], "an exchange needs its id");
    let e = events
        .create(proto::PersonEvent {
            exchange_id: "00000000-0000-7000-8000-000000000000".into(),
            ..event(&p.id, T::Exchanged, (2025, 7, 4))
        })
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["event.exchange_id"], "the exchange must exist");
    let e = events
        .create(event(
            "00000000-0000-7000-8000-000000000000",
            T::Captured,
            (2022, 1, 1),
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["event.person_id"]);
    record(&app, event(&p.id, T::Captured, (2022, 5, 20))).await;
    let e = events
        .create(proto::PersonEvent {
            exchange_id: x.id.clone(),
            ..event(&p.id, T::Exchanged, (2022, 5, 1))
        })
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["event.date"], "an exchange before the capture");
    record(&app, event(&p.id, T::Died, (2023, 1, 1))).await;
    let e = events
        .create(event(&p.id, T::Transferred, (2023, 6, 1)))
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["event.date"], "nothing after the death");
    let e = events
        .create(proto::PersonEvent {
            care_status: proto::CareStatus::Completed as i32,
            ..event(&p.id, T::Captured, (2022, 5, 20))
        })
        .await
        .unwrap_err();
    assert_eq!(fields(e), ["event.care_status"]);
}

async fn the_person_and_the_timeline_change_in_one_revision(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app.person("Разовенко", "Іван").await;
    let mut watch = Box::pin(
        app.client
            .watch()
            .types([
                proto::ResourceType::Person,
                proto::ResourceType::PersonEvent,
            ])
            .stream(),
    );
    // The watch starts from now: its first message says where now is.
    let first = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(first, WatchEvent::Progress(_)), "{first:?}");
    let e = record(
        &app,
        event(&p.id, proto::PersonEventType::Captured, (2022, 5, 20)),
    )
    .await;
    let batch = loop {
        match tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            WatchEvent::Events(b) => break b,
            _ => continue,
        }
    };
    assert_eq!(batch.revision.to_string(), e.etag.trim_start_matches('r'));
    let kinds: Vec<_> = batch
        .events
        .iter()
        .map(|ev| match &ev.resource {
            Some(proto::event::Resource::PersonEvent(_)) => "event",
            Some(proto::event::Resource::Person(p)) => {
                assert_eq!(p.status, proto::PersonStatus::InCaptivity as i32);
                "person"
            }
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["event", "person"], "one revision holds both");
}

async fn restricted_persons_events_are_invisible_to_non_admins(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app.person("Таємненко", "Іван").await;
    let e = record(
        &app,
        proto::PersonEvent {
            notes: "Synthetic note".into(),
            ..event(&p.id, proto::PersonEventType::Captured, (2022, 5, 20))
        },
    )
    .await;
    let viewer = app.client_as(proto::Role::Viewer).await;
    let seen = viewer.events().get(&e.id).await.unwrap();
    assert!(seen.notes.is_empty(), "notes are sensitive");
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
    let editor = app.client_as(proto::Role::Editor).await;
    for c in [&editor, &viewer] {
        let err = c.events().get(&e.id).await.unwrap_err();
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");
        let page = c.events().list_page(&ListQuery::new(), "").await.unwrap();
        assert!(page.items.is_empty());
    }
    // To an editor the person does not exist: an event of it names no person.
    let err = editor
        .events()
        .create(event(
            &p.id,
            proto::PersonEventType::Transferred,
            (2023, 1, 1),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.field_violations()[0].field, "event.person_id");
    let admin = app.client.events().get(&e.id).await.unwrap();
    assert!(admin.restricted);
}

async fn timelines_filter_across_persons(backend: Backend) {
    use proto::PersonEventType as T;
    let app = spawn_app(backend).await;
    let a = app.person("Першенко", "Іван").await;
    let b = app.person("Другенко", "Іван").await;
    record(&app, event(&a.id, T::Hospitalised, (2024, 12, 1))).await;
    let hit_a = record(&app, event(&a.id, T::Hospitalised, (2025, 2, 1))).await;
    let hit_b = record(&app, event(&b.id, T::Hospitalised, (2025, 3, 0))).await;
    record(&app, event(&b.id, T::Transferred, (2025, 4, 1))).await;
    let page = app
        .client
        .events()
        .list_page(
            &ListQuery::new().filter(r#"type = HOSPITALISED AND date >= "2025-01-01""#),
            "",
        )
        .await
        .unwrap();
    let ids: Vec<&str> = page.items.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, [hit_a.id.as_str(), hit_b.id.as_str()]);
}
