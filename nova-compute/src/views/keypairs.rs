//! Key pair bodies (Nova's `views/keypairs.py`): which fields a listing,
//! a show and a create carry at a microversion (`type` from 2.2), in the
//! order Nova's view builder writes them.

use serde_json::{json, Map, Value};

use crate::api::Call;
use crate::Keypair;

/// A key pair's creation time as Nova's database row gives it: no zone,
/// microseconds (`2014-05-07T12:06:13.681238`).
fn created_at(keypair: &Keypair) -> String {
    let text = keypair.created_at.to_string();
    text.strip_suffix('Z').unwrap_or(&text).to_owned()
}

/// One key pair of a listing: `name`, `public_key`, `fingerprint`, and
/// from 2.2 `type`.
pub(crate) fn listed(call: &Call, keypair: &Keypair) -> Value {
    let mut view = Map::new();
    view.insert("name".to_owned(), json!(keypair.name));
    view.insert("public_key".to_owned(), json!(keypair.public_key));
    view.insert("fingerprint".to_owned(), json!(keypair.fingerprint));
    if call.at_least(2, 2) {
        view.insert("type".to_owned(), json!(keypair.kind.as_str()));
    }
    json!({"keypair": view})
}

/// `{"keypair": …}` of a show: the listing's fields with `user_id`,
/// `created_at`, the never-set `deleted`, `deleted_at` and `updated_at`,
/// and `id`.
pub(crate) fn show(call: &Call, keypair: &Keypair) -> Value {
    let mut view = Map::new();
    view.insert("name".to_owned(), json!(keypair.name));
    view.insert("public_key".to_owned(), json!(keypair.public_key));
    view.insert("fingerprint".to_owned(), json!(keypair.fingerprint));
    view.insert("user_id".to_owned(), json!(keypair.user_id));
    view.insert("created_at".to_owned(), json!(created_at(keypair)));
    view.insert("deleted".to_owned(), json!(false));
    view.insert("deleted_at".to_owned(), Value::Null);
    view.insert("id".to_owned(), json!(keypair.id));
    view.insert("updated_at".to_owned(), Value::Null);
    if call.at_least(2, 2) {
        view.insert("type".to_owned(), json!(keypair.kind.as_str()));
    }
    json!({"keypair": view})
}

/// `{"keypair": …}` of a create: `private_key` when one was generated,
/// `type` from 2.2, then `name`, `public_key`, `fingerprint`, `user_id`.
pub(crate) fn created(call: &Call, keypair: &Keypair, private_key: Option<String>) -> Value {
    let mut view = Map::new();
    if let Some(private_key) = private_key {
        view.insert("private_key".to_owned(), json!(private_key));
    }
    if call.at_least(2, 2) {
        view.insert("type".to_owned(), json!(keypair.kind.as_str()));
    }
    view.insert("name".to_owned(), json!(keypair.name));
    view.insert("public_key".to_owned(), json!(keypair.public_key));
    view.insert("fingerprint".to_owned(), json!(keypair.fingerprint));
    view.insert("user_id".to_owned(), json!(keypair.user_id));
    json!({"keypair": view})
}
