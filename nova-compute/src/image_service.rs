//! A minimal image service: the read half of Glance's v2 API over the
//! cloud's configured images, so that `openstack image list` and
//! `server create --image NAME` resolve images as they do on devstack,
//! where Glance is mounted at `/image`.
//!
//! It answers, relative to where it is mounted:
//!
//! | path | answer |
//! |---|---|
//! | `/` | 300 with the versions document (Glance's version discovery, which openstacksdk reads first) |
//! | `/versions` | 200 with the same document |
//! | `/v2/images` | the images, Glance's filters, sorting and paging, with `first`, `next` and `schema` |
//! | `/v2/images/{id}` | one image; 404 for any other id |
//!
//! Every image is `active`, `public`, not protected nor hidden, owned by
//! its configured owner. The links inside an image and a listing are
//! Glance's own relative paths (`/v2/images/ID`), which clients resolve
//! against the endpoint; the versions document's links are absolute,
//! from the `Host` header and the mount point. Errors are Nova fault
//! bodies (`itemNotFound`, `badRequest`), where Glance would answer a
//! plain-text page: clients read only the status.

use std::cmp::Ordering;
use std::sync::Arc;

use http::header::HOST;
use http::{Method, StatusCode};
use nova_router::{
    json_response, method_not_allowed, ready, Fault, Mapper, Request, Response, ResponseFuture,
    RoutesMiddleware, RoutingArgs, ScriptName, Service,
};
use serde_json::{json, Map, Value};

use crate::pagination::urlencode;
use crate::Image;

/// The image service application; see the module documentation.
///
/// ```
/// use nova_compute::{Image, ImageServiceApp};
/// use nova_router::Service;
///
/// let app = ImageServiceApp::new(vec![Image::cirros()]);
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let req = http::Request::get("/v2/images?name=cirros").body(Default::default()).unwrap();
/// let response = app.call(req).await.unwrap();
/// let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
/// assert_eq!(body["images"][0]["id"], Image::CIRROS_ID.to_string());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ImageServiceApp {
    routes: Arc<RoutesMiddleware<Images>>,
}

impl ImageServiceApp {
    /// The service over `images`, listed in this order where Glance's
    /// sort keys tie (every image was uploaded at the same instant).
    pub fn new(images: Vec<Image>) -> Self {
        let mut mapper = Mapper::new();
        let table = [
            ("/versions", "versions"),
            ("/v2/images", "index"),
            ("/v2/images/{image_id}", "show"),
        ];
        for (template, action) in table {
            // A fixed table: a failure is a bug in this file.
            if let Err(error) = mapper.connect(template, action, &[Method::GET]) {
                unreachable!("the image service's routes are valid: {error}");
            }
        }
        let images = Images {
            images: images.into(),
        };
        ImageServiceApp {
            routes: Arc::new(RoutesMiddleware::new(mapper, images)),
        }
    }
}

impl Service<Request> for ImageServiceApp {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let path = req.uri().path();
        if path.is_empty() || path == "/" {
            // The mount point itself: Glance's version discovery, 300
            // Multiple Choices.
            if req.method() != Method::GET && req.method() != Method::HEAD {
                return ready(method_not_allowed(
                    req.method(),
                    &[Method::GET, Method::HEAD],
                ));
            }
            let mut response = versions(&req, StatusCode::MULTIPLE_CHOICES);
            if req.method() == Method::HEAD {
                *response.body_mut() = bytes::Bytes::new();
            }
            return ready(response);
        }
        self.routes.call(req)
    }
}

/// The routed half: what the mapper matched.
#[derive(Debug)]
struct Images {
    images: Arc<[Image]>,
}

impl Service<Request> for Images {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let args = req
            .extensions()
            .get::<RoutingArgs>()
            .cloned()
            .unwrap_or_default();
        let response = match args.action() {
            "versions" => versions(&req, StatusCode::OK),
            "index" => index(&self.images, &req).unwrap_or_else(Fault::into_response),
            "show" => show(&self.images, args.param("image_id").unwrap_or_default()),
            _ => Fault::not_found("the resource could not be found").into_response(),
        };
        ready(response)
    }
}

/// The Glance API versions this service speaks, as Glance lists them
/// (with its image cache on, as devstack has it), each linking to
/// `http://HOST/MOUNT/v2/`.
fn versions(req: &Request, status: StatusCode) -> Response {
    let host = req
        .headers()
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    let scheme = req.uri().scheme_str().unwrap_or("http");
    let href = format!("{scheme}://{host}{}/v2/", ScriptName::of(req));
    let list: Vec<Value> = [
        "2.16", "2.15", "2.14", "2.9", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0",
    ]
    .iter()
    .enumerate()
    .map(|(index, version)| {
        json!({
            "id": format!("v{version}"),
            "status": if index == 0 { "CURRENT" } else { "SUPPORTED" },
            "links": [{"rel": "self", "href": href}],
        })
    })
    .collect();
    json_response(status, &json!({ "versions": list }))
}

/// Glance's `ImageNotFound` wording.
fn no_image(id: &str) -> String {
    format!("No image found with ID {id}")
}

fn show(images: &[Image], id: &str) -> Response {
    match images.iter().find(|image| image.id.to_string() == id) {
        Some(image) => json_response(StatusCode::OK, &view(image)),
        None => Fault::not_found(no_image(id)).into_response(),
    }
}

/// An image as Glance v2 shows it: its properties at the top level, then
/// its attributes.
fn view(image: &Image) -> Value {
    use sha2::Digest;
    let id = image.id.to_string();
    let data = format!("nova-rs image data {id}");
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let checksum = hex(&sha2::Sha256::digest(data.as_bytes())[..16]);
    let hash = hex(&sha2::Sha512::digest(data.as_bytes()));
    let uploaded = image.created_at.to_seconds_string();
    let mut view: Map<String, Value> = image
        .properties
        .iter()
        .map(|(key, value)| (key.clone(), json!(value)))
        .collect();
    let attributes = json!({
        "id": id,
        "name": image.name,
        "status": "active",
        "visibility": "public",
        "protected": false,
        "os_hidden": false,
        "checksum": checksum,
        "os_hash_algo": "sha512",
        "os_hash_value": hash,
        "owner": image.owner,
        "size": image.size,
        "virtual_size": null,
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "created_at": uploaded,
        "updated_at": uploaded,
        "tags": [],
        "self": format!("/v2/images/{id}"),
        "file": format!("/v2/images/{id}/file"),
        "schema": "/v2/schemas/image",
    });
    if let Value::Object(attributes) = attributes {
        view.extend(attributes);
    }
    Value::Object(view)
}

/// Glance's sort keys, in the order its error message lists them.
const SORT_KEYS: [&str; 8] = [
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
];

/// Glance's `limit_param_default` and `api_limit_max`.
const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 1000;

/// The parameters of `GET /v2/images`, as Glance's request deserializer
/// reads them.
struct Listing {
    limit: usize,
    marker: Option<String>,
    tags: Vec<String>,
    sort: Vec<(String, bool)>,
    /// Everything else, one value each (the last), as Glance's `filters`.
    filters: Vec<(String, String)>,
}

fn bad(message: impl Into<String>) -> Fault {
    Fault::bad_request(message)
}

fn listing(params: &[(String, String)]) -> Result<Listing, Fault> {
    let last = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let all = |name: &'static str| {
        params
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.trim())
    };
    let limit = match last("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.trim().parse::<i128>() {
            Err(_) => return Err(bad("limit param must be an integer")),
            Ok(n) if n < 0 => return Err(bad("limit param must be positive")),
            Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
        },
    }
    .min(MAX_LIMIT);
    let member_status = last("member_status").unwrap_or("accepted");
    if !matches!(member_status, "pending" | "accepted" | "rejected" | "all") {
        return Err(bad(format!("Invalid status: {member_status}")));
    }
    let sort_key = |key: &str| {
        if SORT_KEYS.contains(&key) {
            Ok(key.to_owned())
        } else {
            Err(bad(format!(
                "Invalid sort key: {key}. It must be one of the following: {}.",
                SORT_KEYS.join(", ")
            )))
        }
    };
    let sort_dir = |dir: &str| match dir {
        "asc" => Ok(false),
        "desc" => Ok(true),
        other => Err(bad(format!("Invalid sort direction: {other}"))),
    };
    let mut sort = Vec::new();
    if let Some(spec) = last("sort") {
        if last("sort_key").is_some() || last("sort_dir").is_some() {
            return Err(bad("Old and new sorting syntax cannot be combined"));
        }
        for part in spec.trim().split(',') {
            let (key, dir) = part.split_once(':').unwrap_or((part, "desc"));
            let dir = if dir.is_empty() { "desc" } else { dir };
            sort.push((sort_key(key.trim())?, sort_dir(dir.trim())?));
        }
    } else {
        let keys = all("sort_key")
            .map(sort_key)
            .collect::<Result<Vec<_>, _>>()?;
        let dirs = all("sort_dir")
            .map(sort_dir)
            .collect::<Result<Vec<_>, _>>()?;
        if dirs.len() > 1 && dirs.len() != keys.len() {
            return Err(bad(
                "Number of sort dirs does not match the number of sort keys",
            ));
        }
        let keys = if keys.is_empty() {
            vec!["created_at".to_owned()]
        } else {
            keys
        };
        for (index, key) in keys.into_iter().enumerate() {
            let descending = dirs.get(index).or(dirs.first()).copied().unwrap_or(true);
            sort.push((key, descending));
        }
    }
    let mut filters: Vec<(String, String)> = Vec::new();
    for (key, value) in params {
        if matches!(
            key.as_str(),
            "limit" | "marker" | "member_status" | "tag" | "sort" | "sort_key" | "sort_dir"
        ) {
            continue;
        }
        match filters.iter_mut().find(|(k, _)| k == key) {
            Some(pair) => pair.1 = value.clone(),
            None => filters.push((key.clone(), value.clone())),
        }
    }
    for (key, value) in &filters {
        match key.as_str() {
            "visibility"
                if !value.is_empty()
                    && !matches!(
                        value.as_str(),
                        "community" | "public" | "private" | "shared" | "all"
                    ) =>
            {
                return Err(bad(format!("Invalid visibility value: {value}")));
            }
            "changes-since" if !value.is_empty() => {
                return Err(bad(
                    "The \"changes-since\" filter is no longer available on v2.",
                ));
            }
            "os_hidden" if !matches!(value.to_ascii_lowercase().as_str(), "true" | "false") => {
                return Err(bad(format!(
                    "Invalid value '{}' for 'os_hidden' filter. Valid values are 'true' or 'false'.",
                    value.to_ascii_lowercase()
                )));
            }
            "protected" if !matches!(value.as_str(), "true" | "false") => {
                return Err(bad(format!(
                    "Invalid value '{value}' for 'protected' filter. Valid values are 'true' or 'false'."
                )));
            }
            _ => {}
        }
    }
    Ok(Listing {
        limit,
        marker: last("marker").map(str::to_owned),
        tags: all("tag").map(str::to_owned).collect(),
        sort,
        filters,
    })
}

/// Glance's `in:a,b` operator or plain equality.
fn equals(wanted: &str, have: &str) -> bool {
    match wanted.strip_prefix("in:") {
        Some(list) => list.split(',').any(|item| item.trim() == have),
        None => wanted == have,
    }
}

/// Whether `image` passes Glance's filters. Base attributes compare as
/// Glance's database does; any other name filters on a property.
fn passes(image: &Image, listing: &Listing) -> Result<bool, Fault> {
    if !listing.tags.is_empty() {
        // No image has tags.
        return Ok(false);
    }
    let number = |value: &str| {
        value
            .trim()
            .parse::<u64>()
            .map_err(|_| bad("Unable to filter using the specified range."))
    };
    for (key, value) in &listing.filters {
        let pass = match key.as_str() {
            "name" => equals(value, &image.name),
            "id" => equals(value, &image.id.to_string()),
            "status" => equals(value, "active"),
            "visibility" => matches!(value.as_str(), "" | "public" | "all"),
            "os_hidden" => value.eq_ignore_ascii_case("false"),
            "protected" => value == "false",
            "owner" => equals(value, &image.owner),
            "disk_format" => equals(value, &image.disk_format),
            "container_format" => equals(value, &image.container_format),
            "size_min" => image.size >= number(value)?,
            "size_max" => image.size <= number(value)?,
            "min_ram" => value.trim().parse::<u64>() == Ok(image.min_ram),
            "min_disk" => value.trim().parse::<u64>() == Ok(image.min_disk),
            "changes-since" => true,
            property => image.properties.get(property) == Some(value),
        };
        if !pass {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The order Glance's sort keys put `a` and `b` in; ties keep the
/// configured order.
fn compare(a: &(usize, &Image), b: &(usize, &Image), sort: &[(String, bool)]) -> Ordering {
    for (key, descending) in sort {
        let ordering = match key.as_str() {
            "name" => a.1.name.cmp(&b.1.name),
            "container_format" => a.1.container_format.cmp(&b.1.container_format),
            "disk_format" => a.1.disk_format.cmp(&b.1.disk_format),
            "size" => a.1.size.cmp(&b.1.size),
            "id" => a.1.id.to_string().cmp(&b.1.id.to_string()),
            "created_at" | "updated_at" => a.1.created_at.cmp(&b.1.created_at),
            // status: every image is active.
            _ => Ordering::Equal,
        };
        let ordering = if *descending {
            ordering.reverse()
        } else {
            ordering
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    a.0.cmp(&b.0)
}

fn index(images: &[Image], req: &Request) -> Result<Response, Fault> {
    let params: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let listing = listing(&params)?;
    let all: Vec<(usize, &Image)> = images.iter().enumerate().collect();
    let marker = match &listing.marker {
        None => None,
        Some(marker) => Some(
            *all.iter()
                .find(|(_, image)| image.id.to_string() == *marker)
                .ok_or_else(|| bad(no_image(marker)))?,
        ),
    };
    let mut page = Vec::new();
    for entry in &all {
        if passes(entry.1, &listing)?
            && marker.is_none_or(|m| compare(entry, &m, &listing.sort) == Ordering::Greater)
        {
            page.push(*entry);
        }
    }
    page.sort_by(|a, b| compare(a, b, &listing.sort));
    page.truncate(listing.limit);

    // Glance's serializer: the request's parameters, one value each, the
    // marker left out of `first` and replaced in `next`.
    let mut query: Vec<(&str, &str)> = Vec::new();
    for (key, value) in &params {
        match query.iter_mut().find(|(k, _)| k == key) {
            Some(pair) => pair.1 = value,
            None => query.push((key, value)),
        }
    }
    query.retain(|(key, _)| *key != "marker");
    let mut first = "/v2/images".to_owned();
    if !query.is_empty() {
        first = format!("{first}?{}", urlencode(query.iter().copied()));
    }
    let mut body = json!({
        "images": page.iter().map(|(_, image)| view(image)).collect::<Vec<_>>(),
        "first": first,
        "schema": "/v2/schemas/images",
    });
    if let Some((_, last)) = page.last().filter(|_| page.len() == listing.limit) {
        let next_marker = last.id.to_string();
        query.push(("marker", &next_marker));
        body["next"] = json!(format!("/v2/images?{}", urlencode(query.iter().copied())));
    }
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests;
