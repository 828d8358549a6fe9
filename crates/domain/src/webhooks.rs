//! Webhook subscriptions (admin) and their deliveries. Deliveries are rows queued in
//! the event's transaction; any replica may claim a due one, and a claim is a
//! conditional update on its attempt count, so two replicas never send one attempt.

use chrono::{DateTime, Duration, Utc};
use entity::{event, webhook, webhook_delivery};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

use crate::auth::Caller;
use crate::error::{Error, ErrorCode, Result};
use crate::events::parse_types;
use crate::paging::{Cursor, PageRequest, count_capped};

/// A delivery that failed this many times is given up (`failed`).
pub const MAX_ATTEMPTS: i32 = 10;
/// How long a claimed delivery is reserved for the replica sending it.
pub const CLAIM_LEASE: Duration = Duration::seconds(30);

#[derive(Clone, Debug)]
pub struct NewWebhook {
    pub url: String,
    pub types: Vec<String>,
    pub secret: String,
}

fn parse_url(url: &str) -> Result<String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host)
            if !host.is_empty()
                && !host.starts_with('/')
                && url.chars().count() <= 2000
                && !url.contains(|c: char| c <= ' ') =>
        {
            Ok(url.to_owned())
        }
        _ => Err(Error::new(
            ErrorCode::InvalidUrl,
            "url must be an absolute http:// or https:// URL",
        )),
    }
}

pub async fn find<C: sea_orm::ConnectionTrait>(db: &C, caller: &Caller, id: i64) -> Result<webhook::Model> {
    webhook::Entity::find_by_id(id)
        .filter(webhook::Column::WorkspaceId.eq(caller.workspace_id))
        .one(db)
        .await?
        .ok_or_else(|| Error::new(ErrorCode::WebhookNotFound, format!("webhook {id} was not found")))
}

#[tracing::instrument(skip(db, new), fields(workspace = caller.workspace_id))]
pub async fn create(db: &DatabaseConnection, caller: &Caller, new: &NewWebhook) -> Result<webhook::Model> {
    caller.require_admin("manage webhooks")?;
    let url = parse_url(&new.url)?;
    let types = parse_types(&new.types)?;
    let chars = new.secret.chars().count();
    if !(16..=200).contains(&chars) {
        return Err(Error::new(
            ErrorCode::InvalidSecret,
            "secret must have 16 to 200 characters",
        ));
    }
    Ok(webhook::ActiveModel {
        workspace_id: Set(caller.workspace_id),
        url: Set(url),
        types: Set(serde_json::to_string(&types).map_err(Error::internal)?),
        secret: Set(new.secret.clone()),
        active: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn list(db: &DatabaseConnection, caller: &Caller) -> Result<Vec<webhook::Model>> {
    caller.require_admin("manage webhooks")?;
    Ok(webhook::Entity::find()
        .filter(webhook::Column::WorkspaceId.eq(caller.workspace_id))
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?)
}

/// Deletes a webhook with its deliveries.
#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn delete(db: &DatabaseConnection, caller: &Caller, id: i64) -> Result<()> {
    caller.require_admin("manage webhooks")?;
    let hook = find(db, caller, id).await?;
    webhook::Entity::delete_by_id(hook.id).exec(db).await?;
    Ok(())
}

/// The webhook's deliveries, newest first.
#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn deliveries(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i64,
    page: PageRequest,
) -> Result<(Cursor, Vec<(webhook_delivery::Model, String)>)> {
    caller.require_admin("manage webhooks")?;
    let hook = find(db, caller, id).await?;
    let query = webhook_delivery::Entity::find().filter(webhook_delivery::Column::WebhookId.eq(hook.id));
    let total = count_capped(db, query.clone().into_query()).await?;
    let rows = query
        .find_also_related(event::Entity)
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(page.limitation)
        .offset(page.offset())
        .all(db)
        .await?;
    let rows = rows
        .into_iter()
        .map(|(d, e)| (d, e.map(|e| e.kind).unwrap_or_default()))
        .collect();
    Ok((Cursor::new(page, total), rows))
}

/// A delivery this replica has claimed, with what it needs to send it.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub delivery: webhook_delivery::Model,
    pub webhook: webhook::Model,
    pub event: event::Model,
}

/// Claims up to `limit` due deliveries. Each claim bumps `attempts` only if nobody
/// else did first, and reserves the delivery for `CLAIM_LEASE`.
pub async fn claim_due(db: &DatabaseConnection, now: DateTime<Utc>, limit: u64) -> Result<Vec<Claimed>> {
    let due = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq("pending"))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .limit(limit)
        .all(db)
        .await?;
    let mut claimed = Vec::new();
    for delivery in due {
        let won = webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Attempts, Expr::value(delivery.attempts + 1))
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now + CLAIM_LEASE))
            .filter(webhook_delivery::Column::Id.eq(delivery.id))
            .filter(webhook_delivery::Column::Status.eq("pending"))
            .filter(webhook_delivery::Column::Attempts.eq(delivery.attempts))
            .exec(db)
            .await?
            .rows_affected
            == 1;
        if !won {
            continue;
        }
        let (Some(hook), Some(event)) = (
            webhook::Entity::find_by_id(delivery.webhook_id).one(db).await?,
            event::Entity::find_by_id(delivery.event_id).one(db).await?,
        ) else {
            continue;
        };
        let delivery = webhook_delivery::Model {
            attempts: delivery.attempts + 1,
            ..delivery
        };
        claimed.push(Claimed {
            delivery,
            webhook: hook,
            event,
        });
    }
    Ok(claimed)
}

/// What came of one attempt.
#[derive(Clone, Debug)]
pub enum Outcome {
    Delivered { status_code: i32 },
    Failed { status_code: Option<i32>, error: String },
}

/// The wait before attempt `attempts + 1`: `base`, doubling, at most an hour.
pub fn backoff(base: std::time::Duration, attempts: i32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.clamp(1, 20) as u32 - 1);
    let wait = base.saturating_mul(factor).min(std::time::Duration::from_secs(3600));
    Duration::from_std(wait).unwrap_or(Duration::hours(1))
}

/// Records an attempt: delivered, retried later with back-off, or given up.
pub async fn complete(
    db: &DatabaseConnection,
    claimed: &Claimed,
    outcome: Outcome,
    base: std::time::Duration,
) -> Result<()> {
    let now = Utc::now();
    let mut active: webhook_delivery::ActiveModel = claimed.delivery.clone().into();
    match outcome {
        Outcome::Delivered { status_code } => {
            active.status = Set("delivered".into());
            active.last_status_code = Set(Some(status_code));
            active.last_error = Set(None);
            active.delivered_at = Set(Some(now));
        }
        Outcome::Failed { status_code, error } => {
            let attempts = claimed.delivery.attempts;
            active.status = Set(if attempts >= MAX_ATTEMPTS { "failed" } else { "pending" }.into());
            active.last_status_code = Set(status_code);
            active.last_error = Set(Some(error.chars().take(1000).collect()));
            active.next_attempt_at = Set(now + backoff(base, attempts));
        }
    }
    active.update(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_from_the_base_up_to_an_hour() {
        let base = std::time::Duration::from_secs(1);
        assert_eq!(backoff(base, 1), Duration::seconds(1));
        assert_eq!(backoff(base, 2), Duration::seconds(2));
        assert_eq!(backoff(base, 5), Duration::seconds(16));
        assert_eq!(backoff(base, 30), Duration::hours(1));
    }

    #[test]
    fn only_absolute_http_urls_are_accepted() {
        assert!(parse_url("https://hooks.example.com/x").is_ok());
        assert!(parse_url("http://127.0.0.1:9000/hook").is_ok());
        for bad in ["ftp://x", "https://", "/relative", "https:///path", "http://a b"] {
            assert_eq!(parse_url(bad).unwrap_err().code, ErrorCode::InvalidUrl, "{bad}");
        }
    }
}
