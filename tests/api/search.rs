//! Search and totals at the edges: substrings in every indexed field (any case, any
//! script), the index following inserts, edits and deletes, short terms, and the
//! chat list's total exact below its cap and flagged above it.

use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Workspace, contact, fresh_database, ids, spawn_app};

on_both_databases!(
    search_finds_substrings_in_every_field_in_any_case,
    the_search_index_follows_inserts_edits_and_deletes,
    short_terms_match_contact_fields_without_message_texts,
    terms_common_in_contacts_messages_or_both_list_their_chats_in_order,
    a_term_in_one_message_of_many_counts_its_chats_exactly,
    a_phrase_of_common_words_lists_only_the_chats_that_say_it,
    totals_are_exact_below_the_cap_and_flagged_above_it,
    a_common_term_lists_its_chats_in_activity_order,
    a_seeded_workspace_is_complete_and_searchable,
    new_contacts_are_in_the_search_index_at_once,
);

async fn found(app: &TestApp, ws: &Workspace, term: &str) -> Vec<i64> {
    let query: String = url_encode(term);
    let answer = app.get(&format!("/v1/chats?term={query}"), &ws.token).await;
    let body = answer.assert_ok();
    assert_eq!(body["cursor"]["totalIsExact"], true);
    ids(body)
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn search_finds_substrings_in_every_field_in_any_case(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let mut olha = contact("o", "Ольга Петренко");
    olha.username = Some("olha_petrenko".into());
    olha.phone = Some("+380 67 555 12 34".into());
    olha.email = Some("Olha.P@Shop.example".into());
    let (_, olha_chat, _) = app.incoming(&ws, &olha, "Доброго дня! Де моя посилка?").await;
    let (_, ivan_chat, _) = app
        .incoming(&ws, &contact("i", "Ivan"), "Refund for order #A-7731 please")
        .await;
    for (term, expected) in [
        ("ОЛЬГА", vec![olha_chat]),
        ("петрен", vec![olha_chat]),
        ("LHA_PET", vec![olha_chat]),
        ("555 12", vec![olha_chat]),
        ("p@shop", vec![olha_chat]),
        ("ПОСИЛКА", vec![olha_chat]),
        ("a-7731", vec![ivan_chat]),
        ("#A-77", vec![ivan_chat]),
        ("refund FOR", vec![ivan_chat]),
        ("\"quoted\" OR x", vec![]),
        // The end of the name and the start of the username: fields are matched one
        // by one, never joined.
        ("Петренко\nolha_p", vec![]),
        ("nowhere", vec![]),
    ] {
        assert_eq!(found(&app, &ws, term).await, expected, "term {term:?}");
    }
    app.stop().await;
}

async fn the_search_index_follows_inserts_edits_and_deletes(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, chat, _) = app.incoming(&ws, &contact("c", "Olha"), "hello").await;
    assert_eq!(found(&app, &ws, "pineapple").await, Vec::<i64>::new());
    let sent = app
        .post(
            &format!("/v1/chats/{chat}/messages"),
            &ws.token,
            json!({"text": "Your pineapple ships today"}),
        )
        .await;
    let id = sent.body["id"].as_i64().unwrap();
    assert_eq!(found(&app, &ws, "pineapple").await, vec![chat], "found after insert");

    let path = format!("/v1/chats/{chat}/messages/{id}");
    app.request(
        Method::PATCH,
        &path,
        Some(&ws.token),
        Some(json!({"text": "Your mango ships today"})),
    )
    .await
    .assert_ok();
    assert_eq!(
        found(&app, &ws, "pineapple").await,
        Vec::<i64>::new(),
        "the old text is gone after an edit"
    );
    assert_eq!(found(&app, &ws, "mango").await, vec![chat], "the new text is found");

    app.request(Method::DELETE, &path, Some(&ws.token), None)
        .await
        .assert_ok();
    assert_eq!(
        found(&app, &ws, "mango").await,
        Vec::<i64>::new(),
        "a deleted text is not found"
    );

    let mut renamed = contact("c", "Olha Kovalenko");
    renamed.username = Some("kovalenko_o".into());
    app.incoming(&ws, &renamed, "new name").await;
    assert_eq!(
        found(&app, &ws, "kovalenko").await,
        vec![chat],
        "a refreshed contact is found by its new name"
    );
    app.stop().await;
}

async fn short_terms_match_contact_fields_without_message_texts(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let (_, by_name, _) = app.incoming(&ws, &contact("a", "Ed Wu"), "hello").await;
    app.incoming(&ws, &contact("b", "Someone"), "ed wu was here").await;
    assert_eq!(found(&app, &ws, "wu").await, vec![by_name]);
    // Folded in every script, not only ASCII (SQLite's own `lower` and `LIKE` fold
    // ASCII only).
    let mut yulia = contact("c", "ЮЛІЯ Бо");
    (yulia.username, yulia.email) = (None, None);
    let (_, cyrillic, _) = app.incoming(&ws, &yulia, "hello").await;
    assert_eq!(found(&app, &ws, "юл").await, vec![cyrillic]);
    assert_eq!(found(&app, &ws, "Юл").await, vec![cyrillic]);
    assert_eq!(
        found(&app, &ws, "ed wu").await.len(),
        2,
        "three characters and more search message texts too"
    );
    app.stop().await;
}

async fn totals_are_exact_below_the_cap_and_flagged_above_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    bulk_chats(&app, &ws, 10_000, "Bulk").await;
    let list = app.get("/v1/chats?limitation=20&page=3", &ws.token).await;
    let body = list.assert_ok();
    assert_eq!(
        body["cursor"],
        json!({"page": 3, "pages": 500, "limitation": 20, "total": 10_000, "totalIsExact": true})
    );
    assert_eq!(body["collection"].as_array().unwrap().len(), 20);

    bulk_chats(&app, &ws, 5, "Bulk").await;
    // Rows written behind the API's back move no cache generation, as a change made
    // through another replica would not: once the totals' time-to-live is out, the
    // first list answers the old total and recounts in the background, and the
    // lists after it see the new one.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    // (A write anywhere in this process, such as another test running beside this
    // one, moves the cache generation, and then the total is counted at once.)
    let first = app.get("/v1/chats?limitation=20", &ws.token).await;
    let first_total = first.body["cursor"]["total"].as_u64().unwrap();
    assert!(first_total == 10_000 || first_total == 10_001, "{first_total}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let list = loop {
        let list = app.get("/v1/chats?limitation=20", &ws.token).await;
        if list.body["cursor"]["total"] != 10_000 || std::time::Instant::now() > deadline {
            break list;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let cursor: &Value = &list.body["cursor"];
    assert_eq!(cursor["totalIsExact"], false, "{cursor}");
    assert_eq!(cursor["total"], 10_001, "a lower bound: the cap plus one");
    assert_eq!(cursor["pages"], 501);
    let deep = app.get("/v1/chats?limitation=20&page=501", &ws.token).await;
    assert_eq!(
        deep.body["collection"].as_array().unwrap().len(),
        5,
        "pages past the counted ones still answer"
    );
    let closed = app.get("/v1/chats?state=closed", &ws.token).await;
    assert_eq!(closed.body["cursor"]["total"], 0);
    assert_eq!(closed.body["cursor"]["totalIsExact"], true);
    app.stop().await;
}

/// Inserts `count` contacts named `name` and a number, with a chat each, straight into
/// the database: the arrangement of a large workspace, not the behaviour under test.
async fn bulk_chats(app: &TestApp, ws: &Workspace, count: i64, name: &str) {
    let start: i64 = {
        let row = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM contact",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    };
    let at = "2026-01-01T00:00:00+00:00";
    let contacts = format!(
        "WITH RECURSIVE n(i) AS (SELECT {start} + 1 UNION ALL SELECT i + 1 FROM n WHERE i < {start} + {count}) \
         INSERT INTO contact (workspace_id, channel_id, external_id, name, created_at, updated_at) \
         SELECT {ws}, {ch}, 'bulk-' || i, '{name} ' || i, '{at}', '{at}' FROM n",
        ws = ws.id,
        ch = ws.channel_id,
    );
    let chats = format!(
        "INSERT INTO chat (workspace_id, contact_id, state, unread_count, last_activity_at, created_at, updated_at, version) \
         SELECT workspace_id, id, 'open', 0, '{at}', '{at}', '{at}', 1 FROM contact c \
         WHERE workspace_id = {ws} AND NOT EXISTS (SELECT 1 FROM chat WHERE chat.contact_id = c.id)",
        ws = ws.id,
    );
    app.db.execute_unprepared(&contacts).await.expect("bulk contacts");
    app.db.execute_unprepared(&chats).await.expect("bulk chats");
}

/// The columns of a message that the bulk inserts below give (the rest are NULL).
const MESSAGE_COLUMNS: &str =
    "workspace_id, chat_id, channel_id, direction, internal, content_type, text, sender_type, status, created_at";

/// `bulk_chats` of `count` chats named "Bulk", whose ids are consecutive: the first.
async fn consecutive_chats(app: &TestApp, ws: &Workspace, count: usize) -> i64 {
    bulk_chats(app, ws, count as i64, "Bulk").await;
    let mut chats = chats_named(app, ws, "Bulk").await;
    chats.sort_unstable();
    assert_eq!(chats.len(), count);
    assert_eq!(
        chats[count - 1],
        chats[0] + count as i64 - 1,
        "the bulk chats' ids are consecutive"
    );
    chats[0]
}

/// Inserts `count` incoming messages straight into the database, `per_chat` to a chat
/// from chat `first` on; message `i` (from 0) says `texts`, an SQL expression of `i`.
async fn bulk_messages(app: &TestApp, ws: &Workspace, first: i64, count: i64, per_chat: i64, texts: &str) {
    let at = "2026-01-02T00:00:00+00:00";
    let messages = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
         INSERT INTO message ({MESSAGE_COLUMNS}) \
         SELECT {ws}, {first} + i / {per_chat}, {ch}, 'incoming', false, 'text', {texts}, \
         'contact', 'delivered', '{at}' FROM n",
        last = count - 1,
        ws = ws.id,
        ch = ws.channel_id,
    );
    app.db.execute_unprepared(&messages).await.expect("bulk messages");
}

/// Closes the workspace's chats whose id is a multiple of three, straight in the
/// database.
async fn close_every_third_chat(app: &TestApp, ws: &Workspace) {
    let closing = format!(
        "UPDATE chat SET state = 'closed' WHERE workspace_id = {} AND id % 3 = 0",
        ws.id
    );
    app.db.execute_unprepared(&closing).await.expect("close chats");
}

/// Chat ids of the workspace whose contact's name starts with `prefix` and a space.
async fn chats_named(app: &TestApp, ws: &Workspace, prefix: &str) -> Vec<i64> {
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT c.id AS id FROM chat c JOIN contact k ON k.id = c.contact_id \
                 WHERE c.workspace_id = {ws} AND k.name LIKE '{prefix} %'",
                ws = ws.id
            ),
        ))
        .await
        .unwrap();
    rows.iter().map(|row| row.try_get::<i64>("", "id").unwrap()).collect()
}

/// A term in thousands of contacts but few messages, in thousands of messages but no
/// contact, or in thousands of both: each lists exactly the chats it matches, in list
/// order, page after page, with an exact total, also within a state, and finds them
/// whatever the case of the text or its script.
async fn terms_common_in_contacts_messages_or_both_list_their_chats_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    bulk_chats(&app, &ws, 3_000, "КОВАЛЬ").await;
    bulk_chats(&app, &ws, 3_000, "Other").await;
    let koval = chats_named(&app, &ws, "КОВАЛЬ").await;
    let other = chats_named(&app, &ws, "Other").await;
    assert_eq!((koval.len(), other.len()), (3_000, 3_000));
    // Of the other chats, four in five say "ГОТОВА" and one in seven names Коваль.
    let at = "2026-01-02T00:00:00+00:00";
    for (text, which) in [
        ("замовлення ГОТОВА", "c.id % 5 <> 0"),
        ("дзвонив Коваль", "c.id % 7 = 0"),
    ] {
        let messages = format!(
            "INSERT INTO message ({MESSAGE_COLUMNS}) SELECT c.workspace_id, c.id, {ch}, 'incoming', false, 'text', '{text}', \
             'contact', 'delivered', '{at}' FROM chat c JOIN contact k ON k.id = c.contact_id \
             WHERE c.workspace_id = {ws} AND k.name LIKE 'Other %' AND {which}",
            ch = ws.channel_id,
            ws = ws.id,
        );
        app.db.execute_unprepared(&messages).await.expect("bulk messages");
    }
    close_every_third_chat(&app, &ws).await;

    let ready: Vec<i64> = other.iter().copied().filter(|id| id % 5 != 0).collect();
    let called: Vec<i64> = other.iter().copied().filter(|id| id % 7 == 0).collect();
    let union = |sets: &[&[i64]]| -> Vec<i64> {
        let mut all: Vec<i64> = sets.iter().flat_map(|set| set.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    for (term, matching) in [
        // In every КОВАЛЬ contact (3,000) and 428 messages.
        ("коваль", union(&[&koval, &called])),
        // In 2,400 messages written in capitals, no contact.
        ("готова", ready.clone()),
        ("ГОТОВА", ready.clone()),
        // In 3,000 contacts and 2,828 messages.
        ("ова", union(&[&koval, &ready, &called])),
    ] {
        for state in [None, Some("closed")] {
            assert_search_pages(&app, &ws, term, state, &matching, &[1, 2, 0]).await;
        }
    }
    app.stop().await;
}

/// `query` (pages of 20) answers page `page` of `expected`, the whole list's chat ids
/// in order, with `expected`'s length as its exact total.
async fn assert_lists_page(app: &TestApp, ws: &Workspace, query: &str, page: usize, expected: &[i64]) {
    let answer = app.get(query, &ws.token).await;
    let body = answer.assert_ok();
    let from = (page - 1) * 20;
    assert_eq!(ids(body), expected[from..(from + 20).min(expected.len())], "{query}");
    assert_eq!(body["cursor"]["total"], expected.len(), "{query}");
    assert_eq!(body["cursor"]["totalIsExact"], true, "{query}");
}

/// The search for `term` (within `state`, if given) answers each of `pages` (pages of
/// 20; 0 for the last) with the chats of `matching` in that state, in list order (every
/// chat's activity the same: newest id first). Closed chats are the ones
/// `close_every_third_chat` closed.
async fn assert_search_pages(
    app: &TestApp,
    ws: &Workspace,
    term: &str,
    state: Option<&str>,
    matching: &[i64],
    pages: &[usize],
) {
    let mut expected: Vec<i64> = matching
        .iter()
        .copied()
        .filter(|id| match state {
            None => true,
            Some("closed") => id % 3 == 0,
            Some(_) => id % 3 != 0,
        })
        .collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    for &page in pages {
        let page = if page == 0 { expected.len().div_ceil(20) } else { page };
        let query = format!(
            "/v1/chats?term={}&limitation=20&page={page}{}",
            url_encode(term),
            state.map(|s| format!("&state={s}")).unwrap_or_default()
        );
        assert_lists_page(app, ws, &query, page, &expected).await;
    }
}

/// A term common in messages but sparse among them (one in 24, no contact): its
/// total is every chat it is in, once, however many messages say it, also within a
/// state, and its pages list those chats in order. (On SQLite such a total is counted
/// from the index's matches, each chat once, not by walking chats.)
async fn a_term_in_one_message_of_many_counts_its_chats_exactly(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let first = consecutive_chats(&app, &ws, 3_000).await;
    // 50,400 messages, 24 to a chat in the first 2,100 chats; one of each chat's 24
    // names the term, once or, in every tenth chat, twice.
    let texts = "CASE WHEN i % 24 = 0 THEN 'parcel Quillbrook here' \
                 WHEN i % 24 = 12 AND (i / 24) % 10 = 0 THEN 'quillbrook again' \
                 ELSE 'nothing to see ' || i END";
    bulk_messages(&app, &ws, first, 50_400, 24, texts).await;
    close_every_third_chat(&app, &ws).await;
    let matching: Vec<i64> = (first..first + 2_100).collect();
    for state in [None, Some("closed"), Some("open")] {
        assert_search_pages(&app, &ws, "QUILLBROOK", state, &matching, &[1, 0]).await;
    }
    app.stop().await;
}

/// A phrase of words that are each in nearly every message but together in few: only
/// the chats whose messages say the phrase itself, in any case, are listed and
/// counted, not those saying its words apart or with two spaces between them. (On
/// SQLite such a phrase is looked up by its rarest trigram and each candidate's text
/// searched for the phrase.)
async fn a_phrase_of_common_words_lists_only_the_chats_that_say_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let first = consecutive_chats(&app, &ws, 2_000).await;
    // 20,000 messages, ten to a chat. The words also stand side by side with a hyphen
    // or a "q" between them (on PostgreSQL the index takes both for a space).
    let texts = "CASE WHEN i % 700 = 13 THEN 'Alpha-Omega' \
                 WHEN i % 900 = 17 THEN 'alphaqomega' \
                 WHEN i % 400 = 3 THEN 'ALPHA OMEGA here' \
                 WHEN i % 1000 = 5 THEN 'see Alpha Omega' \
                 WHEN i % 300 = 11 THEN 'alpha  omega' \
                 WHEN i % 50 = 7 THEN 'gamma omega ' || i \
                 ELSE 'omega, alpha! ' || i END";
    bulk_messages(&app, &ws, first, 20_000, 10, texts).await;
    close_every_third_chat(&app, &ws).await;
    let mut matching: Vec<i64> = (0..20_000)
        .filter(|i| i % 400 == 3 || i % 1000 == 5)
        .map(|i| first + i / 10)
        .collect();
    matching.dedup();
    assert!(matching.len() > 40, "{} chats say the phrase", matching.len());
    for term in ["alpha omega", "ALPHA oMeGa", "pha ome"] {
        for state in [None, Some("closed"), Some("open")] {
            assert_search_pages(&app, &ws, term, state, &matching, &[1, 0]).await;
        }
    }
    let chats_of = |every: i64, at: i64| -> Vec<i64> {
        let mut chats: Vec<i64> = (0..20_000)
            .filter(|i| i % every == at)
            .map(|i| first + i / 10)
            .collect();
        chats.dedup();
        chats
    };
    for (term, matching) in [("alpha-omega", chats_of(700, 13)), ("PHAQOM", chats_of(900, 17))] {
        assert!(matching.len() > 20, "{} chats say {term}", matching.len());
        assert_search_pages(&app, &ws, term, None, &matching, &[1, 0]).await;
    }
    app.stop().await;
}

async fn a_common_term_lists_its_chats_in_activity_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    bulk_chats(&app, &ws, 3_000, "Bulk").await;
    // Five chats in six say "widget": far more matches than a rare term has.
    let at = "2026-01-02T00:00:00+00:00";
    let messages = format!(
        "INSERT INTO message ({MESSAGE_COLUMNS}) SELECT c.workspace_id, c.id, {ch}, 'incoming', false, 'text', \
         CASE WHEN c.id % 6 = 0 THEN 'nothing here' ELSE 'my Widget broke' END, 'contact', 'delivered', '{at}' \
         FROM chat c WHERE c.workspace_id = {ws}",
        ch = ws.channel_id,
        ws = ws.id,
    );
    app.db.execute_unprepared(&messages).await.expect("bulk messages");
    let answer = app.get("/v1/chats?term=widget&limitation=20", &ws.token).await;
    let body = answer.assert_ok();
    let listed: Vec<i64> = ids(body);
    let all = app.get("/v1/chats?limitation=20&page=1", &ws.token).await;
    let first_ids: Vec<i64> = ids(&all.body);
    let expected: Vec<i64> = first_ids.iter().copied().filter(|id| id % 6 != 0).collect();
    assert_eq!(
        &listed[..expected.len()],
        &expected[..],
        "matching chats in the list's own order"
    );
    assert!(listed.iter().all(|id| id % 6 != 0), "only chats that say widget");
    assert_eq!(body["cursor"]["total"], 2_500, "{}", body["cursor"]);
    app.stop().await;
}

/// `switchboard seed` makes a workspace the API serves whole: every chat with its
/// messages, mixed states and unread chats, and search indexes (merged at the end of
/// the load on SQLite, vacuumed on PostgreSQL) that find contact fields and message
/// texts.
async fn a_seeded_workspace_is_complete_and_searchable(backend: Backend) {
    let url = fresh_database(backend).await;
    let output = std::process::Command::new(crate::process::binary())
        .args([
            "seed",
            "--chats",
            "60",
            "--messages-per-chat",
            "4",
            "--json",
            "--database-url",
            &url,
        ])
        .output()
        .expect("run switchboard seed");
    assert!(
        output.status.success(),
        "seed failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seeded: Value = serde_json::from_slice(&output.stdout).expect("seed prints JSON");
    assert_eq!(seeded["chats"], 60);
    assert_eq!(seeded["messages"], 240);
    let token = seeded["adminToken"].as_str().unwrap().to_owned();
    // Served by a process of its own, as the benchmark serves a seeded database: this
    // test process's caches have seen other tests' databases, whose workspaces have
    // the same ids, and a database written by another process does not clear them.
    let server = crate::process::ServerProcess::start(&url);
    let client = reqwest::Client::new();
    let get = |path: String| {
        let request = client.get(format!("{}{path}", server.address)).bearer_auth(&token);
        async move {
            let answer = request.send().await.expect("request");
            assert_eq!(answer.status(), 200, "{path}");
            answer.json::<Value>().await.expect("JSON body")
        }
    };
    let total = |query: &str| {
        let page = get(format!("/v1/chats?{query}"));
        async move { page.await["cursor"]["total"].as_i64().unwrap() }
    };
    assert_eq!(total("limitation=20").await, 60);
    let (open, closed) = (total("state=open").await, total("state=closed").await);
    assert!(
        open > 0 && closed > 0 && open + closed == 60,
        "{open} open, {closed} closed"
    );
    assert!(total("selector%5Bname%5D=unread").await > 0);

    let chat = get("/v1/chats?limitation=20".into()).await["collection"][0].clone();
    let chat_id = chat["id"].as_i64().unwrap();
    let messages = get(format!("/v1/chats/{chat_id}/messages")).await;
    let texts: Vec<String> = messages["collection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts.len(), 4);
    assert_eq!(chat["lastMessage"]["text"], texts[0].as_str());
    // A piece from inside the contact's name and from inside a message's longest word,
    // in upper case: both lead to the chat.
    let name = chat["contact"]["name"].as_str().unwrap();
    let word = texts[0]
        .split(|c: char| !c.is_alphanumeric())
        .max_by_key(|w| w.chars().count())
        .unwrap();
    for source in [name, word] {
        let chars: Vec<char> = source.chars().collect();
        assert!(chars.len() >= 5, "{source:?} is too short to cut a piece from");
        let piece: String = chars[1..chars.len() - 1].iter().collect::<String>().to_uppercase();
        let answer = get(format!("/v1/chats?term={}&limitation=20", url_encode(&piece))).await;
        let listed: Vec<i64> = ids(&answer);
        assert!(
            listed.contains(&chat_id),
            "{piece:?} (from {source:?}) did not find chat {chat_id}"
        );
    }
    drop(server);
    crate::support::drop_database(&url).await;
}

/// A burst of new contacts is found at once; on PostgreSQL the contact index takes
/// them into the index proper and the message index's pending list is kept short, so
/// that no search reads a long unsorted list (migrations 9 and 10).
async fn new_contacts_are_in_the_search_index_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = app.workspace("Acme").await;
    let mut chats = Vec::new();
    for i in 0..30 {
        let (_, chat, _) = app
            .incoming(
                &ws,
                &contact(&format!("burst-{i}"), &format!("Quokka{i:02} Burst")),
                "hi",
            )
            .await;
        chats.push(chat);
    }
    assert_eq!(found(&app, &ws, "kka07 bu").await, [chats[7]]);
    let newest: Vec<i64> = chats[10..].iter().rev().copied().collect();
    assert_eq!(found(&app, &ws, "QUOKKA").await, newest);
    if backend == Backend::Postgres {
        for (index, expected) in [
            ("contact_search_trgm", "fastupdate=off"),
            ("message_search_trgm", "gin_pending_list_limit=256"),
        ] {
            let row = app
                .db
                .query_one_raw(sea_orm::Statement::from_string(
                    app.db.get_database_backend(),
                    format!(
                        "SELECT array_to_string(reloptions, ',') AS options FROM pg_class WHERE relname = '{index}'"
                    ),
                ))
                .await
                .unwrap()
                .expect("the search index exists");
            let options: Option<String> = row.try_get("", "options").unwrap();
            assert_eq!(options.as_deref(), Some(expected), "{index}");
        }
    }
    app.stop().await;
}
