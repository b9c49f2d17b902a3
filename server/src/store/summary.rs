//! GetExchangeSummary and GetStatistics: aggregate queries over a set of persons (one
//! exchange's, or everyone returned in a period), in one read snapshot. Every query groups —
//! by one column, or by (exchange date, date) for the date figures — so what comes back is
//! bounded by the number of distinct values, and the figures are still exact (the median too).

use chrono::NaiveDate;
use sea_orm::{
    ConnectionTrait, TryGetable,
    sea_query::{Alias, Expr, ExprTrait, Func, JoinType, Order, Query, SelectStatement},
};

use super::{
    Store,
    codec::unique_row,
    event_rows::ROWS as EVENTS,
    exchanges::{self, ROWS as EXCHANGES},
    person_rows::ROWS as PERSONS,
    schema::PERSON_CATEGORIES,
};
use crate::domain::{
    CareStatus, Error, ExchangeStatus, PersonKind, PersonStatus, RankGroup, ServiceBranch, Sex,
    WireEnum,
    event::PersonEventType,
    summary::{
        DateTally, ExchangeStatistics, ExchangeSummary, Figures, KeyCount, Statistics,
        capture_years,
    },
};

/// Which persons the figures are about.
#[derive(Clone, Copy)]
struct Scope<'a> {
    of: Of<'a>,
    /// Restricted persons count only for callers who may see them.
    include_restricted: bool,
}

#[derive(Clone, Copy)]
enum Of<'a> {
    /// Those linked to one exchange.
    Exchange(&'a str),
    /// Those linked to the exchanges (not planned, not cancelled) dated in a period.
    Period(Option<NaiveDate>, Option<NaiveDate>),
}

impl Store {
    #[tracing::instrument(name = "store.exchange_summary", skip_all)]
    pub async fn exchange_summary(&self, id: &str) -> Result<ExchangeSummary, Error> {
        let txn = self.read().await?;
        let revision = super::current_revision(&txn).await?;
        let by_id = EXCHANGES
            .select()
            .and_where(EXCHANGES.col("id").eq(id))
            .to_owned();
        let row = unique_row(&txn, &by_id)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource: "exchange",
                id: id.to_owned(),
            })?;
        let (meta, x) = EXCHANGES.decode(&row)?;
        let scope = Scope {
            of: Of::Exchange(id),
            include_restricted: self.sees_restricted(),
        };
        let persons = figures(&txn, scope).await?;
        Ok(ExchangeSummary {
            exchange_id: meta.id,
            title: x.title,
            exchange_date: x.exchange_date,
            revision,
            announced_returned_count: x.announced_returned_count,
            announced_handed_over_count: x.announced_handed_over_count,
            persons,
        })
    }

    /// Figures across the exchanges dated from `start` to `end` (both inclusive, both optional).
    #[tracing::instrument(name = "store.statistics", skip_all)]
    pub async fn statistics(
        &self,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    ) -> Result<Statistics, Error> {
        let txn = self.read().await?;
        let revision = super::current_revision(&txn).await?;
        let mut select = EXCHANGES.select();
        in_period(&mut select, start, end);
        select
            .order_by_expr(EXCHANGES.col("exchange_date"), Order::Asc)
            .order_by_expr(EXCHANGES.col("id"), Order::Asc);
        let exchanges = exchanges::all(&txn, select).await?;
        let scope = Scope {
            of: Of::Period(start, end),
            include_restricted: self.sees_restricted(),
        };
        let linked: std::collections::HashMap<Option<String>, i64> =
            grouped::<Option<String>, _>(&txn, scope, "exchange_id")
                .await?
                .into_iter()
                .collect();
        let by_exchange: Vec<ExchangeStatistics> = exchanges
            .into_iter()
            .map(|x| ExchangeStatistics {
                persons_linked: linked.get(&Some(x.meta.id.clone())).copied().unwrap_or(0),
                exchange_id: x.meta.id,
                title: x.fields.title,
                exchange_date: x.fields.exchange_date,
                announced_returned_count: x.fields.announced_returned_count,
            })
            .collect();
        Ok(Statistics {
            revision,
            start_date: start,
            end_date: end,
            exchanges: by_exchange.len() as i64,
            announced_returned: by_exchange
                .iter()
                .filter_map(|x| x.announced_returned_count)
                .map(i64::from)
                .sum(),
            by_year: Statistics::years(&by_exchange),
            by_exchange,
            persons: figures(&txn, scope).await?,
        })
    }
}

fn excluded_statuses() -> [i32; 2] {
    [
        ExchangeStatus::Planned.code(),
        ExchangeStatus::Cancelled.code(),
    ]
}

/// Exchanges that returned persons (not planned, not cancelled) dated in a period.
fn in_period(q: &mut SelectStatement, start: Option<NaiveDate>, end: Option<NaiveDate>) {
    q.and_where(EXCHANGES.col("status").is_not_in(excluded_statuses()));
    if let Some(s) = start {
        q.and_where(EXCHANGES.col("exchange_date").gte(s));
    }
    if let Some(e) = end {
        q.and_where(EXCHANGES.col("exchange_date").lte(e));
    }
}

/// Persons in scope, joined to their exchange (no columns selected yet).
fn persons_in(scope: Scope<'_>) -> SelectStatement {
    let mut q = Query::select();
    q.from(Alias::new(PERSONS.table)).join(
        JoinType::InnerJoin,
        Alias::new(EXCHANGES.table),
        PERSONS
            .col("exchange_id")
            .equals((Alias::new(EXCHANGES.table), Alias::new("id"))),
    );
    if !scope.include_restricted {
        q.and_where(PERSONS.col("restricted").eq(false));
    }
    match scope.of {
        Of::Exchange(id) => {
            q.and_where(PERSONS.col("exchange_id").eq(id));
        }
        Of::Period(start, end) => in_period(&mut q, start, end),
    }
    q
}

fn count_persons() -> Expr {
    PERSONS.col("id").count()
}

async fn figures<C: ConnectionTrait>(conn: &C, scope: Scope<'_>) -> Result<Figures, Error> {
    let by_kind = enumerated::<PersonKind, _>(conn, scope, "kind").await?;
    let mut tally = DateTally::default();
    for (returned, born, n) in dated(conn, scope, "date_of_birth").await? {
        tally.add_birth(returned, born, n);
    }
    let captures = dated(conn, scope, "capture_date").await?;
    for (returned, captured, n) in &captures {
        tally.add_capture(*returned, *captured, *n);
    }
    let capture_dates: Vec<(Option<NaiveDate>, i64)> =
        captures.iter().map(|(_, d, n)| (*d, *n)).collect();
    let convicted = grouped::<bool, _>(conn, scope, "convicted_in_captivity").await?;
    Ok(Figures {
        persons: by_kind.iter().map(|k| k.count).sum(),
        by_kind,
        by_service: enumerated::<ServiceBranch, _>(conn, scope, "service").await?,
        by_rank_group: enumerated::<RankGroup, _>(conn, scope, "rank_group").await?,
        by_capture_region: largest_first(
            grouped::<String, _>(conn, scope, "capture_region")
                .await?
                .into_iter()
                .map(|(key, count)| KeyCount { key, count })
                .collect(),
        ),
        by_category: categories(conn, scope).await?,
        by_sex: enumerated::<Sex, _>(conn, scope, "sex").await?,
        by_status: enumerated::<PersonStatus, _>(conn, scope, "status").await?,
        by_capture_year: capture_years(&capture_dates),
        convicted_in_captivity: convicted.iter().filter(|(c, _)| *c).map(|(_, n)| n).sum(),
        dates: tally.figures(),
        medical_examination: enumerated::<CareStatus, _>(
            conn,
            scope,
            "aftercare_medical_examination",
        )
        .await?,
        rehabilitation: enumerated::<CareStatus, _>(conn, scope, "aftercare_rehabilitation")
            .await?,
        payments: enumerated::<CareStatus, _>(conn, scope, "aftercare_payments").await?,
        hospitalised_in_captivity: with_event(conn, scope, PersonEventType::Hospitalised).await?,
        families_informed: with_event(conn, scope, PersonEventType::FamilyInformed).await?,
    })
}

/// Persons in scope with an event of type `t`.
async fn with_event<C: ConnectionTrait>(
    conn: &C,
    scope: Scope<'_>,
    t: PersonEventType,
) -> Result<i64, Error> {
    let events = Alias::new(EVENTS.table);
    let has = Query::select()
        .expr(Expr::val(1))
        .from(events.clone())
        .and_where(
            Expr::col((events.clone(), Alias::new("person_id")))
                .equals((Alias::new(PERSONS.table), Alias::new("id"))),
        )
        .and_where(Expr::col((events, Alias::new("event_type"))).eq(t.code()))
        .to_owned();
    let q = persons_in(scope)
        .expr_as(count_persons(), Alias::new("n"))
        .and_where(Expr::exists(has))
        .to_owned();
    let row = conn.query_one(&q).await?;
    Ok(match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    })
}

/// `SELECT col, COUNT(*) ... GROUP BY col`.
async fn grouped<T: TryGetable, C: ConnectionTrait>(
    conn: &C,
    scope: Scope<'_>,
    col: &str,
) -> Result<Vec<(T, i64)>, Error> {
    let q = persons_in(scope)
        .expr_as(PERSONS.col(col), Alias::new("k"))
        .expr_as(count_persons(), Alias::new("n"))
        .group_by_col((Alias::new(PERSONS.table), Alias::new(col)))
        .to_owned();
    let mut out = Vec::new();
    for row in conn.query_all(&q).await? {
        out.push((row.try_get("", "k")?, row.try_get("", "n")?));
    }
    Ok(out)
}

/// `SELECT exchange_date, col, COUNT(*) ... GROUP BY exchange_date, col` for a date column.
async fn dated<C: ConnectionTrait>(
    conn: &C,
    scope: Scope<'_>,
    col: &str,
) -> Result<Vec<(NaiveDate, Option<NaiveDate>, i64)>, Error> {
    let q = persons_in(scope)
        .expr_as(EXCHANGES.col("exchange_date"), Alias::new("x"))
        .expr_as(PERSONS.col(col), Alias::new("k"))
        .expr_as(count_persons(), Alias::new("n"))
        .group_by_col((Alias::new(EXCHANGES.table), Alias::new("exchange_date")))
        .group_by_col((Alias::new(PERSONS.table), Alias::new(col)))
        .to_owned();
    let mut out = Vec::new();
    for row in conn.query_all(&q).await? {
        out.push((
            row.try_get("", "x")?,
            row.try_get("", "k")?,
            row.try_get("", "n")?,
        ));
    }
    Ok(out)
}

/// Counts per enum value, keyed by the value's name ("" for unspecified), largest first.
async fn enumerated<E: WireEnum, C: ConnectionTrait>(
    conn: &C,
    scope: Scope<'_>,
    col: &str,
) -> Result<Vec<KeyCount>, Error> {
    Ok(largest_first(
        grouped::<i32, _>(conn, scope, col)
            .await?
            .into_iter()
            .map(|(code, count)| KeyCount {
                key: match E::from_code(code) {
                    Some(e) if code != 0 => e.name().to_owned(),
                    _ => String::new(),
                },
                count,
            })
            .collect(),
    ))
}

fn largest_first(mut v: Vec<KeyCount>) -> Vec<KeyCount> {
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    v
}

/// Persons per category code (a person counts under each of theirs).
async fn categories<C: ConnectionTrait>(
    conn: &C,
    scope: Scope<'_>,
) -> Result<Vec<KeyCount>, Error> {
    let link = Alias::new(PERSON_CATEGORIES.table);
    let ids: SelectStatement = persons_in(scope).expr(PERSONS.col("id")).to_owned();
    let owner = Expr::col((link.clone(), Alias::new(PERSON_CATEGORIES.owner)));
    let q = Query::select()
        .column((link.clone(), Alias::new(PERSON_CATEGORIES.value)))
        .expr_as(Func::count(owner.clone()), Alias::new("n"))
        .from(link.clone())
        .and_where(owner.in_subquery(ids))
        .group_by_col((link, Alias::new(PERSON_CATEGORIES.value)))
        .to_owned();
    let mut out = Vec::new();
    for row in conn.query_all(&q).await? {
        out.push(KeyCount {
            key: row.try_get("", "category_code")?,
            count: row.try_get("", "n")?,
        });
    }
    Ok(largest_first(out))
}
