use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub revision: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i32,
    pub resource_type: String,
    pub resource_id: String,
    /// CREATED, UPDATED or DELETED.
    pub operation: String,
    /// The resource's versioned record (`store::record`) after the change (before it, for deletions).
    pub snapshot: String,
    /// JSON of the resource before an update; NULL otherwise.
    pub previous: Option<String>,
    pub change_time: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
