//! The rest of a person's record under GC III Art. 122 and GC IV Art. 136-138: mother's maiden
//! name, the Power depended on, last residence, address for correspondence, distinguishing
//! marks, identity documents, aliases and the persons to be informed (the repeated ones as
//! JSON, like the other repeated fields). Existing persons get them empty.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite's ALTER TABLE adds one at a time.
        for column in [
            string("mother_maiden_name").default(""),
            string("power_depended_on").default(""),
            string("last_residence").default(""),
            string("correspondence_address").default(""),
            text("distinguishing_marks").default(""),
            text("identity_documents").default("[]"),
            text("aliases").default("[]"),
            text("contacts").default("[]"),
        ] {
            m.alter_table(
                Table::alter()
                    .table("persons")
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
