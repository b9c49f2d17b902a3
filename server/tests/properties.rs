//! Properties of what parses client input: filters, update masks, name keys and request
//! conversion. Each holds for generated input (proptest; `PROPTEST_CASES` sets how much, the
//! default is a short run) and for the committed corpus of inputs that once broke or came close
//! (`tests/corpus/`).

use homecoming_proto::v1 as pb;
use homecoming_server::{
    domain::{PERSON, PersonFields, ResourceType, filter, schema::Mask, translit},
    grpc::convert,
    store::check_filter,
};
use proptest::prelude::*;

/// A filter either parses or fails at a position inside it (1-based, at most one past the
/// end); compiling it for every resource never panics.
fn filter_is_handled(input: &str) {
    match filter::parse(input) {
        Ok(_) => {}
        Err(e) => {
            let n = input.chars().count();
            assert!(
                e.position >= 1 && e.position <= n.max(filter::MAX_LEN) + 1,
                "{input:?}: {e}"
            );
        }
    }
    for ty in [
        ResourceType::Category,
        ResourceType::Exchange,
        ResourceType::Person,
    ] {
        let _ = check_filter(ty, input);
    }
}

/// Parsing a mask never panics; a mask of trimmed paths means what the padded one means; an
/// accepted explicit mask names each path once.
fn mask_is_handled(paths: &[String]) {
    let parsed = PERSON.parse_mask(paths);
    let trimmed: Vec<String> = paths.iter().map(|p| p.trim().to_owned()).collect();
    assert_eq!(
        format!("{parsed:?}"),
        format!("{:?}", PERSON.parse_mask(&trimmed)),
        "{paths:?}"
    );
    if let Ok(mask) = &parsed {
        if let Mask::Paths(p) = mask {
            let mut unique = p.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), p.len(), "{paths:?}");
        }
        let mut current = PersonFields::default();
        assert!(
            PERSON
                .apply(&mut current, &PersonFields::default(), mask)
                .is_ok()
        );
    }
}

fn corpus(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.replace("\\0", "\0"))
}

#[test]
fn the_filter_corpus_is_handled() {
    for f in corpus(include_str!("corpus/filters.txt")) {
        filter_is_handled(&f);
    }
}

#[test]
fn the_mask_corpus_is_handled() {
    for line in corpus(include_str!("corpus/masks.txt")) {
        let paths: Vec<String> = line.split('|').map(str::to_owned).collect();
        mask_is_handled(&paths);
    }
}

#[test]
fn a_padded_restricted_path_is_the_restricted_path() {
    for p in [" restricted", "restricted ", "\trestricted"] {
        assert_eq!(
            PERSON.parse_mask(&[p.to_owned()]).ok(),
            Some(Mask::Paths(vec!["restricted"]))
        );
    }
    assert_eq!(PERSON.parse_mask(&[" * ".to_owned()]).ok(), Some(Mask::All));
}

/// Characters that matter to the filter grammar, and some that do not.
fn filter_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("family_name".to_owned()),
        Just("status".to_owned()),
        Just("category_codes".to_owned()),
        Just("name".to_owned()),
        Just("capture_date".to_owned()),
        Just("exchange_id".to_owned()),
        Just(" AND ".to_owned()),
        Just(" OR ".to_owned()),
        Just("NOT ".to_owned()),
        Just("-".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(" = ".to_owned()),
        Just("!=".to_owned()),
        Just("<".to_owned()),
        Just(">=".to_owned()),
        Just(":".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("\\".to_owned()),
        Just("RETURNED".to_owned()),
        Just("\"2023-01-01\"".to_owned()),
        "\\PC{0,4}",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

fn mask_path() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("restricted".to_owned()),
        Just("*".to_owned()),
        Just("aftercare".to_owned()),
        Just("aftercare.payments".to_owned()),
        Just("family_name".to_owned()),
        Just("id".to_owned()),
        Just("etag".to_owned()),
        Just("age_at_return".to_owned()),
        "[a-z_.]{0,12}",
    ];
    (name, "[ \t]{0,2}", "[ \t]{0,2}").prop_map(|(n, a, b)| format!("{a}{n}{b}"))
}

fn person() -> impl Strategy<Value = pb::Person> {
    (
        ("\\PC{0,40}", "\\PC{0,40}", "\\PC{0,8}"),
        (any::<i32>(), any::<i32>(), any::<i32>()),
        proptest::collection::vec("\\PC{0,12}", 0..80),
        proptest::option::of((any::<i32>(), any::<i32>(), any::<i32>())),
    )
        .prop_map(
            |((family, given, exchange_id), (kind, status, sex), codes, date)| pb::Person {
                family_name: family,
                given_name: given,
                exchange_id,
                kind,
                status,
                sex,
                category_codes: codes,
                date_of_birth: date.map(|(year, month, day)| {
                    homecoming_proto::google::r#type::Date { year, month, day }
                }),
                ..Default::default()
            },
        )
}

proptest! {
    #[test]
    fn filters_never_panic(input in filter_text()) {
        filter_is_handled(&input);
    }

    #[test]
    fn masks_never_panic_and_padding_changes_nothing(
        paths in proptest::collection::vec(mask_path(), 0..6)
    ) {
        mask_is_handled(&paths);
    }

    #[test]
    fn name_keys_are_lowercase_ascii_words(name in "\\PC{0,60}") {
        for key in translit::name_keys(&name) {
            prop_assert!(!key.is_empty());
            prop_assert!(key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{key:?}");
        }
        let keys = translit::person_keys(&name, &name, "");
        let mut sorted = keys.clone();
        sorted.dedup();
        prop_assert_eq!(sorted, keys);
    }

    #[test]
    fn converting_any_person_names_bad_fields_and_never_panics(p in person()) {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        if let Err(homecoming_server::domain::Error::InvalidArgument(list)) =
            convert::new_person(p, "person", today)
        {
            prop_assert!(!list.is_empty());
            prop_assert!(list.len() <= homecoming_server::domain::MAX_VIOLATIONS + 1);
            for v in &list {
                prop_assert!(v.field.starts_with("person.") || v.field == "request", "{}", v.field);
            }
        }
    }
}
