//! PostgreSQL: the search indexes keep their pending lists short.
//!
//! A GIN index adds new rows to an unsorted pending list (`fastupdate`, on by default)
//! and merges the list into the index only at VACUUM or when it outgrows
//! `gin_pending_list_limit` (4 MB); until then every search reads the whole list. On
//! the 1M benchmark database, after a burst of ingest, the rare-term search spent
//! most of each request in the two lists:
//!
//! - **Contacts** arrive with new customers, in bursts that autovacuum does not follow:
//!   5,000 new contacts made a list of 173 pages and the rare term fell from ~1,090 to
//!   ~380 req/s (3 ms of each request in the list) until `VACUUM contact`. The contact
//!   index now has no pending list: each new contact updates the index when it is
//!   inserted, once per customer.
//! - **Messages** are the ingest path, where batching the index's updates pays, so
//!   their index keeps a pending list, of at most 256 kB instead of 4 MB: after 10 s of
//!   ingest at 64 connections the rare term answered 439–448 req/s with the 4 MB list
//!   (208–281 pages pending) and 1,015–1,042 req/s with 256 kB (3–13 pages), while
//!   ingest itself ran at 2,271–2,402 and 2,358–2,373 msg/s.

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
                "ALTER INDEX contact_search_trgm SET (fastupdate = off)",
                "ALTER INDEX message_text_trgm SET (gin_pending_list_limit = 256)",
                // What is already pending is merged now, not at the next VACUUM.
                "SELECT gin_clean_pending_list('contact_search_trgm'::regclass)",
                "SELECT gin_clean_pending_list('message_text_trgm'::regclass)",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_for_backend(
            manager,
            &[],
            &[
                "ALTER INDEX contact_search_trgm RESET (fastupdate)",
                "ALTER INDEX message_text_trgm RESET (gin_pending_list_limit)",
            ],
        )
        .await
    }
}
