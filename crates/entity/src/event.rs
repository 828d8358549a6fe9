use sea_orm::entity::prelude::*;

/// One change in a workspace, written in the same transaction as the change.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
    #[sea_orm(column_name = "type")]
    pub kind: String,
    pub chat_id: Option<i64>,
    /// The changed resource as the API returns it, as JSON text.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
