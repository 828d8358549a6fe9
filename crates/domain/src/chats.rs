//! Chats as operators work them: the filtered, paged list; one chat; read, close,
//! reopen and forward, each in one transaction that also bumps the chat's version.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{assignment, channel, chat, contact, message, operator};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

use crate::auth::Caller;
use crate::db::begin_write;
use crate::direct::{Decode, Row};
use crate::error::{Error, ErrorCode, Result};
use crate::events::{self, EventKind};
use crate::limits::TOTAL_CAP;
use crate::paging::{Cursor, PageRequest, count_capped};
use crate::rows::{chat_at, contact_at};
use crate::text::{ForwardText, SearchTerm};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatState {
    Open,
    Closed,
}

impl ChatState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChatState::Open => "open",
            ChatState::Closed => "closed",
        }
    }
}

/// `selector[name]` with its `selector[operatorId]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selector {
    None,
    /// Only chats assigned to this operator.
    Private(i64),
    /// Only chats with unread incoming messages.
    Unread,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorName {
    None,
    Private,
    Unread,
}

impl Selector {
    pub fn parse(name: Option<SelectorName>, operator_id: Option<i64>) -> Result<Self> {
        match name.unwrap_or(SelectorName::None) {
            SelectorName::None => Ok(Selector::None),
            SelectorName::Unread => Ok(Selector::Unread),
            SelectorName::Private => operator_id.map(Selector::Private).ok_or_else(|| {
                Error::new(
                    ErrorCode::OperatorIdRequired,
                    "selector[name]=private needs selector[operatorId]",
                )
            }),
        }
    }
}

/// The chat list's filters, already parsed.
#[derive(Clone, Debug)]
pub struct ChatFilter {
    pub term: Option<SearchTerm>,
    pub state: Option<ChatState>,
    pub selector: Selector,
}

/// A chat with everything its API representation shows.
#[derive(Clone, Debug)]
pub struct ChatView {
    pub chat: chat::Model,
    pub contact: contact::Model,
    pub channel: channel::Model,
    pub operator: Option<operator::Model>,
    pub last_message: Option<LastMessage>,
}

/// What a chat shows of its last message.
#[derive(Clone, Debug)]
pub struct LastMessage {
    pub id: i64,
    pub direction: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

impl From<message::Model> for LastMessage {
    fn from(m: message::Model) -> Self {
        LastMessage {
            id: m.id,
            direction: m.direction,
            text: m.text,
            created_at: m.created_at,
        }
    }
}

/// A forward with the operators it names.
#[derive(Clone, Debug)]
pub struct AssignmentView {
    pub assignment: assignment::Model,
    pub from: Option<operator::Model>,
    pub to: Option<operator::Model>,
    pub by: Option<operator::Model>,
}

#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &ChatFilter,
    page: PageRequest,
) -> Result<(Cursor, Vec<ChatView>)> {
    // The state and the unread filter are written into the statement, not bound:
    // PostgreSQL then plans each list once per connection. With `state = $2` it
    // re-planned every open or closed list (its generic plan, priced for an unknown
    // state, never beat a custom one), and with `unread_count > $2` its generic plan
    // could not use the unread lists' partial indexes.
    let mut filters = vec![chat::Column::WorkspaceId.eq(caller.workspace_id)];
    if let Some(state) = filter.state {
        filters.push(Expr::col((chat::Entity, chat::Column::State)).eq(Expr::Constant(state.as_str().into())));
    }
    match filter.selector {
        Selector::None => {}
        Selector::Private(operator_id) => {
            let known = operators_by_id(db, [operator_id]).await?;
            if known
                .get(&operator_id)
                .is_none_or(|op| op.workspace_id != caller.workspace_id)
            {
                return Err(Error::operator_not_found(operator_id));
            }
            filters.push(chat::Column::OperatorId.eq(operator_id));
        }
        Selector::Unread => {
            filters.push(Expr::col((chat::Entity, chat::Column::UnreadCount)).gt(Expr::Constant(0i32.into())));
        }
    }
    let mut query = chat::Entity::find();
    for condition in &filters {
        query = query.filter(condition.clone());
    }
    let backend = db.get_database_backend();
    // Which database: the caches of totals and of search probes are kept per database.
    let scope = crate::db::scope(db);
    // Whether the page is cut from a rare term's collected matches before contacts
    // and last messages are joined (below). Not on PostgreSQL, where the page's bounds
    // would be bound inside a subquery and the statement planned at each request.
    let mut cut_first = false;
    // What counts the list's total (see `Total`): the list's own query, walked until
    // 10,001 chats match, unless the term's matches can be counted from the indexes.
    let mut counted = None;
    if let Some(term) = &filter.term {
        let common = commonness(db, scope, term).await?;
        cut_first = backend == DbBackend::Sqlite && term.is_indexable() && !common.anywhere();
        let walked = query
            .clone()
            .filter(term_condition(backend, caller.workspace_id, term, common));
        if backend == DbBackend::Sqlite && term.is_indexable() && common.contacts_gatherable && !common.messages_dense {
            counted = Some(Total::Streamed {
                filters: filters.clone(),
                term: term.clone(),
                narrowed: common.narrowed,
                // (A term rare in messages has all its matches read: no budget.)
                budget: common.messages.then_some(COUNTED_MESSAGES),
                walk: walked.clone(),
            });
        } else if common.counted_gathered() {
            let gathered = term_condition(backend, caller.workspace_id, term, Common::default());
            counted = Some(Total::Capped(query.clone().filter(gathered).into_query()));
        }
        query = walked;
    }
    let counted = counted.unwrap_or_else(|| Total::Capped(query.clone().into_query()));
    let key = format!(
        "{}|{}|{:?}|{:?}|{:?}",
        scope, caller.workspace_id, filter.state, filter.selector, filter.term
    );
    let generation = crate::cache::generation();
    let in_list_order = |query: sea_orm::Select<chat::Entity>| {
        query
            .order_by_desc(chat::Column::LastActivityAt)
            .order_by_desc(chat::Column::Id)
    };
    let mut rows = in_list_order(query.clone())
        .limit(page.limitation)
        .offset(page.offset());
    if cut_first {
        // A rare term's matches are collected and sorted, not walked in list order:
        // sort them by their chats alone and cut the page, then join contacts and last
        // messages to the page's chats only, not to every match (57 matches at 1M
        // chats: the statement 206 → 173 µs, the request 7 % fewer instructions).
        let page_ids = rows.select_only().column(chat::Column::Id).into_query();
        rows = in_list_order(chat::Entity::find().filter(chat::Column::Id.in_subquery(page_ids)));
    }
    let views = joined_views(db, rows).await?;
    // A short page tells the total (as `paging::page_of` does): a search for a new
    // term, whose total nothing has counted yet, then needs no count.
    if let Some(total) = crate::paging::known_total(&page, views.len()) {
        total_cache().put(key, total, generation);
        return Ok((Cursor::new(page, total), views));
    }
    let total = match total_cache().get_or_refresh(&key, generation, TOTAL_STALE_LIMIT) {
        Some((total, true)) => total,
        Some((total, false)) => {
            // Older than the TTL but no local change since: answer it and recount in
            // the background, so that no request waits for a recount of up to
            // 10,001 rows; and only one recount of a list at a time, which on a busy
            // database may take longer than the TTL.
            if let Some(flight) = total_counts().try_start(&key) {
                let db = db.clone();
                tokio::spawn(async move {
                    let _flight = flight;
                    match counted.count(&db).await {
                        Ok(total) => total_cache().put(key, total, generation),
                        Err(err) => tracing::warn!("recounting a chat list total failed: {err}"),
                    }
                });
            }
            total
        }
        None => {
            // Requests for a list nothing has counted yet wait for one count, not one
            // each: 32 requests for a common term's first page ran 32 counts of
            // 10,001 chats at once.
            let _flight = total_counts().wait(&key).await;
            match total_cache().get_or_refresh(&key, generation, TOTAL_STALE_LIMIT) {
                Some((total, _)) => total,
                None => {
                    let total = counted.count(db).await?;
                    total_cache().put(key.clone(), total, generation);
                    total
                }
            }
        }
    };
    Ok((Cursor::new(page, total), views))
}

/// The views of the chats the query selects, in its order: chats, their contacts and
/// last messages in one statement (channels and operators come from their caches).
///
/// Of the last message only what a chat shows is selected (4 of its 20 columns): the
/// driver copies every selected value of every row into an allocation of its own, so
/// each column left out saves 20 allocations and frees per page. The rows are decoded
/// by position, chat columns in the order of its model's fields, then the last
/// message's four, then the contact's fields: reading them by name would format and
/// look up a name for each column of every row, a third of a chat list's CPU time.
async fn joined_views(db: &DatabaseConnection, query: sea_orm::Select<chat::Entity>) -> Result<Vec<ChatView>> {
    use sea_orm::Iterable;
    use sea_orm::sea_query::{Alias, JoinType};
    let last = Alias::new("last_message");
    let mut statement = query.into_query();
    statement
        .join_as(
            JoinType::LeftJoin,
            message::Entity,
            last.clone(),
            Expr::col((last.clone(), message::Column::Id)).equals((chat::Entity, chat::Column::LastMessageId)),
        )
        .join(
            JoinType::LeftJoin,
            contact::Entity,
            Expr::col((contact::Entity, contact::Column::Id)).equals((chat::Entity, chat::Column::ContactId)),
        )
        .columns(LAST_MESSAGE_COLUMNS.map(|c| (last.clone(), c)))
        .columns(contact::Column::iter().map(|c| (contact::Entity, c)));
    let rows = crate::direct::fetch_all::<JoinedRow>(db, db.get_database_backend().build(&statement)).await?;
    complete_views(db, rows).await
}

/// The columns of a chat's last message that `joined_views` selects, in
/// `LastMessage`'s field order.
const LAST_MESSAGE_COLUMNS: [message::Column; 4] = [
    message::Column::Id,
    message::Column::Direction,
    message::Column::Text,
    message::Column::CreatedAt,
];

/// One row of `joined_views`: chat, last message (all NULL when the chat has none)
/// and contact.
struct JoinedRow;

impl Decode for JoinedRow {
    type Out = (chat::Model, contact::Model, Option<LastMessage>);
    fn decode<R: Row>(row: &R) -> Result<Self::Out> {
        let mut at = 0;
        let chat = chat_at(row, &mut at)?;
        let last_message = match row.get::<Option<i64>>(at)? {
            Some(id) => Some(LastMessage {
                id,
                direction: row.get(at + 1)?,
                text: row.get(at + 2)?,
                created_at: row.get(at + 3)?,
            }),
            None => None,
        };
        at += LAST_MESSAGE_COLUMNS.len();
        let contact = contact_at(row, &mut at)?;
        debug_assert_eq!(at, row_width());
        Ok((chat, contact, last_message))
    }
}

/// Columns of a `joined_views` row.
fn row_width() -> usize {
    use sea_orm::Iterable;
    chat::Column::iter().count() + LAST_MESSAGE_COLUMNS.len() + contact::Column::iter().count()
}

/// How long the chat list's totals are reused. Local writes invalidate them at
/// once (see `cache::generation`); another replica's writes show within this time
/// plus one recount, which runs in the background once a total is older.
pub const TOTAL_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// A total older than this is counted again before answering.
const TOTAL_STALE_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

fn total_cache() -> &'static crate::cache::TtlCache<String, u64> {
    static CACHE: std::sync::OnceLock<crate::cache::TtlCache<String, u64>> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| crate::cache::TtlCache::new(TOTAL_CACHE_TTL, 10_000))
}

/// The chat list totals being counted.
fn total_counts() -> &'static crate::cache::Flights {
    static FLIGHTS: std::sync::OnceLock<crate::cache::Flights> = std::sync::OnceLock::new();
    FLIGHTS.get_or_init(crate::cache::Flights::new)
}

/// A term found in more messages, or more contacts, than this is "common" there (see
/// `term_condition`).
const COMMON_TERM_MATCHES: i64 = 2_000;

/// A term in no more contacts than this has its list's total counted from its
/// matches in the contacts' index (on PostgreSQL only where it is rare in messages),
/// though its pages may walk chats (see `list`, `Total`). Measured on PostgreSQL at a
/// million chats (first request, count included): a term in 72,000 contacts, within
/// closed chats, 0.64 s gathered against 1.8 s walking; in 214,000 contacts 1.0 s
/// against 0.26 s; in 666,000, 2.4 s against 0.13 s.
const GATHERED_CONTACTS: i64 = 100_000;

/// How many of a term's matching messages SQLite's count from the index reads
/// (`Total::Streamed`) before it leaves the count to the walk of chats: a term in more
/// messages than this and within few of the listed chats (a selective filter) is
/// counted faster by walking the filtered chats. Reading 100,000 matches took 0.17 s
/// (a term in a fifth of ten million messages, one operator's closed chats).
const COUNTED_MESSAGES: u64 = 100_000;

/// Where a search term is common: in message texts, in contact fields, both or
/// neither. A side where it is rare has its few matches gathered through its index; a
/// side where it is common is checked chat by chat while chats are walked in list
/// order, which stops after a page of matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Common {
    messages: bool,
    contacts: bool,
    /// Whether it is in no more than `GATHERED_CONTACTS` contacts.
    contacts_gatherable: bool,
    /// SQLite: whether it is common in messages and its first matches are dense, at
    /// least one message in 20 (see `Total`).
    messages_dense: bool,
    /// PostgreSQL: whether it is common in messages but in no more than
    /// `COUNTED_MESSAGES` of them, as estimated from how far apart its first matches
    /// lie (see `Common::counted_gathered`).
    messages_sparse: bool,
    /// SQLite: the few of its trigrams its messages are looked up by, when fewer than
    /// all of them (see `narrowing`).
    narrowed: Option<Narrowed>,
    /// PostgreSQL: whether its messages are looked up by its junctions alone, each
    /// candidate's text then checked for the whole term (see `junctions_narrow`).
    junctions: bool,
}

impl Common {
    /// From the term's matches in messages (counted up to a cap above
    /// `COMMON_TERM_MATCHES`) and in contacts (above `GATHERED_CONTACTS`).
    fn of(messages: i64, contacts: i64) -> Self {
        Common {
            messages: messages > COMMON_TERM_MATCHES,
            contacts: contacts > COMMON_TERM_MATCHES,
            contacts_gatherable: contacts <= GATHERED_CONTACTS,
            messages_dense: false,
            messages_sparse: false,
            narrowed: None,
            junctions: false,
        }
    }

    fn anywhere(self) -> bool {
        self.messages || self.contacts
    }

    /// Whether PostgreSQL counts its list's total from its gathered matches: a term
    /// in no more than `GATHERED_CONTACTS` contacts, common in contacts only or in
    /// few enough messages (`messages_sparse`). Its pages walk chats checking each
    /// one's contact or messages, and so would its count, until 10,001 chats match:
    /// the whole workspace for a term in 0.2 % of the contacts, and 4–6 s at a million
    /// chats for one in 3 % of the chats' messages ("kyiv lviv": 31,000 messages),
    /// whose matches the message index gives in 0.35 s (34,900 candidates, since it
    /// holds trigrams across words; 253,633 before). A term in more messages is
    /// walked: the index gives its matches only all at once, as a bitmap built from
    /// its trigrams' whole lists (a quarter of ten million messages for `delivery`),
    /// where the walk finds 10,001 of its chats within the first 40,000.
    fn counted_gathered(self) -> bool {
        self.contacts_gatherable && ((self.contacts && !self.messages) || self.messages_sparse)
    }
}

/// How a chat list's total is counted, up to `TOTAL_CAP + 1`.
#[derive(Clone, Debug)]
enum Total {
    /// The rows of a query, counted up to the cap: for a term common somewhere, a walk
    /// of the listed chats checking each one, until 10,001 match.
    Capped(sea_orm::sea_query::SelectStatement),
    /// SQLite, a term in no more than `GATHERED_CONTACTS` contacts and not dense in
    /// messages (`Common::messages_dense`): the listed chats of its matches, read from
    /// both indexes (`streamed_count`); `walk` counts them when the term is in more than
    /// `COUNTED_MESSAGES` messages and those give fewer than 10,001 chats. A term in
    /// one message in 20 or more is walked at once: the walk finds 10,001 of its chats
    /// within some 25,000, where the index would give many matches per chat counted
    /// and, under a selective filter, most of them outside it (a fifth of ten million
    /// messages, closed chats: 0.2 s from the index against 0.05 s walking). Its
    /// statements are built only when a count runs: most requests take a cached total.
    Streamed {
        filters: Vec<Expr>,
        term: SearchTerm,
        narrowed: Option<Narrowed>,
        budget: Option<u64>,
        walk: sea_orm::Select<chat::Entity>,
    },
}

impl Total {
    async fn count(self, db: &DatabaseConnection) -> Result<u64, sea_orm::DbErr> {
        match self {
            Total::Capped(select) => count_capped(db, select).await,
            Total::Streamed {
                filters,
                term,
                narrowed,
                budget,
                walk,
            } => {
                let statement = streamed_count(&filters, &term, narrowed, budget);
                let (total, complete): (i64, bool) = match db.query_one_raw(statement).await? {
                    Some(row) => (row.try_get("", "n")?, row.try_get("", "complete")?),
                    None => (0, true),
                };
                if complete {
                    Ok(total as u64)
                } else {
                    count_capped(db, walk.into_query()).await
                }
            }
        }
    }
}

/// SQLite: the chats a term matches within the list's `filters`, counted from its
/// matches in the two FTS indexes: the chats of its matching contacts, then the
/// distinct chats of its matching messages (no more than `budget` of them, read in the
/// index's order) whose contact does not match, each side up to `TOTAL_CAP + 1`.
/// Returns `n`, that count up to the cap, and `complete`, whether it is the whole
/// count (the cap reached, or every matching message read).
///
/// Walking chats in list order, as a common term's pages do, finds 10,001 of a term
/// in 3 % of the chats after some 330,000 chats and their 3.3 million messages: 2.8 s
/// at a million chats, where reading its 31,000 messages from the index takes 0.1 s
/// (the first request of such a term waits for its total). The index is read first:
/// `CROSS JOIN` keeps SQLite's join order, so that the matches stream from it and the
/// count stops at the cap.
fn streamed_count(
    filters: &[Expr],
    term: &SearchTerm,
    narrowed: Option<Narrowed>,
    budget: Option<u64>,
) -> sea_orm::Statement {
    use sea_orm::sea_query::{Alias, Query};
    let phrase = term.fts_phrase();
    let contact_matches = |negated: &str| {
        Expr::cust_with_values(
            format!("\"chat\".\"contact_id\" {negated}IN (SELECT rowid FROM contact_fts WHERE contact_fts MATCH ?)"),
            [phrase.clone()],
        )
    };
    let mut contacts = Query::select();
    contacts.column((chat::Entity, chat::Column::Id)).from(chat::Entity);
    let mut matches = Query::select();
    matches
        .expr_as(Expr::cust("rowid"), Alias::new("id"))
        .from(Alias::new("message_fts"))
        .and_where(sqlite_text_match(term, narrowed));
    if let Some(budget) = budget {
        matches.limit(budget);
    }
    // (`CROSS JOIN` takes no `ON`: the joins' conditions are in the `WHERE`.)
    let found = Alias::new("found");
    let mut messages = Query::select();
    messages
        .distinct()
        .column((chat::Entity, chat::Column::Id))
        .from_subquery(matches, found.clone())
        .cross_join(message::Entity)
        .cross_join(chat::Entity)
        .and_where(Expr::col((message::Entity, message::Column::Id)).equals((found, Alias::new("id"))))
        .and_where(Expr::col((chat::Entity, chat::Column::Id)).equals((message::Entity, message::Column::ChatId)));
    for condition in filters {
        contacts.and_where(condition.clone());
        messages.and_where(condition.clone());
    }
    contacts.and_where(contact_matches("")).limit(TOTAL_CAP + 1);
    messages.and_where(contact_matches("NOT ")).limit(TOTAL_CAP + 1);
    let (contacts, messages) = (DbBackend::Sqlite.build(&contacts), DbBackend::Sqlite.build(&messages));
    // Whether every match was read: the cap reached, or no more than `budget` matches.
    let (complete, complete_values) = match budget {
        Some(budget) => {
            let (all, values) = sqlite_message_ids(term, narrowed, budget + 1);
            (
                format!(
                    "CASE WHEN k + m > {cap} THEN 1 ELSE (SELECT COUNT(*) FROM ({all})) <= {budget} END",
                    cap = TOTAL_CAP,
                ),
                values,
            )
        }
        None => ("1".to_owned(), Vec::new()),
    };
    let sql = format!(
        "SELECT MIN(k + m, {capped}) AS n, {complete} AS complete \
         FROM (SELECT (SELECT COUNT(*) FROM ({contacts})) AS k, (SELECT COUNT(*) FROM ({messages})) AS m)",
        capped = TOTAL_CAP + 1,
        contacts = contacts.sql,
        messages = messages.sql,
    );
    let values = complete_values
        .into_iter()
        .chain(contacts.values.into_iter().flat_map(|values| values.0))
        .chain(messages.values.into_iter().flat_map(|values| values.0));
    sea_orm::Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
}

/// Where the term matches so many rows that walking chats beats gathering matches
/// (the answer is kept for a minute per term; terms of fewer than three characters are
/// never looked up in the indexes and count as rare).
async fn commonness(db: &DatabaseConnection, scope: u64, term: &SearchTerm) -> Result<Common> {
    if !term.is_indexable() {
        return Ok(Common::default());
    }
    static CACHE: std::sync::OnceLock<crate::cache::TtlCache<String, Common>> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| crate::cache::TtlCache::new(std::time::Duration::from_secs(60), 10_000));
    let phrase = term.fts_phrase();
    let key = format!("{scope}|{phrase}");
    if let Some(common) = cache.get(&key, 0) {
        return Ok(common);
    }
    let (messages_cap, contacts_cap) = (COMMON_TERM_MATCHES + 1, GATHERED_CONTACTS + 1);
    let (probe, narrowed) = match db.get_database_backend() {
        // Both tell how far apart its first matching messages lie (`span`, in message
        // ids), from which SQLite judges `Common::messages_dense` and PostgreSQL, with
        // the highest message id (`ids`), `Common::messages_sparse`.
        DbBackend::Sqlite => {
            let narrowed = narrowing(db, term).await?;
            let (ids, values) = sqlite_message_ids(term, narrowed, messages_cap as u64);
            let probe = sea_orm::Statement::from_sql_and_values(
                DbBackend::Sqlite,
                format!(
                    "SELECT found.n AS m, found.span AS span, \
                     (SELECT COUNT(*) FROM (SELECT rowid FROM contact_fts WHERE contact_fts MATCH ? LIMIT ?)) AS k, \
                     NULL AS ids \
                     FROM (SELECT COUNT(*) AS n, MAX(rowid) - MIN(rowid) + 1 AS span FROM ({ids})) AS found"
                ),
                [phrase.clone().into(), contacts_cap.into()].into_iter().chain(values),
            );
            (probe, narrowed)
        }
        backend => {
            let probe = sea_orm::Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT found.n AS m, found.span AS span, \
                     (SELECT COUNT(*) FROM (SELECT 1 FROM contact WHERE {expression} LIKE $1 ESCAPE '\\' LIMIT $3) AS k) AS k, \
                     (SELECT MAX(id) FROM message) AS ids \
                     FROM (SELECT COUNT(*) AS n, MAX(id) - MIN(id) + 1 AS span \
                     FROM (SELECT id FROM message WHERE {texts} LIMIT $2) AS m) AS found",
                    texts = postgres_text_like("$1"),
                    expression = migration::CONTACT_SEARCH_EXPRESSION,
                ),
                [term.like_pattern().into(), messages_cap.into(), contacts_cap.into()],
            );
            (probe, None)
        }
    };
    let (messages, contacts, span, ids): (i64, i64, Option<i64>, Option<i64>) = match db.query_one_raw(probe).await? {
        Some(row) => (
            row.try_get("", "m")?,
            row.try_get("", "k")?,
            row.try_get("", "span")?,
            row.try_get("", "ids")?,
        ),
        None => (0, 0, None, None),
    };
    let mut common = Common::of(messages, contacts);
    // At least one message in 20 (ids are given in order, across workspaces).
    common.messages_dense = common.messages && span.is_some_and(|span| messages * 20 >= span);
    common.messages_sparse = common.messages && span.zip(ids).is_some_and(|(span, ids)| sparse(messages, span, ids));
    common.narrowed = narrowed;
    if db.get_database_backend() == DbBackend::Postgres && !common.messages {
        common.junctions = junctions_narrow(db, scope, term).await?;
    }
    cache.put(key, common, 0);
    Ok(common)
}

/// PostgreSQL: at most this many candidates a term's junctions may give for its
/// messages to be looked up by them (`junctions_narrow`): 2,764 for "kyiv lviv odesa"
/// at ten million messages, 25 ms with their rechecks, where its every trigram took
/// 121 ms.
const JUNCTION_CANDIDATES: i64 = 5_000;

/// PostgreSQL: whether a term rare in messages is looked up faster by its junctions
/// alone (`SearchTerm::junction_pattern`: the characters about the spaces, commas and
/// full stops between its words), its candidates' texts checked for the whole term.
///
/// The index reads the list of every trigram of a pattern, and a phrase of common
/// words, rare as a whole, has long ones: "kyiv lviv odesa" (569 of ten million
/// messages) read its words' lists of some 300,000 messages each, 117 ms of 121,
/// where `%v l%v o%` gave 2,764 candidates in 8 ms. But junctions may be common
/// themselves ("my order"'s `%y o%`: 195,518 candidates, 3.4 s against 0.43 s), and
/// PostgreSQL keeps no frequency of a trigram. So a term is looked up by its
/// junctions when each of its words (of three characters or more) is common in
/// messages (`commonness`, cached; a rare word's short lists make the whole pattern
/// cheap) and its junctions give at most `JUNCTION_CANDIDATES` candidates, counted
/// once (with the term's other probes, once a minute).
///
/// (A boxed future, as it awaits `commonness`, which awaits it.)
fn junctions_narrow<'a>(
    db: &'a DatabaseConnection,
    scope: u64,
    term: &'a SearchTerm,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool>> + Send + 'a>> {
    Box::pin(async move {
        let Some(pattern) = term.junction_pattern(migration::joins_words) else {
            return Ok(false);
        };
        for word in term.words(migration::joins_words) {
            // A word holds no junction, so its own probe goes no further.
            if !commonness(db, scope, &word).await?.messages {
                return Ok(false);
            }
        }
        // `(SELECT $1)`, as the searches write it: the planner, not seeing the pattern,
        // reads the index rather than the table (a scan of every message for a junction
        // found in fewer than the cap).
        let probe = sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "SELECT COUNT(*) AS n FROM (SELECT 1 FROM \"message\" WHERE {texts} LIMIT $2) AS j",
                texts = postgres_text_like("(SELECT $1)"),
            ),
            [pattern.into(), (JUNCTION_CANDIDATES + 1).into()],
        );
        let candidates: i64 = match db.query_one_raw(probe).await? {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        Ok(candidates <= JUNCTION_CANDIDATES)
    })
}

/// Whether a term whose first `found` matching messages lie within `span` message ids
/// is in no more than `COUNTED_MESSAGES` of `ids` messages, supposing it as frequent
/// among them all as among the first (PostgreSQL gives them in the table's order,
/// which is the ids' but for rows updated since).
fn sparse(found: i64, span: i64, ids: i64) -> bool {
    found as f64 * ids as f64 / std::cmp::max(span, 1) as f64 <= COUNTED_MESSAGES as f64
}

/// At most this many of a term's trigrams look its messages up (`Narrowed`).
const NARROWING_TRIGRAMS: usize = 3;

/// How many of a term's trigrams `narrowing` probes at most, spread over the term.
const PROBED_TRIGRAMS: usize = 24;

/// How many of each probed trigram's first matches `narrowing` reads.
const TRIGRAM_SAMPLE: i64 = 200;

/// What rechecking one candidate message costs (its row read and its text searched),
/// in entries of a trigram's list of matches read: measured at ten million messages,
/// 1.3–2.7 µs against ~9 ns for the seeded (short) texts, the lower figure once their
/// pages are cached; a long text costs more to search.
const RECHECK_COST: f64 = 150.0;

/// What looking a trigram up in one of the index's segments costs, in entries of a
/// trigram's list read: FTS5 seeks each term in every segment (a b-tree descent in its
/// `_idx` table and a leaf page read from `_data`). Measured on a million chats' ten
/// million messages: a rare term's nine lists took ~166 µs in 13 segments against ~42
/// µs in one (~1.1 µs a seek, see `seed`); 190 against 50 µs in 15 segments against
/// one.
const SEEK_COST: f64 = 120.0;

/// What share of reading every list a narrowed lookup, its candidates counted, may
/// cost at most: the model prices a recheck from cold rows (`RECHECK_COST`), and a
/// rare term's narrowed lookup measured at 0.47 of every list's (90 against 190 µs, 15
/// segments) where the model gives 0.62.
const NARROWED_SHARE: f64 = 2.0 / 3.0;

/// SQLite: how many segments the message index is in, from its structure record
/// (`id = 10` of `message_fts_data`: a 4-byte cookie, an optional 4-byte version-2
/// marker, then the number of levels and of segments as varints). A live index gains
/// a segment at every commit and FTS5 merges them four at a time per level: 15 to 21
/// of them after some 60,000 messages written in a few thousand commits. One if the
/// record cannot be read.
async fn message_index_segments(db: &DatabaseConnection) -> Result<u32> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            DbBackend::Sqlite,
            "SELECT block FROM message_fts_data WHERE id = 10",
        ))
        .await?;
    let block: Option<Vec<u8>> = match row {
        Some(row) => row.try_get("", "block")?,
        None => None,
    };
    Ok(Ord::max(block.as_deref().and_then(structure_segments).unwrap_or(1), 1))
}

/// The number of segments an FTS5 structure record gives (see
/// `message_index_segments`).
fn structure_segments(block: &[u8]) -> Option<u32> {
    let mut at = 4;
    if block.get(4..8) == Some(&[0xff, 0x00, 0x00, 0x01][..]) {
        at = 8;
    }
    let (_levels, used) = sqlite_varint(block.get(at..)?)?;
    let (segments, _) = sqlite_varint(block.get(at + used..)?)?;
    u32::try_from(segments).ok()
}

/// An SQLite varint (big-endian, seven bits a byte, the ninth byte whole): its value
/// and its length.
fn sqlite_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(9) {
        if i == 8 {
            return Some(((value << 8) | u64::from(byte), 9));
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// SQLite: the trigrams of a term its messages are looked up by, when it has more
/// than these (see `narrowing`): their positions in `SearchTerm::trigrams`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Narrowed {
    at: [u16; NARROWING_TRIGRAMS],
    len: u8,
}

impl Narrowed {
    fn positions(&self) -> &[u16] {
        &self.at[..usize::from(self.len)]
    }

    /// The FTS5 query for the messages holding all its trigrams.
    fn query(self, term: &SearchTerm) -> String {
        let trigrams = term.trigrams();
        let parts: Vec<&str> = self.positions().iter().map(|&at| trigrams[usize::from(at)]).collect();
        SearchTerm::fts_all_of(&parts)
    }
}

/// SQLite: the condition on `message_fts` that its row's message holds the term.
///
/// The index matches a term as the phrase of its trigrams and reads the list of every
/// one of them: "kyiv lviv odesa" (569 messages at ten million) read twelve lists of
/// 18 million entries in all, 160 ms, though two of its trigrams ("v l", "v o"; 60,754
/// and 123,318 messages) are in only 2,764 messages together. A `Narrowed` term is
/// looked up by those few of its trigrams and each candidate's text searched for the
/// whole term with `contains_folded`, as the walk searches it (4 ms for those two).
fn sqlite_text_match(term: &SearchTerm, narrowed: Option<Narrowed>) -> Expr {
    match narrowed {
        None => Expr::cust_with_values("message_fts MATCH ?", [term.fts_phrase()]),
        Some(narrowed) => Expr::cust_with_values(
            "(message_fts MATCH ? AND \
             contains_folded((SELECT text FROM message WHERE message.id = message_fts.rowid), ?))",
            [narrowed.query(term), term.folded().to_owned()],
        ),
    }
}

/// SQLite: a select of the chats (`chat_id`, repeated) of the messages holding the
/// term: its SQL and its values. A `Narrowed` term's candidates are rechecked on the
/// message rows the chats are read from, not each read a second time for its text
/// (as `sqlite_text_match` must, where only the index's rows are at hand).
fn sqlite_message_chats(term: &SearchTerm, narrowed: Option<Narrowed>) -> (String, Vec<sea_orm::Value>) {
    let ids = "SELECT rowid FROM message_fts WHERE message_fts MATCH ?";
    match narrowed {
        None => (
            format!("SELECT m.chat_id FROM message m WHERE m.id IN ({ids})"),
            vec![term.fts_phrase().into()],
        ),
        Some(narrowed) => (
            format!("SELECT m.chat_id FROM message m WHERE m.id IN ({ids}) AND contains_folded(m.text, ?)"),
            vec![narrowed.query(term).into(), term.folded().into()],
        ),
    }
}

/// SQLite: a select of the ids (`rowid`) of the messages holding the term, in id
/// order, no more than `limit` of them: its SQL and its values.
fn sqlite_message_ids(term: &SearchTerm, narrowed: Option<Narrowed>, limit: u64) -> (String, Vec<sea_orm::Value>) {
    use sea_orm::sea_query::{Alias, Query};
    let built = DbBackend::Sqlite.build(
        Query::select()
            .expr(Expr::cust("rowid"))
            .from(Alias::new("message_fts"))
            .and_where(sqlite_text_match(term, narrowed))
            .limit(limit),
    );
    (built.sql, built.values.map(|values| values.0).unwrap_or_default())
}

/// SQLite: whether to look the term's messages up by a few of its trigrams rather
/// than all of them (`sqlite_text_match`), and which.
///
/// Each of the term's trigrams (up to `PROBED_TRIGRAMS`) is probed for how many
/// messages hold it, from how far apart its first `TRIGRAM_SAMPLE` matches lie. The
/// rarest is taken, then the rarest of the rest that share no character with those
/// taken, as long as the recheck each one is expected to save costs more than reading
/// its list (trigrams apart in a text taken as independent). Reading a list costs its
/// entries and a seek in each of the index's segments (`SEEK_COST`), so that in a live
/// index, in many segments, even a rare word is looked up by fewer of its trigrams.
/// The cheapest of the choice's first one, two or three trigrams stands, its
/// candidates counted, if it costs less than `NARROWED_SHARE` of reading every list.
async fn narrowing(db: &DatabaseConnection, term: &SearchTerm) -> Result<Option<Narrowed>> {
    let trigrams = term.trigrams();
    if trigrams.len() < 2 {
        return Ok(None);
    }
    let probed: Vec<usize> = if trigrams.len() <= PROBED_TRIGRAMS {
        (0..trigrams.len()).collect()
    } else {
        (0..PROBED_TRIGRAMS)
            .map(|k| k * (trigrams.len() - 1) / (PROBED_TRIGRAMS - 1))
            .collect()
    };
    // (Two sub-selects: SQLite reads a `MIN` or `MAX` alone from the index's end, but
    // both in one select from every row.)
    let mut sql = String::from(
        "SELECT -1 AS i, (SELECT MAX(id) FROM message) - (SELECT MIN(id) FROM message) + 1 AS n, NULL AS span",
    );
    for k in 0..probed.len() {
        sql.push_str(&format!(
            " UNION ALL SELECT {k}, COUNT(*), MAX(rowid) - MIN(rowid) + 1 \
             FROM (SELECT rowid FROM message_fts WHERE message_fts MATCH ? LIMIT {limit})",
            limit = TRIGRAM_SAMPLE + 1
        ));
    }
    let values = probed
        .iter()
        .map(|&at| sea_orm::Value::from(SearchTerm::fts_all_of(&[trigrams[at]])));
    let rows = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(DbBackend::Sqlite, sql, values))
        .await?;
    // Messages (ids) in all, and each probed trigram's first matches: how many, and
    // how far apart.
    let mut range = 0.0;
    let mut samples = vec![(0.0, None); probed.len()];
    for row in rows {
        let (k, n, span): (i64, Option<i64>, Option<i64>) =
            (row.try_get("", "i")?, row.try_get("", "n")?, row.try_get("", "span")?);
        let n = n.unwrap_or(0) as f64;
        match usize::try_from(k) {
            Err(_) => range = n,
            Ok(k) => samples[k] = (n, span),
        }
    }
    // Each probed trigram's estimated messages.
    let estimates: Vec<f64> = samples
        .into_iter()
        .map(|(n, span)| match span {
            Some(span) if n > TRIGRAM_SAMPLE as f64 => TRIGRAM_SAMPLE as f64 * range / span as f64,
            _ => n,
        })
        .collect();
    if range < 1.0 {
        return Ok(None);
    }
    // Reading a list: its entries, and a seek in each of the index's segments.
    let segments = f64::from(message_index_segments(db).await?);
    let list = |entries: f64| entries + SEEK_COST * segments;
    // Reading every trigram's list, the unprobed ones taken at the probed ones' mean.
    let every = list(estimates.iter().sum::<f64>() / probed.len() as f64) * trigrams.len() as f64;
    let mut by_rarity: Vec<usize> = (0..probed.len()).collect();
    by_rarity.sort_by(|&a, &b| estimates[a].total_cmp(&estimates[b]));
    let mut chosen: Vec<usize> = Vec::new();
    let mut candidates = range;
    for k in by_rarity {
        if chosen.len() == NARROWING_TRIGRAMS {
            break;
        }
        if chosen.iter().any(|&c| probed[c].abs_diff(probed[k]) < 3) {
            continue;
        }
        let share = (estimates[k] / range).min(1.0);
        let after = if chosen.is_empty() {
            estimates[k]
        } else {
            candidates * share
        };
        if !chosen.is_empty() && RECHECK_COST * (candidates - after) <= list(estimates[k]) {
            continue;
        }
        chosen.push(k);
        candidates = after;
    }
    // Each of the choice's first one, two or three trigrams, its candidates counted up
    // to what still beats reading every list (the trigrams of one word are found
    // together, not apart as the choice assumed): the cheapest stands.
    let mut best: Option<(f64, Narrowed, i64)> = None;
    let mut narrowed = Narrowed::default();
    let mut read = 0.0;
    for &k in &chosen {
        narrowed.at[usize::from(narrowed.len)] = probed[k] as u16;
        narrowed.len += 1;
        read += list(estimates[k]);
        let worth = ((every * NARROWED_SHARE - read) / RECHECK_COST).floor() as i64;
        if worth < 1 {
            break;
        }
        let count = sea_orm::Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT COUNT(*) AS n FROM (SELECT rowid FROM message_fts WHERE message_fts MATCH ? LIMIT ?)",
            [narrowed.query(term).into(), (worth + 1).into()],
        );
        let counted = match db.query_one_raw(count).await? {
            Some(row) => row.try_get::<i64>("", "n")?,
            None => 0,
        };
        let cost = read + RECHECK_COST * counted as f64;
        if counted <= worth && best.is_none_or(|(least, _, _)| cost < least) {
            best = Some((cost, narrowed, counted));
        }
    }
    tracing::debug!(
        term = term.folded(),
        trigrams = trigrams.len(),
        segments,
        every = every.round(),
        by = best.map(|(_, narrowed, _)| narrowed.query(term)),
        cost = best.map(|(cost, _, _)| cost.round()),
        candidates = best.map(|(_, _, counted)| counted),
        "how the term's messages are looked up"
    );
    Ok(best.map(|(_, narrowed, _)| narrowed))
}

/// Case-insensitive substring match over the contact's name, username, phone and
/// e-mail, and over the chat's message texts, through the search indexes: FTS5
/// trigram tables on SQLite, `pg_trgm` GIN indexes on PostgreSQL (one over the four
/// contact fields together, see migration 7, rechecked field by field). Trigram indexes
/// need three characters, so a shorter term matches contact fields only (within the
/// workspace) and never scans message texts.
///
/// Each side (message texts, contact fields) is searched as the term's `Common` says:
/// where the term is rare, its matches are gathered through the index; where it is
/// common, each chat walked in list order is checked on its own messages or its own
/// contact (a surname in 47,600 of a million contacts gathered as many chats to show
/// 20).
/// SQLite's own `lower()` and `LIKE` fold ASCII only; the checks on SQLite use
/// `contains_folded` (see `fold`), which folds every script, as the index does.
fn term_condition(backend: DbBackend, workspace_id: i64, term: &SearchTerm, common: Common) -> Condition {
    let pattern = term.like_pattern();
    if !term.is_indexable() {
        let contacts = match backend {
            DbBackend::Sqlite => Expr::cust_with_values(
                format!(
                    "\"chat\".\"contact_id\" IN (SELECT k.id FROM contact k WHERE k.workspace_id = ? AND {fields})",
                    fields = sqlite_contact_fields()
                ),
                std::iter::once(sea_orm::Value::from(workspace_id))
                    .chain(std::iter::repeat_n(sea_orm::Value::from(term.folded()), 4)),
            ),
            _ => postgres_search(
                format!("\"chat\".\"contact_id\" IN ({})", postgres_contact_matches(false)),
                pattern,
                workspace_id,
                None,
            ),
        };
        return Condition::all().add(contacts);
    }
    match (backend, common.anywhere()) {
        // A rare term: collect the few chats it matches (through the indexes), then
        // list them; one IN over a UNION lets the database start from the matches.
        (DbBackend::Sqlite, false) => {
            let (chats, values) = sqlite_message_chats(term, common.narrowed);
            Condition::all().add(Expr::cust_with_values(
                format!(
                    "\"chat\".\"id\" IN ({chats} \
                     UNION SELECT c.id FROM chat c WHERE c.contact_id IN (SELECT rowid FROM contact_fts WHERE contact_fts MATCH ?))"
                ),
                values.into_iter().chain([sea_orm::Value::from(term.fts_phrase())]),
            ))
        }
        // PostgreSQL: the matches of the two trigram indexes, each gathered into an
        // array once per execution, which the planner takes for a few ids each, so
        // that it fetches the matching chats by primary key and by contact.
        (_, false) => {
            let junctions = postgres_junctions(term, common);
            Condition::all().add(postgres_search(
                format!(
                    "(\"chat\".\"id\" = ANY(ARRAY(SELECT \"message\".\"chat_id\" FROM \"message\" WHERE {texts})) \
                     OR \"chat\".\"contact_id\" = ANY(ARRAY({contacts})))",
                    texts = postgres_message_match(junctions.as_deref()),
                    contacts = postgres_contact_matches(true),
                ),
                pattern,
                workspace_id,
                junctions,
            ))
        }
        // Common somewhere: walk chats in list order. A common side is checked on each
        // chat's own rows; a rare side's matches are gathered once (SQLite keeps them
        // in a temporary index, PostgreSQL hashes them) and each chat looked up there.
        (DbBackend::Sqlite, true) => {
            let folded = || sea_orm::Value::from(term.folded());
            let phrase = || sea_orm::Value::from(term.fts_phrase());
            let contacts = if common.contacts {
                Expr::cust_with_values(
                    format!(
                        "EXISTS (SELECT 1 FROM contact k WHERE k.id = \"chat\".\"contact_id\" AND {fields})",
                        fields = sqlite_contact_fields()
                    ),
                    std::iter::repeat_with(folded).take(4),
                )
            } else {
                Expr::cust_with_values(
                    "\"chat\".\"contact_id\" IN (SELECT rowid FROM contact_fts WHERE contact_fts MATCH ?)",
                    [phrase()],
                )
            };
            let messages = if common.messages {
                Expr::cust_with_values(
                    "EXISTS (SELECT 1 FROM message m WHERE m.chat_id = \"chat\".\"id\" AND contains_folded(m.text, ?))",
                    [folded()],
                )
            } else {
                let (chats, values) = sqlite_message_chats(term, common.narrowed);
                Expr::cust_with_values(format!("\"chat\".\"id\" IN ({chats})"), values)
            };
            Condition::any().add(contacts).add(messages)
        }
        // `OFFSET 0` keeps PostgreSQL from turning a per-chat EXISTS into a hashed `IN`
        // over every matching row of the workspace (it prices the probe for every
        // chat, not the page's few): 72 ms → 0.7 ms for a term in a fifth of 100,000
        // messages.
        // A common side's texts are checked chat by chat on the lower-cased text
        // alone: the walk reads no trigram index, so it needs none of the index's
        // replacements (`postgres_text_like`).
        (_, true) => {
            let contacts = if common.contacts {
                format!(
                    "EXISTS(SELECT 1 FROM \"contact\" WHERE \"contact\".\"id\" = \"chat\".\"contact_id\" \
                     AND \"contact\".\"workspace_id\" = $2 AND {fields} OFFSET 0)",
                    fields = postgres_contact_fields()
                )
            } else {
                format!("\"chat\".\"contact_id\" IN ({})", postgres_contact_matches(true))
            };
            let junctions = postgres_junctions(term, common);
            let messages = if common.messages {
                format!(
                    "EXISTS(SELECT 1 FROM \"message\" WHERE \"message\".\"chat_id\" = \"chat\".\"id\" AND {texts} OFFSET 0)",
                    texts = postgres_like("\"message\".\"text\"")
                )
            } else {
                format!(
                    "\"chat\".\"id\" IN (SELECT \"message\".\"chat_id\" FROM \"message\" WHERE {texts})",
                    texts = postgres_message_match(junctions.as_deref())
                )
            };
            Condition::all().add(postgres_search(
                format!("({contacts} OR {messages})"),
                pattern,
                workspace_id,
                junctions,
            ))
        }
    }
}

/// The four contact fields of `contact k` checked with `contains_folded` (SQLite), one
/// bound value each: the folded term.
fn sqlite_contact_fields() -> &'static str {
    "(contains_folded(k.name, ?) OR contains_folded(k.username, ?) OR contains_folded(k.phone, ?) \
     OR contains_folded(k.email, ?))"
}

/// A search condition for PostgreSQL, written with `$1` for the pattern and `$2` for
/// the workspace.
///
/// PostgreSQL plans a prepared statement anew for each execution while it sees a value
/// its plan depends on, and a search's pattern is one (its selectivity is estimated
/// from the column's statistics): planning took 1–2 ms of each search, 3–10 times its
/// execution. The pattern is therefore given as `(SELECT $1)`, a value PostgreSQL
/// computes once per execution and cannot see into while planning, so that each
/// search statement is planned once per connection, for every term, as the chat lists
/// are; the trigram indexes still take it (an index condition may hold such a value).
///
/// A condition written with `postgres_message_match` also takes the term's junctions'
/// pattern (`postgres_junctions`) as `$3` where it reads them.
fn postgres_search(sql: String, pattern: String, workspace_id: i64, junctions: Option<String>) -> Expr {
    let values = [pattern.into(), workspace_id.into()]
        .into_iter()
        .chain(junctions.map(sea_orm::Value::from));
    Expr::cust_with_values(sql, values)
}

/// `column` (SQL) lower-cased and matched against the pattern of `postgres_search`.
fn postgres_like(column: &str) -> String {
    format!("lower({column}) LIKE (SELECT $1) ESCAPE '\\'")
}

/// A message's text matched against `pattern` (SQL: the lower-cased `LIKE` pattern)
/// through the message index (migration 10): both sides with the characters between
/// words replaced alike, which matches what `lower(text) LIKE pattern` matches.
fn postgres_text_like(pattern: &str) -> String {
    format!(
        "{text} LIKE {pattern} ESCAPE '\\'",
        text = migration::message_search("lower(\"message\".\"text\")"),
        pattern = migration::message_search(pattern),
    )
}

/// The pattern of the term's junctions where its messages are looked up by them
/// (`Common::junctions`), for `postgres_message_match` and `postgres_search`.
fn postgres_junctions(term: &SearchTerm, common: Common) -> Option<String> {
    common
        .junctions
        .then(|| term.junction_pattern(migration::joins_words))
        .flatten()
}

/// The messages holding the term, for `postgres_search`: through the message
/// index by the term's pattern (`$1`), or, given its junctions' pattern
/// (`postgres_junctions`), by that (`$3`), each candidate's lower-cased text then
/// matched against the term's pattern (not the index's expression, which would read
/// every trigram again).
fn postgres_message_match(junctions: Option<&str>) -> String {
    match junctions {
        Some(_) => format!(
            "{junctions} AND {whole}",
            junctions = postgres_text_like("(SELECT $3)"),
            whole = postgres_like("\"message\".\"text\"")
        ),
        None => postgres_text_like("(SELECT $1)"),
    }
}

/// The ids of the workspace's contacts matching `postgres_search`'s pattern, checked
/// field by field; `indexed`: through the four fields' trigram index (migration 7)
/// first, which a term of fewer than three characters cannot use.
fn postgres_contact_matches(indexed: bool) -> String {
    let index = if indexed {
        format!(
            "AND {expression} LIKE (SELECT $1) ESCAPE '\\' ",
            expression = migration::CONTACT_SEARCH_EXPRESSION
        )
    } else {
        String::new()
    };
    format!(
        "SELECT \"contact\".\"id\" FROM \"contact\" WHERE \"contact\".\"workspace_id\" = $2 {index}AND {fields}",
        fields = postgres_contact_fields(),
    )
}

/// The four fields of `"contact"` matched one by one against `postgres_search`'s
/// pattern.
fn postgres_contact_fields() -> String {
    let field = |name: &str| postgres_like(&format!("\"contact\".\"{name}\""));
    format!(
        "({name} OR {username} OR {phone} OR {email})",
        name = field("name"),
        username = field("username"),
        phone = field("phone"),
        email = field("email"),
    )
}

/// Loads contacts, channels, assignees and last messages of `chats`.
pub async fn load_views<C: ConnectionTrait>(db: &C, chats: Vec<chat::Model>) -> Result<Vec<ChatView>> {
    if chats.is_empty() {
        return Ok(Vec::new());
    }
    let contacts: HashMap<i64, contact::Model> = contact::Entity::find()
        .filter(contact::Column::Id.is_in(chats.iter().map(|c| c.contact_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let pairs = chats
        .into_iter()
        .map(|chat| {
            let contact = contacts
                .get(&chat.contact_id)
                .cloned()
                .ok_or_else(|| Error::internal(format!("chat {} has no contact", chat.id)))?;
            Ok((chat, contact))
        })
        .collect::<Result<Vec<_>>>()?;
    views_of(db, pairs).await
}

/// Channels rarely change and operators' names do not: both are kept for a minute.
const DIRECTORY_TTL: std::time::Duration = std::time::Duration::from_secs(60);

fn channel_cache() -> &'static crate::cache::TtlCache<i64, channel::Model> {
    static CACHE: std::sync::OnceLock<crate::cache::TtlCache<i64, channel::Model>> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| crate::cache::TtlCache::new(DIRECTORY_TTL, 10_000))
}

pub(crate) async fn channels_by_id<C: ConnectionTrait>(db: &C, ids: Vec<i64>) -> Result<HashMap<i64, channel::Model>> {
    let mut found = HashMap::new();
    let mut missing = Vec::new();
    for id in ids {
        match channel_cache().get(&id, 0) {
            Some(channel) => {
                found.insert(id, channel);
            }
            None => missing.push(id),
        }
    }
    if !missing.is_empty() {
        for channel in channel::Entity::find()
            .filter(channel::Column::Id.is_in(missing))
            .all(db)
            .await?
        {
            channel_cache().put(channel.id, channel.clone(), 0);
            found.insert(channel.id, channel);
        }
    }
    Ok(found)
}

/// Completes chats (with their contacts) into views: channels, assignees, last messages.
async fn views_of<C: ConnectionTrait>(db: &C, pairs: Vec<(chat::Model, contact::Model)>) -> Result<Vec<ChatView>> {
    let last_ids: Vec<i64> = pairs.iter().filter_map(|(c, _)| c.last_message_id).collect();
    let mut last_messages: HashMap<i64, message::Model> = if last_ids.is_empty() {
        HashMap::new()
    } else {
        message::Entity::find()
            .filter(message::Column::Id.is_in(last_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect()
    };
    let rows = pairs
        .into_iter()
        .map(|(chat, contact)| {
            let last = chat
                .last_message_id
                .and_then(|id| last_messages.remove(&id))
                .map(LastMessage::from);
            (chat, contact, last)
        })
        .collect();
    complete_views(db, rows).await
}

/// Chats with their contacts and last messages, completed with channels and assignees.
pub(crate) async fn complete_views<C: ConnectionTrait>(
    db: &C,
    rows: Vec<(chat::Model, contact::Model, Option<LastMessage>)>,
) -> Result<Vec<ChatView>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let channels = channels_by_id(db, rows.iter().map(|(_, c, _)| c.channel_id).collect()).await?;
    let operators = operators_by_id(
        db,
        rows.iter().filter_map(|(c, _, _)| c.operator_id).collect::<Vec<_>>(),
    )
    .await?;
    rows.into_iter()
        .map(|(chat, contact, last_message)| {
            let channel = channels
                .get(&contact.channel_id)
                .cloned()
                .ok_or_else(|| Error::internal(format!("contact {} has no channel", contact.id)))?;
            Ok(ChatView {
                operator: chat.operator_id.and_then(|id| operators.get(&id).cloned()),
                last_message,
                chat,
                contact,
                channel,
            })
        })
        .collect()
}

pub async fn operators_by_id<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, operator::Model>> {
    let mut found = HashMap::new();
    let mut missing = Vec::new();
    for id in ids {
        match operator_cache().get(&id, 0) {
            Some(op) => {
                found.insert(id, op);
            }
            None => missing.push(id),
        }
    }
    if !missing.is_empty() {
        for op in operator::Entity::find()
            .filter(operator::Column::Id.is_in(missing))
            .all(db)
            .await?
        {
            operator_cache().put(op.id, op.clone(), 0);
            found.insert(op.id, op);
        }
    }
    Ok(found)
}

/// Operators as chats and messages name them (id and name, which never change).
fn operator_cache() -> &'static crate::cache::TtlCache<i64, operator::Model> {
    static CACHE: std::sync::OnceLock<crate::cache::TtlCache<i64, operator::Model>> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| crate::cache::TtlCache::new(DIRECTORY_TTL, 10_000))
}

/// The chat with this id in the caller's workspace; another workspace's chat is
/// "not found", never "forbidden".
pub async fn find_chat<C: ConnectionTrait>(db: &C, caller: &Caller, chat_id: i64) -> Result<chat::Model> {
    chat::Entity::find_by_id(chat_id)
        .filter(chat::Column::WorkspaceId.eq(caller.workspace_id))
        .one(db)
        .await?
        .ok_or_else(|| Error::chat_not_found(chat_id))
}

/// The chat with its contact, in one statement (decoded by position, as in
/// `joined_views`).
pub async fn find_chat_with_contact(
    db: &DatabaseConnection,
    caller: &Caller,
    chat_id: i64,
) -> Result<(chat::Model, contact::Model)> {
    let statement = chat::Entity::find_by_id(chat_id)
        .filter(chat::Column::WorkspaceId.eq(caller.workspace_id))
        .find_also_related(contact::Entity)
        .build(db.get_database_backend());
    crate::direct::fetch_one::<ChatWithContact>(db, statement)
        .await?
        .ok_or_else(|| Error::chat_not_found(chat_id))
}

/// A chat and its contact, one row each.
pub(crate) struct ChatWithContact;

impl Decode for ChatWithContact {
    type Out = (chat::Model, contact::Model);
    fn decode<R: Row>(row: &R) -> Result<Self::Out> {
        let mut at = 0;
        let chat = chat_at(row, &mut at)?;
        let contact = contact_at(row, &mut at)?;
        Ok((chat, contact))
    }
}

/// The chat, locked for this write transaction (`FOR UPDATE` on PostgreSQL; SQLite's
/// IMMEDIATE transactions already serialize writers), and checked against the
/// version the caller last saw (`If-Match`).
pub async fn lock_chat<C: ConnectionTrait>(
    db: &C,
    caller: &Caller,
    chat_id: i64,
    expected_version: Option<i32>,
) -> Result<chat::Model> {
    let chat = chat::Entity::find_by_id(chat_id)
        .filter(chat::Column::WorkspaceId.eq(caller.workspace_id))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| Error::chat_not_found(chat_id))?;
    if let Some(expected) = expected_version
        && expected != chat.version
    {
        return Err(Error::new(
            ErrorCode::VersionMismatch,
            format!(
                "chat {chat_id} is at version {}, not {expected}; read it again",
                chat.version
            ),
        ));
    }
    Ok(chat)
}

pub async fn find_operator<C: ConnectionTrait>(db: &C, caller: &Caller, operator_id: i64) -> Result<operator::Model> {
    operator::Entity::find_by_id(operator_id)
        .filter(operator::Column::WorkspaceId.eq(caller.workspace_id))
        .one(db)
        .await?
        .ok_or_else(|| Error::operator_not_found(operator_id))
}

pub async fn view<C: ConnectionTrait>(db: &C, chat: chat::Model) -> Result<ChatView> {
    load_views(db, vec![chat])
        .await?
        .pop()
        .ok_or_else(|| Error::internal("a loaded chat vanished"))
}

#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn get(db: &DatabaseConnection, caller: &Caller, chat_id: i64) -> Result<ChatView> {
    let query = chat::Entity::find_by_id(chat_id).filter(chat::Column::WorkspaceId.eq(caller.workspace_id));
    joined_views(db, query)
        .await?
        .pop()
        .ok_or_else(|| Error::chat_not_found(chat_id))
}

/// Marks the change on the chat: a new version and `updated_at`.
fn touch(chat: chat::Model, now: DateTime<Utc>) -> chat::ActiveModel {
    let version = chat.version;
    let mut active = chat.into_active_model();
    active.version = Set(version + 1);
    active.updated_at = Set(now);
    active
}

/// Every incoming message of the chat becomes read; the unread count drops to 0.
#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn read(db: &DatabaseConnection, caller: &Caller, chat_id: i64, expected_version: Option<i32>) -> Result<()> {
    let txn = begin_write(db, &[caller.workspace_id]).await?;
    let chat = lock_chat(&txn, caller, chat_id, expected_version).await?;
    let now = Utc::now();
    message::Entity::update_many()
        .col_expr(message::Column::Status, Expr::value("read"))
        .col_expr(message::Column::SeenAt, Expr::value(now))
        .filter(message::Column::ChatId.eq(chat.id))
        .filter(message::Column::Direction.eq("incoming"))
        .filter(message::Column::Status.ne("read"))
        .exec(&txn)
        .await?;
    if chat.unread_count != 0 {
        let mut active = touch(chat, now);
        active.unread_count = Set(0);
        let chat = active.update(&txn).await?;
        events::record_chat(&txn, EventKind::ChatRead, chat.clone()).await?;
        events::record_unread(&txn, &chat).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Sets the chat's state; closing or opening a chat that already is so changes nothing.
#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn set_state(
    db: &DatabaseConnection,
    caller: &Caller,
    chat_id: i64,
    state: ChatState,
    expected_version: Option<i32>,
) -> Result<()> {
    let txn = begin_write(db, &[caller.workspace_id]).await?;
    let chat = lock_chat(&txn, caller, chat_id, expected_version).await?;
    if chat.state != state.as_str() {
        let now = Utc::now();
        let mut active = touch(chat, now);
        active.state = Set(state.as_str().to_owned());
        active.closed_at = Set((state == ChatState::Closed).then_some(now));
        let chat = active.update(&txn).await?;
        let kind = if state == ChatState::Closed {
            EventKind::ChatClosed
        } else {
            EventKind::ChatOpened
        };
        events::record_chat(&txn, kind, chat).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Assigns the chat to an operator and records the forward, with its text, in the
/// chat's assignment history.
#[tracing::instrument(skip(db, text), fields(workspace = caller.workspace_id))]
pub async fn forward(
    db: &DatabaseConnection,
    caller: &Caller,
    chat_id: i64,
    operator_id: i64,
    text: &ForwardText,
    expected_version: Option<i32>,
) -> Result<()> {
    let txn = begin_write(db, &[caller.workspace_id]).await?;
    let chat = lock_chat(&txn, caller, chat_id, expected_version).await?;
    let to = find_operator(&txn, caller, operator_id).await?;
    if !to.active {
        return Err(Error::new(
            ErrorCode::OperatorInactive,
            format!("operator {operator_id} is deactivated and cannot take chats"),
        ));
    }
    let now = Utc::now();
    assignment::ActiveModel {
        workspace_id: Set(caller.workspace_id),
        chat_id: Set(chat.id),
        from_operator_id: Set(chat.operator_id),
        to_operator_id: Set(to.id),
        by_operator_id: Set(caller.operator_id),
        text: Set(text.as_str().to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut active = touch(chat, now);
    active.operator_id = Set(Some(to.id));
    let chat = active.update(&txn).await?;
    events::record_chat(&txn, EventKind::ChatForwarded, chat).await?;
    txn.commit().await?;
    Ok(())
}

/// The chat's forward history, oldest first.
#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn assignments(
    db: &DatabaseConnection,
    caller: &Caller,
    chat_id: i64,
    page: PageRequest,
) -> Result<(Cursor, Vec<AssignmentView>)> {
    let chat = find_chat(db, caller, chat_id).await?;
    let query = assignment::Entity::find().filter(assignment::Column::ChatId.eq(chat.id));
    let total = count_capped(db, query.clone().into_query()).await?;
    let rows = query
        .order_by_asc(assignment::Column::Id)
        .limit(page.limitation)
        .offset(page.offset())
        .all(db)
        .await?;
    let operator_ids: Vec<i64> = rows
        .iter()
        .flat_map(|a| [a.from_operator_id, Some(a.to_operator_id), Some(a.by_operator_id)])
        .flatten()
        .collect();
    let operators = operators_by_id(db, operator_ids).await?;
    let views = rows
        .into_iter()
        .map(|assignment| AssignmentView {
            from: assignment.from_operator_id.and_then(|id| operators.get(&id).cloned()),
            to: operators.get(&assignment.to_operator_id).cloned(),
            by: operators.get(&assignment.by_operator_id).cloned(),
            assignment,
        })
        .collect();
    Ok((Cursor::new(page, total), views))
}

fn check_chat_count(chat_ids: &[i64]) -> Result<()> {
    if chat_ids.len() > crate::limits::MAX_CHATS_PER_REQUEST {
        return Err(Error::new(
            ErrorCode::TooManyChats,
            format!(
                "at most {} chats per request, not {}",
                crate::limits::MAX_CHATS_PER_REQUEST,
                chat_ids.len()
            ),
        ));
    }
    Ok(())
}

/// Unread incoming messages per chat, for the chats that have any.
#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn unread_counts(db: &DatabaseConnection, caller: &Caller) -> Result<Vec<(i64, i32)>> {
    let rows: Vec<(i64, i32)> = chat::Entity::find()
        .select_only()
        .column(chat::Column::Id)
        .column(chat::Column::UnreadCount)
        .filter(chat::Column::WorkspaceId.eq(caller.workspace_id))
        .filter(chat::Column::UnreadCount.gt(0))
        .order_by_asc(chat::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows)
}

/// Reads every chat of the workspace, or just the listed ones (all of which must exist).
#[tracing::instrument(skip(db, chat_ids), fields(workspace = caller.workspace_id))]
pub async fn read_all(db: &DatabaseConnection, caller: &Caller, chat_ids: Option<&[i64]>) -> Result<()> {
    if let Some(ids) = chat_ids {
        check_chat_count(ids)?;
    }
    let txn = begin_write(db, &[caller.workspace_id]).await?;
    let mut chats = chat::Entity::find().filter(chat::Column::WorkspaceId.eq(caller.workspace_id));
    if let Some(ids) = chat_ids {
        let found: Vec<i64> = chat::Entity::find()
            .select_only()
            .column(chat::Column::Id)
            .filter(chat::Column::WorkspaceId.eq(caller.workspace_id))
            .filter(chat::Column::Id.is_in(ids.to_vec()))
            .into_tuple()
            .all(&txn)
            .await?;
        if let Some(missing) = ids.iter().find(|id| !found.contains(id)) {
            return Err(Error::chat_not_found(*missing));
        }
        chats = chats.filter(chat::Column::Id.is_in(ids.to_vec()));
    }
    let unread: Vec<i64> = chats
        .filter(chat::Column::UnreadCount.gt(0))
        .select_only()
        .column(chat::Column::Id)
        .order_by_asc(chat::Column::Id)
        .lock_exclusive()
        .into_tuple()
        .all(&txn)
        .await?;
    let now = Utc::now();
    for ids in unread.chunks(500) {
        message::Entity::update_many()
            .col_expr(message::Column::Status, Expr::value("read"))
            .col_expr(message::Column::SeenAt, Expr::value(now))
            .filter(message::Column::ChatId.is_in(ids.to_vec()))
            .filter(message::Column::Direction.eq("incoming"))
            .filter(message::Column::Status.ne("read"))
            .exec(&txn)
            .await?;
        chat::Entity::update_many()
            .col_expr(chat::Column::UnreadCount, Expr::value(0))
            .col_expr(chat::Column::Version, Expr::col(chat::Column::Version).add(1))
            .col_expr(chat::Column::UpdatedAt, Expr::value(now))
            .filter(chat::Column::Id.is_in(ids.to_vec()))
            .exec(&txn)
            .await?;
        for chat in chat::Entity::find()
            .filter(chat::Column::Id.is_in(ids.to_vec()))
            .all(&txn)
            .await?
        {
            events::record_chat(&txn, EventKind::ChatRead, chat.clone()).await?;
            events::record_unread(&txn, &chat).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Last-activity times of up to 300 chats; unknown and foreign ids are left out.
#[tracing::instrument(skip(db, chat_ids), fields(workspace = caller.workspace_id))]
pub async fn last_activity(
    db: &DatabaseConnection,
    caller: &Caller,
    chat_ids: &[i64],
) -> Result<Vec<(i64, DateTime<Utc>)>> {
    check_chat_count(chat_ids)?;
    Ok(chat::Entity::find()
        .select_only()
        .column(chat::Column::Id)
        .column(chat::Column::LastActivityAt)
        .filter(chat::Column::WorkspaceId.eq(caller.workspace_id))
        .filter(chat::Column::Id.is_in(chat_ids.to_vec()))
        .into_tuple()
        .all(db)
        .await?)
}

/// Sends one text to up to 300 chats in one transaction. Open chats of the
/// workspace get it; closed, unknown and foreign chats do not and are listed so.
#[tracing::instrument(skip(db, chat_ids, text), fields(workspace = caller.workspace_id))]
pub async fn broadcast(
    db: &DatabaseConnection,
    caller: &Caller,
    chat_ids: &[i64],
    text: &crate::text::MessageText,
) -> Result<(Vec<i64>, Vec<i64>)> {
    check_chat_count(chat_ids)?;
    let mut unique = chat_ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let txn = begin_write(db, &[caller.workspace_id]).await?;
    let open: Vec<chat::Model> = chat::Entity::find()
        .filter(chat::Column::WorkspaceId.eq(caller.workspace_id))
        .filter(chat::Column::State.eq("open"))
        .filter(chat::Column::Id.is_in(unique.clone()))
        .order_by_asc(chat::Column::Id)
        .lock_exclusive()
        .all(&txn)
        .await?;
    let message = crate::messages::OutgoingMessage {
        text: text.clone(),
        internal: false,
        idempotency_key: None,
    };
    let mut sent_to = Vec::with_capacity(open.len());
    for chat in open {
        let inserted = crate::messages::insert_outgoing(&txn, caller, &chat, &message, None).await?;
        sent_to.push(chat.id);
        let chat = crate::messages::record_on_chat(&txn, chat, &inserted, 0).await?;
        events::record_message(&txn, EventKind::MessageCreated, &chat, inserted).await?;
    }
    txn.commit().await?;
    let not_sent_to = unique.into_iter().filter(|id| !sent_to.contains(id)).collect();
    Ok((sent_to, not_sent_to))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An admin of the workspace, as a caller.
    fn admin_of(workspace_id: i64) -> Caller {
        Caller {
            workspace_id,
            operator_id: 0,
            role: crate::auth::Role::Admin,
            token_id: 0,
        }
    }

    /// The workspace's first chat's id (the seed's chats are numbered in a row).
    async fn first_chat(db: &DatabaseConnection, workspace_id: i64) -> i64 {
        chat::Entity::find()
            .filter(chat::Column::WorkspaceId.eq(workspace_id))
            .order_by_asc(chat::Column::Id)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    #[test]
    fn private_needs_an_operator_id() {
        let err = Selector::parse(Some(SelectorName::Private), None).unwrap_err();
        assert_eq!(err.code, ErrorCode::OperatorIdRequired);
        assert_eq!(
            Selector::parse(Some(SelectorName::Private), Some(7)).unwrap(),
            Selector::Private(7)
        );
    }

    #[test]
    fn no_selector_means_every_chat() {
        assert_eq!(Selector::parse(None, Some(7)).unwrap(), Selector::None);
    }

    /// A new PostgreSQL database (on `TEST_POSTGRES_URL`, when it is set), migrated,
    /// with one connection to it.
    struct TestPostgres {
        admin: DatabaseConnection,
        name: String,
        url: String,
        db: DatabaseConnection,
    }

    impl TestPostgres {
        async fn migrated(purpose: &str) -> Option<TestPostgres> {
            use migration::MigratorTrait;
            use sea_orm::{ConnectOptions, Database};
            let admin_url = std::env::var("TEST_POSTGRES_URL").ok()?;
            let name = format!("switchboard_{purpose}_{}", std::process::id());
            let admin = Database::connect(&admin_url).await.expect("connect");
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                .await
                .unwrap();
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let (base, _) = admin_url.rsplit_once('/').expect("a database in the URL");
            let url = format!("{base}/{name}");
            let mut options = ConnectOptions::new(url.clone());
            options.max_connections(1).sqlx_logging(false);
            let db = Database::connect(options).await.unwrap();
            migration::Migrator::up(&db, None).await.unwrap();
            Some(TestPostgres { admin, name, url, db })
        }

        async fn drop(self) {
            self.db.close().await.unwrap();
            self.admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {}", self.name))
                .await
                .unwrap();
        }
    }

    /// On PostgreSQL (`TEST_POSTGRES_URL`), each kind of search statement gets one
    /// plan for every term: after PostgreSQL's five custom plans, a connection that
    /// runs it for new terms reuses a generic plan instead of planning each execution.
    #[tokio::test]
    async fn postgresql_plans_a_search_once_for_every_term() {
        use sea_orm::Statement;
        // One connection, so that its prepared statements are the ones listed below.
        let Some(pg) = TestPostgres::migrated("plans").await else {
            return;
        };
        // Statistics of a realistic workspace (the seed ends with VACUUM ANALYZE),
        // from which PostgreSQL would estimate each term's matches if it saw them.
        let seeded = crate::seed::seed(&pg.db, "Plans", 2_000, 10, |_| {}).await.unwrap();
        let terms = [
            "delivery",
            "refund",
            "courier",
            "shevchenko",
            "ivan",
            "outlook",
            "order",
            "status",
            "zanzib",
            "parcel",
        ];
        let kinds = [
            Common::of(0, 0),
            Common::of(COMMON_TERM_MATCHES + 1, 0),
            Common::of(0, COMMON_TERM_MATCHES + 1),
            Common::of(COMMON_TERM_MATCHES + 1, COMMON_TERM_MATCHES + 1),
        ];
        for common in kinds {
            for term in terms {
                let term = SearchTerm::parse(term).unwrap().unwrap();
                let select = chat::Entity::find()
                    .filter(chat::Column::WorkspaceId.eq(seeded.workspace_id))
                    .filter(term_condition(DbBackend::Postgres, seeded.workspace_id, &term, common))
                    .order_by_desc(chat::Column::LastActivityAt)
                    .order_by_desc(chat::Column::Id)
                    .limit(20);
                let statement = crate::plans::with_literal_page_bounds(DbBackend::Postgres.build(&select.into_query()));
                pg.db.query_all_raw(statement).await.unwrap();
            }
        }
        let plans = pg
            .db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
                 WHERE statement LIKE 'SELECT \"chat\".%' AND statement ILIKE '%lower(\"message\".\"text\")%'",
            ))
            .await
            .unwrap();
        assert_eq!(plans.len(), kinds.len(), "a search statement for each kind of term");
        for plan in plans {
            let statement: String = plan.try_get("", "statement").unwrap();
            let generic: i64 = plan.try_get("", "generic_plans").unwrap();
            let custom: i64 = plan.try_get("", "custom_plans").unwrap();
            assert!(
                generic >= 4 && custom <= 6,
                "{generic} generic and {custom} custom plans for {statement}"
            );
        }
        // The service's own connections, pooled and direct, compile no statement.
        let served = crate::db::connect(&pg.url).await.unwrap();
        let show_jit = Statement::from_string(DbBackend::Postgres, "SHOW jit");
        let pooled = served.query_one_raw(show_jit.clone()).await.unwrap().unwrap();
        assert_eq!(pooled.try_get_by_index::<String>(0).unwrap(), "off");
        let readers = crate::pgread::readers_of(&served).expect("direct read connections");
        let direct = readers.rows(&show_jit).await.unwrap();
        assert_eq!(crate::direct::Row::get::<String>(&direct[0], 0).unwrap(), "off");
        crate::pgread::unregister(&served).await;
        served.close().await.unwrap();
        pg.drop().await;
    }

    /// PostgreSQL's plan of `statement`, run (`EXPLAIN (ANALYZE, FORMAT JSON)`), and
    /// every node of it, the outermost first.
    async fn explained(
        db: &DatabaseConnection,
        statement: sea_orm::Statement,
    ) -> (serde_json::Value, Vec<serde_json::Value>) {
        let explain = sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("EXPLAIN (ANALYZE, FORMAT JSON) {}", statement.sql),
            statement.values.map(|values| values.0).unwrap_or_default(),
        );
        let plan: serde_json::Value = db
            .query_one_raw(explain)
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        fn nodes(node: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
            out.push(node.clone());
            for child in node["Plans"].as_array().into_iter().flatten() {
                nodes(child, out);
            }
        }
        let mut all = Vec::new();
        nodes(&plan[0]["Plan"], &mut all);
        (plan, all)
    }

    /// On PostgreSQL, a phrase of common words is looked up in the message index by
    /// the trigrams across its words, so that the index gives few more candidates than
    /// the phrase's own messages; and the replaced match finds exactly the texts
    /// that say the phrase, none where another character stands between the words.
    #[tokio::test]
    async fn postgresql_looks_a_phrase_up_by_the_trigrams_across_its_words() {
        use sea_orm::Statement;
        let Some(pg) = TestPostgres::migrated("phrase").await else {
            return;
        };
        let seeded = crate::seed::seed(&pg.db, "Phrase", 300, 10, |_| {}).await.unwrap();
        // Every message says both words, apart; one in a hundred says them together.
        let texts = [
            "From Kyiv to Lviv, please",
            "Kyiv Lviv express, seat 4",
            "kyiv.lviv",
            "Kyiv\nLviv",
            "kyivqlviv",
        ];
        pg.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE message SET text = CASE WHEN id % 100 = 0 THEN $2 WHEN id = (SELECT MIN(id) FROM message) \
                 THEN $3 WHEN id = (SELECT MIN(id) + 1 FROM message) THEN $4 WHEN id = (SELECT MIN(id) + 2 FROM message) \
                 THEN $5 ELSE $1 END",
                texts.map(sea_orm::Value::from),
            ))
            .await
            .unwrap();
        let phrase_messages: i64 = pg
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT COUNT(*) FROM message WHERE text = 'Kyiv Lviv express, seat 4'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        assert!(phrase_messages >= 25, "{phrase_messages}");
        pg.db.execute_unprepared("ANALYZE message").await.unwrap();
        // The index, not a scan of the small table.
        pg.db.execute_unprepared("SET enable_seqscan = off").await.unwrap();
        let matching = |term: &str| {
            let pattern = SearchTerm::parse(term).unwrap().unwrap().like_pattern();
            Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!(
                    "SELECT text FROM message WHERE workspace_id = $2 AND {texts}",
                    texts = postgres_text_like("(SELECT $1)")
                ),
                [pattern.into(), seeded.workspace_id.into()],
            )
        };
        let found: Vec<String> = pg
            .db
            .query_all_raw(matching("kyiv lviv"))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get_by_index(0).unwrap())
            .collect();
        assert_eq!(found.len() as i64, phrase_messages, "{found:?}");
        assert!(found.iter().all(|text| text == texts[1]), "{found:?}");
        for (term, expected) in [("KYIV.LVIV", texts[2]), ("v\nl", texts[3]), ("iv to lv", texts[0])] {
            let found = pg.db.query_all_raw(matching(term)).await.unwrap();
            assert!(!found.is_empty(), "{term}");
            for row in found {
                assert_eq!(row.try_get_by_index::<String>(0).unwrap(), expected, "{term}");
            }
        }
        // The index's candidates: the phrase's messages and the one where "q" stands
        // for the space (the index lower-cases its trigrams), not the 2,970 others
        // that hold both words.
        let (plan, all) = explained(&pg.db, matching("kyiv lviv")).await;
        let index_scan = all
            .iter()
            .find(|node| node["Index Name"] == "message_search_trgm")
            .unwrap_or_else(|| panic!("the message index is read: {plan}"));
        let rechecked = all
            .iter()
            .find(|node| node["Node Type"] == "Bitmap Heap Scan")
            .unwrap_or_else(|| panic!("the candidates are rechecked: {plan}"));
        let candidates = index_scan["Actual Rows"].as_i64().unwrap();
        let dropped = rechecked["Rows Removed by Index Recheck"].as_i64().unwrap();
        assert!(
            candidates <= 2 * phrase_messages && dropped <= 1,
            "{candidates} candidates, {dropped} dropped, for {phrase_messages} messages: {plan}"
        );
        pg.drop().await;
    }

    /// On PostgreSQL a phrase of common words, rare as a whole, is looked up by its
    /// junctions alone when they give few candidates, and lists exactly the chats that
    /// say it: a text holding the junctions but not the phrase is dropped by the check
    /// of the whole text. A phrase whose junctions are common, or with a rare word, is
    /// looked up by its whole pattern.
    #[tokio::test]
    async fn postgresql_looks_a_phrase_of_common_words_up_by_its_junctions() {
        use sea_orm::Statement;
        let Some(pg) = TestPostgres::migrated("junctions").await else {
            return;
        };
        let ws = crate::seed::seed(&pg.db, "Junctions", 600, 10, |_| {})
            .await
            .unwrap()
            .workspace_id;
        // Every word common; "v to l" in nearly every message, "v l" then "v o" in 60.
        pg.db
            .execute_unprepared(
                "UPDATE message SET text = CASE id % 200 WHEN 0 THEN 'Kyiv Lviv Odesa route' \
                 WHEN 1 THEN 'Lviv Lviv, Kyiv Odesa' WHEN 2 THEN 'Lviv lviv kyiv odesa' \
                 WHEN 3 THEN 'Kyiv to Lviv' WHEN 4 THEN 'zanzibarite kyiv' \
                 ELSE 'Kharkiv to Lviv, then Kyiv and Odesa' END",
            )
            .await
            .unwrap();
        pg.db.execute_unprepared("ANALYZE").await.unwrap();
        let scope = crate::db::scope(&pg.db);
        let phrase = SearchTerm::parse("KYIV LVIV ODESA").unwrap().unwrap();
        let common = commonness(&pg.db, scope, &phrase).await.unwrap();
        assert!(!common.messages && common.junctions, "{common:?}");
        for (term, why) in [
            ("kyiv to lviv", "its junction `v to l` is in 5,880 messages"),
            ("zanzibarite kyiv", "a word of it is rare"),
        ] {
            let term = SearchTerm::parse(term).unwrap().unwrap();
            let common = commonness(&pg.db, scope, &term).await.unwrap();
            assert!(!common.messages && !common.junctions, "{term:?}: {why}: {common:?}");
        }
        // The chats that say the phrase, by the lower-cased text alone.
        let expected: Vec<i64> = pg
            .db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT DISTINCT chat_id FROM message WHERE workspace_id = $1 \
                 AND lower(text) LIKE '%kyiv lviv odesa%' ORDER BY chat_id",
                [ws.into()],
            ))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get_by_index(0).unwrap())
            .collect();
        assert_eq!(expected.len(), 30, "{expected:?}");
        for looked_up in [
            common,
            Common {
                junctions: false,
                ..common
            },
        ] {
            let ids: Vec<i64> = chat::Entity::find()
                .filter(chat::Column::WorkspaceId.eq(ws))
                .filter(term_condition(DbBackend::Postgres, ws, &phrase, looked_up))
                .order_by_asc(chat::Column::Id)
                .all(&pg.db)
                .await
                .unwrap()
                .into_iter()
                .map(|chat| chat.id)
                .collect();
            assert_eq!(ids, expected, "{looked_up:?}");
        }
        // The lookup reads the junctions' pattern in the index, and the whole text drops
        // the 60 texts that hold the junctions but not the phrase.
        pg.db.execute_unprepared("SET enable_seqscan = off").await.unwrap();
        let select = chat::Entity::find()
            .select_only()
            .column(chat::Column::Id)
            .filter(term_condition(DbBackend::Postgres, ws, &phrase, common));
        let built = DbBackend::Postgres.build(&select.into_query());
        let values = built.values.unwrap().0;
        assert!(
            values.contains(&sea_orm::Value::from("%v l%v o%")),
            "{values:?} in {}",
            built.sql
        );
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, built.sql, values);
        let (plan, all) = explained(&pg.db, statement).await;
        let heap = all
            .iter()
            .find(|node| node["Node Type"] == "Bitmap Heap Scan" && node["Relation Name"] == "message")
            .unwrap_or_else(|| panic!("the message index is read: {plan}"));
        assert_eq!(heap["Actual Rows"], 30, "{plan}");
        assert_eq!(heap["Rows Removed by Filter"], 60, "{plan}");
        pg.drop().await;
    }

    /// A term seen in its first matches as frequent as in no more than
    /// `COUNTED_MESSAGES` messages is sparse; one as dense as `delivery` (a quarter of
    /// ten million messages) is not.
    #[test]
    fn a_terms_first_matches_tell_whether_it_is_sparse() {
        // "kyiv lviv": 2,001 matches within 670,000 ids of ten million, some 30,000.
        assert!(sparse(2_001, 670_000, 10_000_000));
        assert!(!sparse(2_001, 8_000, 10_000_000));
        assert!(sparse(2_001, 2_001, 2_500));
        assert!(!sparse(2_001, 0, 10_000_000));
    }

    /// On PostgreSQL a term common in messages but in few of them, as its first
    /// matches tell, has its list's total counted from the matches the index gathers,
    /// not by walking chats; and that count is the walk's, within every filter.
    #[tokio::test]
    async fn postgresql_counts_a_term_in_few_messages_from_its_gathered_matches() {
        let Some(pg) = TestPostgres::migrated("sparse").await else {
            return;
        };
        let ws = crate::seed::seed(&pg.db, "Sparse", 500, 10, |_| {})
            .await
            .unwrap()
            .workspace_id;
        // 2,500 of 5,000 messages, in every chat; four chats in five closed.
        pg.db
            .execute_unprepared(
                "UPDATE message SET text = CASE WHEN id % 2 = 0 THEN 'parcel Quillbrook here' ELSE 'hello there' END",
            )
            .await
            .unwrap();
        pg.db
            .execute_unprepared("UPDATE chat SET state = CASE WHEN id % 5 = 0 THEN 'open' ELSE 'closed' END")
            .await
            .unwrap();
        pg.db.execute_unprepared("ANALYZE").await.unwrap();
        let term = SearchTerm::parse("QUILLBROOK").unwrap().unwrap();
        let common = commonness(&pg.db, crate::db::scope(&pg.db), &term).await.unwrap();
        assert!(
            common.messages && common.messages_sparse && common.counted_gathered(),
            "{common:?}"
        );
        for state in [None, Some(ChatState::Open), Some(ChatState::Closed)] {
            let mut query = chat::Entity::find().filter(chat::Column::WorkspaceId.eq(ws));
            if let Some(state) = state {
                query = query
                    .filter(Expr::col((chat::Entity, chat::Column::State)).eq(Expr::Constant(state.as_str().into())));
            }
            let walked = query
                .clone()
                .filter(term_condition(DbBackend::Postgres, ws, &term, common));
            let gathered = query.filter(term_condition(DbBackend::Postgres, ws, &term, Common::default()));
            let expected = count_capped(&pg.db, walked.into_query()).await.unwrap();
            assert_eq!(count_capped(&pg.db, gathered.into_query()).await.unwrap(), expected);
            let filter = ChatFilter {
                term: Some(term.clone()),
                state,
                selector: Selector::None,
            };
            let page = crate::paging::PageRequest {
                page: 1,
                limitation: 20,
            };
            let (cursor, views) = list(&pg.db, &admin_of(ws), &filter, page).await.unwrap();
            assert_eq!((cursor.total, cursor.total_is_exact), (expected, true), "{state:?}");
            assert_eq!(views.len(), 20);
        }
        pg.drop().await;
    }

    /// SQLite's count from the indexes (`Total::Streamed`) gives what counting the
    /// list's rows gives, for rare and common terms, every kind of filter, and a budget
    /// of matching messages too small to read them all (then the walk counts).
    #[tokio::test]
    async fn sqlite_counts_a_terms_chats_from_its_indexes_as_the_list_counts_them() {
        let (db, dir) = crate::db::test_sqlite("streamed").await;
        let seeded = crate::seed::seed(&db, "Streamed", 3_000, 10, |_| {}).await.unwrap();
        let ws = seeded.workspace_id;
        let operator = chat::Entity::find()
            .filter(chat::Column::WorkspaceId.eq(ws))
            .filter(chat::Column::OperatorId.is_not_null())
            .one(&db)
            .await
            .unwrap()
            .and_then(|c| c.operator_id)
            .unwrap();
        let state = |state: &str| Expr::col((chat::Entity, chat::Column::State)).eq(Expr::Constant(state.into()));
        let filter_sets: Vec<Vec<Expr>> = vec![
            vec![],
            vec![state("closed")],
            vec![state("open")],
            vec![Expr::col((chat::Entity, chat::Column::UnreadCount)).gt(Expr::Constant(0i32.into()))],
            vec![chat::Column::OperatorId.eq(operator), state("closed")],
        ];
        // In a fifth of the messages, in a few, in one; in contact names and e-mails.
        let terms = [
            "delivery",
            "kyiv lviv",
            "refund",
            "zanzibarite",
            "ivan",
            "gmail",
            "nowhere at all",
        ];
        let mut fell_back = 0;
        for term in terms {
            let term = SearchTerm::parse(term).unwrap().unwrap();
            for filters in &filter_sets {
                let mut query = chat::Entity::find().filter(chat::Column::WorkspaceId.eq(ws));
                for condition in filters {
                    query = query.filter(condition.clone());
                }
                let mut all_filters = vec![chat::Column::WorkspaceId.eq(ws)];
                all_filters.extend(filters.iter().cloned());
                let walk = query
                    .clone()
                    .filter(term_condition(DbBackend::Sqlite, ws, &term, Common::default()));
                let expected = count_capped(&db, walk.clone().into_query()).await.unwrap();
                for narrowed in [None, forced_narrowing(&term)] {
                    // The term's matches gathered through some of its trigrams, each
                    // candidate rechecked, are its matches through all of them.
                    let common = Common {
                        narrowed,
                        ..Common::default()
                    };
                    let gathered = query
                        .clone()
                        .filter(term_condition(DbBackend::Sqlite, ws, &term, common));
                    assert_eq!(
                        count_capped(&db, gathered.into_query()).await.unwrap(),
                        expected,
                        "{term:?} within {filters:?}, looked up by {narrowed:?}"
                    );
                    for budget in [None, Some(COUNTED_MESSAGES), Some(50)] {
                        let statement = streamed_count(&all_filters, &term, narrowed, budget);
                        let row = db.query_one_raw(statement).await.unwrap().unwrap();
                        let complete: bool = row.try_get("", "complete").unwrap();
                        fell_back += usize::from(!complete);
                        let total = Total::Streamed {
                            filters: all_filters.clone(),
                            term: term.clone(),
                            narrowed,
                            budget,
                            walk: walk.clone(),
                        };
                        assert_eq!(
                            total.count(&db).await.unwrap(),
                            expected,
                            "{term:?} within {filters:?}, budget {budget:?}, looked up by {narrowed:?}"
                        );
                    }
                }
            }
        }
        assert!(fell_back > 0, "a budget of 50 messages is too small for a common term");
        db.close().await.unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }

    /// The term's first and last trigrams, as a `Narrowed` (the first alone when they
    /// overlap), whatever their counts.
    fn forced_narrowing(term: &SearchTerm) -> Option<Narrowed> {
        let last = term.trigrams().len().checked_sub(1)?;
        let mut narrowed = Narrowed {
            at: [0; NARROWING_TRIGRAMS],
            len: 1,
        };
        if last >= 3 {
            narrowed.at[1] = last as u16;
            narrowed.len = 2;
        }
        Some(narrowed)
    }

    /// The FTS5 structure record's count of segments, after the cookie and the levels,
    /// with or without the version-2 marker; a varint over one byte.
    #[test]
    fn an_index_structure_record_gives_its_segments() {
        assert_eq!(structure_segments(&[0, 0, 0, 0, 0x09, 0x0f, 0x98, 0xc5]), Some(15));
        assert_eq!(
            structure_segments(&[0, 0, 0, 0, 0xff, 0, 0, 1, 0x03, 0x81, 0x00, 0x00]),
            Some(128)
        );
        assert_eq!(structure_segments(&[0, 0, 0, 0, 0x06]), None);
        assert_eq!(sqlite_varint(&[0x7f]), Some((127, 1)));
        assert_eq!(sqlite_varint(&[0x82, 0x80, 0x01]), Some(((2 << 14) | 1, 3)));
        assert_eq!(sqlite_varint(&[0x80]), None);
    }

    /// A rare word is looked up by all its trigrams in an index of one segment, and by
    /// one of them once the index is in many: each trigram is sought in every segment,
    /// which then costs more than rechecking its few candidates. Either way the list
    /// gives the chats that say it.
    #[tokio::test]
    async fn sqlite_looks_a_rare_word_up_by_fewer_trigrams_in_an_index_of_many_segments() {
        let (db, dir) = crate::db::test_sqlite("segments").await;
        let seeded = crate::seed::seed(&db, "Segments", 200, 0, |_| {}).await.unwrap();
        let ws = seeded.workspace_id;
        let insert = |count: i64, every: i64| {
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
                 INSERT INTO message (workspace_id, chat_id, channel_id, direction, internal, content_type, text, \
                 sender_type, status, created_at) \
                 SELECT {ws}, c.id, k.channel_id, 'incoming', false, 'text', \
                 CASE WHEN i % {every} = {every} - 1 THEN 'a Zanzibarite ring ' || i ELSE 'omega, alpha! ' || i END, \
                 'contact', 'delivered', '2026-01-01T00:00:00+00:00' \
                 FROM n JOIN chat c ON c.id = (SELECT MIN(id) FROM chat WHERE workspace_id = {ws}) + i / 10 % 200 \
                 JOIN contact k ON k.id = c.contact_id",
                last = count - 1
            )
        };
        // Ten messages in each of 200 chats, ten of them in ten chats saying the word,
        // merged into one segment.
        db.execute_unprepared(&insert(2_000, 200)).await.unwrap();
        db.execute_unprepared("INSERT INTO message_fts(message_fts) VALUES('optimize')")
            .await
            .unwrap();
        assert_eq!(message_index_segments(&db).await.unwrap(), 1);
        let word = SearchTerm::parse("zanzibarite").unwrap().unwrap();
        assert_eq!(narrowing(&db, &word).await.unwrap(), None);

        // Six more commits of messages without it, left unmerged: a segment each.
        db.execute_unprepared("INSERT INTO message_fts(message_fts, rank) VALUES('automerge', 0)")
            .await
            .unwrap();
        for _ in 0..6 {
            db.execute_unprepared(&insert(10, 1_000)).await.unwrap();
        }
        assert_eq!(message_index_segments(&db).await.unwrap(), 7);
        let narrowed = narrowing(&db, &word)
            .await
            .unwrap()
            .expect("looked up by fewer trigrams");
        assert_eq!(narrowed.positions().len(), 1);

        let caller = admin_of(ws);
        let filter = ChatFilter {
            term: Some(SearchTerm::parse("ZANZIBARITE RING").unwrap().unwrap()),
            state: None,
            selector: Selector::None,
        };
        let page = PageRequest::parse(Some(1), Some(20)).unwrap();
        let (cursor, views) = list(&db, &caller, &filter, page).await.unwrap();
        let filter = ChatFilter {
            term: Some(word),
            ..filter
        };
        let (word_cursor, word_views) = list(&db, &caller, &filter, page).await.unwrap();
        let first = first_chat(&db, ws).await;
        let mut expected: Vec<i64> = (0..2_000).filter(|i| i % 200 == 199).map(|i| first + i / 10).collect();
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(expected.len(), 10);
        for (cursor, views) in [(cursor, views), (word_cursor, word_views)] {
            let mut listed: Vec<i64> = views.iter().map(|view| view.chat.id).collect();
            listed.sort_unstable();
            assert_eq!(listed, expected);
            assert_eq!(cursor.total, expected.len() as u64);
        }
        db.close().await.unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A phrase of words common apart and rare together is looked up by its rare
    /// trigram alone and its candidates rechecked; a word common throughout, by all of
    /// its trigrams; and either way the list gives the chats whose messages hold it.
    #[tokio::test]
    async fn sqlite_looks_a_phrase_of_common_words_up_by_its_rare_trigrams() {
        let (db, dir) = crate::db::test_sqlite("narrowed").await;
        let seeded = crate::seed::seed(&db, "Narrowed", 1_000, 0, |_| {}).await.unwrap();
        let ws = seeded.workspace_id;
        // Ten messages in each chat: "omega, alpha!" in most, "alpha omega" in one in
        // 200 (a chat in 20), "gamma omega" in one in 100 and "alpha  omega" (two
        // spaces) in one in 150: of the phrase's trigrams, "ha " is the rarest.
        db.execute_unprepared(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999) \
             INSERT INTO message (workspace_id, chat_id, channel_id, direction, internal, content_type, text, \
             sender_type, status, created_at) \
             SELECT {ws}, c.id, k.channel_id, 'incoming', false, 'text', \
             CASE WHEN i % 200 = 3 THEN 'ALPHA OMEGA ' || i WHEN i % 150 = 4 THEN 'alpha  omega' \
             WHEN i % 100 = 7 THEN 'gamma omega' \
             ELSE 'omega, alpha! ' || i END, 'contact', 'delivered', '2026-01-01T00:00:00+00:00' \
             FROM n JOIN chat c ON c.id = (SELECT MIN(id) FROM chat WHERE workspace_id = {ws}) + i / 10 \
             JOIN contact k ON k.id = c.contact_id"
        ))
        .await
        .unwrap();
        let phrase = SearchTerm::parse("Alpha Omega").unwrap().unwrap();
        let narrowed = narrowing(&db, &phrase)
            .await
            .unwrap()
            .expect("looked up by a few trigrams");
        assert_eq!(narrowed.query(&phrase), r#""ha ""#);
        let word = SearchTerm::parse("omega").unwrap().unwrap();
        assert_eq!(narrowing(&db, &word).await.unwrap(), None);

        let caller = admin_of(ws);
        let filter = ChatFilter {
            term: Some(phrase.clone()),
            state: None,
            selector: Selector::None,
        };
        let mut listed = Vec::new();
        for page in 1..=3 {
            let page = PageRequest::parse(Some(page), Some(20)).unwrap();
            let (cursor, views) = list(&db, &caller, &filter, page).await.unwrap();
            assert_eq!(cursor.total, 50);
            listed.extend(views.iter().map(|view| view.chat.id));
        }
        let first = first_chat(&db, ws).await;
        let mut expected: Vec<i64> = (0..10_000).filter(|i| i % 200 == 3).map(|i| first + i / 10).collect();
        expected.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(expected.len(), 50);
        listed.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(listed, expected, "each matching chat once, over the three pages");
        db.close().await.unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }
}
