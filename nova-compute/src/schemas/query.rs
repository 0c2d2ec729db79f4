//! What the query-string schemas of the compute API share: the query as
//! Nova's schemas see it (each name with the list of its values), the
//! empty schema of the reads that take no parameters (from 2.102, Nova's
//! `additionalProperties: False` on them), and a compiled-once cell.

use std::sync::OnceLock;

use nova_router::ApiVersion;
use serde_json::{json, Map, Value};

use super::Schema;
use crate::api::Call;
use crate::ComputeError;

/// The query as Nova's query schemas see it (`req.GET.dict_of_lists()`):
/// each name with the list of its values.
pub(crate) fn query_object(call: &Call) -> Value {
    let mut object = Map::new();
    for (name, value) in &call.query {
        if let Value::Array(values) = object
            .entry(name.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            values.push(Value::String(value.clone()));
        }
    }
    Value::Object(object)
}

/// The schema `build` makes, compiled once into `cell`; a schema of ours
/// that does not compile is a bug, answered as a 500.
pub(crate) fn compiled(
    cell: &'static OnceLock<Result<Schema, String>>,
    build: fn() -> Value,
) -> Result<&'static Schema, ComputeError> {
    match cell.get_or_init(|| Schema::new(&build())) {
        Ok(schema) => Ok(schema),
        Err(error) => Err(ComputeError::Fault(nova_router::Fault::internal(format!(
            "a request schema does not compile: {error}"
        )))),
    }
}

/// Checks the query of a read that takes no parameters (the `index_query`
/// and `show_query` of server metadata, ips and instance actions): any
/// query before 2.102, none from 2.102.
pub(crate) fn check_none(call: &Call) -> Result<(), ComputeError> {
    static CELL: OnceLock<Result<Schema, String>> = OnceLock::new();
    if call.version < ApiVersion::new(2, 102) || call.query.is_empty() {
        return Ok(());
    }
    let none = || json!({"type": "object", "properties": {}, "additionalProperties": false});
    compiled(&CELL, none)?.check_query(&query_object(call))
}
