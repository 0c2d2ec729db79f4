//! The server password controller: Nova's `server_password.py` for
//! `/servers/{id}/os-server-password`: `GET` shows the encrypted password
//! the guest posted to the metadata service (`""` when there is none),
//! `DELETE` clears it (204) without changing the guest's password.
//!
//! nova-rs has no metadata service, so the password is kept in the
//! server's details ([`ServerDetails::password`](crate::ServerDetails))
//! and stays empty until something sets it.

use http::StatusCode;
use nova_controller::IfMatch;
use nova_router::Response;
use serde_json::json;

use crate::api::{empty, json, Call};
use crate::lookup::{change_server, details_of, find_server};
use crate::policy::Rule;
use crate::schemas::query::check_none;
use crate::{ComputeApi, ComputeError};

pub(crate) async fn dispatch(
    api: &ComputeApi,
    method: &str,
    call: Call,
) -> Result<Response, ComputeError> {
    match method {
        "index" => index(api, &call).await,
        "clear" => clear(api, &call).await,
        other => Err(ComputeError::UnknownAction(format!(
            "server_password.{other}"
        ))),
    }
}

async fn index(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_none(call)?;
    let server = find_server(api, call, call.param("server_id"), Rule::ServerPasswordShow).await?;
    let password = &details_of(api, &server).password;
    Ok(json(StatusCode::OK, &json!({ "password": password })))
}

/// Nova clears the password in the instance's system metadata and saves
/// the instance, which writes its `updated_at`: so does this (through
/// [`change_server`]).
async fn clear(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    change_server(
        api,
        call,
        call.param("server_id"),
        IfMatch::Any,
        Rule::ServerPasswordClear,
        |_server, details, _now| {
            details.password.clear();
            Ok(())
        },
    )
    .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests;
