//! The figures of an exchange (GetExchangeSummary), computed from counts the database
//! aggregates: how many persons per value of each field, and per distinct date of birth and
//! capture date. With those the figures are exact (the median too) without loading persons.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};

use super::person::full_years;

/// How many persons have one value of a field; `key` is "" for unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCount {
    pub key: String,
    pub count: i64,
}

/// A count, and its share of the persons for whom it could be known.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Share {
    pub count: i64,
    pub share: f64,
}

/// Figures over a set of persons (one exchange's, or everyone returned in a period).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub persons: i64,
    pub by_kind: Vec<KeyCount>,
    pub by_service: Vec<KeyCount>,
    pub by_rank_group: Vec<KeyCount>,
    pub by_capture_region: Vec<KeyCount>,
    pub by_category: Vec<KeyCount>,
    pub by_sex: Vec<KeyCount>,
    pub by_status: Vec<KeyCount>,
    pub by_capture_year: Vec<KeyCount>,
    pub convicted_in_captivity: i64,
    pub dates: DateFigures,
    pub medical_examination: Vec<KeyCount>,
    pub rehabilitation: Vec<KeyCount>,
    pub payments: Vec<KeyCount>,
    /// Persons with a HOSPITALISED event.
    pub hospitalised_in_captivity: i64,
    /// Persons with a FAMILY_INFORMED event.
    pub families_informed: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExchangeSummary {
    pub exchange_id: String,
    pub title: String,
    pub exchange_date: Option<NaiveDate>,
    pub revision: i64,
    pub announced_returned_count: Option<i32>,
    pub announced_handed_over_count: Option<i32>,
    pub persons: Figures,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct YearStatistics {
    pub year: i32,
    pub exchanges: i64,
    pub persons_linked: i64,
    pub announced_returned: i64,
    pub announced_unknown: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExchangeStatistics {
    pub exchange_id: String,
    pub title: String,
    pub exchange_date: Option<NaiveDate>,
    pub persons_linked: i64,
    pub announced_returned_count: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statistics {
    pub revision: i64,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub exchanges: i64,
    pub announced_returned: i64,
    pub by_year: Vec<YearStatistics>,
    pub by_exchange: Vec<ExchangeStatistics>,
    pub persons: Figures,
}

impl Statistics {
    /// Per-year rows from the per-exchange rows (which are in date order).
    pub fn years(by_exchange: &[ExchangeStatistics]) -> Vec<YearStatistics> {
        let mut years: BTreeMap<i32, YearStatistics> = BTreeMap::new();
        for x in by_exchange {
            let Some(date) = x.exchange_date else {
                continue;
            };
            let y = years.entry(date.year()).or_insert_with(|| YearStatistics {
                year: date.year(),
                ..Default::default()
            });
            y.exchanges += 1;
            y.persons_linked += x.persons_linked;
            match x.announced_returned_count {
                Some(n) => y.announced_returned += i64::from(n),
                None => y.announced_unknown += 1,
            }
        }
        years.into_values().collect()
    }
}

/// Ages at return and time in captivity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DateFigures {
    pub youngest_age: Option<i32>,
    pub oldest_age: Option<i32>,
    pub age_unknown: i64,
    pub days_min: Option<i32>,
    pub days_median: Option<f64>,
    pub days_max: Option<i32>,
    pub capture_date_unknown: i64,
    pub held_over_1_year: Share,
    pub held_over_2_years: Share,
    pub held_over_3_years: Share,
    pub captured_in_2022: Share,
}

impl DateFigures {
    /// From persons counted per date of birth and per capture date (`None`: unknown), for one
    /// exchange on `returned`.
    pub fn compute(
        returned: NaiveDate,
        births: &[(Option<NaiveDate>, i64)],
        captures: &[(Option<NaiveDate>, i64)],
    ) -> DateFigures {
        let mut t = DateTally::default();
        for (born, n) in births {
            t.add_birth(returned, *born, *n);
        }
        for (captured, n) in captures {
            t.add_capture(returned, *captured, *n);
        }
        t.figures()
    }
}

/// Ages at return and days in captivity, counted, across any number of exchanges. "Over N
/// years" means captured before the date N years before the person's exchange; shares are of
/// the persons with a known capture date.
#[derive(Debug, Clone, Default)]
pub struct DateTally {
    ages: BTreeMap<i32, i64>,
    age_unknown: i64,
    days: BTreeMap<i32, i64>,
    capture_unknown: i64,
    over_years: [i64; 3],
    in_2022: i64,
}

impl DateTally {
    /// `n` persons born on `born`, returned on `returned`.
    pub fn add_birth(&mut self, returned: NaiveDate, born: Option<NaiveDate>, n: i64) {
        match born.and_then(|b| full_years(b, returned)) {
            Some(age) => *self.ages.entry(age).or_default() += n,
            None => self.age_unknown += n,
        }
    }

    /// `n` persons captured on `captured`, returned on `returned`. A capture after the return
    /// cannot be right and counts as unknown.
    pub fn add_capture(&mut self, returned: NaiveDate, captured: Option<NaiveDate>, n: i64) {
        let Some(captured) = captured.filter(|c| *c <= returned) else {
            self.capture_unknown += n;
            return;
        };
        let days = i32::try_from((returned - captured).num_days()).unwrap_or(i32::MAX);
        *self.days.entry(days).or_default() += n;
        for (i, years) in (1..=3u32).enumerate() {
            let cut = returned
                .checked_sub_months(Months::new(12 * years))
                .unwrap_or(NaiveDate::MIN);
            if captured < cut {
                self.over_years[i] += n;
            }
        }
        if captured.year() == 2022 {
            self.in_2022 += n;
        }
    }

    pub fn figures(&self) -> DateFigures {
        let total: i64 = self.days.values().sum();
        let share = |count: i64| Share {
            count,
            share: if total > 0 {
                count as f64 / total as f64
            } else {
                0.0
            },
        };
        DateFigures {
            youngest_age: self.ages.keys().next().copied(),
            oldest_age: self.ages.keys().next_back().copied(),
            age_unknown: self.age_unknown,
            days_min: self.days.keys().next().copied(),
            days_max: self.days.keys().next_back().copied(),
            days_median: median(&self.days, total).map(|(a, b)| (a as f64 + b as f64) / 2.0),
            capture_date_unknown: self.capture_unknown,
            held_over_1_year: share(self.over_years[0]),
            held_over_2_years: share(self.over_years[1]),
            held_over_3_years: share(self.over_years[2]),
            captured_in_2022: share(self.in_2022),
        }
    }
}

/// The middle value (or the two middle values) of `total` values counted per value.
fn median<K: Copy + Ord>(counts: &BTreeMap<K, i64>, total: i64) -> Option<(K, K)> {
    if total == 0 {
        return None;
    }
    let nth = |k: i64| {
        let mut seen = 0;
        counts.iter().find_map(|(d, n)| {
            seen += n;
            (seen > k).then_some(*d)
        })
    };
    let lo = nth((total - 1) / 2)?;
    let hi = nth(total / 2)?;
    Some((lo, hi))
}

/// Years of the known capture dates, counted.
pub fn capture_years(captures: &[(Option<NaiveDate>, i64)]) -> Vec<KeyCount> {
    let mut years: BTreeMap<String, i64> = BTreeMap::new();
    for (d, n) in captures {
        let key = d.map(|d| d.year().to_string()).unwrap_or_default();
        *years.entry(key).or_default() += n;
    }
    years
        .into_iter()
        .map(|(key, count)| KeyCount { key, count })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn figures_are_exact_from_counts_per_date() {
        let returned = NaiveDate::from_ymd_opt(2025, 7, 4).unwrap_or_default();
        let births = [(d(2005, 7, 4), 1), (d(1966, 7, 5), 2), (None, 3)];
        let captures = [
            (d(2022, 5, 20), 2), // 1141 days
            (d(2023, 7, 4), 1),  // 731 days
            (d(2024, 7, 5), 1),  // 364 days
            (None, 1),
            (d(2026, 1, 1), 1), // after the return: unknown
        ];
        let f = DateFigures::compute(returned, &births, &captures);
        assert_eq!(f.youngest_age, Some(20));
        assert_eq!(f.oldest_age, Some(58), "one day short of 59");
        assert_eq!(f.age_unknown, 3);
        assert_eq!(f.days_min, Some(364));
        assert_eq!(f.days_max, Some(1141));
        // Sorted days: 364, 731, 1141, 1141 -> median (731 + 1141) / 2.
        assert_eq!(f.days_median, Some(936.0));
        assert_eq!(f.capture_date_unknown, 2);
        assert_eq!(f.held_over_1_year.count, 3);
        assert_eq!(
            f.held_over_2_years.count, 2,
            "exactly two years is not over two years"
        );
        assert_eq!(f.held_over_3_years.count, 2);
        assert_eq!(f.held_over_3_years.share, 0.5);
        assert_eq!(f.captured_in_2022.count, 2);
    }

    #[test]
    fn nothing_known_gives_no_figures_rather_than_zeros() {
        let returned = NaiveDate::from_ymd_opt(2025, 7, 4).unwrap_or_default();
        let f = DateFigures::compute(returned, &[(None, 4)], &[(None, 4)]);
        assert_eq!(
            (f.youngest_age, f.oldest_age, f.days_median),
            (None, None, None)
        );
        assert_eq!((f.age_unknown, f.capture_date_unknown), (4, 4));
        assert_eq!(f.held_over_3_years, Share::default());
    }

    #[test]
    fn odd_counts_take_the_middle_date() {
        let returned = NaiveDate::from_ymd_opt(2025, 7, 4).unwrap_or_default();
        let f = DateFigures::compute(
            returned,
            &[],
            &[(d(2025, 7, 1), 1), (d(2025, 6, 24), 1), (d(2025, 6, 4), 1)],
        );
        assert_eq!(f.days_median, Some(10.0));
        assert_eq!(capture_years(&[(d(2022, 1, 1), 2), (None, 1)]).len(), 2);
    }
}
