use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "exchanges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub title: String,
    pub exchange_date: Date,
    pub status: i32,
    pub exchange_number: Option<i32>,
    pub stage_number: Option<i32>,
    pub framework: String,
    pub counterparty: String,
    /// JSON array of strings.
    pub mediators: String,
    pub location: String,
    pub announced_returned_count: Option<i32>,
    pub announced_handed_over_count: Option<i32>,
    /// JSON array of category codes (rows in `exchange_categories` too).
    pub category_codes: String,
    /// JSON array of strings.
    pub source_urls: String,
    pub notes: String,
    pub create_time: i64,
    pub update_time: i64,
    pub revision: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::person::Entity")]
    Person,
}

impl Related<super::person::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Person.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
