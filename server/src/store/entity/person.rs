use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "persons")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: i32,
    pub family_name: String,
    pub given_name: String,
    pub patronymic: String,
    pub date_of_birth: Option<Date>,
    pub place_of_birth: String,
    pub sex: i32,
    pub citizenship: String,
    pub service: i32,
    pub rank: String,
    pub rank_group: i32,
    pub unit: String,
    pub service_number: String,
    pub capture_date: Option<Date>,
    pub capture_region: String,
    pub status: i32,
    pub exchange_id: Option<String>,
    pub convicted_in_captivity: bool,
    /// JSON array of category codes (rows in `person_categories` too).
    pub category_codes: String,
    pub aftercare_medical_examination: i32,
    pub aftercare_rehabilitation: i32,
    pub aftercare_payments: i32,
    pub notes: String,
    pub restricted: bool,
    pub create_time: i64,
    pub update_time: i64,
    pub revision: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::exchange::Entity",
        from = "Column::ExchangeId",
        to = "super::exchange::Column::Id"
    )]
    Exchange,
}

impl Related<super::exchange::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Exchange.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
