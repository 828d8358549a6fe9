//! Crash safety: every inbound message acknowledged before a SIGKILL is in the
//! database afterwards, and the database opens and migrates again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::EntityTrait;
use serde_json::json;

use crate::on_both_databases;
use crate::process::ServerProcess;
use crate::support::{Backend, drop_database, fresh_database};

on_both_databases!(every_acknowledged_write_survives_sigkill);

/// Migrates the database and makes a workspace with a channel, as `switchboard
/// bootstrap` would, before the server process starts.
async fn bootstrap(
    url: &str,
) -> (
    sea_orm::DatabaseConnection,
    switchboard::domain::workspaces::Bootstrapped,
) {
    let db = switchboard::open_database(url).await.expect("migrate");
    let request = switchboard::domain::workspaces::BootstrapRequest {
        workspace: "Acme".into(),
        admin_email: "admin@acme.test".into(),
        admin_name: "Admin".into(),
        channel: Some("web".into()),
    };
    let made = switchboard::domain::workspaces::bootstrap(&db, &request)
        .await
        .expect("bootstrap");
    (db, made)
}

async fn every_acknowledged_write_survives_sigkill(backend: Backend) {
    let url = fresh_database(backend).await;
    let (db, made) = bootstrap(&url).await;
    db.close().await.ok();
    let bot = made.channel_token.unwrap();

    let mut server = ServerProcess::start(&url);
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let sent_by_operators = Arc::new(Mutex::new(Vec::<i64>::new()));
    let client = reqwest::Client::new();
    let stop_at = Instant::now() + Duration::from_millis(1500);
    let mut writers = Vec::new();
    // Operators answer and forward at the same time as contacts write in.
    let first =
        json!({"contact": {"externalId": "contact-0", "name": "Load"}, "externalMessageId": "first", "text": "hi"});
    let first = client
        .post(format!("{}/v1/channel/messages", server.address))
        .bearer_auth(&bot)
        .json(&first)
        .send()
        .await
        .unwrap();
    let chat = first.json::<serde_json::Value>().await.unwrap()["chatId"]
        .as_i64()
        .unwrap();
    for w in 0..8 {
        let (client, address, admin, sent, admin_id) = (
            client.clone(),
            server.address.clone(),
            made.admin_token.clone(),
            sent_by_operators.clone(),
            made.admin_operator_id,
        );
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            loop {
                n += 1;
                let answer = if n % 4 == 0 {
                    client
                        .post(format!("{address}/v1/chats/{chat}/forward/{admin_id}"))
                        .bearer_auth(&admin)
                        .json(&json!({"text": "mine"}))
                        .send()
                        .await
                } else {
                    client
                        .post(format!("{address}/v1/chats/{chat}/messages"))
                        .bearer_auth(&admin)
                        .json(&json!({"text": format!("op {w}-{n}")}))
                        .send()
                        .await
                };
                match answer {
                    Ok(response) if response.status().as_u16() == 201 => {
                        let body: serde_json::Value = response.json().await.unwrap_or_default();
                        if let Some(id) = body["id"].as_i64() {
                            sent.lock().unwrap().push(id);
                        }
                    }
                    Ok(response) if response.status().is_success() => {}
                    _ => break,
                }
            }
        }));
    }
    for w in 0..32 {
        let (client, address, bot, acknowledged) = (
            client.clone(),
            server.address.clone(),
            bot.clone(),
            acknowledged.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while Instant::now() < stop_at + Duration::from_secs(5) {
                let id = format!("w{w}-m{n}");
                n += 1;
                let body = json!({
                    "contact": {"externalId": format!("contact-{}", n % 50), "name": "Load"},
                    "externalMessageId": id,
                    "text": format!("durable message {id}"),
                });
                let sent = client
                    .post(format!("{address}/v1/channel/messages"))
                    .bearer_auth(&bot)
                    .json(&body)
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().as_u16() == 201 => acknowledged.lock().unwrap().push(id),
                    _ => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 20,
        "the load ran: {} acknowledged",
        acknowledged.len()
    );
    let sent_by_operators = sent_by_operators.lock().unwrap().clone();
    assert!(!sent_by_operators.is_empty(), "operators wrote too");

    let db = switchboard::open_database(&url)
        .await
        .expect("the database opens and migrates after SIGKILL");
    let rows = entity::message::Entity::find().all(&db).await.unwrap();
    let stored_ids: HashSet<i64> = rows.iter().map(|m| m.id).collect();
    let lost_sends: Vec<&i64> = sent_by_operators.iter().filter(|id| !stored_ids.contains(id)).collect();
    assert!(
        lost_sends.is_empty(),
        "acknowledged operator messages were lost: {lost_sends:?}"
    );
    let stored: HashSet<String> = rows
        .into_iter()
        .filter(|m| m.direction == "incoming")
        .filter_map(|m| m.external_id)
        .collect();
    let lost: Vec<&String> = acknowledged.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages were lost: {:?}",
        lost.len(),
        acknowledged.len(),
        &lost[..lost.len().min(5)]
    );
    eprintln!(
        "{} acknowledged inbound and {} operator messages all survived SIGKILL",
        acknowledged.len(),
        sent_by_operators.len()
    );
    db.close().await.ok();
    drop_database(&url).await;
}

on_both_databases!(sigterm_drains_in_flight_requests_and_exits_zero);

async fn sigterm_drains_in_flight_requests_and_exits_zero(backend: Backend) {
    let url = fresh_database(backend).await;
    let (db, made) = bootstrap(&url).await;
    let (bot, admin) = (made.channel_token.unwrap(), made.admin_token);

    let mut server = ServerProcess::start(&url);
    let client = reqwest::Client::new();
    // An open event stream must not hold the shutdown up.
    let stream = client
        .get(format!("{}/v1/events", server.address))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let requests: Vec<_> = (0..64)
        .map(|i| {
            let body = json!({"contact": {"externalId": "c", "name": "Load"}, "externalMessageId": format!("m{i}"), "text": "drain me"});
            client.post(format!("{}/v1/channel/messages", server.address)).bearer_auth(&bot).json(&body).send()
        })
        .collect();
    let in_flight = tokio::spawn(futures::future::join_all(requests));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || server.terminate()).await.unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown took {:?}",
        started.elapsed()
    );

    let answers = in_flight.await.unwrap();
    let mut acknowledged = Vec::new();
    for (i, answer) in answers.into_iter().enumerate() {
        match answer {
            // Accepted before the signal: answered in full.
            Ok(response) => {
                assert_eq!(
                    response.status().as_u16(),
                    201,
                    "request {i} was cut short: {}",
                    response.status()
                );
                acknowledged.push(format!("m{i}"));
            }
            // Arrived after the listener closed: refused, never half-done.
            Err(err) => assert!(err.is_connect() || err.is_request(), "request {i}: {err}"),
        }
    }
    assert!(!acknowledged.is_empty(), "some requests were in flight");
    let stored: HashSet<String> = entity::message::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| m.external_id)
        .collect();
    assert!(acknowledged.iter().all(|id| stored.contains(id)));
    db.close().await.ok();
    drop_database(&url).await;
}
