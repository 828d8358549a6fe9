use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workspace")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub created_at: DateTimeUtc,
    #[sea_orm(has_many)]
    pub operators: HasMany<super::operator::Entity>,
    #[sea_orm(has_many)]
    pub channels: HasMany<super::channel::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
