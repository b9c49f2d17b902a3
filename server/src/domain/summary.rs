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

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExchangeSummary {
    pub exchange_id: String,
    pub title: String,
    pub exchange_date: Option<NaiveDate>,
    pub revision: i64,
    pub persons_linked: i64,
    pub announced_returned_count: Option<i32>,
    pub announced_handed_over_count: Option<i32>,
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
    /// From persons counted per date of birth and per capture date (`None`: unknown), for an
    /// exchange on `returned`. "Over N years" means captured before the date N years before the
    /// exchange; shares are of the persons with a known capture date.
    pub fn compute(
        returned: NaiveDate,
        births: &[(Option<NaiveDate>, i64)],
        captures: &[(Option<NaiveDate>, i64)],
    ) -> DateFigures {
        let known_births: Vec<NaiveDate> = births.iter().filter_map(|(d, _)| *d).collect();
        let age_unknown = births
            .iter()
            .filter(|(d, _)| d.is_none())
            .map(|(_, n)| n)
            .sum();
        // Captures after the return date cannot be right; they count as unknown.
        let mut known: BTreeMap<NaiveDate, i64> = BTreeMap::new();
        let mut capture_date_unknown = 0;
        for (d, n) in captures {
            match d {
                Some(d) if *d <= returned => *known.entry(*d).or_default() += n,
                _ => capture_date_unknown += n,
            }
        }
        let total: i64 = known.values().sum();
        let days = |d: NaiveDate| i32::try_from((returned - d).num_days()).unwrap_or(i32::MAX);
        let share = |count: i64| Share {
            count,
            share: if total > 0 {
                count as f64 / total as f64
            } else {
                0.0
            },
        };
        let captured_before = |years: u32| {
            let cut = returned
                .checked_sub_months(Months::new(12 * years))
                .unwrap_or(NaiveDate::MIN);
            share(known.range(..cut).map(|(_, n)| n).sum())
        };
        DateFigures {
            youngest_age: known_births
                .iter()
                .max()
                .and_then(|b| full_years(*b, returned)),
            oldest_age: known_births
                .iter()
                .min()
                .and_then(|b| full_years(*b, returned)),
            age_unknown,
            // The latest capture is the shortest captivity.
            days_min: known.keys().next_back().map(|d| days(*d)),
            days_max: known.keys().next().map(|d| days(*d)),
            days_median: median(&known, total)
                .map(|(a, b)| (days(a) as f64 + days(b) as f64) / 2.0),
            capture_date_unknown,
            held_over_1_year: captured_before(1),
            held_over_2_years: captured_before(2),
            held_over_3_years: captured_before(3),
            captured_in_2022: share(
                known
                    .iter()
                    .filter(|(d, _)| d.year() == 2022)
                    .map(|(_, n)| n)
                    .sum(),
            ),
        }
    }
}

/// The middle date (or the two middle dates) of `total` dates counted per date.
fn median(counts: &BTreeMap<NaiveDate, i64>, total: i64) -> Option<(NaiveDate, NaiveDate)> {
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
