use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
    pub url: String,
    /// The event types it receives, as a JSON array of strings.
    #[sea_orm(column_type = "Text")]
    pub types: String,
    pub secret: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
    #[sea_orm(has_many)]
    pub deliveries: HasMany<super::webhook_delivery::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
