//! The request id of each audited call (the client's `x-request-id`, or the one the server
//! made), so that a call seen in a log or by a client can be found in the audit trail.
//! Events recorded before it have "".

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
                .table("audit_events")
                .add_column(string("request_id").default(""))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_audit_events_request_id_id")
                .table("audit_events")
                .col("request_id")
                .col("id")
                .to_owned(),
        )
        .await
    }
}
