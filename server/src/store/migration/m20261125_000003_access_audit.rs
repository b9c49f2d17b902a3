//! Access control and the audit trail: bearer tokens (only their SHA-256 hashes), the append-only
//! audit events with one row per resource an event touched (for `resource_ids:"…"` filters), and
//! the `restricted` mark on persons.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(table: &str, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(format!("idx_{table}_{}", cols.join("_")))
        .table(Alias::new(table));
    if unique {
        i.unique();
    }
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("access_tokens")
                .col(string("id").primary_key())
                .col(string("name"))
                .col(integer("role"))
                // Hex SHA-256 of the secret; the secret itself is never stored.
                .col(string("secret_hash"))
                .col(big_integer("create_time"))
                .col(big_integer_null("expire_time"))
                .col(big_integer_null("revoke_time"))
                .col(string("created_by"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("access_tokens", &["name"], true))
            .await?;
        m.create_index(index("access_tokens", &["secret_hash"], true))
            .await?;

        m.create_table(
            Table::create()
                .table("audit_events")
                .col(string("id").primary_key())
                .col(big_integer("time"))
                .col(string("token_id"))
                .col(string("token_name"))
                .col(integer("role"))
                .col(string("method"))
                .col(string("code"))
                .col(string("peer"))
                // JSON array, as answered; `audit_resources` holds the same ids as rows.
                .col(text("resource_ids"))
                .to_owned(),
        )
        .await?;
        for cols in [
            &["time", "id"][..],
            &["token_name", "id"],
            &["token_id", "id"],
            &["method", "id"],
        ] {
            m.create_index(index("audit_events", cols, false)).await?;
        }
        m.create_table(
            Table::create()
                .table("audit_resources")
                .col(string("resource_id"))
                .col(string("event_id"))
                .primary_key(Index::create().col("resource_id").col("event_id"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_audit_resources_event_id")
                        .from(Alias::new("audit_resources"), Alias::new("event_id"))
                        .to(Alias::new("audit_events"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;

        m.alter_table(
            Table::alter()
                .table("persons")
                .add_column(boolean("restricted").default(false))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
