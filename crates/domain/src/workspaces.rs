//! Creating a workspace with its first admin (and optionally a channel): what
//! `switchboard bootstrap` and the demo do before anyone has a token.

use chrono::Utc;
use entity::{channel, workspace};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection};

use crate::auth::Role;
use crate::db::begin_write;
use validator::Validate;

use crate::error::{Error, ErrorCode, Result};
use crate::operators::{NewOperator, insert, insert_token};
use crate::text::parse_name;

/// Prefix of channel (connector) tokens.
pub const CHANNEL_TOKEN_PREFIX: &str = "sbc";

/// What `switchboard bootstrap` is given on its command line.
#[derive(Clone, Debug, Validate)]
pub struct BootstrapRequest {
    #[validate(length(min = 1, max = 200))]
    pub workspace: String,
    #[validate(email, length(max = 200))]
    pub admin_email: String,
    #[validate(length(min = 1, max = 200))]
    pub admin_name: String,
    #[validate(length(min = 1, max = 200))]
    pub channel: Option<String>,
}

/// What bootstrap made, with the only copies of its tokens.
#[derive(Clone, Debug)]
pub struct Bootstrapped {
    pub workspace_id: i64,
    pub admin_operator_id: i64,
    pub admin_token: String,
    pub channel_id: Option<i64>,
    pub channel_token: Option<String>,
}

pub async fn bootstrap(db: &DatabaseConnection, request: &BootstrapRequest) -> Result<Bootstrapped> {
    request
        .validate()
        .map_err(|e| Error::new(ErrorCode::InvalidField, format!("bootstrap: {e}")))?;
    let name = parse_name("workspace", &request.workspace)?;
    let txn = begin_write(db, &[]).await?;
    let now = Utc::now();
    let ws = workspace::ActiveModel {
        name: Set(name),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let admin = insert(
        &txn,
        ws.id,
        &NewOperator {
            name: request.admin_name.clone(),
            email: request.admin_email.clone(),
            role: Role::Admin,
        },
    )
    .await?;
    let admin_token = insert_token(&txn, ws.id, Some(admin.id), None, "bootstrap").await?;
    let (channel_id, channel_token) = match &request.channel {
        Some(channel_name) => {
            let channel = create_channel(&txn, ws.id, "web", channel_name).await?;
            let token = insert_token(&txn, ws.id, None, Some(channel.id), "bootstrap").await?;
            (Some(channel.id), Some(token.token))
        }
        None => (None, None),
    };
    txn.commit().await?;
    Ok(Bootstrapped {
        workspace_id: ws.id,
        admin_operator_id: admin.id,
        admin_token: admin_token.token,
        channel_id,
        channel_token,
    })
}

pub async fn create_channel<C: ConnectionTrait>(
    db: &C,
    workspace_id: i64,
    kind: &str,
    name: &str,
) -> Result<channel::Model> {
    let kind = parse_name("kind", kind)?;
    let name = parse_name("name", name)?;
    Ok(channel::ActiveModel {
        workspace_id: Set(workspace_id),
        kind: Set(kind),
        name: Set(name),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bootstrap_request_needs_a_real_e_mail_and_names() {
        let good = BootstrapRequest {
            workspace: "Acme".into(),
            admin_email: "admin@acme.example".into(),
            admin_name: "Admin".into(),
            channel: None,
        };
        assert!(good.validate().is_ok());
        let bad_email = BootstrapRequest {
            admin_email: "admin".into(),
            ..good.clone()
        };
        assert!(bad_email.validate().is_err());
        let no_name = BootstrapRequest {
            workspace: String::new(),
            ..good
        };
        assert!(no_name.validate().is_err());
    }
}
