//! The labelled synthetic set of duplicate pairs: precision and recall of candidate search at
//! the default threshold.
//!
//! Every pair is generated from a seed, so the set is the same on every run. True duplicates
//! are one synthetic person written as different lists write it: the Russian forms of the
//! names, Latin by KMU-55 (Ukrainian passports) or by each Russian system (GOST 7.79 B, ICAO
//! 9303, BGN/PCGN, popular spellings), apostrophes dropped, the name given as an alias only,
//! the patronymic missing, a misspelt surname, day and month of birth swapped, the birth date missing where a
//! service number is on both lists, a service number on one list only, a shared external id.
//! Namesakes are different persons with the same or an equivalent name: a different birth
//! date, sex or patronymic, a different service number. A pair is predicted a duplicate iff the
//! candidate search of each finds the other (the store only compares such pairs) and they score
//! at least `DEFAULT_MIN_SCORE`. The test fails below precision 0.95 or recall 0.90; it prints both
//! and the mistakes, which is how the weights in `domain::duplicates` were tuned.

use chrono::{Datelike, NaiveDate};
use homecoming_server::domain::{
    PersonFields, Sex,
    duplicates::{DEFAULT_MIN_SCORE, assess, finds},
    external::ExternalId,
    names::ru_latin::{self, System},
    translit,
};

/// SplitMix64: a seeded generator, so that the set never changes between runs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Synthetic family names: roots and suffixes that are common in Ukrainian surnames,
/// combined, so that no row is a real person.
const ROOTS: &[&str] = &[
    "Гриц",
    "Коваль",
    "Дем'ян",
    "Шевч",
    "Бондар",
    "Ткач",
    "Мельнич",
    "Кравч",
    "Олійн",
    "Лис",
    "Марч",
    "Сав",
    "Руд",
    "Гончар",
    "Пономар",
    "Кузьм",
    "Васил",
    "Павл",
    "Юрч",
    "Зінч",
    "Ігнат",
    "Семен",
    "Остап",
    "Тарас",
    "Федор",
    "Гаврил",
    "Степан",
    "Харч",
    "Литвин",
    "Черн",
    "Білоус",
    "Головч",
    "Мороз",
    "Карп",
    "Ярем",
    "Оліфер",
    "В'юн",
    "Соловй",
    "Журавл",
    "Їжак",
];
const SUFFIXES: &[&str] = &["енко", "ук", "юк", "ишин", "ович", "ів", "ецький", "ин"];

/// Given names: (Ukrainian, Russian), and the patronymics formed from them, male and female,
/// in both languages: (name UA, name RU, patronymic M UA, F UA, M RU, F RU).
const MEN: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "Олександр",
        "Александр",
        "Олександрович",
        "Олександрівна",
        "Александрович",
        "Александровна",
    ),
    (
        "Сергій",
        "Сергей",
        "Сергійович",
        "Сергіївна",
        "Сергеевич",
        "Сергеевна",
    ),
    (
        "Андрій",
        "Андрей",
        "Андрійович",
        "Андріївна",
        "Андреевич",
        "Андреевна",
    ),
    (
        "Микола",
        "Николай",
        "Миколайович",
        "Миколаївна",
        "Николаевич",
        "Николаевна",
    ),
    (
        "Олексій",
        "Алексей",
        "Олексійович",
        "Олексіївна",
        "Алексеевич",
        "Алексеевна",
    ),
    (
        "Володимир",
        "Владимир",
        "Володимирович",
        "Володимирівна",
        "Владимирович",
        "Владимировна",
    ),
    (
        "Віктор",
        "Виктор",
        "Вікторович",
        "Вікторівна",
        "Викторович",
        "Викторовна",
    ),
    (
        "Іван",
        "Иван",
        "Іванович",
        "Іванівна",
        "Иванович",
        "Ивановна",
    ),
    ("Юрій", "Юрий", "Юрійович", "Юріївна", "Юрьевич", "Юрьевна"),
    (
        "Василь",
        "Василий",
        "Васильович",
        "Василівна",
        "Васильевич",
        "Васильевна",
    ),
    (
        "Михайло",
        "Михаил",
        "Михайлович",
        "Михайлівна",
        "Михайлович",
        "Михайловна",
    ),
    (
        "Григорій",
        "Григорий",
        "Григорович",
        "Григорівна",
        "Григорьевич",
        "Григорьевна",
    ),
    (
        "Петро",
        "Пётр",
        "Петрович",
        "Петрівна",
        "Петрович",
        "Петровна",
    ),
    (
        "Павло",
        "Павел",
        "Павлович",
        "Павлівна",
        "Павлович",
        "Павловна",
    ),
    (
        "Дмитро",
        "Дмитрий",
        "Дмитрович",
        "Дмитрівна",
        "Дмитриевич",
        "Дмитриевна",
    ),
    (
        "Євген",
        "Евгений",
        "Євгенович",
        "Євгенівна",
        "Евгеньевич",
        "Евгеньевна",
    ),
    (
        "Ігор",
        "Игорь",
        "Ігорович",
        "Ігорівна",
        "Игоревич",
        "Игоревна",
    ),
    (
        "Анатолій",
        "Анатолий",
        "Анатолійович",
        "Анатоліївна",
        "Анатольевич",
        "Анатольевна",
    ),
    (
        "Степан",
        "Степан",
        "Степанович",
        "Степанівна",
        "Степанович",
        "Степановна",
    ),
    (
        "Федір",
        "Фёдор",
        "Федорович",
        "Федорівна",
        "Фёдорович",
        "Фёдоровна",
    ),
];
const WOMEN: &[(&str, &str)] = &[
    ("Олена", "Елена"),
    ("Наталія", "Наталья"),
    ("Ольга", "Ольга"),
    ("Тетяна", "Татьяна"),
    ("Юлія", "Юлия"),
    ("Ірина", "Ирина"),
    ("Світлана", "Светлана"),
    ("Катерина", "Екатерина"),
    ("Оксана", "Оксана"),
    ("Людмила", "Людмила"),
    ("Галина", "Галина"),
    ("Марія", "Мария"),
    ("Надія", "Надежда"),
    ("Валентина", "Валентина"),
    ("Анастасія", "Анастасия"),
];

/// One synthetic person in every form the generator needs.
#[derive(Clone)]
struct Truth {
    family_ua: String,
    given: (&'static str, &'static str),
    patronymic: (&'static str, &'static str),
    sex: Sex,
    born: NaiveDate,
    service_number: String,
}

impl Truth {
    fn new(rng: &mut Rng) -> Truth {
        let sex = if rng.chance(75) {
            Sex::Male
        } else {
            Sex::Female
        };
        let mut family_ua = format!("{}{}", rng.pick(ROOTS), rng.pick(SUFFIXES));
        if sex == Sex::Female {
            // Surnames in -ів, -ин and -ецький take a feminine form; the rest do not change.
            family_ua = family_ua
                .replace("ецький", "ецька")
                .replace("ишин", "ишина");
            if family_ua.ends_with("ів") {
                family_ua = format!("{}ова", family_ua.trim_end_matches("ів"));
            } else if family_ua.ends_with("ин") {
                family_ua.push('а');
            }
        }
        let father = rng.pick(MEN);
        let (given, patronymic) = if sex == Sex::Male {
            let g = rng.pick(MEN);
            ((g.0, g.1), (father.2, father.4))
        } else {
            (*rng.pick(WOMEN), (father.3, father.5))
        };
        let born = NaiveDate::from_ymd_opt(
            1960 + rng.below(45) as i32,
            1 + rng.below(12) as u32,
            1 + rng.below(28) as u32,
        )
        .unwrap_or_default();
        let service_number = format!("{}{:06}", rng.pick(&["А", "Б", "В"]), rng.below(1_000_000));
        Truth {
            family_ua,
            given,
            patronymic,
            sex,
            born,
            service_number,
        }
    }

    /// The record of a Ukrainian list: Ukrainian Cyrillic, everything known.
    fn ukrainian(&self) -> PersonFields {
        PersonFields {
            family_name: self.family_ua.clone(),
            given_name: self.given.0.to_owned(),
            patronymic: self.patronymic.0.to_owned(),
            date_of_birth: Some(self.born),
            sex: self.sex,
            ..Default::default()
        }
    }

    /// The surname as Russian lists write a Ukrainian one: і and ї → и, є → е, the apostrophe
    /// as ь, -ецький as -ецкий.
    fn family_ru(&self) -> String {
        self.family_ua
            .chars()
            .map(|c| match c {
                'і' | 'ї' => "и".to_owned(),
                'І' | 'Ї' => "И".to_owned(),
                'є' => "е".to_owned(),
                'Є' => "Е".to_owned(),
                '\'' => "ь".to_owned(),
                c => c.to_string(),
            })
            .collect::<String>()
            .replace("ецький", "ецкий")
            .replace("ецька", "ецкая")
    }

    /// A record of the same person as another list writes it.
    fn variant(&self, rng: &mut Rng) -> PersonFields {
        let mut f = self.ukrainian();
        match rng.below(8) {
            // A Russian list: Russian forms of the names.
            0 | 1 => {
                f.family_name = self.family_ru();
                f.given_name = self.given.1.to_owned();
                f.patronymic = self.patronymic.1.to_owned();
            }
            // A Ukrainian passport: KMU-55.
            2 => {
                f.family_name = translit::to_latin(&self.family_ua);
                f.given_name = translit::to_latin(self.given.0);
                f.patronymic = if rng.chance(50) {
                    translit::to_latin(self.patronymic.0)
                } else {
                    String::new()
                };
            }
            // A Russian document in Latin, by one of the systems.
            3 | 4 => {
                let system = *rng.pick(&System::ALL);
                let family = self.family_ru();
                f.family_name = ru_latin::to_latin(&family, system);
                f.given_name = ru_latin::to_latin(self.given.1, system);
                f.patronymic = if rng.chance(40) {
                    ru_latin::to_latin(self.patronymic.1, system)
                } else {
                    String::new()
                };
            }
            // The apostrophe dropped, the rest Ukrainian.
            5 => {
                f.family_name = self.family_ua.replace('\'', "");
            }
            // The name on the other list reaches the record as an alias only.
            6 => {
                f.family_name = self.family_ru();
                f.given_name = self.given.1.to_owned();
                f.patronymic = String::new();
                f.aliases = vec![format!(
                    "{} {}",
                    translit::to_latin(self.given.0),
                    translit::to_latin(&self.family_ua)
                )];
            }
            // Russian given name, Ukrainian surname.
            _ => {
                f.given_name = self.given.1.to_owned();
                f.patronymic = self.patronymic.1.to_owned();
            }
        }
        // How the dates and numbers differ.
        match rng.below(10) {
            0 | 1 if self.born.day() <= 12 && self.born.day() != self.born.month() => {
                f.date_of_birth =
                    NaiveDate::from_ymd_opt(self.born.year(), self.born.day(), self.born.month());
            }
            2 => {
                f.date_of_birth = None;
                f.service_number = self.service_number.clone();
            }
            3 | 4 => f.service_number = self.service_number.clone(),
            5 => {
                f.external_ids = vec![ExternalId {
                    system: "icrc".into(),
                    id: format!("{}", rng.next() % 10_000_000),
                }];
            }
            _ => {}
        }
        if rng.chance(10) {
            f.sex = Sex::Unspecified;
        }
        // A clerk's misspelling: ы for и, е for є, a doubled letter dropped.
        if rng.chance(10) && !f.family_name.is_ascii() {
            let typo = f.family_name.replacen('и', "ы", 1).replacen("нн", "н", 1);
            f.family_name = if typo == f.family_name {
                format!("{typo}а")
            } else {
                typo
            };
        }
        f
    }
}

/// Sets the other record's service number (as both lists know it) where `a` has one.
fn share_service_number(a: &mut PersonFields, b: &PersonFields, truth: &Truth) {
    if !b.service_number.is_empty() && b.date_of_birth.is_none() {
        a.service_number = truth.service_number.clone();
    }
}

/// A different person with the same or an equivalent name.
fn namesake(truth: &Truth, rng: &mut Rng) -> PersonFields {
    let mut other = truth.clone();
    other.service_number = format!("Г{:06}", rng.below(1_000_000));
    let mut f;
    match rng.below(6) {
        // Another birth year.
        0 | 1 => {
            other.born = NaiveDate::from_ymd_opt(
                truth.born.year() + 1 + rng.below(20) as i32,
                1 + rng.below(12) as u32,
                1 + rng.below(28) as u32,
            )
            .unwrap_or_default();
            f = other.variant(rng);
            f.date_of_birth = Some(other.born);
        }
        // Same name and year, another father: a son of another family of the same surname.
        2 => {
            let father = loop {
                let p = rng.pick(MEN);
                if p.2 != truth.patronymic.0 && p.3 != truth.patronymic.0 {
                    break p;
                }
            };
            other.patronymic = if truth.sex == Sex::Male {
                (father.2, father.4)
            } else {
                (father.3, father.5)
            };
            other.born = NaiveDate::from_ymd_opt(
                truth.born.year(),
                1 + rng.below(12) as u32,
                1 + rng.below(28) as u32,
            )
            .unwrap_or_default();
            f = other.ukrainian();
            if rng.chance(50) {
                f.patronymic = other.patronymic.1.to_owned();
                f.given_name = other.given.1.to_owned();
            }
        }
        // The opposite sex, same birth date (twins of a surname that does not change).
        3 => {
            f = truth.ukrainian();
            f.sex = if truth.sex == Sex::Male {
                Sex::Female
            } else {
                Sex::Male
            };
            let (g, _) = *rng.pick(WOMEN);
            f.given_name = if truth.sex == Sex::Male {
                g.to_owned()
            } else {
                rng.pick(MEN).0.to_owned()
            };
        }
        // Same name, different service numbers, birth date unknown on one list.
        4 => {
            f = truth.ukrainian();
            f.date_of_birth = None;
            f.service_number = format!("Г{:06}", rng.below(1_000_000));
        }
        // Same name in Russian, another date of birth in the same year, another id in the
        // same system.
        _ => {
            f = other.variant(rng);
            f.date_of_birth = NaiveDate::from_ymd_opt(
                truth.born.year(),
                1 + (truth.born.month() % 12),
                1 + rng.below(28) as u32,
            );
            f.external_ids = vec![ExternalId {
                system: "icrc".into(),
                id: format!("{}", rng.next() % 10_000_000),
            }];
        }
    }
    f
}

struct Pair {
    a: PersonFields,
    b: PersonFields,
    duplicate: bool,
}

fn labelled_set(n_duplicates: usize, n_namesakes: usize) -> Vec<Pair> {
    let mut rng = Rng(0x686f_6d65_636f_6d65);
    let mut pairs = Vec::new();
    for _ in 0..n_duplicates {
        let truth = Truth::new(&mut rng);
        let mut a = truth.ukrainian();
        // The service number is on one list only unless the other has it too.
        if rng.chance(30) {
            a.service_number = truth.service_number.clone();
        }
        let mut b = truth.variant(&mut rng);
        share_service_number(&mut a, &b, &truth);
        if !b.external_ids.is_empty() && rng.chance(60) {
            a.external_ids = b.external_ids.clone();
        } else {
            b.external_ids.clear();
        }
        pairs.push(Pair {
            a,
            b,
            duplicate: true,
        });
    }
    for _ in 0..n_namesakes {
        let truth = Truth::new(&mut rng);
        let mut a = truth.ukrainian();
        let b = namesake(&truth, &mut rng);
        if !b.service_number.is_empty() {
            a.service_number = truth.service_number.clone();
        }
        if !b.external_ids.is_empty() {
            a.external_ids = vec![ExternalId {
                system: "icrc".into(),
                id: "1".into(),
            }];
        }
        pairs.push(Pair {
            a,
            b,
            duplicate: false,
        });
    }
    pairs
}

/// Found whichever of the two was written first, and scored at the threshold.
fn predicted(a: &PersonFields, b: &PersonFields) -> bool {
    finds(a, b) && finds(b, a) && assess(a, b).score >= DEFAULT_MIN_SCORE
}

fn show(f: &PersonFields) -> String {
    format!(
        "{} {} {} {:?} {:?} {:?} {:?} {:?}",
        f.family_name,
        f.given_name,
        f.patronymic,
        f.date_of_birth,
        f.sex,
        f.service_number,
        f.aliases,
        f.external_ids.iter().map(|x| x.key()).collect::<Vec<_>>()
    )
}

#[test]
fn precision_and_recall_at_the_default_threshold() {
    let pairs = labelled_set(1_400, 1_000);
    assert!(pairs.len() >= 2_000);
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut mistakes = Vec::new();
    for p in &pairs {
        let hit = predicted(&p.a, &p.b);
        match (hit, p.duplicate) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => {}
        }
        if hit != p.duplicate && mistakes.len() < 40 {
            let s = assess(&p.a, &p.b);
            mistakes.push(format!(
                "{} {:.2} {:?}\n    {}\n    {}",
                if p.duplicate { "missed" } else { "false" },
                s.score,
                s.reasons,
                show(&p.a),
                show(&p.b)
            ));
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    println!(
        "{} pairs ({} duplicates): precision {precision:.3}, recall {recall:.3} at {DEFAULT_MIN_SCORE}",
        pairs.len(),
        tp + fn_
    );
    for m in &mistakes {
        println!("{m}");
    }
    assert!(precision >= 0.95, "precision {precision:.3}");
    assert!(recall >= 0.90, "recall {recall:.3}");
}

#[test]
fn the_set_holds_every_kind_of_variation() {
    let pairs = labelled_set(1_400, 1_000);
    let dups: Vec<&Pair> = pairs.iter().filter(|p| p.duplicate).collect();
    let latin = |f: &PersonFields| f.family_name.is_ascii();
    assert!(dups.iter().any(|p| latin(&p.b)));
    assert!(dups.iter().any(|p| !p.b.aliases.is_empty()));
    assert!(dups.iter().any(|p| p.a.family_name.contains('\'')
        && !p.b.family_name.contains('\'')
        && !latin(&p.b)));
    assert!(dups.iter().any(|p| {
        matches!((p.a.date_of_birth, p.b.date_of_birth), (Some(x), Some(y)) if x != y)
    }));
    assert!(
        dups.iter()
            .any(|p| p.a.service_number.is_empty() != p.b.service_number.is_empty())
    );
    assert!(
        dups.iter()
            .any(|p| !p.a.external_ids.is_empty() && p.a.external_ids == p.b.external_ids)
    );
}
