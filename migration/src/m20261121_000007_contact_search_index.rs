//! PostgreSQL: one trigram index over a contact's searchable fields together instead
//! of one per field.
//!
//! With four indexes, a search's `name OR username OR phone OR email` had to combine
//! four GIN scans, and the planner, which prices `lower()` and `LIKE` as nearly free,
//! chose to scan the workspace's contacts instead: ~13 ms on 10,000 contacts for a
//! term that matched none. One expression over the four fields (joined by a newline)
//! is one index scan (~0.06 ms there), and a new contact updates one index instead
//! of four. The query keeps the per-field conditions as a recheck, so a term cannot
//! match across the joins. SQLite's FTS5 table already covers the fields together.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The indexed expression; `chats::term_condition` writes the same text so the
/// planner recognises it.
pub const CONTACT_SEARCH_EXPRESSION: &str = "lower(\"contact\".\"name\"::text || E'\\n' || \
     coalesce(\"contact\".\"username\"::text, '') || E'\\n' || coalesce(\"contact\".\"phone\"::text, '') || \
     E'\\n' || coalesce(\"contact\".\"email\"::text, ''))";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let create = format!(
            "CREATE INDEX IF NOT EXISTS contact_search_trgm ON contact USING gin ({CONTACT_SEARCH_EXPRESSION} gin_trgm_ops)"
        );
        let postgres = [
            create.as_str(),
            "DROP INDEX IF EXISTS contact_name_trgm",
            "DROP INDEX IF EXISTS contact_username_trgm",
            "DROP INDEX IF EXISTS contact_phone_trgm",
            "DROP INDEX IF EXISTS contact_email_trgm",
        ];
        crate::execute_for_backend(manager, &[], &postgres).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_for_backend(
            manager,
            &[],
            &[
                "CREATE INDEX IF NOT EXISTS contact_name_trgm ON contact USING gin (lower(name) gin_trgm_ops)",
                "CREATE INDEX IF NOT EXISTS contact_username_trgm ON contact USING gin (lower(username) gin_trgm_ops)",
                "CREATE INDEX IF NOT EXISTS contact_phone_trgm ON contact USING gin (lower(phone) gin_trgm_ops)",
                "CREATE INDEX IF NOT EXISTS contact_email_trgm ON contact USING gin (lower(email) gin_trgm_ops)",
                "DROP INDEX IF EXISTS contact_search_trgm",
            ],
        )
        .await
    }
}
