//! Person events: a person's timeline. `date` is the first day of what is known of the date
//! (`date_precision` says how much); `restricted` mirrors the person's mark, so lists and
//! watches leave an event out for exactly the callers who may not see its person. Indexes:
//! one person's timeline in order, and the fields lists filter on across persons.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(format!("idx_person_events_{}", cols.join("_")))
        .table(Alias::new("person_events"));
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
                .table("person_events")
                .col(string("id").primary_key())
                .col(big_integer("create_time"))
                .col(big_integer("update_time"))
                .col(big_integer("revision"))
                .col(string("person_id"))
                .col(integer("event_type"))
                .col(date("date"))
                .col(integer("date_precision"))
                .col(string("place"))
                .col(string_null("exchange_id"))
                .col(integer("care_status"))
                .col(integer_null("amount_minor_units"))
                .col(string("amount_currency"))
                .col(string("source"))
                .col(text("notes"))
                .col(boolean("restricted").default(false))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_person_events_person_id")
                        .from(Alias::new("person_events"), Alias::new("person_id"))
                        .to(Alias::new("persons"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_person_events_exchange_id")
                        .from(Alias::new("person_events"), Alias::new("exchange_id"))
                        .to(Alias::new("exchanges"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        for cols in [
            &["person_id", "date", "create_time", "id"][..],
            &["event_type", "date", "id"],
            &["date", "id"],
            &["exchange_id", "id"],
            &["create_time", "id"],
            &["update_time", "id"],
        ] {
            m.create_index(index(cols)).await?;
        }
        Ok(())
    }
}
