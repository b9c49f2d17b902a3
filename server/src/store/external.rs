//! External ids in the store: one row `(owner, "system/id")` per id in a link table whose key
//! is the id, so an id names one resource at most (checked here first, to name the field).

use std::collections::HashMap;

use sea_orm::{
    ConnectionTrait,
    sea_query::{Alias, Expr, ExprTrait, Query},
};

use super::schema::Link;
use crate::domain::{Error, ExternalId};

/// The owners of those of `keys` that are taken: key → owner id (one query per 500).
pub async fn owners<C: ConnectionTrait>(
    conn: &C,
    link: Link,
    keys: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, String>, Error> {
    let mut keys: Vec<String> = keys.into_iter().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut found = HashMap::new();
    for chunk in keys.chunks(500) {
        let q = Query::select()
            .columns([Alias::new(link.owner), Alias::new(link.value)])
            .from(Alias::new(link.table))
            .and_where(Expr::col(Alias::new(link.value)).is_in(chunk.iter().map(String::as_str)))
            .to_owned();
        for row in conn.query_all(&q).await? {
            found.insert(
                row.try_get::<String>("", link.value)?,
                row.try_get::<String>("", link.owner)?,
            );
        }
    }
    Ok(found)
}

/// One write's claim on external ids: the field prefix its violations use (`person.`,
/// `requests[3].person.`), the resource that will own them (`None`: a new one) and the ids.
pub struct Claim<'a> {
    pub prefix: String,
    pub owner: Option<&'a str>,
    pub ids: &'a [ExternalId],
}

/// Refuses ids that another resource holds, or that two claims of one write share:
/// ALREADY_EXISTS naming the first such field.
pub async fn check_free<C: ConnectionTrait>(
    conn: &C,
    link: Link,
    resource: &'static str,
    claims: &[Claim<'_>],
) -> Result<(), Error> {
    if claims.iter().all(|c| c.ids.is_empty()) {
        return Ok(());
    }
    let taken = owners(
        conn,
        link,
        claims
            .iter()
            .flat_map(|c| c.ids.iter().map(ExternalId::key)),
    )
    .await?;
    let mut claimed: HashMap<String, usize> = HashMap::new();
    for (i, c) in claims.iter().enumerate() {
        for (j, x) in c.ids.iter().enumerate() {
            let key = x.key();
            let other_owner = taken.get(&key).is_some_and(|o| Some(o.as_str()) != c.owner);
            let other_claim = claimed.insert(key.clone(), i).is_some_and(|k| k != i);
            if other_owner || other_claim {
                return Err(Error::AlreadyExists {
                    resource,
                    field: format!("{}external_ids[{j}]", c.prefix),
                    value: key,
                });
            }
        }
    }
    Ok(())
}

/// The resource that holds `key`, if any.
pub async fn owner_of<C: ConnectionTrait>(
    conn: &C,
    link: Link,
    key: &str,
) -> Result<Option<String>, Error> {
    Ok(owners(conn, link, [key.to_owned()]).await?.remove(key))
}

/// The keys of a resource's ids, as its link rows hold them.
pub fn keys(ids: &[ExternalId]) -> Vec<String> {
    ids.iter().map(ExternalId::key).collect()
}
