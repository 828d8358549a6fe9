//! Operators of a workspace and their API tokens. Listing is for everyone; creating,
//! deactivating and token management are for admins.

use chrono::Utc;
use entity::{api_token, operator};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    SqlErr,
};

use crate::auth::{Caller, Role, generate_token, hash_token};
use crate::chats::find_operator;
use crate::error::{Error, ErrorCode, Result};
use crate::paging::{Cursor, PageRequest, page_of};
use crate::text::{parse_email, parse_name};

/// Prefix of operator tokens.
pub const OPERATOR_TOKEN_PREFIX: &str = "sbo";

#[derive(Clone, Debug)]
pub struct NewOperator {
    pub name: String,
    pub email: String,
    pub role: Role,
}

/// A token as issued: the plain token is shown this once and never stored.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub id: i64,
    pub token: String,
}

#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    page: PageRequest,
) -> Result<(Cursor, Vec<operator::Model>)> {
    let query = operator::Entity::find().filter(operator::Column::WorkspaceId.eq(caller.workspace_id));
    page_of(db, query, operator::Column::Id, page).await
}

#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn get(db: &DatabaseConnection, caller: &Caller, operator_id: i64) -> Result<operator::Model> {
    find_operator(db, caller, operator_id).await
}

#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn create(db: &DatabaseConnection, caller: &Caller, new: &NewOperator) -> Result<operator::Model> {
    caller.require_admin("create operators")?;
    insert(db, caller.workspace_id, new).await
}

/// Inserts an operator; a taken e-mail is a 409 naming the field.
pub async fn insert<C: ConnectionTrait>(db: &C, workspace_id: i64, new: &NewOperator) -> Result<operator::Model> {
    let name = parse_name("name", &new.name)?;
    let email = parse_email(&new.email)?;
    operator::ActiveModel {
        workspace_id: Set(workspace_id),
        name: Set(name),
        email: Set(email.clone()),
        role: Set(new.role.as_str().into()),
        active: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => Error::new(
            ErrorCode::EmailTaken,
            format!("email: an operator with {email} already exists in this workspace"),
        ),
        _ => err.into(),
    })
}

/// Activates or deactivates an operator. A deactivated operator's tokens stop working.
#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn set_active(
    db: &DatabaseConnection,
    caller: &Caller,
    operator_id: i64,
    active: bool,
) -> Result<operator::Model> {
    caller.require_admin("deactivate operators")?;
    let found = find_operator(db, caller, operator_id).await?;
    if !active && found.id == caller.operator_id {
        return Err(Error::new(
            ErrorCode::Forbidden,
            "an admin cannot deactivate themselves",
        ));
    }
    if found.active == active {
        return Ok(found);
    }
    let mut model: operator::ActiveModel = found.into();
    model.active = Set(active);
    let updated = model.update(db).await?;
    crate::auth::forget_tokens();
    Ok(updated)
}

#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn issue_token(
    db: &DatabaseConnection,
    caller: &Caller,
    operator_id: i64,
    label: &str,
) -> Result<IssuedToken> {
    caller.require_admin("issue tokens")?;
    let found = find_operator(db, caller, operator_id).await?;
    let label = parse_name("label", label)?;
    insert_token(db, found.workspace_id, Some(found.id), None, &label).await
}

/// Stores a new token's hash and answers the token itself.
pub async fn insert_token<C: ConnectionTrait>(
    db: &C,
    workspace_id: i64,
    operator_id: Option<i64>,
    channel_id: Option<i64>,
    label: &str,
) -> Result<IssuedToken> {
    let prefix = if channel_id.is_some() {
        crate::workspaces::CHANNEL_TOKEN_PREFIX
    } else {
        OPERATOR_TOKEN_PREFIX
    };
    let token = generate_token(prefix);
    let row = api_token::ActiveModel {
        workspace_id: Set(workspace_id),
        operator_id: Set(operator_id),
        channel_id: Set(channel_id),
        token_hash: Set(hash_token(&token)),
        label: Set(label.to_owned()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(IssuedToken { id: row.id, token })
}

/// Revokes a token of the workspace; revoking it twice is fine.
#[tracing::instrument(skip(db), fields(workspace = caller.workspace_id))]
pub async fn revoke_token(db: &DatabaseConnection, caller: &Caller, token_id: i64) -> Result<()> {
    caller.require_admin("revoke tokens")?;
    let found = api_token::Entity::find_by_id(token_id)
        .filter(api_token::Column::WorkspaceId.eq(caller.workspace_id))
        .one(db)
        .await?
        .ok_or_else(|| Error::new(ErrorCode::TokenNotFound, format!("token {token_id} was not found")))?;
    if found.revoked_at.is_none() {
        let mut model: api_token::ActiveModel = found.into();
        model.revoked_at = Set(Some(Utc::now()));
        model.update(db).await?;
        crate::auth::forget_tokens();
    }
    Ok(())
}
