//! PostgreSQL: the unique indexes on channel external ids lead with the external id.
//!
//! The inbound writer looks a batch's ids up with `channel_id = $1 AND external_id
//! IN (...)`. Until PostgreSQL's statistics have seen a channel (a new channel, until
//! autovacuum analyzes a table that may hold millions of rows), the planner expects
//! one row for that channel and reads the `(channel_id, external_id)` index on the
//! channel alone, checking each of its rows against the list: every batch scanned
//! the whole channel (27 ms for a channel of 59,000 messages, growing with it). With
//! the external id first, the list is the index's leading key and each id is one
//! probe (0.07 ms), whatever the statistics say. SQLite's planner already probes
//! both columns, so its indexes stay as they are.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_for_backend(
            manager,
            &[],
            &[
                "CREATE UNIQUE INDEX IF NOT EXISTS message_external_first ON message (external_id, channel_id)",
                "DROP INDEX IF EXISTS message_external",
                "CREATE UNIQUE INDEX IF NOT EXISTS contact_external_first ON contact (external_id, channel_id)",
                "DROP INDEX IF EXISTS contact_channel_external",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_for_backend(
            manager,
            &[],
            &[
                "CREATE UNIQUE INDEX IF NOT EXISTS message_external ON message (channel_id, external_id)",
                "DROP INDEX IF EXISTS message_external_first",
                "CREATE UNIQUE INDEX IF NOT EXISTS contact_channel_external ON contact (channel_id, external_id)",
                "DROP INDEX IF EXISTS contact_external_first",
            ],
        )
        .await
    }
}
