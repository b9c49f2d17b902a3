//! Drops the `(column, id)` indexes of the person's low-cardinality fields — the enums and the
//! flag whose every value holds a large share of the registry (kind, sex, service, rank group,
//! convicted in captivity, the three aftercare steps). A filter on one of them is served by
//! walking the ordering's index (`store::paging`), and an ordering by one of them is of little
//! use; each index cost every insert and update a B-tree write (on PostgreSQL the import was
//! the maintenance of these indexes). Those fields stay filterable and are no longer sortable
//! (`store::schema::PERSON_FILTER_ONLY`). `status` keeps its index: its rare values (captive,
//! missing) are the registry's work lists, selective filters an index serves.
//! BENCHMARKS.md, "Indexes that queries earn", has the planner's choices.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The person columns whose `idx_persons_<column>_id` goes.
pub const DROPPED: &[&str] = &[
    "kind",
    "sex",
    "service",
    "rank_group",
    "convicted_in_captivity",
    "aftercare_medical_examination",
    "aftercare_rehabilitation",
    "aftercare_payments",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in DROPPED {
            m.drop_index(
                Index::drop()
                    .name(format!("idx_persons_{col}_id"))
                    .table("persons")
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
