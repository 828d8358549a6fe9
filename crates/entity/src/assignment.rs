use sea_orm::entity::prelude::*;

/// One forward of a chat to an operator, with the text that went with it.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignment")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: i64,
    pub chat_id: i64,
    pub from_operator_id: Option<i64>,
    pub to_operator_id: i64,
    pub by_operator_id: i64,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "chat_id", to = "id")]
    pub chat: HasOne<super::chat::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
