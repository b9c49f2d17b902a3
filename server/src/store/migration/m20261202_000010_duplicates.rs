//! Duplicate candidates: every person's blocking keys (`domain::duplicates::blocking_keys`),
//! the candidate pairs found when a person is written, the pairs a reviewer dismissed, and the
//! merges (so that the id of a merged-away person answers with its survivor). Keys of the
//! persons already stored are backfilled; their candidates are found when they are next written.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::domain::{PersonFields, duplicates::blocking_keys};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade(table: &str, column: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(Alias::new(table), Alias::new(column))
        .to(Alias::new("persons"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut key = string("key");
        if m.get_database_backend() == DbBackend::Postgres {
            key.extra("COLLATE \"C\"");
        }
        m.create_table(
            Table::create()
                .table("person_match_keys")
                .col(string("person_id"))
                .col(key)
                .primary_key(Index::create().col("person_id").col("key"))
                .foreign_key(&mut cascade("person_match_keys", "person_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_person_match_keys_key_person_id")
                .table("person_match_keys")
                .col("key")
                .col("person_id")
                .to_owned(),
        )
        .await?;
        // One row per pair, `person_id < other_person_id`; score in hundredths.
        m.create_table(
            Table::create()
                .table("duplicate_candidates")
                .col(string("person_id"))
                .col(string("other_person_id"))
                .col(integer("score"))
                .col(text("reasons"))
                .col(big_integer("revision"))
                .col(big_integer("find_time"))
                .primary_key(Index::create().col("person_id").col("other_person_id"))
                .foreign_key(&mut cascade("duplicate_candidates", "person_id"))
                .foreign_key(&mut cascade("duplicate_candidates", "other_person_id"))
                .to_owned(),
        )
        .await?;
        // The registry's list, best first; and a person's candidates on either side.
        m.create_index(
            Index::create()
                .name("idx_duplicate_candidates_score")
                .table("duplicate_candidates")
                .col("score")
                .col("person_id")
                .col("other_person_id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_duplicate_candidates_other_person_id")
                .table("duplicate_candidates")
                .col("other_person_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("duplicate_dismissals")
                .col(string("person_id"))
                .col(string("other_person_id"))
                .col(text("reason"))
                .col(big_integer("revision"))
                .col(big_integer("dismiss_time"))
                .primary_key(Index::create().col("person_id").col("other_person_id"))
                .foreign_key(&mut cascade("duplicate_dismissals", "person_id"))
                .foreign_key(&mut cascade("duplicate_dismissals", "other_person_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_duplicate_dismissals_other_person_id")
                .table("duplicate_dismissals")
                .col("other_person_id")
                .to_owned(),
        )
        .await?;
        // No foreign key: the duplicate is gone, and the survivor may itself be merged later
        // (a lookup follows the chain).
        m.create_table(
            Table::create()
                .table("person_merges")
                .col(string("duplicate_id").primary_key())
                .col(string("survivor_id"))
                .col(big_integer("revision"))
                .col(big_integer("merge_time"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_person_merges_survivor_id")
                .table("person_merges")
                .col("survivor_id")
                .to_owned(),
        )
        .await?;

        let db = m.get_connection();
        let select = Query::select()
            .columns([
                Alias::new("id"),
                Alias::new("family_name"),
                Alias::new("given_name"),
                Alias::new("service_number"),
                Alias::new("date_of_birth"),
                Alias::new("aliases"),
            ])
            .from(Alias::new("persons"))
            .to_owned();
        let mut pairs = Vec::new();
        for row in db.query_all(&select).await? {
            let aliases: String = row.try_get("", "aliases")?;
            let fields = PersonFields {
                family_name: row.try_get("", "family_name")?,
                given_name: row.try_get("", "given_name")?,
                service_number: row.try_get("", "service_number")?,
                date_of_birth: row.try_get("", "date_of_birth")?,
                aliases: serde_json::from_str(&aliases).unwrap_or_default(),
                ..Default::default()
            };
            let id: String = row.try_get("", "id")?;
            for k in blocking_keys(&fields) {
                pairs.push((id.clone(), k));
            }
        }
        for chunk in pairs.chunks(1000) {
            let mut insert = Query::insert();
            insert
                .into_table(Alias::new("person_match_keys"))
                .columns([Alias::new("person_id"), Alias::new("key")]);
            for (id, k) in chunk {
                insert
                    .values([id.clone().into(), k.clone().into()])
                    .map_err(|e| DbErr::Migration(e.to_string()))?;
            }
            db.execute(&insert).await?;
        }
        Ok(())
    }
}
