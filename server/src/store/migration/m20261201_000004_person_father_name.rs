//! The father's first name of a person (GC III Art. 122). Existing persons get "" (unknown).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("persons")
                .add_column(string("father_name").default(""))
                .to_owned(),
        )
        .await
    }
}
