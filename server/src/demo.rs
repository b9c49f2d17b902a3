//! Demo data: the exchange stage of 4 July 2025 and a synthetic roster consistent with the source
//! article (`shared/domain/seed-article-2025-07-04.txt`), so that GetExchangeSummary reads its
//! facts back: defenders of the Armed Forces, National Guard, State Border Guard Service and
//! State Special Transport Service and civilians; captured in Donetsk and Mariupol, Luhansk,
//! Kharkiv and Kherson regions; soldiers, sergeants and officers; the youngest 20, the oldest
//! 59; most held since 2022, the vast majority for over 3 years; categories "wounded and
//! seriously ill", "under 25", "illegally convicted", civilians; medical examination under way.
//! Each person has a synthetic timeline (capture, transfers, exchange, medical examination,
//! for some hospital, conviction, rehabilitation, payments, the family informed).
//!
//! Every name and number is generated: no real person is described. Loading is idempotent:
//! fixed request ids make a second run return what the first created.

use chrono::{Days, Months, NaiveDate};

use crate::{
    domain::{
        Aftercare, CareStatus, CategoryFields, CategoryKind, Error, ExchangeFields, ExchangeStatus,
        Person, PersonEventFields, PersonFields, PersonKind, PersonStatus, RankGroup,
        ServiceBranch, Sex,
        event::{DatePrecision, Money, PersonEventType},
    },
    store::{CreateShape, Store},
};

/// The date of the demo exchange stage.
pub fn exchange_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 7, 4).unwrap_or_default()
}

/// How many persons the demo roster has.
pub const ROSTER_SIZE: usize = 75;

/// What `load` did.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub exchange_id: String,
    pub persons: usize,
    /// Events of the persons' timelines.
    pub events: usize,
}

/// Loads the categories, the exchange and the roster (again: returns what exists).
pub async fn load(store: &Store) -> Result<Loaded, Error> {
    for (code, title, kind, description) in CATEGORIES {
        let fields = CategoryFields {
            code: (*code).to_owned(),
            title: (*title).to_owned(),
            description: (*description).to_owned(),
            kind: *kind,
        }
        .validate()?;
        match store
            .create_category(fields, Some(format!("demo-category-{code}")))
            .await
        {
            Ok(_) | Err(Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let exchange = store
        .create_exchange(
            ExchangeFields {
                title: "Exchange stage of 4 July 2025 (demo)".into(),
                exchange_date: Some(exchange_date()),
                status: ExchangeStatus::Completed,
                framework: "Istanbul agreements".into(),
                counterparty: "Russian Federation".into(),
                category_codes: CATEGORIES.iter().map(|c| c.0.to_owned()).collect(),
                notes: "Demo data: a synthetic roster whose figures reproduce the facts of the \
                        announcement of 4 July 2025. The announced count was not stated."
                    .into(),
                ..Default::default()
            }
            .validate()?,
            Some("demo-exchange-2025-07-04".into()),
        )
        .await?;
    let today = chrono::Utc::now().date_naive();
    let roster = roster(&exchange.meta.id)
        .into_iter()
        .map(|p| p.validate(today))
        .collect::<Result<Vec<_>, _>>()?;
    let persons = store
        .create_persons(
            roster,
            Some("demo-roster-2025-07-04".into()),
            CreateShape::Batch,
        )
        .await?;
    let mut events = 0;
    for (i, p) in persons.iter().enumerate() {
        for (k, e) in timeline(i, p, &exchange.meta.id).into_iter().enumerate() {
            store
                .create_person_event(e.validate(today)?, Some(format!("demo-event-{i}-{k}")))
                .await?;
            events += 1;
        }
    }
    Ok(Loaded {
        exchange_id: exchange.meta.id,
        persons: persons.len(),
        events,
    })
}

/// A synthetic timeline for roster person `i`: captured, transferred, (some) hospitalised
/// and convicted, exchanged on 4 July 2025, medically examined; some families informed, some
/// rehabilitation and payments begun.
fn timeline(i: usize, p: &Person, exchange_id: &str) -> Vec<PersonEventFields> {
    let x = exchange_date();
    let event = |t: PersonEventType, date: NaiveDate| PersonEventFields {
        person_id: Some(p.meta.id.clone()),
        event_type: t,
        date: Some(date),
        date_precision: DatePrecision::Day,
        source: "Synthetic demo source".into(),
        ..Default::default()
    };
    let after = |d: NaiveDate, days: u64| d.checked_add_days(Days::new(days)).unwrap_or(d);
    let mut out = Vec::new();
    if let Some(captured) = p.fields.capture_date {
        out.push(event(PersonEventType::Captured, captured));
        let moved = after(captured, 30 + (i as u64 * 37) % 270);
        if moved < x {
            out.push(PersonEventFields {
                place: format!("Synthetic detention site {}", 1 + i % 9),
                ..event(PersonEventType::Transferred, moved)
            });
        }
        let hospital = after(captured, 400);
        if i.is_multiple_of(5) && hospital < x {
            out.push(event(PersonEventType::Hospitalised, hospital));
        }
        let sentenced = after(captured, 200);
        if p.fields.convicted_in_captivity && sentenced < x {
            out.push(event(PersonEventType::Convicted, sentenced));
        }
    }
    out.push(PersonEventFields {
        exchange_id: Some(exchange_id.to_owned()),
        ..event(PersonEventType::Exchanged, x)
    });
    if i.is_multiple_of(4) {
        out.push(event(PersonEventType::FamilyInformed, x));
    }
    out.push(PersonEventFields {
        care_status: CareStatus::InProgress,
        ..event(PersonEventType::MedicalExamination, after(x, 1))
    });
    if i.is_multiple_of(3) {
        out.push(PersonEventFields {
            care_status: CareStatus::InProgress,
            ..event(PersonEventType::Rehabilitation, after(x, 10))
        });
    }
    if i.is_multiple_of(6) {
        out.push(PersonEventFields {
            care_status: CareStatus::InProgress,
            amount: Money {
                minor_units: Some(10_000_000),
                currency: "UAH".into(),
            },
            ..event(PersonEventType::Payment, after(x, 20))
        });
    }
    out
}

const CATEGORIES: &[(&str, &str, CategoryKind, &str)] = &[
    (
        "wounded-seriously-ill",
        "Wounded and seriously ill",
        CategoryKind::Priority,
        "Returned first for their health.",
    ),
    (
        "under-25",
        "Under 25 years old",
        CategoryKind::Demographic,
        "Younger than 25 at the time of the exchange.",
    ),
    (
        "illegally-convicted",
        "Illegally convicted",
        CategoryKind::Legal,
        "Sentenced by the occupying power while in captivity.",
    ),
    (
        "civilian",
        "Civilians deprived of their personal freedom",
        CategoryKind::Other,
        "Civilians held by the occupying power.",
    ),
];

/// A small deterministic generator (xorshift64*), so the roster is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const ROOTS: &[&str] = &[
    "Вер", "Гал", "Дуб", "Зор", "Кал", "Лис", "Мир", "Нав", "Орл", "Пол", "Рад", "Сив", "Тар",
    "Хит", "Чор", "Яв", "Бер", "Гор", "Жур", "Ков",
];
const MIDDLES: &[&str] = &["", "ан", "ен", "ич", "ур", "ок", "ис"];
const SUFFIXES: &[&str] = &["енко", "чук", "ський", "ишин", "ак", "юк", "ів"];
const MALE: &[&str] = &[
    "Андрій",
    "Богдан",
    "Василь",
    "Дмитро",
    "Іван",
    "Максим",
    "Микола",
    "Олег",
    "Петро",
    "Роман",
    "Сергій",
    "Тарас",
    "Юрій",
    "Ярослав",
    "Олександр",
    "Владислав",
];
const FEMALE: &[&str] = &["Оксана", "Ірина", "Наталія", "Олена", "Мар'яна"];
const FATHERS: &[(&str, &str)] = &[
    ("Іванович", "Іванівна"),
    ("Петрович", "Петрівна"),
    ("Михайлович", "Михайлівна"),
    ("Олегович", "Олегівна"),
    ("Васильович", "Василівна"),
    ("Андрійович", "Андріївна"),
];

fn roster(exchange_id: &str) -> Vec<PersonFields> {
    let returned = exchange_date();
    let mut rng = Rng(0x4A55_4C59_2025_0704);
    (0..ROSTER_SIZE)
        .map(|i| {
            let female = i % 20 == 7;
            let civilian = i == 1 || i % 12 == 5;
            // Ages at return 21..=58, but the youngest (20) and the oldest (59) as reported.
            let age: u32 = match i {
                0 => 20,
                1 => 59,
                i if i % 10 == 3 => 21 + (i as u32 / 10) % 4,
                _ => 21 + rng.below(38) as u32,
            };
            let born = returned
                .checked_sub_months(Months::new(12 * age))
                .and_then(|d| d.checked_sub_days(Days::new(1 + rng.below(360))))
                .unwrap_or(returned);
            // Mariupol's defenders came out in May 2022; most others were captured in the first
            // months of the invasion; about one in ten later.
            let region = match rng.below(100) {
                0..35 => "Mariupol",
                35..60 => "Donetsk",
                60..75 => "Luhansk",
                75..90 => "Kharkiv",
                _ => "Kherson",
            };
            let later = i == 0 || i % 10 == 9;
            let captured = if later {
                NaiveDate::from_ymd_opt(2022, 9, 1)
                    .and_then(|d| d.checked_add_days(Days::new(rng.below(800))))
            } else if region == "Mariupol" {
                NaiveDate::from_ymd_opt(2022, 4, 12)
                    .and_then(|d| d.checked_add_days(Days::new(rng.below(39))))
            } else {
                NaiveDate::from_ymd_opt(2022, 2, 24)
                    .and_then(|d| d.checked_add_days(Days::new(rng.below(120))))
            };
            let (service, rank_group, rank) = if civilian {
                (ServiceBranch::Unspecified, RankGroup::Unspecified, "")
            } else {
                let service = match rng.below(100) {
                    0..45 => ServiceBranch::ArmedForces,
                    45..70 => ServiceBranch::NationalGuard,
                    70..88 => ServiceBranch::StateBorderGuardService,
                    _ => ServiceBranch::StateSpecialTransportService,
                };
                match rng.below(100) {
                    0..55 => (
                        service,
                        RankGroup::Soldier,
                        *rng.pick(&["Soldier", "Senior soldier"]),
                    ),
                    55..88 => (
                        service,
                        RankGroup::Sergeant,
                        *rng.pick(&["Junior sergeant", "Sergeant", "Senior sergeant"]),
                    ),
                    _ => (
                        service,
                        RankGroup::Officer,
                        *rng.pick(&["Lieutenant", "Senior lieutenant", "Captain"]),
                    ),
                }
            };
            let convicted = i == 1 || i % 13 == 4;
            let mut categories = Vec::new();
            if i == 0 || rng.below(100) < 30 {
                categories.push("wounded-seriously-ill".to_owned());
            }
            if age < 25 && !civilian {
                categories.push("under-25".to_owned());
            }
            if convicted {
                categories.push("illegally-convicted".to_owned());
            }
            if civilian {
                categories.push("civilian".to_owned());
            }
            let family = format!(
                "{}{}{}",
                rng.pick(ROOTS),
                rng.pick(MIDDLES),
                rng.pick(SUFFIXES)
            );
            let given = if female {
                rng.pick(FEMALE)
            } else {
                rng.pick(MALE)
            };
            let father = rng.pick(FATHERS);
            PersonFields {
                kind: if civilian {
                    PersonKind::Civilian
                } else {
                    PersonKind::Military
                },
                family_name: family,
                given_name: (*given).to_owned(),
                patronymic: if female { father.1 } else { father.0 }.to_owned(),
                date_of_birth: Some(born),
                sex: if female { Sex::Female } else { Sex::Male },
                citizenship: "Ukraine".into(),
                service,
                rank: rank.to_owned(),
                rank_group,
                unit: if civilian {
                    String::new()
                } else {
                    format!("Demo unit {:02}", 1 + rng.below(30))
                },
                service_number: if civilian {
                    String::new()
                } else {
                    format!("DEMO-{i:05}")
                },
                capture_date: captured,
                capture_region: region.to_owned(),
                status: PersonStatus::Returned,
                exchange_id: Some(exchange_id.to_owned()),
                convicted_in_captivity: convicted,
                category_codes: categories,
                aftercare: Aftercare {
                    medical_examination: CareStatus::InProgress,
                    rehabilitation: CareStatus::NotStarted,
                    payments: CareStatus::NotStarted,
                },
                notes: "Synthetic demo record.".into(),
                ..Default::default()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roster_is_the_same_on_every_run_and_valid() {
        let a = roster("x");
        assert_eq!(a, roster("x"));
        assert_eq!(a.len(), ROSTER_SIZE);
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
        for p in a {
            assert!(p.clone().validate(today).is_ok(), "{p:?}");
            assert!(p.capture_date.is_some_and(|d| d < exchange_date()));
        }
    }
}
