//! Whether two person records are one person: the blocking keys that bring likely pairs
//! together without comparing every pair, and the score of a pair with the reasons for it.
//!
//! The score is a match weight in the manner of Fellegi and Sunter: each comparison adds
//! evidence for (equal names, equal birth date, the same service number) or against (a known,
//! different birth date or sex), and the sum becomes a probability-like number in 0..1 through
//! the logistic function. The weights were set on the labelled synthetic set of
//! `server/tests/duplicates_labelled.rs`, whose test holds them to precision ≥ 0.95 and recall
//! ≥ 0.90 at [`DEFAULT_MIN_SCORE`].

use chrono::Datelike;

use super::{PersonFields, Sex, names};

/// The score from which a pair is a candidate when the caller names no other.
pub const DEFAULT_MIN_SCORE: f64 = 0.8;

/// A pair's score and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub score: f64,
    pub reasons: Vec<String>,
}

/// Most name codes of one person: one per (family code, given code) over the name and its
/// aliases; more would only come from ambiguous spellings.
const MAX_KEYS: usize = 24;

/// The words of a name (split at spaces and hyphens), empty words left out.
fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| c.is_whitespace() || c == '-' || c == '‐' || c == '–')
        .filter(|w| !w.is_empty())
        .collect()
}

/// A person's (family, given) name pairs: the name itself and each alias read both ways
/// ("Gritsenko Aleksandr" and "Aleksandr Gritsenko").
fn name_pairs(f: &PersonFields) -> Vec<(String, String)> {
    let mut out = vec![(f.family_name.clone(), f.given_name.clone())];
    for alias in &f.aliases {
        let w = words(alias);
        if let [a, b, ..] = w.as_slice() {
            out.push(((*a).to_owned(), (*b).to_owned()));
            out.push(((*b).to_owned(), (*a).to_owned()));
        }
    }
    out
}

/// The name codes of a person: `<family code><given code>` for each spelling of the name.
fn name_codes(f: &PersonFields) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (family, given) in name_pairs(f) {
        let family: Vec<String> = words(&family)
            .first()
            .map(|w| names::family_codes(w))
            .unwrap_or_default();
        let given: Vec<String> = words(&given)
            .first()
            .map(|w| names::given_codes(w))
            .unwrap_or_default();
        for a in &family {
            for b in &given {
                let k = format!("{a}{b}");
                if out.len() < MAX_KEYS && !out.contains(&k) {
                    out.push(k);
                }
            }
        }
    }
    out
}

/// Keys under which the person is stored for candidate search: `n<name code>y<birth date>`
/// for each spelling of the name when the birth date is known, `n<name code>` when it is not,
/// and `s<service number>` when one is known. The date is written year, then the lesser and
/// the greater of month and day (1990-03-07 and 1990-07-03 give `y19900307` both), so a day
/// and month swapped meet; it keeps a key's members few (a common name alone is shared by
/// thousands, and a pair whose known birth dates differ otherwise is no candidate unless a
/// service number says so).
pub fn blocking_keys(f: &PersonFields) -> Vec<String> {
    blocking_keys_of(f, &name_codes(f))
}

fn blocking_keys_of(f: &PersonFields, codes: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = codes
        .iter()
        .map(|c| match f.date_of_birth {
            Some(d) => {
                let (lo, hi) = (d.month().min(d.day()), d.month().max(d.day()));
                format!("n{c}y{:04}{lo:02}{hi:02}", d.year())
            }
            None => format!("n{c}"),
        })
        .collect();
    let service = f.service_number.trim();
    if !service.is_empty() {
        keys.push(format!("s{}", service.to_lowercase()));
    }
    keys
}

/// What a person's candidate search looks up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// The persons stored under this key.
    Key(String),
    /// The persons stored under a key starting so (every birth date of a name).
    Prefix(String),
}

/// The searches that find every stored person a record of the same person would share a key
/// with: its own keys; with a known birth date, also the name without a date (persons whose
/// birth date is unknown); without one, the name under every date.
pub fn search_keys(f: &PersonFields) -> Vec<Search> {
    MatchKeys::of(f).search
}

/// A person's stored keys and searches, from one computation of its name codes (the
/// transliterations are the costly part): what a write needs of the candidate search before
/// it takes the writer's turn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchKeys {
    /// `blocking_keys`.
    pub blocking: Vec<String>,
    /// `search_keys`.
    pub search: Vec<Search>,
}

impl MatchKeys {
    pub fn of(f: &PersonFields) -> Self {
        let codes = name_codes(f);
        let blocking = blocking_keys_of(f, &codes);
        let mut search: Vec<Search> = blocking.iter().cloned().map(Search::Key).collect();
        for c in codes {
            search.push(match f.date_of_birth {
                Some(_) => Search::Key(format!("n{c}")),
                None => Search::Prefix(format!("n{c}y")),
            });
        }
        MatchKeys { blocking, search }
    }
}

/// Whether a search of `a` finds `b` (as the store's candidate search would).
pub fn finds(a: &PersonFields, b: &PersonFields) -> bool {
    let stored = blocking_keys(b);
    search_keys(a).iter().any(|s| match s {
        Search::Key(k) => stored.contains(k),
        Search::Prefix(p) => stored.iter().any(|k| k.starts_with(p.as_str())),
    })
}

/// How two names (or two words) compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Likeness {
    Different,
    Phonetic,
    Equivalent,
    Transliterated,
    Equal,
}

fn compare_words(a: &str, b: &str, given: bool) -> Likeness {
    let (a, b) = (a.trim(), b.trim());
    if names::fold(a) == names::fold(b) {
        return Likeness::Equal;
    }
    let forms = |w: &str| -> Vec<String> {
        let mut out = names::latin_forms(w);
        if !given {
            out = out.iter().map(|f| names::fold_adjectival(f)).collect();
        }
        out
    };
    let (fa, fb) = (forms(a), forms(b));
    if fa.iter().any(|x| fb.contains(x)) {
        return Likeness::Transliterated;
    }
    if given && names::are_equivalents(a, b) {
        return Likeness::Equivalent;
    }
    let (ca, cb) = (names::phonetic_codes(a), names::phonetic_codes(b));
    if ca.iter().any(|x| cb.contains(x)) {
        return Likeness::Phonetic;
    }
    Likeness::Different
}

/// The best likeness of two names over their words' spellings (the first word of each).
fn compare_names(a: &str, b: &str, given: bool) -> Option<Likeness> {
    let (a, b) = (words(a), words(b));
    let (Some(a), Some(b)) = (a.first(), b.first()) else {
        return None;
    };
    Some(compare_words(a, b, given))
}

fn compare_patronymics(a: &str, b: &str) -> Option<Likeness> {
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let direct = compare_words(a, b, false);
    if direct >= Likeness::Transliterated {
        return Some(direct);
    }
    let (ga, gb) = (names::patronymic_groups(a), names::patronymic_groups(b));
    if ga.iter().any(|g| gb.contains(g)) {
        return Some(Likeness::Equivalent);
    }
    Some(direct)
}

/// The score of two records being one person, with the reasons.
pub fn assess(a: &PersonFields, b: &PersonFields) -> Assessment {
    let mut weight = -6.0;
    let mut reasons: Vec<String> = Vec::new();
    let mut note = |w: f64, r: &str| {
        weight += w;
        reasons.push(r.to_owned());
    };
    // The best pairing of the names and aliases of both.
    let mut best = (Likeness::Different, Likeness::Different);
    for (fa, ga) in name_pairs(a) {
        for (fb, gb) in name_pairs(b) {
            let family = compare_names(&fa, &fb, false).unwrap_or(Likeness::Different);
            let given = compare_names(&ga, &gb, true).unwrap_or(Likeness::Different);
            if (family, given) > best {
                best = (family, given);
            }
        }
    }
    match best.0 {
        Likeness::Equal => note(3.5, "family name equal"),
        Likeness::Transliterated | Likeness::Equivalent => {
            note(3.5, "family name equal after transliteration")
        }
        Likeness::Phonetic => note(2.0, "family names sound alike (Daitch–Mokotoff)"),
        Likeness::Different => note(-4.0, "family names differ"),
    }
    match best.1 {
        Likeness::Equal => note(2.5, "given name equal"),
        Likeness::Transliterated => note(2.5, "given name equal after transliteration"),
        Likeness::Equivalent => note(2.3, "given names are UA/RU equivalents"),
        Likeness::Phonetic => note(1.2, "given names sound alike (Daitch–Mokotoff)"),
        Likeness::Different => note(-3.0, "given names differ"),
    }
    match compare_patronymics(&a.patronymic, &b.patronymic) {
        None => {}
        Some(Likeness::Equal) => note(1.5, "patronymic equal"),
        Some(Likeness::Transliterated) => note(1.5, "patronymic equal after transliteration"),
        Some(Likeness::Equivalent) => note(1.3, "patronymics are UA/RU equivalents"),
        Some(Likeness::Phonetic) => note(0.8, "patronymics sound alike (Daitch–Mokotoff)"),
        Some(Likeness::Different) => note(-2.5, "patronymics differ"),
    }
    if let (Some(x), Some(y)) = (a.date_of_birth, b.date_of_birth) {
        if x == y {
            note(3.0, "birth date equal");
        } else if x.year() == y.year() && x.day() == y.month() && x.month() == y.day() {
            note(2.0, "day and month swapped");
        } else if x.year() == y.year() {
            note(-3.0, "birth year equal only");
        } else {
            note(-6.0, "birth dates differ");
        }
    }
    if a.sex != Sex::Unspecified && b.sex != Sex::Unspecified && a.sex != b.sex {
        note(-6.0, "sex differs");
    }
    let (sa, sb) = (a.service_number.trim(), b.service_number.trim());
    if !sa.is_empty() && !sb.is_empty() {
        if sa.eq_ignore_ascii_case(sb) {
            note(4.0, "same service number");
        } else {
            note(-2.5, "service numbers differ");
        }
    }
    let shared = a.external_ids.iter().find(|x| b.external_ids.contains(x));
    if let Some(x) = shared {
        note(6.0, &format!("same external id ({})", x.system));
    } else if let Some(x) = a.external_ids.iter().find(|x| {
        b.external_ids
            .iter()
            .any(|y| y.system == x.system && y.id != x.id)
    }) {
        note(-3.0, &format!("different ids in {}", x.system));
    }
    let score = 1.0 / (1.0 + (-weight).exp());
    Assessment {
        // Two decimals: the score is a ranking, not a measurement.
        score: (score * 100.0).round() / 100.0,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn person(family: &str, given: &str, patronymic: &str, born: (i32, u32, u32)) -> PersonFields {
        PersonFields {
            family_name: family.into(),
            given_name: given.into(),
            patronymic: patronymic.into(),
            date_of_birth: NaiveDate::from_ymd_opt(born.0, born.1, born.2),
            sex: Sex::Male,
            ..Default::default()
        }
    }

    fn shares_key(a: &PersonFields, b: &PersonFields) -> bool {
        finds(a, b) && finds(b, a)
    }

    #[test]
    fn russian_and_latin_records_of_one_person_meet_and_score_high() {
        let ua = person("Гриценко", "Олександр", "Олексійович", (1990, 3, 7));
        for other in [
            person("Гриценко", "Александр", "Алексеевич", (1990, 3, 7)),
            person("Gritsenko", "Aleksandr", "", (1990, 7, 3)),
            person("Hrytsenko", "Oleksandr", "Oleksiiovych", (1990, 3, 7)),
        ] {
            assert!(shares_key(&ua, &other), "{other:?}");
            let s = assess(&ua, &other);
            assert!(s.score >= DEFAULT_MIN_SCORE, "{other:?}: {s:?}");
        }
        let s = assess(
            &ua,
            &person("Гриценко", "Александр", "Алексеевич", (1990, 3, 7)),
        );
        assert!(
            s.reasons
                .contains(&"given names are UA/RU equivalents".to_owned())
        );
        assert!(
            s.reasons
                .contains(&"patronymics are UA/RU equivalents".to_owned())
        );
    }

    #[test]
    fn a_known_different_birth_date_or_sex_weighs_strongly_against() {
        let a = person("Коваленко", "Микола", "Петрович", (1985, 1, 2));
        let b = person("Коваленко", "Микола", "Петрович", (1979, 6, 20));
        assert!(assess(&a, &b).score < 0.1);
        let mut c = a.clone();
        c.sex = Sex::Female;
        assert!(assess(&a, &c).score < 0.5);
        assert!(assess(&a, &a).score > 0.95);
    }
}
