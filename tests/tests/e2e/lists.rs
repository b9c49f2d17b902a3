use std::collections::HashSet;

use futures::TryStreamExt;
use homecoming_client::{Error, ListQuery, date, filter::field, proto};
use homecoming_tests::{Backend, TestApp, backend_tests, fixtures::*, spawn_app};

backend_tests!(
    filters_select_what_they_say,
    bad_filters_and_orderings_are_rejected_with_positions,
    orderings_sort_with_unset_values_last,
    pages_neither_repeat_nor_miss_while_rows_are_inserted,
    page_tokens_are_bound_to_their_query,
    filtered_pages_keep_their_order_beyond_the_index_walk,
);

/// A small synthetic roster: 24 persons over two exchanges and two categories.
async fn roster(app: &TestApp) -> (Vec<proto::Person>, proto::Exchange, proto::Exchange) {
    app.categories(&["under-25", "civilian"]).await;
    let a = app
        .client
        .exchanges()
        .create(exchange("A", (2025, 7, 4)))
        .await
        .unwrap();
    let b = app
        .client
        .exchanges()
        .create(exchange("B", (2024, 1, 1)))
        .await
        .unwrap();
    let batch: Vec<proto::Person> = (0..24)
        .map(|i| {
            let civilian = i % 5 == 0;
            proto::Person {
                kind: if civilian {
                    proto::PersonKind::Civilian
                } else {
                    proto::PersonKind::Military
                } as i32,
                family_name: format!("Family{:02}", (i * 7) % 24),
                given_name: if i % 2 == 0 { "Ivan" } else { "Petro" }.into(),
                capture_date: (i % 4 != 0).then(|| date(2021 + i % 3, 1 + i % 12, 1 + i % 28)),
                status: if i % 3 == 0 {
                    proto::PersonStatus::InCaptivity
                } else {
                    proto::PersonStatus::Returned
                } as i32,
                exchange_id: match i % 3 {
                    1 => a.id.clone(),
                    2 => b.id.clone(),
                    _ => String::new(),
                },
                convicted_in_captivity: i % 6 == 1,
                category_codes: match i % 4 {
                    0 => vec!["under-25".into()],
                    1 => vec!["under-25".into(), "civilian".into()],
                    2 => vec!["civilian".into()],
                    _ => vec![],
                },
                ..Default::default()
            }
        })
        .collect();
    let persons = app.client.persons().batch_create(batch).await.unwrap();
    (persons, a, b)
}

async fn ids(app: &TestApp, filter: impl Into<String>) -> HashSet<String> {
    let all: Vec<proto::Person> = app
        .client
        .persons()
        .list(ListQuery::new().filter(filter).page_size(5))
        .try_collect()
        .await
        .unwrap();
    let n = all.len();
    let set: HashSet<_> = all.into_iter().map(|p| p.id).collect();
    assert_eq!(set.len(), n, "no duplicates");
    set
}

fn expect(persons: &[proto::Person], keep: impl Fn(&proto::Person) -> bool) -> HashSet<String> {
    persons
        .iter()
        .filter(|p| keep(p))
        .map(|p| p.id.clone())
        .collect()
}

fn before(d: &Option<homecoming_client::Date>, (y, m, dd): (i32, i32, i32)) -> bool {
    d.as_ref()
        .is_some_and(|d| (d.year, d.month, d.day) < (y, m, dd))
}

async fn filters_select_what_they_say(backend: Backend) {
    let app = spawn_app(backend).await;
    let (persons, a, _b) = roster(&app).await;
    let returned = proto::PersonStatus::Returned as i32;
    let under25 = |p: &proto::Person| p.category_codes.iter().any(|c| c == "under-25");

    let cases: Vec<(String, HashSet<String>)> = vec![
        (
            field("exchange_id").eq(&a.id).to_string(),
            expect(&persons, |p| p.exchange_id == a.id),
        ),
        (
            (field("exchange_id").eq(&a.id) & field("category_codes").has("under-25")).to_string(),
            expect(&persons, |p| p.exchange_id == a.id && under25(p)),
        ),
        (
            r#"capture_date < "2022-01-01""#.into(),
            expect(&persons, |p| before(&p.capture_date, (2022, 1, 1))),
        ),
        (
            r#"NOT capture_date < "2022-01-01""#.into(),
            expect(&persons, |p| !before(&p.capture_date, (2022, 1, 1))),
        ),
        (
            "status = RETURNED OR kind = CIVILIAN".into(),
            expect(&persons, |p| {
                p.status == returned || p.kind == proto::PersonKind::Civilian as i32
            }),
        ),
        (
            "status = PERSON_STATUS_IN_CAPTIVITY AND -category_codes:\"civilian\"".into(),
            expect(&persons, |p| {
                p.status != returned && !p.category_codes.iter().any(|c| c == "civilian")
            }),
        ),
        (
            r#"exchange_id = """#.into(),
            expect(&persons, |p| p.exchange_id.is_empty()),
        ),
        (
            r#"family_name >= "Family12" given_name = "Ivan""#.into(),
            expect(&persons, |p| {
                p.family_name.as_str() >= "Family12" && p.given_name == "Ivan"
            }),
        ),
        (
            "convicted_in_captivity = true".into(),
            expect(&persons, |p| p.convicted_in_captivity),
        ),
        (
            format!("id = \"{}\"", persons[3].id),
            expect(&persons, |p| p.id == persons[3].id),
        ),
        ("".into(), expect(&persons, |_| true)),
    ];
    for (filter, want) in cases {
        assert!(
            !want.is_empty() || filter.contains("nothing"),
            "case selects something: {filter}"
        );
        assert_eq!(ids(&app, filter.clone()).await, want, "filter {filter}");
    }
    // Exchanges and categories filter too.
    let xs = app
        .client
        .exchanges()
        .list_page(
            &ListQuery::new().filter(r#"exchange_date >= "2025-01-01""#),
            "",
        )
        .await
        .unwrap();
    assert_eq!(xs.items.len(), 1);
    let cs = app
        .client
        .categories()
        .list_page(
            &ListQuery::new().filter(r#"code = "civilian" AND kind = PRIORITY"#),
            "",
        )
        .await
        .unwrap();
    assert_eq!(cs.items.len(), 1);
}

async fn bad_filters_and_orderings_are_rejected_with_positions(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app.client.persons();
    for (filter, needle) in [
        (
            "nickname = \"x\"",
            "at position 1: unknown field `nickname`",
        ),
        ("status = ", "at position 10"),
        ("status = HOME", "at position 10"),
        ("(status = RETURNED", "at position 19"),
        (r#"capture_date < "yesterday""#, "YYYY-MM-DD"),
        (r#"category_codes = "under-25""#, "repeated"),
        ("family_name ~ \"x\"", "at position 13"),
    ] {
        let err = p
            .list_page(&ListQuery::new().filter(filter), "")
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { .. }),
            "{filter}: {err:?}"
        );
        let v = &err.field_violations()[0];
        assert_eq!(v.field, "filter");
        assert!(
            v.description.contains(needle),
            "{filter}: {}",
            v.description
        );
    }
    for order in ["nickname", "family_name sideways", "category_codes", "a,,b"] {
        let err = p
            .list_page(&ListQuery::new().order_by(order), "")
            .await
            .unwrap_err();
        assert_eq!(err.field_violations()[0].field, "order_by", "{order}");
    }
    // The few-valued fields are filter-only: no index orders by them.
    for order in ["sex", "kind desc", "family_name, aftercare.payments"] {
        let err = p
            .list_page(&ListQuery::new().order_by(order), "")
            .await
            .unwrap_err();
        let v = &err.field_violations()[0];
        assert_eq!(v.field, "order_by", "{order}");
        let sortable = v
            .description
            .split_once("sortable fields: ")
            .map(|(_, names)| names)
            .unwrap_or_default();
        assert!(
            sortable.starts_with("id, family_name, given_name")
                && !sortable.contains("sex")
                && sortable.contains("status"),
            "{order}: {}",
            v.description
        );
    }
    p.list_page(
        &ListQuery::new()
            .filter("sex = MALE")
            .order_by("status desc"),
        "",
    )
    .await
    .unwrap();
}

async fn orderings_sort_with_unset_values_last(backend: Backend) {
    let app = spawn_app(backend).await;
    let (persons, _, _) = roster(&app).await;
    for (order, desc) in [("capture_date", false), ("capture_date desc", true)] {
        let listed: Vec<proto::Person> = app
            .client
            .persons()
            .list(ListQuery::new().order_by(order).page_size(4))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed.len(), persons.len());
        let keys: Vec<Option<(i32, i32, i32)>> = listed
            .iter()
            .map(|p| p.capture_date.as_ref().map(|d| (d.year, d.month, d.day)))
            .collect();
        let set: Vec<_> = keys.iter().flatten().copied().collect();
        let mut sorted = set.clone();
        sorted.sort();
        if desc {
            sorted.reverse();
        }
        assert_eq!(set, sorted, "{order}");
        let first_unset = keys.iter().position(Option::is_none).unwrap();
        assert!(
            keys[first_unset..].iter().all(Option::is_none),
            "unset last: {order}"
        );
    }
    let listed: Vec<proto::Person> = app
        .client
        .persons()
        .list(
            ListQuery::new()
                .order_by("family_name desc, given_name")
                .page_size(3),
        )
        .try_collect()
        .await
        .unwrap();
    let names: Vec<_> = listed
        .iter()
        .map(|p| (p.family_name.clone(), p.given_name.clone()))
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(names, sorted);
}

async fn pages_neither_repeat_nor_miss_while_rows_are_inserted(backend: Backend) {
    let app = spawn_app(backend).await;
    let initial: Vec<_> = (0..150)
        .map(|i| proto::Person {
            capture_date: (i % 3 != 0).then(|| date(2022, 1 + i % 12, 1 + i % 28)),
            ..person(&format!("Page{:03}", (i * 37) % 150), "Ivan")
        })
        .collect();
    let initial = app.client.persons().batch_create(initial).await.unwrap();
    let want: HashSet<String> = initial.iter().map(|p| p.id.clone()).collect();

    for order in [
        "",
        "family_name desc",
        "capture_date",
        "capture_date desc, family_name",
    ] {
        let writer = {
            let client = app.client.clone();
            tokio::spawn(async move {
                for round in 0..20 {
                    let batch = (0..5)
                        .map(|i| proto::Person {
                            capture_date: (i % 2 == 0).then(|| date(2022, 6, 1 + i)),
                            ..person(&format!("Page{:03}", (round * 7 + i * 13) % 150), "Late")
                        })
                        .collect();
                    client.persons().batch_create(batch).await.unwrap();
                }
            })
        };
        let query = ListQuery::new().order_by(order).page_size(7);
        let mut token = String::new();
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = app
                .client
                .persons()
                .list_page(&query, &token)
                .await
                .unwrap();
            assert!(page.items.len() <= 7);
            seen.extend(page.items.into_iter().map(|p| p.id));
            pages += 1;
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        writer.await.unwrap();
        let unique: HashSet<_> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "no repeats with order {order:?}");
        assert!(want.is_subset(&unique), "no misses with order {order:?}");
        assert!(pages >= 150 / 7, "many pages");
    }
}

async fn page_tokens_are_bound_to_their_query(backend: Backend) {
    let app = spawn_app(backend).await;
    roster(&app).await;
    let p = app.client.persons();
    let q = ListQuery::new().filter("status = RETURNED").page_size(2);
    let first = p.list_page(&q, "").await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert!(!first.next_page_token.is_empty());
    for other in [
        ListQuery::new().filter("status = MISSING").page_size(2),
        ListQuery::new()
            .filter("status = RETURNED")
            .order_by("family_name")
            .page_size(2),
    ] {
        let err = p
            .list_page(&other, &first.next_page_token)
            .await
            .unwrap_err();
        assert_eq!(err.field_violations()[0].field, "page_token");
    }
    // A different page size is fine (AIP-158).
    let next = p
        .list_page(&q.clone().page_size(3), &first.next_page_token)
        .await
        .unwrap();
    assert_eq!(next.items.len(), 3);
    let err = p.list_page(&q, "not-a-token").await.unwrap_err();
    assert_eq!(err.field_violations()[0].field, "page_token");
    // Page size 0 is 50, above 1000 is 1000.
    let all = p
        .list_page(&ListQuery::new().page_size(5000), "")
        .await
        .unwrap();
    assert_eq!(all.items.len(), 24);
    assert!(all.next_page_token.is_empty());
}

/// A filtered, ordered page is first read by walking the ordering's index over a bounded window
/// of rows (5,000) and falls back to the planned query when the window does not fill the page:
/// both paths, and pages crossing the window, must give exactly the filtered order.
async fn filtered_pages_keep_their_order_beyond_the_index_walk(backend: Backend) {
    let app = spawn_app(backend).await;
    const N: usize = 5600;
    let mut created = Vec::with_capacity(N);
    for chunk in (0..N).collect::<Vec<_>>().chunks(1000) {
        let batch: Vec<proto::Person> = chunk
            .iter()
            .map(|&i| proto::Person {
                kind: proto::PersonKind::Military as i32,
                family_name: format!("F{i:05}"),
                given_name: "Ivan".into(),
                // The last twenty by family name are missing: beyond the walk's window.
                status: if i >= N - 20 {
                    proto::PersonStatus::Missing
                } else {
                    proto::PersonStatus::Returned
                } as i32,
                // So are the only women (a filter-only field: no index of its own).
                sex: if i >= N - 20 {
                    proto::Sex::Female
                } else {
                    proto::Sex::Male
                } as i32,
                ..Default::default()
            })
            .collect();
        created.extend(app.client.persons().batch_create(batch).await.unwrap());
    }
    let listed = |filter: &str, order: &str, size: i32| {
        app.client
            .persons()
            .list(
                ListQuery::new()
                    .filter(filter)
                    .order_by(order)
                    .page_size(size),
            )
            .map_ok(|p| p.id)
            .try_collect::<Vec<String>>()
    };
    let ids_of = |range: std::ops::Range<usize>| -> Vec<String> {
        created[range].iter().map(|p| p.id.clone()).collect()
    };
    // Sparse: the window finds nothing, the planned query answers.
    let missing = ids_of(N - 20..N);
    assert_eq!(
        listed("status = MISSING", "family_name", 7).await.unwrap(),
        missing
    );
    let mut reversed = missing.clone();
    reversed.reverse();
    assert_eq!(
        listed("status = MISSING", "family_name desc", 7)
            .await
            .unwrap(),
        reversed
    );
    assert_eq!(
        listed("sex = FEMALE", "family_name", 7).await.unwrap(),
        missing
    );
    assert_eq!(listed("sex = FEMALE", "", 7).await.unwrap(), {
        let mut by_id = missing.clone();
        by_id.sort();
        by_id
    });
    // Dense: pages come from the walk, deep pages start past the first window.
    let returned = ids_of(0..N - 20);
    assert_eq!(
        listed("sex = MALE AND kind = MILITARY", "family_name", 700)
            .await
            .unwrap(),
        returned
    );
    assert_eq!(
        listed("status = RETURNED", "family_name", 700)
            .await
            .unwrap(),
        returned
    );
    let mut reversed = returned.clone();
    reversed.reverse();
    assert_eq!(
        listed("status = RETURNED", "family_name desc", 1000)
            .await
            .unwrap(),
        reversed
    );
    // Ties (every given name is the same) break by id in the direction of the key.
    let mut by_id = returned.clone();
    by_id.sort();
    assert_eq!(
        listed("status = RETURNED", "given_name", 1000)
            .await
            .unwrap(),
        by_id
    );
    by_id.reverse();
    assert_eq!(
        listed("status = RETURNED", "given_name desc", 1000)
            .await
            .unwrap(),
        by_id
    );
}
