//! The query schemas of `GET /servers/{id}/os-instance-actions` (Nova's
//! `schemas/instance_actions.py`): anything before 2.58; from 2.58 only
//! `limit`, `marker` and `changes-since`, each once; from 2.66
//! `changes-before` too. The show takes none from 2.102
//! ([`super::query::check_none`]).

use std::sync::OnceLock;

use nova_router::ApiVersion;
use serde_json::{json, Value};

use super::query::{compiled, query_object};
use super::Schema;
use crate::api::Call;
use crate::ComputeError;

/// Nova's `single_param`: a list of at most one value of `schema`.
fn single(schema: Value) -> Value {
    json!({"type": "array", "items": schema, "maxItems": 1})
}

fn index_v258() -> Value {
    json!({
        "type": "object",
        "properties": {
            "limit": single(json!({"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0, "minLength": 1})),
            "marker": single(json!({"type": "string"})),
            "changes-since": single(json!({"type": "string", "format": "date-time"})),
        },
        "additionalProperties": false,
    })
}

fn index_v266() -> Value {
    let mut schema = index_v258();
    schema["properties"]["changes-before"] =
        single(json!({"type": "string", "format": "date-time"}));
    schema
}

/// Checks the listing's query at the call's microversion.
pub(crate) fn check_index_query(call: &Call) -> Result<(), ComputeError> {
    static V258: OnceLock<Result<Schema, String>> = OnceLock::new();
    static V266: OnceLock<Result<Schema, String>> = OnceLock::new();
    let schema = if call.version >= ApiVersion::new(2, 66) {
        compiled(&V266, index_v266)?
    } else if call.version >= ApiVersion::new(2, 58) {
        compiled(&V258, index_v258)?
    } else {
        return Ok(());
    };
    schema.check_query(&query_object(call))
}
