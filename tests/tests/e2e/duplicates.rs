//! Duplicates across spellings: candidates found on create, update and import; merge (fields,
//! links, NOT_FOUND with MERGED, one revision to watchers, history); dismissal; roles and
//! restricted persons; bad input.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use homecoming_client::{Client, Error, ListQuery, WatchEvent, date, proto};
use homecoming_tests::{Backend, TestApp, backend_tests, fixtures, spawn_app};
use tokio::time::timeout;

backend_tests!(
    candidates_appear_on_create_update_and_import,
    merge_moves_everything_to_the_survivor_in_one_revision,
    a_dismissed_pair_never_comes_back,
    roles_and_restricted_persons,
    bad_requests_name_the_field,
);

fn person(
    family: &str,
    given: &str,
    patronymic: &str,
    (y, m, d): (i32, i32, i32),
) -> proto::Person {
    proto::Person {
        patronymic: patronymic.into(),
        date_of_birth: Some(date(y, m, d)),
        sex: proto::Sex::Male as i32,
        ..fixtures::person(family, given)
    }
}

async fn candidates(client: &Client, person_id: Option<&str>) -> Vec<proto::DuplicateCandidate> {
    client
        .duplicate_candidates(person_id, 0.0)
        .try_collect()
        .await
        .unwrap()
}

fn pair_of(c: &proto::DuplicateCandidate) -> (String, String) {
    (c.person_id.clone(), c.other_person_id.clone())
}

fn ordered(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

async fn candidates_appear_on_create_update_and_import(backend: Backend) {
    let app = spawn_app(backend).await;
    let persons = app.client.persons();
    let ua = persons
        .create(person("Гриценко", "Олександр", "Олексійович", (1990, 3, 7)))
        .await
        .unwrap();
    // The Russian list's record of the same man, and a namesake born ten years later.
    let ru = persons
        .create(person("Гриценко", "Александр", "Алексеевич", (1990, 3, 7)))
        .await
        .unwrap();
    let namesake = persons
        .create(person(
            "Гриценко",
            "Олександр",
            "Олексійович",
            (2000, 11, 20),
        ))
        .await
        .unwrap();
    let found = candidates(&app.client, Some(&ua.id)).await;
    assert_eq!(
        found.iter().map(pair_of).collect::<Vec<_>>(),
        [ordered(&ua.id, &ru.id)],
        "{found:#?}"
    );
    let c = &found[0];
    assert!(c.score >= 0.8 && c.score <= 1.0, "{c:?}");
    for reason in [
        "family name equal",
        "given names are UA/RU equivalents",
        "patronymics are UA/RU equivalents",
        "birth date equal",
    ] {
        assert!(c.reasons.iter().any(|r| r == reason), "{reason}: {c:?}");
    }
    assert!(c.find_time.is_some() && c.revision > 0);
    // Below the default threshold, the namesake is a weak candidate only if asked for.
    let low: Vec<proto::DuplicateCandidate> = app
        .client
        .duplicate_candidates(Some(&namesake.id), 0.5)
        .try_collect()
        .await
        .unwrap();
    assert!(low.iter().all(|c| c.score < 0.8), "{low:#?}");

    // An update that makes a record match: the day and month swapped on a Latin record.
    let latin = persons
        .create(person("Kovalenko", "Mykola", "", (1985, 4, 2)))
        .await
        .unwrap();
    let uk = persons
        .create(person("Коваленко", "Микола", "Петрович", (1979, 1, 1)))
        .await
        .unwrap();
    assert!(candidates(&app.client, Some(&uk.id)).await.is_empty());
    persons
        .update(
            proto::Person {
                id: uk.id.clone(),
                date_of_birth: Some(date(1985, 2, 4)),
                ..Default::default()
            },
            &["date_of_birth"],
        )
        .await
        .unwrap();
    let found = candidates(&app.client, Some(&uk.id)).await;
    assert_eq!(
        found.iter().map(pair_of).collect::<Vec<_>>(),
        [ordered(&uk.id, &latin.id)]
    );
    assert!(
        found[0]
            .reasons
            .iter()
            .any(|r| r == "day and month swapped")
    );

    // An imported roster row in another system's Latin, with the service number both know.
    persons
        .update(
            proto::Person {
                id: ru.id.clone(),
                service_number: "А123456".into(),
                ..Default::default()
            },
            &["service_number"],
        )
        .await
        .unwrap();
    let row = proto::Person {
        service_number: "А123456".into(),
        external_ids: vec![proto::ExternalId {
            system: "icrc".into(),
            id: "77".into(),
        }],
        ..person("Gritsenko", "Aleksandr", "", (1990, 7, 3))
    };
    let r = persons
        .import(proto::ImportPersonsRequest {
            persons: vec![row],
            mode: proto::ImportMode::PerRow as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    let imported = r.results[0].person_id.clone();
    assert!(!imported.is_empty(), "{r:?}");
    let found = candidates(&app.client, Some(&imported)).await;
    let pairs: Vec<_> = found.iter().map(pair_of).collect();
    assert!(pairs.contains(&ordered(&imported, &ru.id)), "{found:#?}");
    assert!(pairs.contains(&ordered(&imported, &ua.id)), "{found:#?}");
    assert!(
        found
            .iter()
            .find(|c| pair_of(c) == ordered(&imported, &ru.id))
            .is_some_and(|c| c.reasons.iter().any(|r| r == "same service number"))
    );

    // The registry's list: every open pair, best first, over pages.
    let all = candidates(&app.client, None).await;
    assert!(all.len() >= 4, "{all:#?}");
    assert!(all.windows(2).all(|w| w[0].score >= w[1].score));
    let page = app
        .client
        .duplicate_candidates(None, 0.0)
        .take(2)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(page, all[..2]);
}

async fn watch_batches(app: &TestApp, from: i64, until: i64) -> Vec<proto::EventBatch> {
    let mut stream = Box::pin(app.client.watch().start_revision(from).stream());
    let mut out = Vec::new();
    loop {
        let next = timeout(Duration::from_secs(60), stream.next())
            .await
            .expect("watch stalled");
        match next.expect("stream ended").expect("watch error") {
            WatchEvent::Events(b) => {
                let r = b.revision;
                out.push(b);
                if r >= until {
                    return out;
                }
            }
            WatchEvent::Progress(r) if r >= until => return out,
            _ => {}
        }
    }
}

async fn merge_moves_everything_to_the_survivor_in_one_revision(backend: Backend) {
    let app = spawn_app(backend).await;
    app.categories(&["wounded", "long-captivity"]).await;
    let persons = app.client.persons();
    let survivor = persons
        .create(proto::Person {
            category_codes: vec!["wounded".into()],
            external_ids: vec![proto::ExternalId {
                system: "coordination-hq".into(),
                id: "1".into(),
            }],
            ..person("Демʼяненко", "Андрій", "Іванович", (1988, 5, 6))
        })
        .await
        .unwrap();
    let duplicate = persons
        .create(proto::Person {
            service_number: "Б777".into(),
            category_codes: vec!["long-captivity".into()],
            aliases: vec!["Demianenko Andrei".into()],
            contacts: vec![proto::Contact {
                name: "Тестова Мати".into(),
                relationship: "mother".into(),
                ..Default::default()
            }],
            external_ids: vec![proto::ExternalId {
                system: "icrc".into(),
                id: "9".into(),
            }],
            ..person("Демьяненко", "Андрей", "Иванович", (1988, 5, 6))
        })
        .await
        .unwrap();
    let event = app
        .client
        .events()
        .create(proto::PersonEvent {
            person_id: duplicate.id.clone(),
            r#type: proto::PersonEventType::Captured as i32,
            date: Some(date(2022, 3, 1)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        candidates(&app.client, Some(&survivor.id))
            .await
            .iter()
            .map(pair_of)
            .collect::<Vec<_>>(),
        [ordered(&survivor.id, &duplicate.id)]
    );
    let head = persons.get(&survivor.id).await.unwrap();
    let from: i64 = head.etag.trim_start_matches('r').parse().unwrap_or(1);

    let merged = app
        .client
        .merge_persons(
            &survivor.id,
            &duplicate.id,
            &["service_number"],
            Some("merge-1"),
        )
        .await
        .unwrap();
    assert_eq!(merged.id, survivor.id);
    assert_eq!(merged.family_name, "Демʼяненко");
    assert_eq!(merged.service_number, "Б777");
    assert_eq!(merged.category_codes, ["wounded", "long-captivity"]);
    assert_eq!(merged.external_ids.len(), 2);
    assert!(merged.aliases.contains(&"Demianenko Andrei".to_owned()));
    assert!(
        merged
            .aliases
            .contains(&"Демьяненко Андрей Иванович".to_owned())
    );
    assert_eq!(merged.contacts.len(), 1);
    assert_eq!(
        app.client.events().get(&event.id).await.unwrap().person_id,
        survivor.id
    );
    // A retry with the same request id is answered the same, and changes nothing.
    let again = app
        .client
        .merge_persons(
            &survivor.id,
            &duplicate.id,
            &["service_number"],
            Some("merge-1"),
        )
        .await
        .unwrap();
    assert_eq!(again, merged);

    // The duplicate's id leads to the survivor.
    let Err(Error::NotFound(d)) = persons.get(&duplicate.id).await else {
        panic!("a merged person must be NOT_FOUND");
    };
    assert_eq!(d.reason, "MERGED");
    assert_eq!(d.metadata.get("survivor_id"), Some(&survivor.id));
    let Err(Error::NotFound(d)) = persons
        .update(
            proto::Person {
                id: duplicate.id.clone(),
                notes: "late".into(),
                ..Default::default()
            },
            &["notes"],
        )
        .await
    else {
        panic!("an update of a merged person must be NOT_FOUND");
    };
    assert_eq!(d.reason, "MERGED");
    let Err(Error::NotFound(d)) = persons.delete(&duplicate.id, None).await else {
        panic!("a delete of a merged person must be NOT_FOUND");
    };
    assert_eq!(d.metadata.get("survivor_id"), Some(&survivor.id));
    let Err(Error::NotFound(d)) = app
        .client
        .duplicate_candidates(Some(&duplicate.id), 0.0)
        .try_collect::<Vec<_>>()
        .await
    else {
        panic!("candidates of a merged person must be NOT_FOUND");
    };
    assert_eq!(d.reason, "MERGED");
    assert!(
        candidates(&app.client, None)
            .await
            .iter()
            .all(|c| c.person_id != duplicate.id && c.other_person_id != duplicate.id)
    );
    // The external id the duplicate had now finds the survivor.
    assert_eq!(persons.lookup("icrc", "9").await.unwrap().id, survivor.id);

    // One revision: the duplicate deleted, the survivor and the event updated.
    let rev: i64 = merged.etag.trim_start_matches('r').parse().unwrap();
    let batches = watch_batches(&app, from + 1, rev).await;
    let batch = batches
        .iter()
        .find(|b| b.revision == rev)
        .expect("the merge's revision");
    let kinds: Vec<(String, i32)> = batch
        .events
        .iter()
        .map(|e| {
            let id = match &e.resource {
                Some(proto::event::Resource::Person(p)) => p.id.clone(),
                Some(proto::event::Resource::PersonEvent(x)) => x.id.clone(),
                _ => String::new(),
            };
            (id, e.r#type)
        })
        .collect();
    assert!(
        kinds.contains(&(duplicate.id.clone(), proto::EventType::Deleted as i32)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(survivor.id.clone(), proto::EventType::Updated as i32)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(event.id.clone(), proto::EventType::Updated as i32)),
        "{kinds:?}"
    );

    // The survivor's history shows the merge.
    let history: Vec<proto::PersonVersion> =
        persons.history(&survivor.id).try_collect().await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.revision, rev);
    assert_eq!(last.merged_person_id, duplicate.id);
    assert!(last.changes.iter().any(|c| c.field == "service_number"));

    // A merge of what is gone, or of a person with itself, is refused.
    let Err(Error::NotFound(d)) = app
        .client
        .merge_persons(&survivor.id, &duplicate.id, &[], None)
        .await
    else {
        panic!("merging a merged person again must be NOT_FOUND");
    };
    assert_eq!(d.reason, "MERGED");
    let e = app
        .client
        .merge_persons(&survivor.id, &survivor.id, &[], None)
        .await
        .unwrap_err();
    assert_eq!(e.field_violations()[0].field, "duplicate_id");
}

async fn a_dismissed_pair_never_comes_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let persons = app.client.persons();
    let a = persons
        .create(person("Шевчук", "Сергій", "Петрович", (1975, 8, 9)))
        .await
        .unwrap();
    let b = persons
        .create(person("Шевчук", "Сергей", "Петрович", (1975, 8, 9)))
        .await
        .unwrap();
    assert_eq!(candidates(&app.client, Some(&a.id)).await.len(), 1);
    app.client
        .dismiss_duplicate(&b.id, &a.id, "twins, checked with the family")
        .await
        .unwrap();
    assert!(candidates(&app.client, Some(&a.id)).await.is_empty());
    // Written again, and written more alike, the pair stays dismissed.
    for p in [&a, &b] {
        persons
            .update(
                proto::Person {
                    id: p.id.clone(),
                    service_number: "В100".into(),
                    ..Default::default()
                },
                &["service_number"],
            )
            .await
            .unwrap();
    }
    assert!(candidates(&app.client, Some(&a.id)).await.is_empty());
    assert!(candidates(&app.client, None).await.is_empty());
    // A third record of the same name, its birth date unknown, is still found against both
    // (through the name under every birth year).
    let c = persons
        .create(proto::Person {
            date_of_birth: None,
            ..person("Shevchuk", "Serhii", "Petrovych", (1975, 8, 9))
        })
        .await
        .unwrap();
    let found: Vec<proto::DuplicateCandidate> = app
        .client
        .duplicate_candidates(Some(&c.id), 0.5)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "{found:#?}");
    // Dismissing a pair with a missing person is NOT_FOUND.
    let gone = app.person("Видалений", "Тест").await;
    persons.delete(&gone.id, None).await.unwrap();
    assert!(matches!(
        app.client.dismiss_duplicate(&a.id, &gone.id, "").await,
        Err(Error::NotFound(_))
    ));
}

async fn roles_and_restricted_persons(backend: Backend) {
    let app = spawn_app(backend).await;
    let persons = app.client.persons();
    let open = persons
        .create(person("Ткачук", "Іван", "Іванович", (1970, 1, 10)))
        .await
        .unwrap();
    let hidden = persons
        .create(proto::Person {
            restricted: true,
            ..person("Ткачук", "Иван", "Иванович", (1970, 1, 10))
        })
        .await
        .unwrap();
    let other = persons
        .create(person("Лисенко", "Петро", "Іванович", (1960, 2, 2)))
        .await
        .unwrap();
    persons
        .create(person("Лысенко", "Пётр", "Иванович", (1960, 2, 2)))
        .await
        .unwrap();
    // The admin sees both pairs; others only the pair without a restricted person.
    assert_eq!(candidates(&app.client, None).await.len(), 2);
    let viewer = app.client_as(proto::Role::Viewer).await;
    let editor = app.client_as(proto::Role::Editor).await;
    for who in [&viewer, &editor] {
        let seen = candidates(who, None).await;
        assert_eq!(seen.len(), 1, "{seen:#?}");
        assert!(seen[0].person_id != hidden.id && seen[0].other_person_id != hidden.id);
        assert!(candidates(who, Some(&open.id)).await.is_empty());
        let e = who
            .duplicate_candidates(Some(&hidden.id), 0.0)
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    }
    // Viewers may list, not merge or dismiss; editors may not touch a restricted person.
    assert!(matches!(
        viewer.merge_persons(&open.id, &other.id, &[], None).await,
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        viewer.dismiss_duplicate(&open.id, &other.id, "").await,
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        editor.merge_persons(&open.id, &hidden.id, &[], None).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        editor.dismiss_duplicate(&open.id, &hidden.id, "").await,
        Err(Error::NotFound(_))
    ));
    // Every call is audited, with the persons it named or answered.
    let audited = app
        .audit_events_naming(
            "/homecoming.v1.DuplicateService/ListDuplicateCandidates",
            &other.id,
        )
        .await;
    assert!(audited.len() >= 3, "{audited:#?}");
    let refused: Vec<proto::AuditEvent> = app
        .client
        .audit_events(ListQuery::new().filter(
            "method = \"/homecoming.v1.DuplicateService/MergePersons\" AND code = \"PERMISSION_DENIED\"",
        ))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(refused.len(), 1);
}

async fn bad_requests_name_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.person("Мельник", "Остап").await;
    let b = app.person("Мельник", "Степан").await;
    let field = |e: Error| e.field_violations().first().map(|v| v.field.clone());
    let e = app
        .client
        .duplicate_candidates(None, 1.5)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(field(e).as_deref(), Some("min_score"));
    let e = app
        .client
        .duplicate_candidates(Some(&"x".repeat(10_000)), 0.0)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(field(e).as_deref(), Some("person_id"));
    let e = app
        .client
        .dismiss_duplicate(&a.id, &a.id, "")
        .await
        .unwrap_err();
    assert_eq!(field(e).as_deref(), Some("other_person_id"));
    let e = app
        .client
        .dismiss_duplicate(&a.id, &b.id, &"r".repeat(5_000))
        .await
        .unwrap_err();
    assert_eq!(field(e).as_deref(), Some("reason"));
    let e = app
        .client
        .merge_persons(&a.id, "", &[], None)
        .await
        .unwrap_err();
    assert_eq!(field(e).as_deref(), Some("duplicate_id"));
    let e = app
        .client
        .merge_persons(&a.id, &b.id, &["no_such_field"], None)
        .await
        .unwrap_err();
    assert!(field(e).is_some_and(|f| f.starts_with("update_mask")),);
    // A page token of another query is refused.
    let mut raw = homecoming_client::proto::duplicate_service_client::DuplicateServiceClient::new(
        app.client.channel(),
    );
    let r = raw
        .list_duplicate_candidates(app.authorized(proto::ListDuplicateCandidatesRequest {
            page_token: "bm90LWEtdG9rZW4".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(r.code(), tonic::Code::InvalidArgument);
}
