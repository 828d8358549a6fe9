//! Chats, their messages and their forward (assignment) history, with the indexes
//! that the chat list, the message pages and idempotent writes rely on.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261121_000001_create_workspace_tables::{Operator, Workspace};
use crate::m20261121_000002_create_channel_tables::{Channel, Contact};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn workspace_fk<T: IntoIden + 'static, C: IntoIden + 'static>(table: T, col: C) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Workspace::Table, Workspace::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Chat::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Chat::Id))
                    .col(big_integer(Chat::WorkspaceId))
                    .col(big_integer(Chat::ContactId))
                    .col(string(Chat::State))
                    .col(big_integer_null(Chat::OperatorId))
                    .col(integer(Chat::UnreadCount))
                    .col(big_integer_null(Chat::LastMessageId))
                    .col(timestamp_with_time_zone(Chat::LastActivityAt))
                    .col(timestamp_with_time_zone(Chat::CreatedAt))
                    .col(timestamp_with_time_zone(Chat::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Chat::ClosedAt))
                    .col(integer(Chat::Version))
                    .foreign_key(&mut workspace_fk(Chat::Table, Chat::WorkspaceId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Chat::Table, Chat::ContactId)
                            .to(Contact::Table, Contact::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Chat::Table, Chat::OperatorId)
                            .to(Operator::Table, Operator::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Message::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Message::Id))
                    .col(big_integer(Message::WorkspaceId))
                    .col(big_integer(Message::ChatId))
                    .col(big_integer(Message::ChannelId))
                    .col(string(Message::Direction))
                    .col(boolean(Message::Internal))
                    .col(string(Message::ContentType))
                    .col(text(Message::Text))
                    .col(string_null(Message::MediaUrl))
                    .col(string(Message::SenderType))
                    .col(big_integer_null(Message::SenderOperatorId))
                    .col(string(Message::Status))
                    .col(string_null(Message::IdempotencyKey))
                    .col(string_null(Message::RequestHash))
                    .col(string_null(Message::ExternalId))
                    .col(timestamp_with_time_zone(Message::CreatedAt))
                    .col(timestamp_with_time_zone_null(Message::DeliveredAt))
                    .col(timestamp_with_time_zone_null(Message::SeenAt))
                    .col(timestamp_with_time_zone_null(Message::EditedAt))
                    .col(timestamp_with_time_zone_null(Message::DeletedAt))
                    .foreign_key(&mut workspace_fk(Message::Table, Message::WorkspaceId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Message::Table, Message::ChatId)
                            .to(Chat::Table, Chat::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Message::Table, Message::ChannelId)
                            .to(Channel::Table, Channel::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Message::Table, Message::SenderOperatorId)
                            .to(Operator::Table, Operator::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Assignment::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Assignment::Id))
                    .col(big_integer(Assignment::WorkspaceId))
                    .col(big_integer(Assignment::ChatId))
                    .col(big_integer_null(Assignment::FromOperatorId))
                    .col(big_integer(Assignment::ToOperatorId))
                    .col(big_integer(Assignment::ByOperatorId))
                    .col(text(Assignment::Text))
                    .col(timestamp_with_time_zone(Assignment::CreatedAt))
                    .foreign_key(&mut workspace_fk(Assignment::Table, Assignment::WorkspaceId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Assignment::Table, Assignment::ChatId)
                            .to(Chat::Table, Chat::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        crate::execute_all(
            manager,
            &[
                // One chat per contact: inbound messages find it, `GET /contacts/{id}/chat` answers it.
                "CREATE UNIQUE INDEX IF NOT EXISTS chat_contact ON chat (contact_id)",
                // The chat list is always "most recent activity first" inside one workspace;
                // each filter gets an index whose prefix is its equality columns.
                "CREATE INDEX IF NOT EXISTS chat_activity ON chat (workspace_id, last_activity_at, id)",
                "CREATE INDEX IF NOT EXISTS chat_state_activity ON chat (workspace_id, state, last_activity_at, id)",
                "CREATE INDEX IF NOT EXISTS chat_operator_activity ON chat (workspace_id, operator_id, last_activity_at, id)",
                "CREATE INDEX IF NOT EXISTS chat_operator_state_activity ON chat (workspace_id, operator_id, state, last_activity_at, id)",
                "CREATE INDEX IF NOT EXISTS chat_unread_activity ON chat (workspace_id, last_activity_at, id) WHERE unread_count > 0",
                "CREATE INDEX IF NOT EXISTS chat_unread_state_activity ON chat (workspace_id, state, last_activity_at, id) WHERE unread_count > 0",
                "CREATE INDEX IF NOT EXISTS message_chat ON message (chat_id, id)",
                "CREATE INDEX IF NOT EXISTS message_chat_created ON message (chat_id, created_at, id)",
                "CREATE UNIQUE INDEX IF NOT EXISTS message_idempotency ON message (workspace_id, idempotency_key)",
                "CREATE UNIQUE INDEX IF NOT EXISTS message_external ON message (channel_id, external_id)",
                "CREATE INDEX IF NOT EXISTS message_outbox ON message (channel_id, id) WHERE status = 'pending' AND direction = 'outgoing' AND internal = false",
                "CREATE INDEX IF NOT EXISTS message_unread ON message (chat_id, id) WHERE direction = 'incoming' AND status <> 'read'",
                "CREATE INDEX IF NOT EXISTS assignment_chat ON assignment (chat_id, id)",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Assignment::Table.into_iden(),
            Message::Table.into_iden(),
            Chat::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum Chat {
    Table,
    Id,
    WorkspaceId,
    ContactId,
    State,
    OperatorId,
    UnreadCount,
    LastMessageId,
    LastActivityAt,
    CreatedAt,
    UpdatedAt,
    ClosedAt,
    Version,
}

#[derive(DeriveIden)]
enum Message {
    Table,
    Id,
    WorkspaceId,
    ChatId,
    ChannelId,
    Direction,
    Internal,
    ContentType,
    Text,
    MediaUrl,
    SenderType,
    SenderOperatorId,
    Status,
    IdempotencyKey,
    RequestHash,
    ExternalId,
    CreatedAt,
    DeliveredAt,
    SeenAt,
    EditedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Assignment {
    Table,
    Id,
    WorkspaceId,
    ChatId,
    FromOperatorId,
    ToOperatorId,
    ByOperatorId,
    Text,
    CreatedAt,
}
