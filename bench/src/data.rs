//! The synthetic dataset: deterministic for a seed, shaped like the registry's real data
//! (exchanges of 50-400 persons, ages 18-65, captures 2014-2025 weighted to 2022, realistic
//! shares of services, rank groups, regions, categories and statuses). Names are generated
//! from Ukrainian-style syllables: no real person.

use homecoming_client::{date, proto};

/// xorshift64*: small, fast, deterministic.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index by weights.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut r = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        0
    }
}

pub const CATEGORIES: &[(&str, proto::CategoryKind)] = &[
    ("wounded-seriously-ill", proto::CategoryKind::Priority),
    ("under-25", proto::CategoryKind::Demographic),
    ("illegally-convicted", proto::CategoryKind::Legal),
    ("civilian", proto::CategoryKind::Other),
    ("held-since-2022", proto::CategoryKind::Other),
];

const ROOTS: &[&str] = &[
    "Бер", "Вер", "Гал", "Дуб", "Жур", "Зор", "Кал", "Ков", "Лис", "Мир", "Нав", "Орл", "Пол",
    "Рад", "Сив", "Тар", "Хит", "Чор", "Шев", "Яв", "Бой", "Гор", "Кос", "Мел", "Сак",
];
const MIDDLES: &[&str] = &["", "ан", "ен", "ич", "ур", "ок", "ис", "ар", "ун"];
const SUFFIXES: &[&str] = &[
    "енко",
    "чук",
    "ський",
    "ишин",
    "ак",
    "юк",
    "ів",
    "ович",
    "ець",
];
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
    "Євген",
    "Віктор",
];
const FEMALE: &[&str] = &["Оксана", "Ірина", "Наталія", "Олена", "Мар'яна", "Юлія"];
const REGIONS: &[&str] = &[
    "Donetsk",
    "Mariupol",
    "Luhansk",
    "Kharkiv",
    "Kherson",
    "Zaporizhzhia",
    "Kyiv",
    "Sumy",
];

/// An exchange of the dataset, number `i`.
pub fn exchange(i: usize, rng: &mut Rng) -> proto::Exchange {
    let year = 2022 + (i % 4) as i32;
    proto::Exchange {
        title: format!("Benchmark exchange {i}"),
        exchange_date: Some(date(
            year,
            1 + rng.below(12) as i32,
            1 + rng.below(28) as i32,
        )),
        status: proto::ExchangeStatus::Completed as i32,
        exchange_number: Some(i as i32 + 1),
        framework: "Synthetic".into(),
        announced_returned_count: Some(50 + rng.below(350) as i32),
        ..Default::default()
    }
}

/// A person of the dataset returned in `exchange_id`.
pub fn person(rng: &mut Rng, exchange_id: &str) -> proto::Person {
    let female = rng.below(100) < 6;
    let civilian = rng.below(100) < 12;
    let age = 18 + rng.below(48) as i32;
    let capture_year = [
        2014, 2015, 2016, 2017, 2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025,
    ][rng.weighted(&[2, 1, 1, 1, 1, 1, 1, 1, 70, 12, 6, 2])];
    let born_year = (capture_year - age + 2).min(2007);
    let service = match rng.weighted(&[45, 25, 15, 5, 5, 5]) {
        0 => proto::ServiceBranch::ArmedForces,
        1 => proto::ServiceBranch::NationalGuard,
        2 => proto::ServiceBranch::StateBorderGuardService,
        3 => proto::ServiceBranch::StateSpecialTransportService,
        4 => proto::ServiceBranch::NationalPolice,
        _ => proto::ServiceBranch::Other,
    };
    let rank_group = match rng.weighted(&[60, 30, 10]) {
        0 => proto::RankGroup::Soldier,
        1 => proto::RankGroup::Sergeant,
        _ => proto::RankGroup::Officer,
    };
    let mut categories = Vec::new();
    if rng.below(100) < 25 {
        categories.push("wounded-seriously-ill".to_owned());
    }
    if age < 25 {
        categories.push("under-25".to_owned());
    }
    if rng.below(100) < 8 {
        categories.push("illegally-convicted".to_owned());
    }
    if civilian {
        categories.push("civilian".to_owned());
    }
    if capture_year == 2022 {
        categories.push("held-since-2022".to_owned());
    }
    let status = match rng.weighted(&[85, 10, 4, 1]) {
        0 => proto::PersonStatus::Returned,
        1 => proto::PersonStatus::InCaptivity,
        2 => proto::PersonStatus::Missing,
        _ => proto::PersonStatus::Deceased,
    };
    proto::Person {
        kind: if civilian {
            proto::PersonKind::Civilian
        } else {
            proto::PersonKind::Military
        } as i32,
        family_name: format!(
            "{}{}{}",
            rng.pick(ROOTS),
            rng.pick(MIDDLES),
            rng.pick(SUFFIXES)
        ),
        given_name: (*if female {
            rng.pick(FEMALE)
        } else {
            rng.pick(MALE)
        })
        .to_owned(),
        date_of_birth: Some(date(
            born_year,
            1 + rng.below(12) as i32,
            1 + rng.below(28) as i32,
        )),
        sex: if female {
            proto::Sex::Female
        } else {
            proto::Sex::Male
        } as i32,
        service: if civilian { 0 } else { service as i32 },
        rank_group: if civilian { 0 } else { rank_group as i32 },
        capture_date: Some(date(
            capture_year.min(2024),
            1 + rng.below(12) as i32,
            1 + rng.below(28) as i32,
        )),
        capture_region: (*rng.pick(REGIONS)).to_owned(),
        status: status as i32,
        exchange_id: if status == proto::PersonStatus::Returned {
            exchange_id.to_owned()
        } else {
            String::new()
        },
        category_codes: categories,
        service_number: format!("BENCH-{:08}", rng.below(100_000_000)),
        ..Default::default()
    }
}

/// Persons per exchange: 50-400.
pub fn exchange_size(rng: &mut Rng) -> usize {
    50 + rng.below(351) as usize
}
