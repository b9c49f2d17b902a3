//! Name search: the normalised keys of every person's names (see `domain::translit`), one row
//! per key, indexed for prefix ranges. Keys are ASCII; on PostgreSQL the column uses the "C"
//! collation so that a prefix range `[key, key~)` is exact and served by the index. Existing
//! persons are backfilled.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::domain::translit::person_keys;

#[derive(DeriveMigrationName)]
pub struct Migration;

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
                .table("person_name_keys")
                .col(string("person_id"))
                .col(key)
                .primary_key(Index::create().col("person_id").col("key"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_person_name_keys_person_id")
                        .from(Alias::new("person_name_keys"), Alias::new("person_id"))
                        .to(Alias::new("persons"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_person_name_keys_key_person_id")
                .table("person_name_keys")
                .col("key")
                .col("person_id")
                .to_owned(),
        )
        .await?;

        let db = m.get_connection();
        let select = Query::select()
            .columns([
                Alias::new("id"),
                Alias::new("family_name"),
                Alias::new("given_name"),
                Alias::new("patronymic"),
            ])
            .from(Alias::new("persons"))
            .to_owned();
        let rows = db.query_all(&select).await?;
        let mut pairs = Vec::new();
        for row in rows {
            let id: String = row.try_get("", "id")?;
            let f: String = row.try_get("", "family_name")?;
            let g: String = row.try_get("", "given_name")?;
            let p: String = row.try_get("", "patronymic")?;
            for k in person_keys(&f, &g, &p) {
                pairs.push((id.clone(), k));
            }
        }
        for chunk in pairs.chunks(1000) {
            let mut insert = Query::insert();
            insert
                .into_table(Alias::new("person_name_keys"))
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
