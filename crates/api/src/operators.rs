//! Operators and their tokens. Everyone may list operators; admins create and
//! deactivate them and issue and revoke tokens.

use crate::oai as poem_openapi;
use ::poem_openapi::param::{Path, Query};
use ::poem_openapi::payload::Json;
use ::poem_openapi::{ApiResponse, Object, OpenApi};
use domain::operators::NewOperator;
use domain::paging::PageRequest;

use crate::auth::OperatorAuth;
use crate::error::ApiError;
use crate::strict::Str;
use crate::wire::{Operator, OperatorList, OperatorRole, StateResponse};
use crate::{ApiTags, AppState};

pub struct OperatorsApi {
    pub state: AppState,
}

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Object, Debug)]
#[oai(example)]
pub struct CreateOperator {
    /// 1 to 200 characters.
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^ \t\n\x0C\r\x00][^\x00]*$"))]
    pub name: Str,
    /// Unique in the workspace.
    #[oai(validator(
        max_length = 200,
        pattern = r"^[^@\x00-\x20]+@[^@\x00-\x20.][^@\x00-\x20]*\.[^@\x00-\x20]*[^@\x00-\x20.]$"
    ))]
    pub email: Str,
    pub role: OperatorRole,
}

#[derive(Object, Debug)]
#[oai(example)]
pub struct UpdateOperator {
    /// `false` deactivates the operator: their tokens stop working and chats cannot
    /// be forwarded to them.
    pub active: bool,
}

#[derive(Object, Debug)]
#[oai(example)]
pub struct CreateToken {
    /// What the token is for, e.g. `dashboard` or `nightly script`.
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^ \t\n\x0C\r\x00][^\x00]*$"))]
    pub label: Str,
}

/// A new token. `token` is shown only in this answer; store it now.
#[derive(Object, Debug)]
#[oai(example)]
pub struct IssuedToken {
    pub id: i64,
    pub token: String,
}

#[derive(ApiResponse)]
pub enum CreatedOperator {
    /// The operator was created.
    #[oai(status = 201)]
    Created(Json<Operator>),
}

#[derive(ApiResponse)]
pub enum CreatedToken {
    /// The token was issued.
    #[oai(status = 201)]
    Created(Json<IssuedToken>),
}

#[OpenApi(prefix_path = "/v1")]
impl OperatorsApi {
    /// List operators
    ///
    /// The workspace's operators, oldest first: the people chats can be forwarded to.
    #[oai(
        path = "/operators",
        method = "get",
        operation_id = "listOperators",
        tag = "ApiTags::Operators"
    )]
    async fn list_operators(
        &self,
        auth: OperatorAuth,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000")))]
        page: Query<Option<i64>>,
        /// Operators per page, 1 to 20 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "20")))]
        limitation: Query<Option<i64>>,
    ) -> Result<Json<OperatorList>> {
        let page = PageRequest::parse(page.0, limitation.0)?;
        let (cursor, rows) = domain::operators::list(&self.state.db, &auth.0, page).await?;
        Ok(Json(OperatorList {
            cursor: cursor.into(),
            collection: rows.into_iter().map(Into::into).collect(),
        }))
    }

    /// Get an operator
    ///
    /// One operator of the workspace, with role and whether they are active.
    #[oai(
        path = "/operators/:operatorId",
        method = "get",
        operation_id = "getOperator",
        tag = "ApiTags::Operators"
    )]
    async fn get_operator(
        &self,
        auth: OperatorAuth,
        #[oai(name = "operatorId")] operator_id: Path<i64>,
    ) -> Result<Json<Operator>> {
        Ok(Json(
            domain::operators::get(&self.state.db, &auth.0, operator_id.0)
                .await?
                .into(),
        ))
    }

    /// Create an operator (admin)
    ///
    /// Adds a person to the workspace. Issue them a token next.
    #[oai(
        path = "/operators",
        method = "post",
        operation_id = "createOperator",
        tag = "ApiTags::Operators"
    )]
    async fn create_operator(&self, auth: OperatorAuth, body: Json<CreateOperator>) -> Result<CreatedOperator> {
        let new = NewOperator {
            name: body.0.name.into(),
            email: body.0.email.into(),
            role: body.0.role.into(),
        };
        let created = domain::operators::create(&self.state.db, &auth.0, &new).await?;
        Ok(CreatedOperator::Created(Json(created.into())))
    }

    /// Activate or deactivate an operator (admin)
    ///
    /// A deactivated operator's tokens stop working at once and chats can no longer
    /// be forwarded to them; activating them again restores both.
    #[oai(
        path = "/operators/:operatorId",
        method = "patch",
        operation_id = "updateOperator",
        tag = "ApiTags::Operators"
    )]
    async fn update_operator(
        &self,
        auth: OperatorAuth,
        #[oai(name = "operatorId")] operator_id: Path<i64>,
        body: Json<UpdateOperator>,
    ) -> Result<Json<Operator>> {
        let updated = domain::operators::set_active(&self.state.db, &auth.0, operator_id.0, body.0.active).await?;
        Ok(Json(updated.into()))
    }

    /// Issue a token to an operator (admin)
    ///
    /// The token is in this answer only; Switchboard keeps just its hash.
    #[oai(
        path = "/operators/:operatorId/tokens",
        method = "post",
        operation_id = "createOperatorToken",
        tag = "ApiTags::Operators"
    )]
    async fn create_token(
        &self,
        auth: OperatorAuth,
        #[oai(name = "operatorId")] operator_id: Path<i64>,
        body: Json<CreateToken>,
    ) -> Result<CreatedToken> {
        let issued = domain::operators::issue_token(&self.state.db, &auth.0, operator_id.0, &body.0.label).await?;
        Ok(CreatedToken::Created(Json(IssuedToken {
            id: issued.id,
            token: issued.token,
        })))
    }

    /// Revoke a token (admin)
    ///
    /// The token stops working at once.
    #[oai(
        path = "/tokens/:tokenId",
        method = "delete",
        operation_id = "revokeToken",
        tag = "ApiTags::Operators"
    )]
    async fn revoke_token(
        &self,
        auth: OperatorAuth,
        #[oai(name = "tokenId")] token_id: Path<i64>,
    ) -> Result<Json<StateResponse>> {
        domain::operators::revoke_token(&self.state.db, &auth.0, token_id.0).await?;
        Ok(Json(StateResponse::done()))
    }
}
