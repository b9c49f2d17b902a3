//! GetExchangeSummary and GetStatistics: aggregate queries over a set of persons (one
//! exchange's, or everyone returned in a period), in one read snapshot. Every query groups —
//! by one column, or by (exchange date, date) for the date figures — so what comes back is
//! bounded by the number of distinct values, and the figures are still exact (the median too).

use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, RelationTrait, Select, TryGetable,
    sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement},
};

use super::{
    Store, Unique,
    entity::{category_link::PERSON_CATEGORIES, exchange, person},
};
use crate::domain::{
    CareStatus, Error, ExchangeStatus, PersonKind, PersonStatus, RankGroup, ServiceBranch, Sex,
    WireEnum,
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
    pub async fn exchange_summary(&self, id: &str) -> Result<ExchangeSummary, Error> {
        let txn = self.read().await?;
        let revision = super::current_revision(&txn).await?;
        let x = exchange::Entity::find_by_id(id)
            .unique(&txn)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource: "exchange",
                id: id.to_owned(),
            })?;
        let scope = Scope {
            of: Of::Exchange(id),
            include_restricted: self.sees_restricted(),
        };
        let persons = figures(&txn, scope).await?;
        Ok(ExchangeSummary {
            exchange_id: x.id,
            title: x.title,
            exchange_date: Some(x.exchange_date),
            revision,
            announced_returned_count: x.announced_returned_count,
            announced_handed_over_count: x.announced_handed_over_count,
            persons,
        })
    }

    /// Figures across the exchanges dated from `start` to `end` (both inclusive, both optional).
    pub async fn statistics(
        &self,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    ) -> Result<Statistics, Error> {
        let txn = self.read().await?;
        let revision = super::current_revision(&txn).await?;
        let mut exchanges = exchange::Entity::find()
            .filter(exchange::Column::Status.is_not_in(excluded_statuses()))
            .order_by_asc(exchange::Column::ExchangeDate)
            .order_by_asc(exchange::Column::Id);
        if let Some(s) = start {
            exchanges = exchanges.filter(exchange::Column::ExchangeDate.gte(s));
        }
        if let Some(e) = end {
            exchanges = exchanges.filter(exchange::Column::ExchangeDate.lte(e));
        }
        let exchanges = exchanges.all(&txn).await?;
        let scope = Scope {
            of: Of::Period(start, end),
            include_restricted: self.sees_restricted(),
        };
        let linked: std::collections::HashMap<Option<String>, i64> =
            grouped::<Option<String>, _>(&txn, scope, person::Column::ExchangeId)
                .await?
                .into_iter()
                .collect();
        let by_exchange: Vec<ExchangeStatistics> = exchanges
            .into_iter()
            .map(|x| ExchangeStatistics {
                persons_linked: linked.get(&Some(x.id.clone())).copied().unwrap_or(0),
                exchange_id: x.id,
                title: x.title,
                exchange_date: Some(x.exchange_date),
                announced_returned_count: x.announced_returned_count,
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

/// Persons in scope, joined to their exchange.
fn persons_in(scope: Scope<'_>) -> Select<person::Entity> {
    let mut q = person::Entity::find().join(JoinType::InnerJoin, person::Relation::Exchange.def());
    if !scope.include_restricted {
        q = q.filter(person::Column::Restricted.eq(false));
    }
    match scope.of {
        Of::Exchange(id) => q.filter(person::Column::ExchangeId.eq(id)),
        Of::Period(start, end) => {
            let mut q = q.filter(exchange::Column::Status.is_not_in(excluded_statuses()));
            if let Some(s) = start {
                q = q.filter(exchange::Column::ExchangeDate.gte(s));
            }
            if let Some(e) = end {
                q = q.filter(exchange::Column::ExchangeDate.lte(e));
            }
            q
        }
    }
}

fn count_persons() -> Expr {
    Expr::col((person::Entity, person::Column::Id)).count()
}

async fn figures<C: ConnectionTrait>(conn: &C, scope: Scope<'_>) -> Result<Figures, Error> {
    let by_kind = enumerated::<PersonKind, _>(conn, scope, person::Column::Kind).await?;
    let mut tally = DateTally::default();
    for (returned, born, n) in dated(conn, scope, person::Column::DateOfBirth).await? {
        tally.add_birth(returned, born, n);
    }
    let captures = dated(conn, scope, person::Column::CaptureDate).await?;
    for (returned, captured, n) in &captures {
        tally.add_capture(*returned, *captured, *n);
    }
    let capture_dates: Vec<(Option<NaiveDate>, i64)> =
        captures.iter().map(|(_, d, n)| (*d, *n)).collect();
    let convicted = grouped::<bool, _>(conn, scope, person::Column::ConvictedInCaptivity).await?;
    Ok(Figures {
        persons: by_kind.iter().map(|k| k.count).sum(),
        by_kind,
        by_service: enumerated::<ServiceBranch, _>(conn, scope, person::Column::Service).await?,
        by_rank_group: enumerated::<RankGroup, _>(conn, scope, person::Column::RankGroup).await?,
        by_capture_region: largest_first(
            grouped::<String, _>(conn, scope, person::Column::CaptureRegion)
                .await?
                .into_iter()
                .map(|(key, count)| KeyCount { key, count })
                .collect(),
        ),
        by_category: categories(conn, scope).await?,
        by_sex: enumerated::<Sex, _>(conn, scope, person::Column::Sex).await?,
        by_status: enumerated::<PersonStatus, _>(conn, scope, person::Column::Status).await?,
        by_capture_year: capture_years(&capture_dates),
        convicted_in_captivity: convicted.iter().filter(|(c, _)| *c).map(|(_, n)| n).sum(),
        dates: tally.figures(),
        medical_examination: enumerated::<CareStatus, _>(
            conn,
            scope,
            person::Column::AftercareMedicalExamination,
        )
        .await?,
        rehabilitation: enumerated::<CareStatus, _>(
            conn,
            scope,
            person::Column::AftercareRehabilitation,
        )
        .await?,
        payments: enumerated::<CareStatus, _>(conn, scope, person::Column::AftercarePayments)
            .await?,
    })
}

/// `SELECT col, COUNT(*) ... GROUP BY col`.
async fn grouped<T: TryGetable, C: ConnectionTrait>(
    conn: &C,
    scope: Scope<'_>,
    col: person::Column,
) -> Result<Vec<(T, i64)>, Error> {
    Ok(persons_in(scope)
        .select_only()
        .column(col)
        .column_as(count_persons(), "n")
        .group_by(col)
        .into_tuple()
        .all(conn)
        .await?)
}

/// `SELECT exchange_date, col, COUNT(*) ... GROUP BY exchange_date, col` for a date column.
async fn dated<C: ConnectionTrait>(
    conn: &C,
    scope: Scope<'_>,
    col: person::Column,
) -> Result<Vec<(NaiveDate, Option<NaiveDate>, i64)>, Error> {
    Ok(persons_in(scope)
        .select_only()
        .column(exchange::Column::ExchangeDate)
        .column(col)
        .column_as(count_persons(), "n")
        .group_by(exchange::Column::ExchangeDate)
        .group_by(col)
        .into_tuple()
        .all(conn)
        .await?)
}

/// Counts per enum value, keyed by the value's name ("" for unspecified), largest first.
async fn enumerated<E: WireEnum, C: ConnectionTrait>(
    conn: &C,
    scope: Scope<'_>,
    col: person::Column,
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
    let link = Alias::new(PERSON_CATEGORIES);
    let ids: SelectStatement = persons_in(scope)
        .select_only()
        .column(person::Column::Id)
        .into_query();
    let q = Query::select()
        .column((link.clone(), Alias::new("category_code")))
        .expr_as(
            Func::count(Expr::col((link.clone(), Alias::new("person_id")))),
            Alias::new("n"),
        )
        .from(link.clone())
        .and_where(Expr::col((link.clone(), Alias::new("person_id"))).in_subquery(ids))
        .group_by_col((link, Alias::new("category_code")))
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
