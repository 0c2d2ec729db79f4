//! The images controller: Nova's `images.py`, the compute API's proxy to
//! the image service (`GET /images`, `/images/detail`, `/images/{id}`),
//! over the cloud's configured images and the snapshots in the store that
//! the caller may see, as the image service lists them (newest first),
//! with its view (Nova's `views/images.py`).
//!
//! Nova removed the proxy APIs in 2.36 (`@wsgi.api_version("2.1",
//! MAX_PROXY_API_SUPPORT_VERSION)`): from 2.36 every one of them answers
//! as a method that does not exist, 404 `The resource could not be
//! found.`

use std::sync::OnceLock;

use http::StatusCode;
use nova_controller::Timestamp;
use nova_router::Response;
use serde_json::{json, Map, Value};

use crate::api::{json, Call};
use crate::image_catalog::{find_image, list_images, Viewer};
use crate::pagination::{collection_links, last};
use crate::schemas::query::{compiled, query_object};
use crate::schemas::Schema;
use crate::views::servers::links;
use crate::{ComputeApi, ComputeError, Image, ImageStatus};

pub(crate) async fn dispatch(
    api: &ComputeApi,
    method: &str,
    call: Call,
) -> Result<Response, ComputeError> {
    // Nova's VersionNotFoundForAPIMethod: webob's bare HTTPNotFound.
    if call.at_least(2, 36) {
        return Err(ComputeError::NotFound(
            "The resource could not be found.".to_owned(),
        ));
    }
    match method {
        "index" => list(api, &call, false).await,
        "detail" => list(api, &call, true).await,
        "show" => show(api, &call).await,
        other => Err(ComputeError::UnknownAction(format!("images.{other}"))),
    }
}

fn image_not_found() -> ComputeError {
    ComputeError::NotFound("Image not found.".to_owned())
}

async fn show(api: &ComputeApi, call: &Call) -> Result<Response, ComputeError> {
    let id = uuid::Uuid::try_parse(call.param("id")).map_err(|_| image_not_found())?;
    let image = find_image(&api.cloud, api.store.as_ref(), &Viewer::of(call), id)
        .await?
        .ok_or_else(image_not_found)?;
    let now = api.clock.now();
    Ok(json(
        StatusCode::OK,
        &json!({ "image": full(api, call, &image, now) }),
    ))
}

// ---- the listing's query -------------------------------------------------

/// Nova's `schemas/images.py` `index_query` (also `detail_query`): only
/// the paging parameters are checked, as positive integers; anything else
/// is stripped but `property-*`.
fn index_query() -> Value {
    let positive = json!({"type": "array", "items": {
        "type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1, "minLength": 1,
    }});
    json!({
        "type": "object",
        "properties": {
            "name": {}, "status": {}, "changes-since": {}, "server": {}, "type": {},
            "minRam": {}, "minDisk": {},
            "limit": positive, "page_size": positive, "marker": {}, "offset": positive,
        },
        "patternProperties": {"^property-.*$": {}},
        "additionalProperties": true,
    })
}

/// Checks the listing's query; the parameters the controller then sees.
fn checked_query(call: &Call) -> Result<Vec<(String, String)>, ComputeError> {
    static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    compiled(&SCHEMA, index_query)?.check_query(&query_object(call))?;
    // Nova's schema validator reads a numeric string's `minimum` as a
    // number, which JSON Schema itself does not.
    for name in ["limit", "page_size", "offset"] {
        if let Some(value) = call.query_all(name).find(|v| v.parse::<u64>() == Ok(0)) {
            return Err(ComputeError::BadRequest(format!(
                "Invalid input for query parameters {name}. Value: {value}. 0 is less than the minimum of 1"
            )));
        }
    }
    let schema = index_query();
    Ok(call
        .query
        .iter()
        .filter(|(key, _)| schema["properties"].get(key).is_some() || key.starts_with("property-"))
        .cloned()
        .collect())
}

/// Whether `image` passes the filters Nova hands the image service
/// (`_get_filters`) at `now`: `name`, `status` (the image service's,
/// any case), `changes-since`, `server` (the `instance_uuid` property,
/// from an id or a link), `type` (`image_type`), `minRam`, `minDisk` and
/// `property-NAME`.
fn matches(
    image: &Image,
    params: &[(String, String)],
    now: Timestamp,
) -> Result<bool, ComputeError> {
    let property = |name: &str| image.properties.get(name).map(String::as_str);
    for (key, value) in params {
        let pass = match key.as_str() {
            "name" => image.name == *value,
            "status" => value.eq_ignore_ascii_case(image.status_at(now).as_str()),
            "changes-since" => {
                let since = value
                    .parse::<Timestamp>()
                    .or_else(|_| format!("{value}Z").parse::<Timestamp>())
                    .map_err(|_| {
                        ComputeError::BadRequest(format!("Invalid changes-since value: {value}"))
                    })?;
                image.updated_at(now) >= since
            }
            "server" => property("instance_uuid") == value.rsplit('/').next(),
            "type" => property("image_type") == Some(value.as_str()),
            "minRam" | "minDisk" => {
                let least = value.trim().parse::<u64>().map_err(|_| {
                    ComputeError::BadRequest(format!("Invalid {key} filter [{value}]"))
                })?;
                let have = if key == "minRam" {
                    image.min_ram
                } else {
                    image.min_disk
                };
                have >= least
            }
            other => match other.strip_prefix("property-") {
                Some(name) => property(name) == Some(value.as_str()),
                None => true,
            },
        };
        if !pass {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn list(api: &ComputeApi, call: &Call, detail: bool) -> Result<Response, ComputeError> {
    let params = checked_query(call)?;
    let filters: Vec<(String, String)> = {
        // One value per filter, the last, as `req.params.get`.
        let mut kept: Vec<(String, String)> = Vec::new();
        for (key, value) in params
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "limit" | "page_size" | "marker" | "offset"))
        {
            match kept.iter_mut().find(|(k, _)| k == key) {
                Some(pair) => pair.1 = value.clone(),
                None => kept.push((key.clone(), value.clone())),
            }
        }
        kept
    };
    let now = api.clock.now();
    let visible = list_images(&api.cloud, api.store.as_ref(), &Viewer::of(call)).await?;
    let mut images: Vec<&Image> = Vec::new();
    for image in &visible {
        if matches(image, &filters, now)? {
            images.push(image);
        }
    }
    // The image service's default order, newest first; images created
    // at one instant keep the catalog's order.
    images.sort_by_key(|image| std::cmp::Reverse(image.created_at));
    if let Some(marker) = last(&params, "marker") {
        let at = images
            .iter()
            .position(|image| image.id.to_string() == marker)
            .ok_or_else(|| ComputeError::BadRequest(format!("marker [{marker}] not found")))?;
        images.drain(..=at);
    }
    // The image service pages through everything unless a limit is given;
    // Nova does not cap it.
    if let Some(limit) = last(&params, "limit") {
        images.truncate(limit.parse::<usize>().unwrap_or(usize::MAX));
    }
    let items: Vec<Value> = images
        .iter()
        .map(|image| {
            if detail {
                full(api, call, image, now)
            } else {
                brief(api, call, image)
            }
        })
        .collect();
    let mut body = json!({ "images": items });
    let last_id = images.last().map(|image| image.id.to_string());
    let collection = if detail { "images/detail" } else { "images" };
    if let Some(links) = collection_links(
        call,
        &params,
        api.cloud.max_limit,
        images.len(),
        last_id.as_deref(),
        collection,
    ) {
        body["images_links"] = links;
    }
    Ok(json(StatusCode::OK, &body))
}

// ---- the view ------------------------------------------------------------

/// `self`, `bookmark` and the `alternate` link to the image service.
fn image_links(api: &ComputeApi, call: &Call, image: &Image) -> Value {
    let id = image.id.to_string();
    let mut list = links(call, "images", &id);
    if let Value::Array(items) = &mut list {
        items.push(json!({
            "rel": "alternate",
            "type": "application/vnd.openstack.image",
            "href": format!("{}{}/images/{id}", call.host_url, api.cloud.image_service_path),
        }));
    }
    list
}

/// An image in brief: `id`, `name`, `links`.
fn brief(api: &ComputeApi, call: &Call, image: &Image) -> Value {
    json!({
        "id": image.id.to_string(),
        "name": image.name,
        "links": image_links(api, call, image),
    })
}

/// An image in full at `now`, as Nova's `ViewBuilder.show`: the image
/// service's status as Nova maps it (`queued` and `saving` are `SAVING`),
/// with its progress; no size until its data is there.
fn full(api: &ComputeApi, call: &Call, image: &Image, now: Timestamp) -> Value {
    let status = image.status_at(now);
    let (shown, progress) = match status {
        ImageStatus::Queued => ("SAVING", 25),
        ImageStatus::Saving => ("SAVING", 50),
        ImageStatus::Active => ("ACTIVE", 100),
    };
    let size = (status == ImageStatus::Active).then_some(image.size);
    let mut view = Map::new();
    let mut put = |key: &str, value: Value| {
        view.insert(key.to_owned(), value);
    };
    put("id", json!(image.id.to_string()));
    put("name", json!(image.name));
    put("minRam", json!(image.min_ram));
    put("minDisk", json!(image.min_disk));
    put("metadata", json!(image.properties));
    put("created", json!(image.created_at.to_seconds_string()));
    put("updated", json!(image.updated_at(now).to_seconds_string()));
    put("status", json!(shown));
    put("progress", json!(progress));
    put("OS-EXT-IMG-SIZE:size", json!(size));
    put("links", image_links(api, call, image));
    if let Some(server) = image.properties.get("instance_uuid") {
        put(
            "server",
            json!({
                "id": server,
                "links": [
                    {"rel": "self", "href": call.self_link("servers", server)},
                    {"rel": "bookmark", "href": call.bookmark_link("servers", server)},
                ],
            }),
        );
    }
    if let Some(auto) = image.properties.get("auto_disk_config") {
        // oslo's lenient bool_from_string: anything else is false.
        let on = matches!(
            auto.trim().to_ascii_lowercase().as_str(),
            "1" | "t" | "true" | "on" | "y" | "yes"
        );
        put(
            "OS-DCF:diskConfig",
            json!(if on { "AUTO" } else { "MANUAL" }),
        );
    }
    Value::Object(view)
}

#[cfg(test)]
mod tests;
