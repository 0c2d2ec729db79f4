//! The flavors controllers: Nova's `flavors.py` (`GET /flavors`,
//! `/flavors/detail`, `/flavors/{id}`) and `flavors_extraspecs.py`
//! (`GET /flavors/{flavor_id}/os-extra_specs[/{key}]`), read-only over the
//! cloud's configured flavors.
//!
//! Who sees what is Nova's: an admin sees every flavor and may filter on
//! `is_public`; anyone else sees the public, enabled ones (nova-rs keeps no
//! flavor access lists, so a private flavor is an admin's alone). Listings
//! sort and page as Nova's database query does: by `sort_key` then the
//! flavor's position in the configuration (Nova's row id), both in
//! `sort_dir`, after the `marker` flavor.

use std::cmp::Ordering;
use std::sync::OnceLock;

use http::StatusCode;
use nova_router::{ApiVersion, Response};
use serde_json::{json, Value};

use crate::api::{json, Call};
use crate::pagination::{collection_links, last, limit_and_marker};
use crate::policy::{self, Rule};
use crate::schemas::query::{check_none, compiled, query_object};
use crate::schemas::Schema;
use crate::views::flavors as view;
use crate::{ComputeApi, ComputeError, Flavor};

pub(crate) async fn dispatch(
    api: &ComputeApi,
    method: &str,
    call: Call,
) -> Result<Response, ComputeError> {
    match method {
        "index" => list(api, &call, false),
        "detail" => list(api, &call, true),
        "show" => show(api, &call),
        other => Err(ComputeError::UnknownAction(format!("flavors.{other}"))),
    }
}

pub(crate) async fn dispatch_extra_specs(
    api: &ComputeApi,
    method: &str,
    call: Call,
) -> Result<Response, ComputeError> {
    match method {
        "index" => extra_specs_index(api, &call),
        "show" => extra_specs_show(api, &call),
        other => Err(ComputeError::UnknownAction(format!(
            "flavor_extra_specs.{other}"
        ))),
    }
}

/// Nova's `FlavorNotFound`.
fn flavor_not_found(id: &str) -> ComputeError {
    ComputeError::NotFound(format!("Flavor {id} could not be found."))
}

/// Whether the caller may see `flavor` at all (Nova's
/// `_flavor_get_query_from_db`): an admin any, anyone else the public
/// ones.
fn visible(call: &Call, flavor: &Flavor) -> bool {
    policy::is_admin(call) || flavor.is_public
}

/// The flavor `id` names, if the caller may see it (disabled ones
/// included, as Nova's `get_by_flavor_id`).
fn find_flavor<'a>(api: &'a ComputeApi, call: &Call, id: &str) -> Result<&'a Flavor, ComputeError> {
    api.cloud
        .flavors
        .iter()
        .find(|flavor| flavor.id == id && visible(call, flavor))
        .ok_or_else(|| flavor_not_found(id))
}

/// Whether a full view carries `extra_specs`: from 2.61, where the
/// `os-flavor-extra-specs:index` rule lets the caller list them.
fn include_extra_specs(call: &Call) -> bool {
    call.at_least(2, 61) && policy::allows(call, Rule::FlavorExtraSpecsIndex, &call.project_id)
}

fn show(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_none(call)?;
    let flavor = find_flavor(api, call, call.param("id"))?;
    let body = view::show(call, flavor, include_extra_specs(call));
    Ok(json(StatusCode::OK, &json!({ "flavor": body })))
}

fn extra_specs_index(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_none(call)?;
    policy::authorize(call, Rule::FlavorExtraSpecsIndex, &call.project_id)?;
    let flavor = find_flavor(api, call, call.param("flavor_id"))?;
    Ok(json(
        StatusCode::OK,
        &json!({ "extra_specs": flavor.extra_specs }),
    ))
}

fn extra_specs_show(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    check_none(call)?;
    policy::authorize(call, Rule::FlavorExtraSpecsShow, &call.project_id)?;
    let flavor_id = call.param("flavor_id");
    let key = call.param("id");
    let flavor = find_flavor(api, call, flavor_id)?;
    match flavor.extra_specs.get(key) {
        Some(value) => Ok(json(StatusCode::OK, &json!({ key: value }))),
        None => Err(ComputeError::NotFound(format!(
            "Flavor {flavor_id} has no extra specs with key {key}."
        ))),
    }
}

// ---- the listing's query -------------------------------------------------

/// Nova's `VALID_SORT_KEYS` for flavors.
const SORT_KEYS: [&str; 15] = [
    "created_at",
    "description",
    "disabled",
    "ephemeral_gb",
    "flavorid",
    "id",
    "is_public",
    "memory_mb",
    "name",
    "root_gb",
    "rxtx_factor",
    "swap",
    "updated_at",
    "vcpu_weight",
    "vcpus",
];

/// Nova's `schemas/flavors.py` `index_query`: before 2.75 other
/// parameters are stripped, from 2.75 refused; 2.102 adds `name` and
/// drops `rxtx_factor` from the sort keys.
fn index_query(version: ApiVersion) -> Value {
    let v2102 = version >= ApiVersion::new(2, 102);
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let sort_keys: Vec<&str> = SORT_KEYS
        .iter()
        .copied()
        .filter(|key| !(v2102 && *key == "rxtx_factor"))
        .collect();
    let mut properties = json!({
        "limit": {"type": "array", "items": {
            "type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0, "minLength": 1,
        }},
        "marker": strings,
        "is_public": strings,
        "minRam": strings,
        "minDisk": strings,
        "sort_key": {"type": "array", "items": {"type": "string", "enum": sort_keys}},
        "sort_dir": {"type": "array", "items": {"type": "string", "enum": ["asc", "desc"]}},
    });
    if v2102 {
        properties["name"] = strings;
    }
    json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": version < ApiVersion::new(2, 75),
    })
}

/// Checks the listing's query against its schema; the parameters the
/// controller then sees (Nova strips the others before 2.75).
fn checked_query(call: &Call) -> Result<Vec<(String, String)>, ComputeError> {
    static V21: OnceLock<Result<Schema, String>> = OnceLock::new();
    static V275: OnceLock<Result<Schema, String>> = OnceLock::new();
    static V2102: OnceLock<Result<Schema, String>> = OnceLock::new();
    let schema = if call.at_least(2, 102) {
        compiled(&V2102, || index_query(ApiVersion::new(2, 102)))?
    } else if call.at_least(2, 75) {
        compiled(&V275, || index_query(ApiVersion::new(2, 75)))?
    } else {
        compiled(&V21, || index_query(ApiVersion::new(2, 1)))?
    };
    schema.check_query(&query_object(call))?;
    let names = index_query(call.version);
    Ok(call
        .query
        .iter()
        .filter(|(key, _)| names["properties"].get(key).is_some())
        .cloned()
        .collect())
}

/// Nova's `_parse_is_public`: no parameter is public flavors only,
/// `none` (any case) every flavor, otherwise oslo's strict boolean.
fn parse_is_public(value: Option<&str>) -> Result<Option<bool>, ComputeError> {
    let Some(value) = value else {
        return Ok(Some(true));
    };
    if value.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Ok(Some(true)),
        "0" | "f" | "false" | "off" | "n" | "no" => Ok(Some(false)),
        _ => Err(ComputeError::BadRequest(format!(
            "Invalid is_public filter [{value}]"
        ))),
    }
}

/// Python's `int()` of a text: white space around, an optional sign,
/// digits with single underscores between them. Beyond `i128` saturates,
/// which compares the same against any flavor size.
fn python_int(text: &str) -> Option<i128> {
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let magnitude = digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0i128, |n, digit| {
            n.saturating_mul(10)
                .saturating_add(i128::from(digit - b'0'))
        });
    Some(if negative { -magnitude } else { magnitude })
}

/// `minRam` or `minDisk`, as Nova's `int(req.params[...])`.
fn min_filter(params: &[(String, String)], name: &str) -> Result<Option<i128>, ComputeError> {
    last(params, name)
        .map(|value| {
            python_int(value)
                .ok_or_else(|| ComputeError::BadRequest(format!("Invalid {name} filter [{value}]")))
        })
        .transpose()
}

/// A flavor's value of a sort key, ordered as the database orders it.
#[derive(Debug, PartialEq, PartialOrd)]
enum SortValue<'a> {
    /// NULL, first in ascending order as in MySQL.
    Null,
    Number(f64),
    Text(&'a str),
}

fn sort_value<'a>(flavor: &'a Flavor, key: &str, row: usize) -> SortValue<'a> {
    let number = |n: f64| SortValue::Number(n);
    match key {
        "flavorid" => SortValue::Text(&flavor.id),
        "name" => SortValue::Text(&flavor.name),
        "description" => flavor
            .description
            .as_deref()
            .map_or(SortValue::Null, SortValue::Text),
        "memory_mb" => number(flavor.ram as f64),
        "root_gb" => number(flavor.disk as f64),
        "ephemeral_gb" => number(flavor.ephemeral as f64),
        "swap" => number(flavor.swap as f64),
        "vcpus" => number(f64::from(flavor.vcpus)),
        "rxtx_factor" => number(flavor.rxtx_factor),
        "is_public" => number(f64::from(u8::from(flavor.is_public))),
        "disabled" => number(f64::from(u8::from(flavor.disabled))),
        "id" => number(row as f64),
        // created_at, updated_at, vcpu_weight: the same (or NULL) for
        // every configured flavor.
        _ => SortValue::Null,
    }
}

fn list(api: &ComputeApi, call: &Call, detail: bool) -> Result<Response, ComputeError> {
    let params = checked_query(call)?;
    let sort_key = last(&params, "sort_key")
        .filter(|key| !key.is_empty())
        .unwrap_or("flavorid");
    let descending = last(&params, "sort_dir") == Some("desc");
    let (limit, marker) = limit_and_marker(&params, api.cloud.max_limit);
    // Only an admin filters on is_public; anyone else sees the public,
    // enabled flavors.
    let (is_public, enabled_only) = if policy::is_admin(call) {
        (parse_is_public(last(&params, "is_public"))?, false)
    } else {
        (Some(true), true)
    };
    let min_ram = min_filter(&params, "minRam")?;
    let min_disk = min_filter(&params, "minDisk")?;
    let name = match last(&params, "name").filter(|_| call.at_least(2, 102)) {
        // Nova matches with the database's REGEXP; a pattern that does
        // not compile is matched as literal text.
        Some(pattern) => Some(
            regex::Regex::new(pattern)
                .or_else(|_| regex::Regex::new(&regex::escape(pattern)))
                .map_err(|_| {
                    ComputeError::BadRequest(format!("Invalid name filter [{pattern}]"))
                })?,
        ),
        None => None,
    };

    // (row, flavor): the row is the flavor's place in the configuration,
    // Nova's `id`, the last sort key.
    let seen: Vec<(usize, &Flavor)> = api
        .cloud
        .flavors
        .iter()
        .enumerate()
        .filter(|(_, flavor)| visible(call, flavor))
        .collect();
    let order = |a: &(usize, &Flavor), b: &(usize, &Flavor)| -> Ordering {
        let ordering = sort_value(a.1, sort_key, a.0)
            .partial_cmp(&sort_value(b.1, sort_key, b.0))
            .unwrap_or(Ordering::Equal)
            .then(a.0.cmp(&b.0));
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    };
    let marker_row = match &marker {
        None => None,
        Some(marker) => Some(
            *seen
                .iter()
                .find(|(_, flavor)| flavor.id == *marker)
                .ok_or_else(|| ComputeError::BadRequest(format!("marker [{marker}] not found")))?,
        ),
    };
    let mut matching: Vec<(usize, &Flavor)> = seen
        .iter()
        .copied()
        .filter(|(_, flavor)| {
            // Nova's `is_public` filter: true is public (or shared with
            // the project, which nova-rs has no lists for), false private.
            is_public.is_none_or(|public| flavor.is_public == public)
                && !(enabled_only && flavor.disabled)
                && min_ram.is_none_or(|min| i128::from(flavor.ram) >= min)
                && min_disk.is_none_or(|min| i128::from(flavor.disk) >= min)
                && name.as_ref().is_none_or(|re| re.is_match(&flavor.name))
        })
        .filter(|row| marker_row.is_none_or(|m| order(row, &m) == Ordering::Greater))
        .collect();
    matching.sort_by(order);
    matching.truncate(limit);
    let page: Vec<&Flavor> = matching.iter().map(|(_, flavor)| *flavor).collect();
    let collection = if detail { "flavors/detail" } else { "flavors" };
    let next = collection_links(
        call,
        &params,
        api.cloud.max_limit,
        page.len(),
        page.last().map(|flavor| flavor.id.as_str()),
        collection,
    );
    let body = view::list(call, &page, detail, include_extra_specs(call), next);
    Ok(json(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests;
