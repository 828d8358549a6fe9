//! Webhook deliveries queued by the database: a trigger on `event` inserts one
//! pending delivery for each active webhook of the event's workspace that lists the
//! event's type (or lists none). Every write that records events then costs no
//! extra statement for its deliveries, and no writer can forget them.
//!
//! A webhook's `types` is the JSON array its create request was validated into
//! (`["chat.read","message.created"]`, or `[]` for every type); event type names
//! hold no quotes, so `"<type>"` within it is an exact element match.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE TRIGGER IF NOT EXISTS event_webhook_deliveries AFTER INSERT ON event BEGIN
        INSERT INTO webhook_delivery (webhook_id, event_id, status, attempts, next_attempt_at, created_at)
        SELECT w.id, new.id, 'pending', 0, new.created_at, new.created_at FROM webhook w
        WHERE w.workspace_id = new.workspace_id AND w.active
          AND (w.types = '[]' OR w.types LIKE '%\"' || new.type || '\"%')
        ORDER BY w.id;
     END",
];

const SQLITE_DOWN: &[&str] = &["DROP TRIGGER IF EXISTS event_webhook_deliveries"];

const POSTGRES_UP: &[&str] = &[
    "CREATE OR REPLACE FUNCTION event_webhook_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
        INSERT INTO webhook_delivery (webhook_id, event_id, status, attempts, next_attempt_at, created_at)
        SELECT w.id, NEW.id, 'pending', 0, NEW.created_at, NEW.created_at FROM webhook w
        WHERE w.workspace_id = NEW.workspace_id AND w.active
          AND (w.types = '[]' OR w.types LIKE '%\"' || NEW.type || '\"%')
        ORDER BY w.id;
        RETURN NULL;
     END $$",
    "DROP TRIGGER IF EXISTS event_webhook_deliveries ON event",
    "CREATE TRIGGER event_webhook_deliveries AFTER INSERT ON event
     FOR EACH ROW EXECUTE FUNCTION event_webhook_deliveries()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS event_webhook_deliveries ON event",
    "DROP FUNCTION IF EXISTS event_webhook_deliveries()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_for_backend(manager, SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_for_backend(manager, SQLITE_DOWN, POSTGRES_DOWN).await
    }
}
