use homecoming_client::{ListQuery, date, filter, proto};
use homecoming_server::{Config, app::open_store, demo};
use homecoming_tests::{Backend, TestApp, backend_tests, fixtures::*, spawn_app};

backend_tests!(
    statistics_count_per_year_and_exchange_over_a_period,
    summary_figures_match_a_hand_computed_roster,
    demo_data_reproduces_the_articles_facts,
    names_are_found_by_prefix_in_either_script,
);

fn count(list: &[proto::KeyCount], key: &str) -> i64 {
    list.iter().find(|k| k.key == key).map_or(0, |k| k.count)
}

async fn summary_figures_match_a_hand_computed_roster(backend: Backend) {
    let app = spawn_app(backend).await;
    for c in ["under-25", "civilian", "wounded-seriously-ill"] {
        app.client.categories().create(category(c)).await.unwrap();
    }
    let x = app
        .client
        .exchanges()
        .create(proto::Exchange {
            announced_returned_count: Some(5),
            ..exchange("Stage", (2025, 7, 4))
        })
        .await
        .unwrap();
    let other = app
        .client
        .exchanges()
        .create(exchange("Other", (2024, 1, 1)))
        .await
        .unwrap();
    let m = |family: &str,
             born: Option<(i32, i32, i32)>,
             captured: Option<(i32, i32, i32)>,
             service: proto::ServiceBranch,
             region: &str,
             codes: &[&str]| proto::Person {
        exchange_id: x.id.clone(),
        date_of_birth: born.map(|(y, m, d)| date(y, m, d)),
        capture_date: captured.map(|(y, m, d)| date(y, m, d)),
        service: service as i32,
        rank_group: proto::RankGroup::Soldier as i32,
        capture_region: region.into(),
        category_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        aftercare: Some(proto::Aftercare {
            medical_examination: proto::CareStatus::InProgress as i32,
            ..Default::default()
        }),
        ..person(family, "Ivan")
    };
    use proto::ServiceBranch::*;
    let roster = vec![
        // 20 at return, held 1141 days.
        m(
            "A",
            Some((2005, 7, 4)),
            Some((2022, 5, 20)),
            ArmedForces,
            "Mariupol",
            &["under-25"],
        ),
        // 58 (one day short of 59), held 731 days.
        m(
            "B",
            Some((1966, 7, 5)),
            Some((2023, 7, 4)),
            NationalGuard,
            "Kharkiv",
            &["wounded-seriously-ill"],
        ),
        // Unknown birth date; held 364 days.
        m(
            "C",
            None,
            Some((2024, 7, 5)),
            ArmedForces,
            "Mariupol",
            &["under-25", "wounded-seriously-ill"],
        ),
        // Unknown capture date.
        m("D", Some((1990, 1, 1)), None, Unspecified, "", &[]),
        // Held 1141 days; civilian.
        proto::Person {
            kind: proto::PersonKind::Civilian as i32,
            ..m(
                "E",
                Some((1980, 1, 1)),
                Some((2022, 5, 20)),
                Unspecified,
                "Kherson",
                &["civilian"],
            )
        },
    ];
    app.client.persons().batch_create(roster).await.unwrap();
    // Persons of another exchange and unlinked persons do not count.
    app.client
        .persons()
        .create(proto::Person {
            exchange_id: other.id.clone(),
            ..person("Other", "Exchange")
        })
        .await
        .unwrap();
    app.client
        .persons()
        .create(person("Not", "Linked"))
        .await
        .unwrap();

    let summary = app.client.exchanges().summary(&x.id).await.unwrap();
    assert_eq!(summary.announced_returned_count, Some(5));
    let s = summary.persons.unwrap();
    assert_eq!(s.persons, 5);
    assert_eq!(count(&s.by_kind, "MILITARY"), 4);
    assert_eq!(count(&s.by_kind, "CIVILIAN"), 1);
    assert_eq!(count(&s.by_service, "ARMED_FORCES"), 2);
    assert_eq!(count(&s.by_service, "NATIONAL_GUARD"), 1);
    assert_eq!(
        count(&s.by_service, ""),
        2,
        "unknown service counted as unknown"
    );
    assert_eq!(count(&s.by_capture_region, "Mariupol"), 2);
    assert_eq!(count(&s.by_capture_region, ""), 1);
    assert_eq!(count(&s.by_category, "under-25"), 2);
    assert_eq!(count(&s.by_category, "wounded-seriously-ill"), 2);
    assert_eq!(count(&s.by_category, "civilian"), 1);
    assert_eq!(count(&s.by_capture_year, "2022"), 2);
    assert_eq!(count(&s.by_capture_year, ""), 1);
    assert_eq!(
        (s.youngest_age, s.oldest_age, s.age_unknown),
        (Some(20), Some(58), 1)
    );
    assert_eq!(s.days_in_captivity_min, Some(364));
    assert_eq!(s.days_in_captivity_max, Some(1141));
    // Days 364, 731, 1141, 1141: the median is (731 + 1141) / 2.
    assert_eq!(s.days_in_captivity_median, Some(936.0));
    assert_eq!(s.capture_date_unknown, 1);
    let share = |c: &Option<proto::ShareCount>| c.as_ref().map(|c| (c.count, c.share));
    assert_eq!(share(&s.held_over_1_year), Some((3, 0.75)));
    assert_eq!(share(&s.held_over_2_years), Some((2, 0.5)));
    assert_eq!(share(&s.held_over_3_years), Some((2, 0.5)));
    assert_eq!(share(&s.captured_in_2022), Some((2, 0.5)));
    assert_eq!(count(&s.medical_examination, "IN_PROGRESS"), 5);
    assert_eq!(count(&s.payments, ""), 5);

    let empty = app
        .client
        .exchanges()
        .summary(&other.id)
        .await
        .unwrap()
        .persons
        .unwrap();
    assert_eq!(empty.persons, 1);
    assert_eq!(
        (empty.youngest_age, empty.days_in_captivity_median),
        (None, None)
    );
    let missing = app
        .client
        .exchanges()
        .summary(&uuid::Uuid::now_v7().to_string())
        .await;
    assert!(matches!(
        missing,
        Err(homecoming_client::Error::NotFound(_))
    ));
}

async fn load_demo(app: &TestApp) -> String {
    let config =
        Config::from_args(["homecoming-server", "--database-url", &app.database_url]).unwrap();
    let store = open_store(&config).await.unwrap();
    let loaded = demo::load(&store).await.unwrap();
    assert_eq!(loaded.persons, demo::ROSTER_SIZE);
    store.close().await;
    loaded.exchange_id
}

async fn demo_data_reproduces_the_articles_facts(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = load_demo(&app).await;
    assert_eq!(load_demo(&app).await, id, "loading twice changes nothing");
    let all = app
        .client
        .persons()
        .list_page(&ListQuery::new().page_size(1000), "")
        .await
        .unwrap();
    assert_eq!(all.items.len(), demo::ROSTER_SIZE);

    let summary = app.client.exchanges().summary(&id).await.unwrap();
    assert_eq!(summary.exchange_date, Some(date(2025, 7, 4)));
    let s = summary.persons.unwrap();
    assert_eq!(s.persons as usize, demo::ROSTER_SIZE);
    // "The youngest released defender was only 20 years old, the oldest was 59 years old."
    assert_eq!((s.youngest_age, s.oldest_age), (Some(20), Some(59)));
    // "Soldiers of the Armed Forces, the National Guard, the State Border Service, the State
    // Special Transport Service. As well as civilians."
    for service in [
        "ARMED_FORCES",
        "NATIONAL_GUARD",
        "STATE_BORDER_GUARD_SERVICE",
        "STATE_SPECIAL_TRANSPORT_SERVICE",
    ] {
        assert!(count(&s.by_service, service) > 0, "{service}");
    }
    assert!(count(&s.by_kind, "CIVILIAN") > 0);
    // "Donetsk and Mariupol regions, Luhansk, Kharkiv, Kherson regions."
    let regions: Vec<_> = s.by_capture_region.iter().map(|r| r.key.as_str()).collect();
    let mut sorted = regions.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["Donetsk", "Kharkiv", "Kherson", "Luhansk", "Mariupol"]
    );
    // "In addition to soldiers and sergeants, officers were also released."
    for rank in ["SOLDIER", "SERGEANT", "OFFICER"] {
        assert!(count(&s.by_rank_group, rank) > 0, "{rank}");
    }
    // "Most of them have been in Russian captivity since 2022."
    assert!(s.captured_in_2022.as_ref().unwrap().share > 0.5);
    // "The vast majority of those released had been in captivity for over 3 years."
    assert!(s.held_over_3_years.as_ref().unwrap().share >= 0.8);
    // Categories: "wounded and seriously ill", "under 25", "illegally convicted", civilians.
    for code in [
        "wounded-seriously-ill",
        "under-25",
        "illegally-convicted",
        "civilian",
    ] {
        assert!(count(&s.by_category, code) > 0, "{code}");
    }
    assert!(s.convicted_in_captivity > 0);
    // "Will undergo the necessary medical examination ... rehabilitation ... payments."
    assert_eq!(
        count(&s.medical_examination, "IN_PROGRESS") as usize,
        demo::ROSTER_SIZE
    );
    // The demo timelines begin rehabilitation and payments for some (the timeline issue).
    assert_eq!(
        (count(&s.payments, "NOT_STARTED") + count(&s.payments, "IN_PROGRESS")) as usize,
        demo::ROSTER_SIZE
    );
    assert!(count(&s.payments, "IN_PROGRESS") > 0);
    assert!(count(&s.rehabilitation, "IN_PROGRESS") > 0);
    // From the timelines: a fifth of the roster was in hospital, a quarter's families informed.
    assert_eq!(s.hospitalised_in_captivity, 15);
    assert_eq!(s.families_informed, 19);
    // Everyone under 25 is in the under-25 category and vice versa (for defenders).
    let under_25: Vec<proto::Person> = app
        .client
        .persons()
        .list_page(
            &ListQuery::new()
                .filter(filter::field("category_codes").has("under-25"))
                .page_size(1000),
            "",
        )
        .await
        .unwrap()
        .items;
    assert!(
        under_25
            .iter()
            .all(|p| p.age_at_return.is_some_and(|a| a < 25))
    );
}

async fn names_are_found_by_prefix_in_either_script(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app.client.persons();
    let created = p
        .batch_create(vec![
            person("Шевченко", "Тарас"),
            person("Shevchenko", "Petro"),
            proto::Person {
                patronymic: "Іванівна".into(),
                ..person("Бойко-Шевчук", "Мар'яна")
            },
            person("Згурський", "Олег"),
            person("Коваленко", "Юрій"),
        ])
        .await
        .unwrap();
    let found = |q: &'static str| {
        let p = p.clone();
        async move {
            let mut names: Vec<String> = p
                .list_page(
                    &ListQuery::new()
                        .filter(filter::name(q))
                        .order_by("family_name"),
                    "",
                )
                .await
                .unwrap_or_else(|e| panic!("{q}: {e}"))
                .items
                .into_iter()
                .map(|p| format!("{} {}", p.family_name, p.given_name))
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(
        found("Шевч").await,
        ["Shevchenko Petro", "Бойко-Шевчук Мар'яна", "Шевченко Тарас"]
    );
    assert_eq!(
        found("shevchenko").await,
        ["Shevchenko Petro", "Шевченко Тарас"]
    );
    assert_eq!(
        found("SHEVCHENKO").await,
        ["Shevchenko Petro", "Шевченко Тарас"]
    );
    assert_eq!(found("Марян").await, ["Бойко-Шевчук Мар'яна"]);
    assert_eq!(found("mariana").await, ["Бойко-Шевчук Мар'яна"]);
    assert_eq!(found("іванівна").await, ["Бойко-Шевчук Мар'яна"]);
    assert_eq!(found("zghur").await, ["Згурський Олег"]);
    assert_eq!(found("Yurii").await, ["Коваленко Юрій"]);
    assert_eq!(
        found("Шевч Тар").await,
        ["Шевченко Тарас"],
        "every word must match"
    );
    assert!(found("Шевченкова").await.is_empty());

    // Keys follow updates and deletes.
    let taras = &created[0];
    p.update(
        proto::Person {
            id: taras.id.clone(),
            family_name: "Коваль".into(),
            ..Default::default()
        },
        &["family_name"],
    )
    .await
    .unwrap();
    assert_eq!(
        found("Шевч").await,
        ["Shevchenko Petro", "Бойко-Шевчук Мар'яна"]
    );
    assert_eq!(found("Коваль").await, ["Коваленко Юрій", "Коваль Тарас"]);
    p.delete(&created[1].id, None).await.unwrap();
    assert_eq!(found("shevchenko").await, Vec::<String>::new());

    for bad in [r#"name = "x""#, r#"name:"''""#] {
        let err = p
            .list_page(&ListQuery::new().filter(bad), "")
            .await
            .unwrap_err();
        assert_eq!(err.field_violations()[0].field, "filter", "{bad}");
    }
}

async fn statistics_count_per_year_and_exchange_over_a_period(backend: Backend) {
    let app = spawn_app(backend).await;
    let x =
        |title: &str, d: (i32, i32, i32), announced: Option<i32>, status: proto::ExchangeStatus| {
            let client = app.client.clone();
            let e = proto::Exchange {
                announced_returned_count: announced,
                status: status as i32,
                ..exchange(title, d)
            };
            async move { client.exchanges().create(e).await.unwrap() }
        };
    use proto::ExchangeStatus::*;
    let a = x("2022 A", (2022, 9, 21), Some(215), Completed).await;
    let b = x("2022 B", (2022, 12, 31), None, Completed).await;
    let c = x("2025", (2025, 7, 4), Some(3), Completed).await;
    let planned = x("Planned", (2025, 8, 1), Some(100), Planned).await;
    let born = |y| Some(date(y, 1, 1));
    let mut batch = Vec::new();
    for (xid, n, birth_year) in [
        (&a.id, 3, 1990),
        (&b.id, 2, 2000),
        (&c.id, 4, 1970),
        (&planned.id, 5, 2001),
    ] {
        for i in 0..n {
            batch.push(proto::Person {
                exchange_id: xid.clone(),
                date_of_birth: born(birth_year),
                capture_date: Some(date(2022, 3, 1)),
                ..person(&format!("S{i}"), "Ivan")
            });
        }
    }
    app.client.persons().batch_create(batch).await.unwrap();

    let all = app.client.statistics(None, None).await.unwrap();
    assert_eq!(all.exchanges, 3, "planned exchanges are left out");
    assert_eq!(all.announced_returned, 218);
    let years: Vec<_> = all
        .by_year
        .iter()
        .map(|y| {
            (
                y.year,
                y.exchanges,
                y.persons_linked,
                y.announced_returned,
                y.announced_unknown,
            )
        })
        .collect();
    assert_eq!(years, [(2022, 2, 5, 215, 1), (2025, 1, 4, 3, 0)]);
    let per: Vec<_> = all
        .by_exchange
        .iter()
        .map(|e| (e.title.as_str(), e.persons_linked))
        .collect();
    assert_eq!(per, [("2022 A", 3), ("2022 B", 2), ("2025", 4)]);
    let f = all.persons.unwrap();
    assert_eq!(f.persons, 9);
    // Ages at each person's own exchange: 32 (A), 22 (B), 55 (2025).
    assert_eq!((f.youngest_age, f.oldest_age), (Some(22), Some(55)));
    // Days: A 204, B 305, 2025: 1221.
    assert_eq!(
        (f.days_in_captivity_min, f.days_in_captivity_max),
        (Some(204), Some(1221))
    );
    assert_eq!(f.held_over_3_years.unwrap().count, 4);

    let y2022 = app
        .client
        .statistics(Some(date(2022, 1, 1)), Some(date(2022, 12, 31)))
        .await
        .unwrap();
    assert_eq!(y2022.exchanges, 2);
    assert_eq!(
        y2022.persons.unwrap().persons,
        5,
        "about 1,600 returned in 2022, in small"
    );

    let err = app
        .client
        .statistics(Some(date(2023, 1, 1)), Some(date(2022, 1, 1)))
        .await
        .unwrap_err();
    assert_eq!(err.field_violations()[0].field, "end_date");
    let err = app
        .client
        .statistics(Some(date(2023, 2, 30)), None)
        .await
        .unwrap_err();
    assert_eq!(err.field_violations()[0].field, "start_date");
}
