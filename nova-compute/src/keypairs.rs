//! The keypairs controller: Nova's `keypairs.py` for `/os-keypairs`
//! (list, create or import) and `/os-keypairs/{name}` (show, delete), over
//! the store's [`KeypairStore`](crate::KeypairStore).
//!
//! Key pairs belong to users. What changes with the microversion:
//!
//! | from | change |
//! |---|---|
//! | 2.1 | create answers 200, delete 202 |
//! | 2.2 | `type` (`ssh` or `x509`) in bodies; create answers 201, delete 204 |
//! | 2.10 | an admin names another user: `user_id` in the create body, in the query of the rest |
//! | 2.35 | the listing pages: `limit`, `marker` (a name), `keypairs_links` |
//! | 2.75 | unknown query parameters refused |
//! | 2.92 | no generated key pairs: `public_key` required; names may hold `@` and `.` |
//!
//! A generated key is Ed25519, not Nova's 2048-bit RSA (see
//! [`generate`](crate::generate_keypair)); an X.509 pair is imported, never
//! generated. Creating past the user's `key_pairs` quota is Nova's 403
//! `Quota exceeded, too many key pairs.`

use http::StatusCode;
use nova_router::Response;
use serde_json::{json, Value};

use crate::api::{empty, json, Call};
use crate::keypair::{fingerprint, generate};
use crate::pagination::{collection_links, limit_and_marker};
use crate::policy::{self, Rule};
use crate::quota::effective_limits;
use crate::schemas::keypairs::{check_create, check_query};
use crate::views::keypairs as view;
use crate::{ComputeApi, ComputeError, KeyError, Keypair, KeypairCreate, KeypairType};

pub(crate) async fn dispatch(
    api: &ComputeApi,
    method: &str,
    call: Call,
) -> Result<Response, ComputeError> {
    match method {
        "index" => index(api, &call).await,
        "create" => create(api, &call).await,
        "show" => show(api, &call).await,
        "delete" => delete(api, &call).await,
        other => Err(ComputeError::UnknownAction(format!("keypairs.{other}"))),
    }
}

/// Nova's `KeypairNotFound`.
fn not_found(name: &str, user_id: &str) -> ComputeError {
    ComputeError::NotFound(format!("Keypair {name} not found for user {user_id}"))
}

/// Nova's `InvalidKeypair`, answered 400.
fn invalid(error: &KeyError) -> ComputeError {
    ComputeError::BadRequest(format!("Keypair data is invalid: {error}"))
}

/// Nova's `KeypairLimitExceeded`, answered 403.
fn over_quota() -> ComputeError {
    ComputeError::Forbidden("Quota exceeded, too many key pairs.".to_owned())
}

/// The user a read or delete is about: the first `user_id` of the query
/// from 2.10 (Nova's `req.GET.getall('user_id')[0]`), else the caller.
fn target_user(call: &Call) -> String {
    let named = call
        .at_least(2, 10)
        .then(|| call.query_all("user_id").next())
        .flatten();
    named.unwrap_or(&call.user_id).to_owned()
}

/// The key pair of the caller named `name`, as server create and rebuild
/// need it for `key_name`: Nova's 400 `Invalid key_name provided.` when
/// the caller has none of that name.
pub(crate) async fn key_of_caller(
    api: &ComputeApi,
    call: &Call,
    name: &str,
) -> Result<Keypair, ComputeError> {
    api.store
        .keypair(call.user_id.clone(), name.to_owned())
        .await?
        .ok_or_else(|| ComputeError::BadRequest("Invalid key_name provided.".to_owned()))
}

async fn index(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_query(call, true)?;
    let user_id = target_user(call);
    policy::authorize_user(call, Rule::KeypairsIndex, &user_id)?;
    let mut keypairs = api.store.keypairs(user_id).await?;
    let paged = call.at_least(2, 35);
    // The parameters Nova's query schema keeps (it strips the others
    // before 2.75), for the next link.
    let params: Vec<(String, String)> = call
        .query
        .iter()
        .filter(|(name, _)| ["user_id", "limit", "marker"].contains(&name.as_str()))
        .cloned()
        .collect();
    if paged {
        let (limit, marker) = limit_and_marker(&params, api.cloud.max_limit);
        if let Some(marker) = marker {
            let at = keypairs
                .iter()
                .position(|k| k.name == marker)
                .ok_or_else(|| {
                    ComputeError::BadRequest(format!("Marker {marker} could not be found."))
                })?;
            keypairs.drain(..=at);
        }
        keypairs.truncate(limit);
    }
    let listed: Vec<Value> = keypairs.iter().map(|k| view::listed(call, k)).collect();
    let mut body = json!({ "keypairs": listed });
    if paged {
        let last = keypairs.last().map(|k| k.name.as_str());
        if let Some(links) = collection_links(
            call,
            &params,
            api.cloud.max_limit,
            keypairs.len(),
            last,
            "os-keypairs",
        ) {
            body["keypairs_links"] = links;
        }
    }
    Ok(json(StatusCode::OK, &body))
}

async fn create(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    let body = call.json_body()?.unwrap_or(Value::Null);
    check_create(call, &body)?;
    let params = &body["keypair"];
    let name = params["name"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let kind = params["type"]
        .as_str()
        .and_then(KeypairType::parse)
        .unwrap_or(KeypairType::Ssh);
    let user_id = params["user_id"]
        .as_str()
        .filter(|_| call.at_least(2, 10))
        .unwrap_or(&call.user_id)
        .to_owned();
    policy::authorize_user(call, Rule::KeypairsCreate, &user_id)?;
    // Nova counts against the quota of the caller's project for the key
    // pair's user, before it reads the key.
    let limit = effective_limits(api, &call.project_id, Some(&user_id))
        .await?
        .get("key_pairs")
        .copied()
        .unwrap_or(-1);
    if limit >= 0 {
        let held = api.store.keypairs(user_id.clone()).await?.len();
        if i64::try_from(held).unwrap_or(i64::MAX) >= limit {
            return Err(over_quota());
        }
    }
    let (public_key, key_fingerprint, private_key) = match params["public_key"].as_str() {
        Some(public_key) => {
            let print = fingerprint(kind, public_key).map_err(|e| invalid(&e))?;
            (public_key.to_owned(), print, None)
        }
        None => {
            let generated = generate(kind).map_err(|e| invalid(&e))?;
            (
                generated.public_key,
                generated.fingerprint,
                Some(generated.private_key),
            )
        }
    };
    let keypair = Keypair {
        id: 0,
        user_id,
        name,
        kind,
        public_key,
        fingerprint: key_fingerprint,
        created_at: api.clock.now(),
    };
    // The store counts again in the same step as the insert, so that two
    // creates racing for the last place cannot both have it.
    let stored = match api.store.create_keypair(keypair.clone(), limit).await? {
        KeypairCreate::Created(stored) => stored,
        KeypairCreate::Exists => {
            return Err(ComputeError::Conflict(format!(
                "Key pair '{}' already exists.",
                keypair.name
            )))
        }
        KeypairCreate::OverQuota => return Err(over_quota()),
    };
    let status = if call.at_least(2, 2) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(status, &view::created(call, &stored, private_key)))
}

async fn show(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_query(call, false)?;
    let user_id = target_user(call);
    policy::authorize_user(call, Rule::KeypairsShow, &user_id)?;
    let name = call.param("id");
    let keypair = api
        .store
        .keypair(user_id.clone(), name.to_owned())
        .await?
        .ok_or_else(|| not_found(name, &user_id))?;
    Ok(json(StatusCode::OK, &view::show(call, &keypair)))
}

async fn delete(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_query(call, false)?;
    let user_id = target_user(call);
    policy::authorize_user(call, Rule::KeypairsDelete, &user_id)?;
    let name = call.param("id");
    if !api
        .store
        .delete_keypair(user_id.clone(), name.to_owned())
        .await?
    {
        return Err(not_found(name, &user_id));
    }
    Ok(empty(if call.at_least(2, 2) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::ACCEPTED
    }))
}

#[cfg(test)]
mod tests;
