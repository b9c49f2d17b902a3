//! Bearer tokens: only the SHA-256 hash of a secret is stored. Token changes are audited in
//! their own transaction, like registry writes; they take no registry revision (tokens are not
//! watched).

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryTrait, Set,
};

use super::{
    ListQuery, Page, Store, Unique,
    codec::{self, micros, time},
    entity::access_token,
    schema::TOKENS,
    unique_violation,
};
use crate::domain::{
    Error, Role, WireEnum,
    access::{NewToken, Token, new_secret, secret_hash},
    new_id,
};

/// The name of the token a new server creates for its first administrator.
pub const BOOTSTRAP_TOKEN_NAME: &str = "admin";

fn from_model(m: access_token::Model) -> Token {
    Token {
        id: m.id,
        name: m.name,
        role: Role::from_code(m.role).unwrap_or_default(),
        create_time: time(m.create_time),
        expire_time: m.expire_time.map(time),
        revoke_time: m.revoke_time.map(time),
        created_by: m.created_by,
    }
}

fn not_found(id: &str) -> Error {
    Error::NotFound {
        resource: "token",
        id: id.to_owned(),
    }
}

impl Store {
    /// Records the call's audit event (if this handle serves one) in `txn`, then commits.
    async fn commit_audited(
        &self,
        txn: DatabaseTransaction,
        ids: Vec<String>,
    ) -> Result<(), Error> {
        if let Some(call) = &self.call {
            super::audit::insert(&txn, &[call.event(ids, "OK", Utc::now())]).await?;
        }
        txn.commit().await?;
        if let Some(call) = &self.call {
            call.mark_audited();
        }
        Ok(())
    }

    /// Creates a token; returns it with its secret (which is not stored).
    #[tracing::instrument(name = "store.create_token", skip_all)]
    pub async fn create_token(
        &self,
        new: NewToken,
        created_by: &str,
    ) -> Result<(Token, String), Error> {
        let now = codec::now();
        let secret = new_secret()?;
        let token = Token {
            id: new_id(),
            name: new.name,
            role: new.role,
            create_time: now,
            expire_time: new.expire_time,
            revoke_time: None,
            created_by: created_by.to_owned(),
        };
        let txn = self.begin_on_writer().await?;
        let row = access_token::ActiveModel {
            id: Set(token.id.clone()),
            name: Set(token.name.clone()),
            role: Set(token.role.code()),
            secret_hash: Set(secret_hash(&secret)),
            create_time: Set(micros(token.create_time)),
            expire_time: Set(token.expire_time.map(micros)),
            revoke_time: Set(None),
            created_by: Set(token.created_by.clone()),
        };
        access_token::Entity::insert(row)
            .exec_without_returning(&txn)
            .await
            .map_err(Error::from)
            .map_err(|e| {
                if unique_violation(&e) {
                    Error::AlreadyExists {
                        resource: "token",
                        field: "name".into(),
                        value: token.name.clone(),
                    }
                } else {
                    e
                }
            })?;
        self.commit_audited(txn, vec![token.id.clone()]).await?;
        Ok((token, secret))
    }

    /// The first administrator's token, if there are no tokens yet. Several replicas starting
    /// at once race on the unique name: one creates it, the others get `None`.
    pub async fn bootstrap_admin_token(&self) -> Result<Option<(Token, String)>, Error> {
        if access_token::Entity::find().count(&self.writer).await? > 0 {
            return Ok(None);
        }
        let new = NewToken {
            name: BOOTSTRAP_TOKEN_NAME.into(),
            role: Role::Admin,
            expire_time: None,
        };
        match self.create_token(new, "system").await {
            Ok(created) => Ok(Some(created)),
            Err(Error::AlreadyExists { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    #[tracing::instrument(name = "store.list_tokens", skip_all)]
    pub async fn list_tokens(&self, q: &ListQuery) -> Result<Page<Token>, Error> {
        let (rows, next_page_token) = TOKENS
            .page(&self.reader, access_token::Entity::find().into_query(), q)
            .await?;
        Ok(Page {
            items: rows
                .iter()
                .map(|r| access_token::Model::from_query_result(r, "").map(from_model))
                .collect::<Result<_, _>>()?,
            next_page_token,
            revision: 0,
        })
    }

    /// The token with this secret's hash, if any (revoked and expired ones included).
    #[tracing::instrument(name = "store.token_by_hash", skip_all)]
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<Token>, Error> {
        Ok(access_token::Entity::find()
            .filter(access_token::Column::SecretHash.eq(hash))
            .unique(&self.reader)
            .await?
            .map(from_model))
    }

    /// Revokes the token with this id or name. Revoking twice keeps the first time.
    #[tracing::instrument(name = "store.revoke_token", skip_all)]
    pub async fn revoke_token(&self, id_or_name: &str) -> Result<Token, Error> {
        let txn = self.begin_on_writer().await?;
        let found = find_token(&txn, id_or_name).await?;
        let Some(found) = found else {
            return Err(not_found(id_or_name));
        };
        if found.revoke_time.is_some() {
            let token = from_model(found);
            self.commit_audited(txn, vec![token.id.clone()]).await?;
            return Ok(token);
        }
        let now = micros(Utc::now());
        let mut active: access_token::ActiveModel = found.into();
        active.revoke_time = Set(Some(now));
        let updated = access_token::Entity::update(active).exec(&txn).await?;
        let token = from_model(updated);
        self.commit_audited(txn, vec![token.id.clone()]).await?;
        Ok(token)
    }
}

async fn find_token<C: ConnectionTrait>(
    conn: &C,
    id_or_name: &str,
) -> Result<Option<access_token::Model>, Error> {
    let by_id = access_token::Entity::find_by_id(id_or_name)
        .unique(conn)
        .await?;
    if by_id.is_some() {
        return Ok(by_id);
    }
    Ok(access_token::Entity::find()
        .filter(access_token::Column::Name.eq(id_or_name))
        .unique(conn)
        .await?)
}
