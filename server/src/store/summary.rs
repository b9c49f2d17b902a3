//! GetExchangeSummary: aggregate queries over one exchange's persons, in one read snapshot.
//! Each query groups by one column (or by date), so what comes back is bounded by the number
//! of distinct values, never by loading persons; the `(exchange_id, id)` index finds them.

use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, TryGetable,
    sea_query::{Alias, Expr, ExprTrait, Func, Query},
};

use super::{
    Store,
    entity::{category_link::PERSON_CATEGORIES, exchange, person},
};
use crate::domain::{
    CareStatus, Error, PersonKind, PersonStatus, RankGroup, ServiceBranch, Sex, WireEnum,
    summary::{DateFigures, ExchangeSummary, KeyCount, capture_years},
};

impl Store {
    pub async fn exchange_summary(&self, id: &str) -> Result<ExchangeSummary, Error> {
        let txn = self.read().await?;
        let revision = super::current_revision(&txn).await?;
        let x = exchange::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource: "exchange",
                id: id.to_owned(),
            })?;
        let q = Counts { conn: &txn, id };
        let by_kind = q.enumerated::<PersonKind>(person::Column::Kind).await?;
        let persons_linked = by_kind.iter().map(|k| k.count).sum();
        let births = q
            .grouped::<Option<NaiveDate>>(person::Column::DateOfBirth)
            .await?;
        let captures = q
            .grouped::<Option<NaiveDate>>(person::Column::CaptureDate)
            .await?;
        let convicted = q
            .grouped::<bool>(person::Column::ConvictedInCaptivity)
            .await?;
        Ok(ExchangeSummary {
            exchange_id: x.id.clone(),
            title: x.title.clone(),
            exchange_date: Some(x.exchange_date),
            revision,
            persons_linked,
            announced_returned_count: x.announced_returned_count,
            announced_handed_over_count: x.announced_handed_over_count,
            by_kind,
            by_service: q
                .enumerated::<ServiceBranch>(person::Column::Service)
                .await?,
            by_rank_group: q.enumerated::<RankGroup>(person::Column::RankGroup).await?,
            by_capture_region: q
                .grouped::<String>(person::Column::CaptureRegion)
                .await?
                .into_iter()
                .map(|(key, count)| KeyCount { key, count })
                .collect(),
            by_category: q.categories().await?,
            by_sex: q.enumerated::<Sex>(person::Column::Sex).await?,
            by_status: q.enumerated::<PersonStatus>(person::Column::Status).await?,
            by_capture_year: capture_years(&captures),
            convicted_in_captivity: convicted.iter().filter(|(c, _)| *c).map(|(_, n)| n).sum(),
            dates: DateFigures::compute(x.exchange_date, &births, &captures),
            medical_examination: q
                .enumerated::<CareStatus>(person::Column::AftercareMedicalExamination)
                .await?,
            rehabilitation: q
                .enumerated::<CareStatus>(person::Column::AftercareRehabilitation)
                .await?,
            payments: q
                .enumerated::<CareStatus>(person::Column::AftercarePayments)
                .await?,
        })
    }
}

struct Counts<'a, C> {
    conn: &'a C,
    id: &'a str,
}

impl<C: ConnectionTrait> Counts<'_, C> {
    /// `SELECT col, COUNT(*) FROM persons WHERE exchange_id = ? GROUP BY col`.
    async fn grouped<T: TryGetable>(&self, col: person::Column) -> Result<Vec<(T, i64)>, Error> {
        let rows: Vec<(T, i64)> = person::Entity::find()
            .select_only()
            .column(col)
            .column_as(Expr::col(person::Column::Id).count(), "n")
            .filter(person::Column::ExchangeId.eq(self.id))
            .group_by(col)
            .into_tuple()
            .all(self.conn)
            .await?;
        Ok(rows)
    }

    /// Counts per enum value, keyed by the value's name ("" for unspecified), largest first.
    async fn enumerated<E: WireEnum>(&self, col: person::Column) -> Result<Vec<KeyCount>, Error> {
        let mut out: Vec<KeyCount> = self
            .grouped::<i32>(col)
            .await?
            .into_iter()
            .map(|(code, count)| KeyCount {
                key: match E::from_code(code) {
                    Some(e) if code != 0 => e.name().to_owned(),
                    _ => String::new(),
                },
                count,
            })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        Ok(out)
    }

    /// Persons per category code (a person may count under several).
    async fn categories(&self) -> Result<Vec<KeyCount>, Error> {
        let link = Alias::new(PERSON_CATEGORIES);
        let persons = Alias::new("persons");
        let q = Query::select()
            .column((link.clone(), Alias::new("category_code")))
            .expr_as(
                Func::count(Expr::col((link.clone(), Alias::new("person_id")))),
                Alias::new("n"),
            )
            .from(link.clone())
            .inner_join(
                persons.clone(),
                Expr::col((persons.clone(), Alias::new("id")))
                    .equals((link.clone(), Alias::new("person_id"))),
            )
            .and_where(Expr::col((persons, Alias::new("exchange_id"))).eq(self.id))
            .group_by_col((link.clone(), Alias::new("category_code")))
            .to_owned();
        let mut out = Vec::new();
        for row in self.conn.query_all(&q).await? {
            out.push(KeyCount {
                key: row.try_get("", "category_code")?,
                count: row.try_get("", "n")?,
            });
        }
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        Ok(out)
    }
}
