//! PostgreSQL: the message texts' trigram index reads across the spaces and the
//! punctuation between words.
//!
//! `pg_trgm` cuts a text into words (letters and digits) and takes the trigrams of
//! each word alone, so a phrase's trigrams are those of its words: "kyiv lviv odesa",
//! three common words, rare together (569 of ten million messages in the 1M benchmark
//! database), found 40,305 candidates in the index, every one rechecked on its row,
//! 480–700 ms a search. The index is now over the lower-cased text with each space,
//! comma and full stop replaced by an upper-case letter, which `pg_trgm` takes for a
//! letter: the words run together, and a phrase has trigrams across its words ("iv
//! lv" gives "ivq", "vql", "qlv") that only texts with the words side by side hold.
//! SQLite's FTS5 trigrams already span spaces.
//!
//! The search writes the same expression on both sides of its `LIKE` (the pattern
//! replaced alike), and it matches exactly what `lower(text) LIKE pattern`
//! matched: `lower()` leaves no upper-case letter, so the replacement is one to one
//! on both sides. `pg_trgm` lower-cases its trigrams, so "q" from a space shares
//! trigrams with a real "q": that only adds candidates, which the recheck drops. A
//! single word's trigrams are those it had (its `LIKE` pattern is open at both ends,
//! so `pg_trgm` took no trigrams padded at the word's edges from it).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The characters that join words in the indexed text, each with the upper-case letter
/// it becomes: a space, a comma and a full stop, which stand between the words of
/// most phrases searched for. Each is one `replace`, about 0.05 µs a text; one
/// `translate` of sixteen characters cost 5 µs a text (in a scan of a million
/// messages, 6.5 s against 1.3 s for `lower` alone).
const JOINERS: [(char, char); 3] = [(' ', 'Q'), (',', 'C'), ('.', 'D')];

/// `value` (SQL: a lower-cased text, or a `LIKE` pattern of one) with the characters
/// that join words replaced by letters. The index is over
/// `message_search("lower(\"message\".\"text\")")`, which `chats::term_condition`
/// writes alike, so that the planner recognises it, and matches against the pattern
/// replaced the same way.
pub fn message_search(value: &str) -> String {
    JOINERS.iter().fold(value.to_owned(), |inner, (joiner, letter)| {
        format!("replace({inner}, '{joiner}', '{letter}')")
    })
}

/// Whether `c` is one of the characters `message_search` replaces by a letter: one
/// that joins the words of a phrase in the indexed text.
pub fn joins_words(c: char) -> bool {
    JOINERS.iter().any(|(joiner, _)| *joiner == c)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let create = format!(
            "CREATE INDEX IF NOT EXISTS message_search_trgm ON message USING gin ({text} gin_trgm_ops) \
             WITH (gin_pending_list_limit = 256)",
            text = message_search("lower(\"message\".\"text\")"),
        );
        // The new expression's statistics: without them PostgreSQL takes any term for
        // rare and reads a common one's every match through the index (the probe of
        // "delivery", in a quarter of ten million messages: 0.46–0.86 s, not 0.03).
        crate::execute_for_backend(
            manager,
            &[],
            &[
                create.as_str(),
                "DROP INDEX IF EXISTS message_text_trgm",
                "ANALYZE message",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_for_backend(
            manager,
            &[],
            &[
                "CREATE INDEX IF NOT EXISTS message_text_trgm ON message USING gin (lower(text) gin_trgm_ops) \
                 WITH (gin_pending_list_limit = 256)",
                "DROP INDEX IF EXISTS message_search_trgm",
            ],
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_joining_character_becomes_a_letter_of_its_own() {
        let letters: std::collections::HashSet<char> = JOINERS.iter().map(|(_, letter)| *letter).collect();
        assert_eq!(letters.len(), JOINERS.len());
        for (joiner, letter) in JOINERS {
            assert!(letter.is_ascii_uppercase());
            // A pattern's wildcards, its escape and the literal's quote stay as they are.
            assert!(!['%', '_', '\\', '\''].contains(&joiner));
        }
        assert!(joins_words(' ') && joins_words(',') && joins_words('.'));
        assert!(!joins_words('q') && !joins_words('-') && !joins_words('\n'));
        assert_eq!(
            message_search("x"),
            "replace(replace(replace(x, ' ', 'Q'), ',', 'C'), '.', 'D')"
        );
    }
}
