//! Duplicate candidates (scored by `domain::duplicates`): found when a person is written, in
//! the write's transaction, through the blocking keys of `person_match_keys` (no scan of all
//! persons); listed best first; dismissed for good. A merge is a person write (`persons`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait,
    sea_query::{Alias, Cond, Expr, ExprTrait, OnConflict, Order, Query, WindowStatement},
};

use super::{
    Page, Store,
    codec::{json_list, time, to_json},
    links,
    paging::PageToken,
    person_rows::{ROWS, find_by},
    schema::PERSON_MATCH_KEYS,
    write::Write,
};
use crate::domain::{
    Error, Person, PersonFields,
    duplicates::{MatchKeys, Search, assess},
    page_size,
};

/// Pairs scoring below this are not kept: a caller may ask for candidates down to it.
pub const SCORE_FLOOR: f64 = 0.5;

/// A blocking key shared by more persons than this is not searched (a very common name and
/// nothing else): the cost of a write stays bounded, and such a key alone is weak evidence.
/// The person's other keys (other spellings, the service number) still are.
pub const CROWDED_KEY: i64 = 500;

/// Longest dismissal reason, in characters.
pub const REASON_MAX: usize = 1000;

/// Two persons that may be one.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The lesser id of the pair.
    pub person_id: String,
    pub other_person_id: String,
    /// 0..1, two decimals.
    pub score: f64,
    pub reasons: Vec<String>,
    /// The revision of the write that found the pair.
    pub revision: i64,
    pub find_time: DateTime<Utc>,
}

/// A ListDuplicateCandidates request, validated.
#[derive(Debug, Clone, Default)]
pub struct CandidateQuery {
    /// Only the candidates of this person.
    pub person_id: Option<String>,
    pub min_score: f64,
    pub page_size: i32,
    pub page_token: String,
}

/// The pair in the order it is stored.
fn ordered<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a <= b { (a, b) } else { (b, a) }
}

fn hundredths(score: f64) -> i32 {
    (score * 100.0).round() as i32
}

/// Whether two versions of a person compare the same with every other (the fields the keys
/// and the score read).
fn same_match_fields(a: &PersonFields, b: &PersonFields) -> bool {
    a.family_name == b.family_name
        && a.given_name == b.given_name
        && a.patronymic == b.patronymic
        && a.aliases == b.aliases
        && a.date_of_birth == b.date_of_birth
        && a.sex == b.sex
        && a.service_number == b.service_number
        && a.external_ids == b.external_ids
}

/// A person just written, as the candidate search takes it.
pub(super) struct Written<'a> {
    pub person: &'a Person,
    /// The stored fields a rewrite replaced; `None` for a new person.
    pub previous: Option<&'a PersonFields>,
    /// Its keys, computed from `person`'s fields (before the write's turn where it could be).
    pub keys: &'a MatchKeys,
}

/// Finds the candidates of persons just written in `w` (`previous`: the stored fields a
/// rewrite replaced, `None` for a new person): replaces their keys and candidates, compares
/// them with every person sharing a key that is not crowded (each other included), and keeps
/// the pairs at or above [`SCORE_FLOOR`] that were not dismissed. Persons whose compared
/// fields did not change are left as they are.
pub(super) async fn index(w: &Write, written: &[Written<'_>]) -> Result<(), Error> {
    if !w.duplicate_search {
        return Ok(());
    }
    let changed: Vec<&Written> = written
        .iter()
        .filter(|x| {
            x.previous
                .is_none_or(|f| !same_match_fields(&x.person.fields, f))
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let rewritten: Vec<&str> = changed
        .iter()
        .filter(|x| x.previous.is_some())
        .map(|x| x.person.meta.id.as_str())
        .collect();
    for chunk in rewritten.chunks(500) {
        w.defer(
            &Query::delete()
                .from_table(Alias::new(PERSON_MATCH_KEYS.table))
                .and_where(Expr::col(Alias::new("person_id")).is_in(chunk.iter().copied()))
                .to_owned(),
        );
        w.defer(
            &Query::delete()
                .from_table(Alias::new("duplicate_candidates"))
                .cond_where(
                    Cond::any()
                        .add(Expr::col(Alias::new("person_id")).is_in(chunk.iter().copied()))
                        .add(Expr::col(Alias::new("other_person_id")).is_in(chunk.iter().copied())),
                )
                .to_owned(),
        );
    }
    let rows: Vec<(&str, &str)> = changed
        .iter()
        .flat_map(|x| {
            let id = x.person.meta.id.as_str();
            x.keys.blocking.iter().map(move |k| (id, k.as_str()))
        })
        .collect();
    links::insert(w, PERSON_MATCH_KEYS, &rows)?;

    // The members of every searched key that is not crowded.
    let exact: HashSet<&str> = changed
        .iter()
        .flat_map(|x| x.keys.search.iter())
        .filter_map(|s| match s {
            Search::Key(k) => Some(k.as_str()),
            Search::Prefix(_) => None,
        })
        .collect();
    let exact: Vec<&str> = exact.into_iter().collect();
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    // One statement per 500 keys gives each key's members, at most `CROWDED_KEY + 1` of them
    // (numbered within the key): a key that reaches that many is crowded and left out. (It
    // was a count query and then a member query: the same index range read twice, and one
    // more hand-off to the writer per write.)
    for chunk in exact.chunks(500) {
        let numbered = Query::select()
            .columns([Alias::new("key"), Alias::new("person_id")])
            .expr_window_as(
                Expr::cust("ROW_NUMBER()"),
                WindowStatement::partition_by(Alias::new("key")),
                Alias::new("n"),
            )
            .from(Alias::new(PERSON_MATCH_KEYS.table))
            .and_where(Expr::col(Alias::new("key")).is_in(chunk.iter().copied()))
            .to_owned();
        let q = Query::select()
            .columns([Alias::new("key"), Alias::new("person_id")])
            .from_subquery(numbered, Alias::new("numbered"))
            .and_where(Expr::col(Alias::new("n")).lte(CROWDED_KEY + 1))
            .to_owned();
        let mut found: HashMap<String, Vec<String>> = HashMap::new();
        for r in w.query_all(&q).await? {
            found
                .entry(r.try_get("", "key")?)
                .or_default()
                .push(r.try_get("", "person_id")?);
        }
        members.extend(
            found
                .into_iter()
                .filter(|(_, ids)| ids.len() as i64 <= CROWDED_KEY),
        );
    }
    // A name under every birth date (a person whose birth date is unknown): one range read
    // each, bounded like a key.
    let prefixes: HashSet<&str> = changed
        .iter()
        .flat_map(|x| x.keys.search.iter())
        .filter_map(|s| match s {
            Search::Prefix(p) => Some(p.as_str()),
            Search::Key(_) => None,
        })
        .collect();
    for prefix in prefixes {
        // Keys are ASCII; the prefix ends in `y`, so `z` in its place bounds the range.
        let upper = format!("{}z", &prefix[..prefix.len().saturating_sub(1)]);
        let q = Query::select()
            .column(Alias::new("person_id"))
            .from(Alias::new(PERSON_MATCH_KEYS.table))
            .and_where(Expr::col(Alias::new("key")).gte(prefix))
            .and_where(Expr::col(Alias::new("key")).lt(upper.as_str()))
            .limit(CROWDED_KEY as u64 + 1)
            .to_owned();
        let rows = w.query_all(&q).await?;
        if rows.len() as i64 > CROWDED_KEY {
            continue;
        }
        let ids: Vec<String> = rows
            .iter()
            .map(|r| r.try_get("", "person_id"))
            .collect::<Result<_, _>>()?;
        members.insert(prefix.to_owned(), ids);
    }
    let mut pairs: HashSet<(String, String)> = HashSet::new();
    for x in &changed {
        let id = x.person.meta.id.as_str();
        let found = x
            .keys
            .search
            .iter()
            .filter_map(|s| match s {
                Search::Key(k) | Search::Prefix(k) => members.get(k),
            })
            .flatten();
        for other in found {
            if other != id {
                let (a, b) = ordered(id, other);
                pairs.insert((a.to_owned(), b.to_owned()));
            }
        }
    }
    if pairs.is_empty() {
        return Ok(());
    }

    // The fields of everyone in a pair: the written persons as they are now, the others read.
    let mut fields: HashMap<&str, &PersonFields> = changed
        .iter()
        .map(|x| (x.person.meta.id.as_str(), &x.person.fields))
        .collect();
    let others: Vec<String> = pairs
        .iter()
        .flat_map(|(a, b)| [a, b])
        .filter(|id| !fields.contains_key(id.as_str()))
        .cloned()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let read = find_by(w.txn().await?, "id", &others).await?;
    for p in &read {
        fields.insert(p.meta.id.as_str(), &p.fields);
    }
    let ids: Vec<&str> = changed.iter().map(|x| x.person.meta.id.as_str()).collect();
    let dismissed = dismissed_pairs(w.txn().await?, &ids).await?;

    let mut found = Vec::new();
    for (a, b) in &pairs {
        if dismissed.contains(&(a.clone(), b.clone())) {
            continue;
        }
        let (Some(fa), Some(fb)) = (fields.get(a.as_str()), fields.get(b.as_str())) else {
            continue;
        };
        let s = assess(fa, fb);
        if s.score >= SCORE_FLOOR {
            found.push((a, b, s));
        }
    }
    // A stable order, so that a batch writes its rows the same way every time.
    found.sort_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)));
    for chunk in found.chunks(500) {
        let mut q = Query::insert();
        q.into_table(Alias::new("duplicate_candidates")).columns(
            [
                "person_id",
                "other_person_id",
                "score",
                "reasons",
                "revision",
                "find_time",
            ]
            .map(Alias::new),
        );
        for (a, b, s) in chunk {
            q.values([
                a.as_str().into(),
                b.as_str().into(),
                hundredths(s.score).into(),
                to_json(&s.reasons)?.into(),
                w.revision.into(),
                w.now_micros().into(),
            ])
            .map_err(|e| Error::Internal(e.to_string()))?;
        }
        q.on_conflict(
            OnConflict::columns([Alias::new("person_id"), Alias::new("other_person_id")])
                .update_columns(["score", "reasons", "revision", "find_time"].map(Alias::new))
                .to_owned(),
        );
        w.defer(&q);
    }
    Ok(())
}

/// The dismissed pairs that involve one of `ids`.
async fn dismissed_pairs<C: ConnectionTrait>(
    conn: &C,
    ids: &[&str],
) -> Result<HashSet<(String, String)>, Error> {
    let mut out = HashSet::new();
    for chunk in ids.chunks(500) {
        let q = Query::select()
            .columns([Alias::new("person_id"), Alias::new("other_person_id")])
            .from(Alias::new("duplicate_dismissals"))
            .cond_where(
                Cond::any()
                    .add(Expr::col(Alias::new("person_id")).is_in(chunk.iter().copied()))
                    .add(Expr::col(Alias::new("other_person_id")).is_in(chunk.iter().copied())),
            )
            .to_owned();
        for r in conn.query_all(&q).await? {
            out.insert((
                r.try_get("", "person_id")?,
                r.try_get("", "other_person_id")?,
            ));
        }
    }
    Ok(out)
}

impl Store {
    /// Open candidates, best first (score, then the pair's ids, descending); of one person
    /// when `person_id` is set. Pairs with a restricted person only for callers who may see
    /// restricted persons.
    #[tracing::instrument(name = "store.list_duplicate_candidates", skip_all)]
    pub async fn list_duplicate_candidates(
        &self,
        q: &CandidateQuery,
    ) -> Result<Page<Candidate>, Error> {
        let size = page_size(q.page_size)?;
        let min = hundredths(q.min_score.max(SCORE_FLOOR));
        let binding = format!(
            "duplicates|{}|{min}",
            q.person_id.as_deref().unwrap_or_default()
        );
        let after = match q.page_token.trim() {
            "" => None,
            t => Some(PageToken::decode(t, &binding)?.keys_of_candidate()?),
        };
        self.read_page(async |txn| {
            if let Some(id) = &q.person_id {
                self.visible_or_merged(txn, id).await?;
            }
            let c = Alias::new("c");
            let col = |name: &str| Expr::col((c.clone(), Alias::new(name)));
            let mut select = Query::select();
            select
                .columns(
                    [
                        "person_id",
                        "other_person_id",
                        "score",
                        "reasons",
                        "revision",
                        "find_time",
                    ]
                    .map(|n| (c.clone(), Alias::new(n))),
                )
                .from_as(Alias::new("duplicate_candidates"), c.clone())
                .and_where(col("score").gte(min));
            if let Some(id) = &q.person_id {
                select.cond_where(
                    Cond::any()
                        .add(col("person_id").eq(id.as_str()))
                        .add(col("other_person_id").eq(id.as_str())),
                );
            }
            if !self.sees_restricted() {
                for (side, column) in [("a", "person_id"), ("b", "other_person_id")] {
                    let t = Alias::new(side);
                    select.join_as(
                        sea_orm::sea_query::JoinType::InnerJoin,
                        Alias::new(ROWS.table),
                        t.clone(),
                        Expr::col((t.clone(), Alias::new("id")))
                            .equals((c.clone(), Alias::new(column))),
                    );
                    select.and_where(Expr::col((t, Alias::new("restricted"))).eq(false));
                }
            }
            if let Some((score, a, b)) = &after {
                select.cond_where(
                    Cond::any().add(col("score").lt(*score)).add(
                        Cond::all().add(col("score").eq(*score)).add(
                            Cond::any().add(col("person_id").lt(a.as_str())).add(
                                Cond::all()
                                    .add(col("person_id").eq(a.as_str()))
                                    .add(col("other_person_id").lt(b.as_str())),
                            ),
                        ),
                    ),
                );
            }
            select
                .order_by((c.clone(), Alias::new("score")), Order::Desc)
                .order_by((c.clone(), Alias::new("person_id")), Order::Desc)
                .order_by((c.clone(), Alias::new("other_person_id")), Order::Desc)
                .limit(size + 1);
            let mut items = Vec::new();
            for r in txn.query_all(&select).await? {
                let score: i32 = r.try_get("", "score")?;
                let reasons: String = r.try_get("", "reasons")?;
                items.push(Candidate {
                    person_id: r.try_get("", "person_id")?,
                    other_person_id: r.try_get("", "other_person_id")?,
                    score: f64::from(score) / 100.0,
                    reasons: json_list(&reasons)?,
                    revision: r.try_get("", "revision")?,
                    find_time: time(r.try_get("", "find_time")?),
                });
            }
            let next = if items.len() as u64 > size {
                items.truncate(size as usize);
                match items.last() {
                    Some(last) => Some(PageToken::of_candidate(
                        binding.clone(),
                        hundredths(last.score),
                        &last.person_id,
                        &last.other_person_id,
                    )?),
                    None => None,
                }
            } else {
                None
            };
            Ok((items, next))
        })
        .await
    }

    /// Records that two persons are not one: the pair is no longer a candidate and never
    /// becomes one again. Both must exist (and be visible to the caller).
    #[tracing::instrument(name = "store.dismiss_duplicate", skip_all)]
    pub async fn dismiss_duplicate(
        &self,
        person_id: &str,
        other_person_id: &str,
        reason: &str,
    ) -> Result<(), Error> {
        if person_id == other_person_id {
            return Err(Error::invalid(
                "other_person_id",
                "must differ from person_id",
            ));
        }
        let w = self.begin_write().await?;
        self.visible_or_merged(w.txn().await?, person_id).await?;
        self.visible_or_merged(w.txn().await?, other_person_id)
            .await?;
        let (a, b) = ordered(person_id, other_person_id);
        let mut q = Query::insert();
        q.into_table(Alias::new("duplicate_dismissals"))
            .columns(
                [
                    "person_id",
                    "other_person_id",
                    "reason",
                    "revision",
                    "dismiss_time",
                ]
                .map(Alias::new),
            )
            .values([
                a.into(),
                b.into(),
                reason.into(),
                w.revision.into(),
                w.now_micros().into(),
            ])
            .map_err(|e| Error::Internal(e.to_string()))?
            .on_conflict(
                OnConflict::columns([Alias::new("person_id"), Alias::new("other_person_id")])
                    .update_columns(["reason", "revision", "dismiss_time"].map(Alias::new))
                    .to_owned(),
            );
        w.defer(&q);
        w.defer(
            &Query::delete()
                .from_table(Alias::new("duplicate_candidates"))
                .and_where(Expr::col(Alias::new("person_id")).eq(a))
                .and_where(Expr::col(Alias::new("other_person_id")).eq(b))
                .to_owned(),
        );
        w.commit().await
    }
}
