//! Who is calling: bearer tokens are stored only as SHA-256 hashes and resolve to an
//! operator (with a role) or a channel, always inside one workspace.

use chrono::{Duration, Utc};
use entity::{api_token, operator};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use std::sync::OnceLock;

use crate::cache::TtlCache;
use crate::error::{Error, ErrorCode, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "admin" => Some(Role::Admin),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
}

/// An authenticated operator: every use case takes one and stays in its workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub workspace_id: i64,
    pub operator_id: i64,
    pub role: Role,
    pub token_id: i64,
}

impl Caller {
    pub fn require_admin(&self, what: &str) -> Result<()> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Operator => Err(Error::forbidden(what)),
        }
    }
}

/// The SHA-256 of a token, as stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random token: a prefix saying what it is for, then 256 random bits.
pub fn generate_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
}

/// `last_used_at` is refreshed at most this often, so that reads stay reads.
const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);

fn unauthorized() -> Error {
    Error::new(ErrorCode::Unauthorized, "a valid operator bearer token is required")
}

/// Resolves an operator token into its caller; revoked tokens, channel tokens and
/// inactive operators are all simply "unauthorized".
pub async fn authenticate_operator(db: &DatabaseConnection, token: &str) -> Result<Caller> {
    let hash = hash_token(token);
    if let Some(caller) = token_cache().get(&hash, 0) {
        return Ok(caller);
    }
    let Some((token_row, Some(op))) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash.clone()))
        .filter(api_token::Column::RevokedAt.is_null())
        .find_also_related(operator::Entity)
        .one(db)
        .await?
    else {
        return Err(unauthorized());
    };
    if !op.active || op.workspace_id != token_row.workspace_id {
        return Err(unauthorized());
    }
    let role =
        Role::parse(&op.role).ok_or_else(|| Error::internal(format!("operator {} has role {:?}", op.id, op.role)))?;
    let now = Utc::now();
    if token_row.last_used_at.is_none_or(|at| now - at > LAST_USED_RESOLUTION) {
        let mut active: api_token::ActiveModel = token_row.clone().into();
        active.last_used_at = Set(Some(now));
        active.update(db).await?;
    }
    let caller = Caller {
        workspace_id: op.workspace_id,
        operator_id: op.id,
        role,
        token_id: token_row.id,
    };
    token_cache().put(hash, caller.clone(), 0);
    Ok(caller)
}

/// How long a resolved token is trusted without reading it again. Revoking a token
/// or deactivating an operator clears this process's cache at once; on another
/// replica the change shows within this time.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

fn token_cache() -> &'static TtlCache<String, Caller> {
    static CACHE: OnceLock<TtlCache<String, Caller>> = OnceLock::new();
    CACHE.get_or_init(|| TtlCache::new(TOKEN_CACHE_TTL, 10_000))
}

/// Forgets every resolved token (after a revocation or deactivation).
pub fn forget_tokens() {
    token_cache().clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_to_64_hex_digits() {
        let a = generate_token("sbo");
        let b = generate_token("sbo");
        assert_ne!(a, b);
        assert!(a.starts_with("sbo_") && a.len() == 4 + 64);
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), hash_token(&b));
    }
}
