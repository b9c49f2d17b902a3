//! Schema migrations, run at start-up (`Store::open`). One file per migration, named
//! `m<date>_<nnn>_<what>.rs`; a migration once released is never edited, only followed.

use sea_orm_migration::prelude::*;

mod m20261125_000001_initial;
mod m20261125_000002_person_name_keys;
mod m20261125_000003_access_audit;
mod m20261201_000004_person_father_name;
mod m20261201_000005_person_record;
mod m20261201_000006_person_events;
mod m20261201_000007_person_history;
mod m20261202_000008_external_ids;
mod m20261202_000009_audit_request_id;
mod m20261202_000010_duplicates;
pub(crate) mod m20261203_000011_lean_person_indexes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_initial::Migration),
            Box::new(m20261125_000002_person_name_keys::Migration),
            Box::new(m20261125_000003_access_audit::Migration),
            Box::new(m20261201_000004_person_father_name::Migration),
            Box::new(m20261201_000005_person_record::Migration),
            Box::new(m20261201_000006_person_events::Migration),
            Box::new(m20261201_000007_person_history::Migration),
            Box::new(m20261202_000008_external_ids::Migration),
            Box::new(m20261202_000009_audit_request_id::Migration),
            Box::new(m20261202_000010_duplicates::Migration),
            Box::new(m20261203_000011_lean_person_indexes::Migration),
        ]
    }
}
