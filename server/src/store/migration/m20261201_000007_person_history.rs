//! Every version of every person, with who wrote it: the record's history. Never compacted.
//! Existing persons start their history with their current state, as the change log still
//! holds it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("person_history")
                .col(string("person_id"))
                .col(big_integer("revision"))
                .col(integer("seq"))
                .col(string("operation"))
                .col(big_integer("change_time"))
                .col(string("token_name"))
                .col(integer("role"))
                .col(text("snapshot"))
                .primary_key(Index::create().col("person_id").col("revision").col("seq"))
                .to_owned(),
        )
        .await?;
        // What the change log still holds of persons becomes their history (writer unknown).
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO person_history \
                 (person_id, revision, seq, operation, change_time, token_name, role, snapshot) \
                 SELECT resource_id, revision, seq, operation, change_time, 'unknown', 0, snapshot \
                 FROM change_log WHERE resource_type = 'person'",
            )
            .await?;
        Ok(())
    }
}
