//! The flavor views: Nova's `views/flavors.py`. What a flavor looks like
//! at a microversion:
//!
//! | from | change |
//! |---|---|
//! | 2.1 | `id`, `name`, `links`; in full also `ram`, `disk`, `vcpus`, `swap` (`""` for none), `OS-FLV-EXT-DATA:ephemeral`, `OS-FLV-DISABLED:disabled`, `os-flavor-access:is_public`, `rxtx_factor` |
//! | 2.55 | `description`, in brief too |
//! | 2.61 | `extra_specs`, in full, where policy lets the caller read them |
//! | 2.75 | `swap` is `0` for none |
//! | 2.102 | no `OS-FLV-DISABLED:disabled`, no `rxtx_factor` |

use serde_json::{json, Map, Value};

use super::servers::links;
use crate::api::Call;
use crate::Flavor;

/// A flavor in brief, as `GET /flavors` lists it.
pub(crate) fn basic(call: &Call, flavor: &Flavor) -> Value {
    let mut view = Map::new();
    view.insert("id".to_owned(), json!(flavor.id));
    view.insert("name".to_owned(), json!(flavor.name));
    view.insert("links".to_owned(), links(call, "flavors", &flavor.id));
    if call.at_least(2, 55) {
        view.insert("description".to_owned(), json!(flavor.description));
    }
    Value::Object(view)
}

/// A flavor in full, as `GET /flavors/{id}` and `GET /flavors/detail`
/// show it; `extra_specs` only when `include_extra_specs` (2.61, where
/// policy allows).
pub(crate) fn show(call: &Call, flavor: &Flavor, include_extra_specs: bool) -> Value {
    let mut view = Map::new();
    let mut put = |key: &str, value: Value| {
        view.insert(key.to_owned(), value);
    };
    put("id", json!(flavor.id));
    put("name", json!(flavor.name));
    put("ram", json!(flavor.ram));
    put("disk", json!(flavor.disk));
    // Python's `swap or ""`, until 2.75 made it `swap or 0`.
    put(
        "swap",
        if flavor.swap == 0 && !call.at_least(2, 75) {
            json!("")
        } else {
            json!(flavor.swap)
        },
    );
    put("OS-FLV-EXT-DATA:ephemeral", json!(flavor.ephemeral));
    put("vcpus", json!(flavor.vcpus));
    put("os-flavor-access:is_public", json!(flavor.is_public));
    put("links", links(call, "flavors", &flavor.id));
    if !call.at_least(2, 102) {
        put("OS-FLV-DISABLED:disabled", json!(flavor.disabled));
        // Python's `rxtx_factor or ""`.
        put(
            "rxtx_factor",
            if flavor.rxtx_factor == 0.0 {
                json!("")
            } else {
                json!(flavor.rxtx_factor)
            },
        );
    }
    if call.at_least(2, 55) {
        put("description", json!(flavor.description));
    }
    if include_extra_specs {
        put("extra_specs", json!(flavor.extra_specs));
    }
    Value::Object(view)
}

/// `{"flavors": [...]}` of a page of flavors, brief or full (`detail`),
/// with `flavors_links` when there is a next page.
pub(crate) fn list(
    call: &Call,
    flavors: &[&Flavor],
    detail: bool,
    include_extra_specs: bool,
    next: Option<Value>,
) -> Value {
    let items: Vec<Value> = flavors
        .iter()
        .map(|flavor| {
            if detail {
                show(call, flavor, include_extra_specs)
            } else {
                basic(call, flavor)
            }
        })
        .collect();
    let mut body = json!({ "flavors": items });
    if let Some(links) = next {
        body["flavors_links"] = links;
    }
    body
}
