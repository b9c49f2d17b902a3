//! The person's full record (GC III Art. 122, GC IV Art. 136-138): every field round-trips,
//! sensitive parts are redacted for viewers, aliases are searched like the name, and bad
//! entries are named by index.

use homecoming_client::{Error, ListQuery, filter::name, proto};
use homecoming_tests::{Backend, backend_tests, fixtures, spawn_app};
use prost_types::Timestamp;

backend_tests!(
    the_whole_record_round_trips,
    viewers_get_the_record_without_its_sensitive_parts,
    aliases_are_found_by_name_search,
    bad_documents_and_contacts_are_named_by_index,
);

pub(crate) fn full() -> proto::Person {
    proto::Person {
        father_name: "Вигадан".into(),
        mother_maiden_name: "Вигаданська".into(),
        power_depended_on: "Ukraine".into(),
        last_residence: "Synthetic town, Synthetic street 3".into(),
        correspondence_address: "Synthetic street 1, Synthetic town".into(),
        distinguishing_marks: "A synthetic scar on the left hand.".into(),
        identity_documents: vec![
            proto::IdentityDocument {
                r#type: proto::IdentityDocumentType::MilitaryId as i32,
                number: "AA-000001".into(),
                issuer: "Synthetic military office".into(),
            },
            proto::IdentityDocument {
                r#type: proto::IdentityDocumentType::InternationalPassport as i32,
                number: "FX000001".into(),
                issuer: String::new(),
            },
        ],
        aliases: vec!["Александр Гриценко".into(), "Oleksandr Hrytsenko".into()],
        contacts: vec![proto::Contact {
            name: "Вигадана Марія".into(),
            relationship: "mother".into(),
            phone: "+380000000000".into(),
            address: "Synthetic street 2".into(),
            informed_time: Some(Timestamp {
                seconds: 1_751_600_000,
                nanos: 0,
            }),
        }],
        ..fixtures::person("Гриценко", "Олександр")
    }
}

async fn the_whole_record_round_trips(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.client.persons().create(full()).await.unwrap();
    let got = app.client.persons().get(&created.id).await.unwrap();
    assert_eq!(got, created);
    let expected = proto::Person {
        id: got.id.clone(),
        create_time: got.create_time,
        update_time: got.update_time,
        etag: got.etag.clone(),
        aftercare: got.aftercare,
        ..full()
    };
    assert_eq!(got, expected);
    // A list of contacts is replaced as a whole by its path.
    let updated = app
        .client
        .persons()
        .update(
            proto::Person {
                id: got.id.clone(),
                contacts: vec![proto::Contact {
                    name: "Вигаданий Петро".into(),
                    relationship: "brother".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            &["contacts"],
        )
        .await
        .unwrap();
    assert_eq!(updated.contacts.len(), 1);
    assert_eq!(updated.contacts[0].name, "Вигаданий Петро");
    assert_eq!(updated.identity_documents, expected.identity_documents);
}

async fn viewers_get_the_record_without_its_sensitive_parts(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.client.persons().create(full()).await.unwrap();
    let viewer = app.client_as(proto::Role::Viewer).await;
    let seen = viewer.persons().get(&created.id).await.unwrap();
    assert!(seen.correspondence_address.is_empty());
    assert!(seen.distinguishing_marks.is_empty());
    assert!(seen.identity_documents.iter().all(|d| d.number.is_empty()));
    assert_eq!(
        seen.identity_documents[0].issuer,
        "Synthetic military office"
    );
    assert!(
        seen.contacts
            .iter()
            .all(|c| c.phone.is_empty() && c.address.is_empty())
    );
    assert_eq!(seen.contacts[0].name, "Вигадана Марія");
    assert_eq!(seen.father_name, "Вигадан");
    let listed = viewer
        .persons()
        .list_page(&ListQuery::new(), "")
        .await
        .unwrap();
    assert_eq!(listed.items, [seen]);
}

async fn aliases_are_found_by_name_search(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.client.persons().create(full()).await.unwrap();
    app.person("Інший", "Іван").await;
    // The alias in Russian and its Latin spelling are found; the transliteration systems of
    // other lists (Gritsenko) are the duplicates issue's keys.
    for query in ["Гриценко", "Hrytsenko", "Александр", "Oleksandr"] {
        let page = app
            .client
            .persons()
            .list_page(&ListQuery::new().filter(name(query)), "")
            .await
            .unwrap();
        let ids: Vec<&str> = page.items.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, [created.id.as_str()], "{query}");
    }
}

async fn bad_documents_and_contacts_are_named_by_index(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut p = full();
    p.identity_documents[1].r#type = 0;
    p.identity_documents[1].number = " ".into();
    p.contacts[0].name = String::new();
    p.contacts[0].informed_time = Some(Timestamp {
        seconds: 4_102_444_800,
        nanos: 0,
    });
    p.aliases.push("Александр Гриценко".into());
    let e = app.client.persons().create(p).await.unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    let mut fields: Vec<&str> = e
        .field_violations()
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "person.aliases[2]",
            "person.contacts[0].informed_time",
            "person.contacts[0].name",
            "person.identity_documents[1].number",
            "person.identity_documents[1].type",
        ]
    );
    let many = proto::Person {
        contacts: vec![proto::Contact::default(); 51],
        ..fixtures::person("Багатенко", "Іван")
    };
    let e = app.client.persons().create(many).await.unwrap_err();
    let fields: Vec<&str> = e
        .field_violations()
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["person.contacts"]);
}
