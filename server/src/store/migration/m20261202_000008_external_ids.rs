//! External ids of persons and exchanges: the list (JSON, like the other repeated fields) on
//! the resource's row, and one row per id in a table keyed by `system/id`, so that an id names
//! one resource at most and `external_ids:"system/id"` filters and lookups use its index.
//! Existing resources get none.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (owner_table, link, owner) in [
            ("persons", "person_external_ids", "person_id"),
            ("exchanges", "exchange_external_ids", "exchange_id"),
        ] {
            m.alter_table(
                Table::alter()
                    .table(owner_table)
                    .add_column(text("external_ids").default("[]"))
                    .to_owned(),
            )
            .await?;
            let mut key = string("key");
            if m.get_database_backend() == DbBackend::Postgres {
                // Byte order: keys compare exactly, as the unique index decides.
                key.extra("COLLATE \"C\"");
            }
            m.create_table(
                Table::create()
                    .table(link)
                    .col(key.primary_key())
                    .col(string(owner))
                    .foreign_key(
                        ForeignKey::create()
                            .name(format!("fk_{link}_{owner}"))
                            .from(Alias::new(link), Alias::new(owner))
                            .to(Alias::new(owner_table), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
            m.create_index(
                Index::create()
                    .name(format!("idx_{link}_{owner}"))
                    .table(link)
                    .col(owner)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
