//! The first schema: the three resources, their category links, idempotency records, the
//! change log and the revision counter.
//!
//! Conventions: ids are UUID text; times are microseconds since the Unix epoch (BIGINT), which
//! compare and sort the same on both backends; enums are their proto numbers; repeated text
//! fields are JSON arrays in TEXT, with a link table beside them where filters or references
//! need rows (category codes).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn times(t: &mut TableCreateStatement) -> &mut TableCreateStatement {
    t.col(big_integer("create_time"))
        .col(big_integer("update_time"))
        .col(big_integer("revision"))
}

fn index(table: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(format!("idx_{table}_{}", cols.join("_")))
        .table(Alias::new(table));
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

fn fk(
    from: &str,
    col: &str,
    to: &str,
    to_col: &str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from}_{col}"))
        .from(Alias::new(from), Alias::new(col))
        .to(Alias::new(to), Alias::new(to_col))
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One row: the last revision handed out. Every write transaction increments it first,
        // which serialises writers, so revisions are assigned in commit order.
        m.create_table(
            Table::create()
                .table("registry_revision")
                .col(integer("id").primary_key())
                .col(big_integer("revision"))
                // Change log rows up to here were deleted by compaction: a watch cannot start
                // at or before it.
                .col(big_integer("compacted_revision").default(0))
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::insert()
                .into_table("registry_revision")
                .columns([
                    Alias::new("id"),
                    Alias::new("revision"),
                    Alias::new("compacted_revision"),
                ])
                .values([1.into(), 0i64.into(), 0i64.into()])
                .map_err(|e| DbErr::Migration(e.to_string()))?
                .to_owned(),
        )
        .await?;

        let mut t = Table::create();
        t.table("categories")
            .col(string("id").primary_key())
            .col(string_uniq("code"))
            .col(string("title"))
            .col(text("description"))
            .col(integer("kind"));
        m.create_table(times(&mut t).to_owned()).await?;

        let mut t = Table::create();
        t.table("exchanges")
            .col(string("id").primary_key())
            .col(string("title"))
            .col(date("exchange_date"))
            .col(integer("status"))
            .col(integer_null("exchange_number"))
            .col(integer_null("stage_number"))
            .col(string("framework"))
            .col(string("counterparty"))
            .col(text("mediators"))
            .col(string("location"))
            .col(integer_null("announced_returned_count"))
            .col(integer_null("announced_handed_over_count"))
            .col(text("category_codes"))
            .col(text("source_urls"))
            .col(text("notes"));
        m.create_table(times(&mut t).to_owned()).await?;

        let mut t = Table::create();
        t.table("persons")
            .col(string("id").primary_key())
            .col(integer("kind"))
            .col(string("family_name"))
            .col(string("given_name"))
            .col(string("patronymic"))
            .col(date_null("date_of_birth"))
            .col(string("place_of_birth"))
            .col(integer("sex"))
            .col(string("citizenship"))
            .col(integer("service"))
            .col(string("rank"))
            .col(integer("rank_group"))
            .col(string("unit"))
            .col(string("service_number"))
            .col(date_null("capture_date"))
            .col(string("capture_region"))
            .col(integer("status"))
            .col(string_null("exchange_id"))
            .col(boolean("convicted_in_captivity"))
            .col(text("category_codes"))
            .col(integer("aftercare_medical_examination"))
            .col(integer("aftercare_rehabilitation"))
            .col(integer("aftercare_payments"))
            .col(text("notes"))
            .foreign_key(&mut fk(
                "persons",
                "exchange_id",
                "exchanges",
                "id",
                ForeignKeyAction::Restrict,
            ));
        m.create_table(times(&mut t).to_owned()).await?;

        for (table, owner, owner_table) in [
            ("exchange_categories", "exchange_id", "exchanges"),
            ("person_categories", "person_id", "persons"),
        ] {
            m.create_table(
                Table::create()
                    .table(Alias::new(table))
                    .col(string(owner))
                    .col(string("category_code"))
                    .primary_key(Index::create().col(Alias::new(owner)).col("category_code"))
                    .foreign_key(&mut fk(
                        table,
                        owner,
                        owner_table,
                        "id",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        table,
                        "category_code",
                        "categories",
                        "code",
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
            m.create_index(index(table, &["category_code", owner]))
                .await?;
        }

        // AIP-155 request ids: the first response of each (method, request_id), kept so that a
        // retry, even after a restart, returns it instead of writing again.
        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(string("method"))
                .col(string("request_id"))
                .col(string("request_hash"))
                .col(text("response"))
                .col(big_integer("create_time"))
                .primary_key(Index::create().col("method").col("request_id"))
                .to_owned(),
        )
        .await?;

        // Every committed write, in revision order: the source of truth for Watch.
        m.create_table(
            Table::create()
                .table("change_log")
                .col(big_integer("revision"))
                .col(integer("seq"))
                .col(string("resource_type"))
                .col(string("resource_id"))
                .col(string("operation"))
                .col(text("snapshot"))
                // The state before an update (so a filtered watch sees a resource leave).
                .col(text_null("previous"))
                .col(big_integer("change_time"))
                .primary_key(Index::create().col("revision").col("seq"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("change_log", &["resource_type", "resource_id"]))
            .await?;

        // Keyset pagination orders by (key, id): each filterable or sortable column gets an
        // index that ends in id, so a deep page costs what the first page costs. (Long text —
        // descriptions, notes — is neither filterable nor indexed.)
        for (table, col) in [
            ("categories", "kind"),
            ("categories", "title"),
            ("categories", "create_time"),
            ("categories", "update_time"),
            ("exchanges", "exchange_date"),
            ("exchanges", "status"),
            ("exchanges", "exchange_number"),
            ("exchanges", "stage_number"),
            ("exchanges", "title"),
            ("exchanges", "framework"),
            ("exchanges", "counterparty"),
            ("exchanges", "location"),
            ("exchanges", "announced_returned_count"),
            ("exchanges", "announced_handed_over_count"),
            ("exchanges", "create_time"),
            ("exchanges", "update_time"),
            ("persons", "patronymic"),
            ("persons", "place_of_birth"),
            ("persons", "citizenship"),
            ("persons", "rank"),
            ("persons", "unit"),
            ("persons", "convicted_in_captivity"),
            ("persons", "aftercare_medical_examination"),
            ("persons", "aftercare_rehabilitation"),
            ("persons", "aftercare_payments"),
            ("persons", "exchange_id"),
            ("persons", "family_name"),
            ("persons", "given_name"),
            ("persons", "kind"),
            ("persons", "status"),
            ("persons", "service"),
            ("persons", "rank_group"),
            ("persons", "sex"),
            ("persons", "capture_date"),
            ("persons", "capture_region"),
            ("persons", "date_of_birth"),
            ("persons", "service_number"),
            ("persons", "create_time"),
            ("persons", "update_time"),
        ] {
            m.create_index(index(table, &[col, "id"])).await?;
        }
        Ok(())
    }
}
