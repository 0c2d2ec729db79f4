//! A minimal image service: Glance's v2 API for reading images and
//! deleting snapshots, over the cloud's configured images and the
//! snapshots `createImage` stores, so that `openstack image list`,
//! `image show`, `image delete` and `server create --image NAME` work as
//! they do on devstack, where Glance is mounted at `/image`.
//!
//! It answers, relative to where it is mounted:
//!
//! | path | answer |
//! |---|---|
//! | `/` | 300 with the versions document (Glance's version discovery, which openstacksdk reads first) |
//! | `/versions` | 200 with the same document |
//! | `GET /v2/images` | the images the caller may see, Glance's filters, sorting and paging, with `first`, `next` and `schema` |
//! | `GET /v2/images/{id}` | one image; 404 for any other id, and for another project's private image |
//! | `DELETE /v2/images/{id}` | 204 for a snapshot the caller owns (or any, for an admin); 403 for a configured image, which is protected |
//!
//! The configured images are `active`, `public` and protected, owned by
//! the default project; a snapshot is its project's (`private`, or
//! `shared` with the server's project when an admin of another project
//! took it, as Nova does), `queued`, then `saving`, then `active` when
//! the action that took it ends. The caller is decided as the compute
//! API decides it: the token filter's request context if there is one,
//! else the shared token, an admin of the default project, who sees every
//! image (as Glance's admins do).
//!
//! The links inside an image and a listing are Glance's own relative
//! paths (`/v2/images/ID`), which clients resolve against the endpoint;
//! the versions document's links are absolute, from the `Host` header and
//! the mount point. Errors are Nova fault bodies (`itemNotFound`,
//! `badRequest`, `forbidden`), where Glance would answer a plain-text
//! page: clients read only the status.

use std::cmp::Ordering;
use std::sync::Arc;

use http::header::HOST;
use http::{Method, StatusCode};
use nova_controller::Timestamp;
use nova_router::{
    json_response, method_not_allowed, ready, Fault, Mapper, Request, RequestContext, Response,
    ResponseFuture, RoutesMiddleware, RoutingArgs, ScriptName, Service,
};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::default_caller::SHARED_TOKEN_ROLE;
use crate::image_catalog::{find_image, list_images, Viewer};
use crate::pagination::urlencode;
use crate::policy::{Credentials, Rule};
use crate::{Clock, Cloud, ComputeError, Image, ImageStatus, ImageStore, SystemClock, Visibility};

/// The image service application; see the module documentation.
///
/// ```
/// use std::sync::Arc;
/// use nova_compute::{Cloud, Image, ImageServiceApp, MemoryServerStore};
/// use nova_router::Service;
///
/// // Over the store the compute API keeps its servers and snapshots in.
/// let app = ImageServiceApp::new(Arc::new(MemoryServerStore::new()), Cloud::default());
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
    /// The service over `cloud`'s configured images and the snapshots in
    /// `store`, on the system clock. Configured images come first where
    /// Glance's sort keys tie (they were all uploaded at one instant).
    pub fn new(store: Arc<dyn ImageStore>, cloud: Cloud) -> Self {
        Self::with_clock(store, cloud, Arc::new(SystemClock))
    }

    /// As [`ImageServiceApp::new`], reading the time from `clock`: a
    /// snapshot's status is derived from it.
    pub fn with_clock(store: Arc<dyn ImageStore>, cloud: Cloud, clock: Arc<dyn Clock>) -> Self {
        let mut mapper = Mapper::new();
        let table = [
            ("/versions", "versions", Method::GET),
            ("/v2/images", "index", Method::GET),
            ("/v2/images/{image_id}", "show", Method::GET),
            ("/v2/images/{image_id}", "delete", Method::DELETE),
        ];
        for (template, action, method) in table {
            // A fixed table: a failure is a bug in this file.
            if let Err(error) = mapper.connect(template, action, &[method]) {
                unreachable!("the image service's routes are valid: {error}");
            }
        }
        let images = Images {
            cloud: Arc::new(cloud),
            store,
            clock,
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
#[derive(Clone)]
struct Images {
    cloud: Arc<Cloud>,
    store: Arc<dyn ImageStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Images {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Images")
            .field("cloud", &self.cloud)
            .finish_non_exhaustive()
    }
}

impl Service<Request> for Images {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let images = self.clone();
        Box::pin(async move {
            let args = req
                .extensions()
                .get::<RoutingArgs>()
                .cloned()
                .unwrap_or_default();
            let id = args.param("image_id").unwrap_or_default();
            let answer = match args.action() {
                "versions" => Ok(versions(&req, StatusCode::OK)),
                "index" => images.index(&req).await,
                "show" => images.show(&req, id).await,
                "delete" => images.delete(&req, id).await,
                _ => Err(Fault::not_found("the resource could not be found")),
            };
            Ok(answer.unwrap_or_else(Fault::into_response))
        })
    }
}

/// A store's failure, answered as the compute API answers it (503 when
/// the store cannot be reached), its reason logged.
fn store_fault(error: nova_controller::StoreError) -> Fault {
    let error = ComputeError::from(error);
    tracing::error!(%error, "answering {}", error.status());
    Fault::from(error)
}

impl Images {
    /// Who asks: the token filter's request context, else the shared
    /// token, an admin of the default project (as the compute API's
    /// [`Call`](crate::Call) decides; this API's URLs name no project).
    fn credentials(&self, req: &Request) -> Credentials {
        match RequestContext::of(req) {
            Some(context) => Credentials::new(context.project_id.clone(), context.roles.clone()),
            None => Credentials::new(
                self.cloud.default_project.clone(),
                vec![SHARED_TOKEN_ROLE.to_owned()],
            ),
        }
    }

    /// The images the caller of `req` sees: an admin's are every
    /// project's, as Glance's `context_is_admin` sees them.
    fn viewer(&self, req: &Request) -> Viewer {
        Viewer::with(&self.credentials(req))
    }

    async fn show(&self, req: &Request, id: &str) -> Result<Response, Fault> {
        let missing = || Fault::not_found(no_image(id));
        let id = Uuid::try_parse(id).map_err(|_| missing())?;
        let viewer = self.viewer(req);
        let image = find_image(&self.cloud, self.store.as_ref(), &viewer, id)
            .await
            .map_err(store_fault)?
            .ok_or_else(missing)?;
        Ok(json_response(
            StatusCode::OK,
            &view(&image, self.clock.now()),
        ))
    }

    /// Glance's `delete`: the image must be one the caller can see (else
    /// 404), may delete ([`Rule::DeleteImage`]: a member of its owner's
    /// project or an admin, else 403 in Glance's words) and is not
    /// protected (the configured images, 403).
    async fn delete(&self, req: &Request, id: &str) -> Result<Response, Fault> {
        let missing = || Fault::not_found(format!("Failed to find image {id} to delete"));
        let raw = id;
        let id = Uuid::try_parse(raw).map_err(|_| missing())?;
        let credentials = self.credentials(req);
        let image = find_image(
            &self.cloud,
            self.store.as_ref(),
            &Viewer::with(&credentials),
            id,
        )
        .await
        .map_err(store_fault)?
        .ok_or_else(missing)?;
        if !credentials.allows(Rule::DeleteImage, &image.owner) {
            return Err(Fault::forbidden(format!(
                "You are not authorized to complete {} action.",
                Rule::DeleteImage.name()
            )));
        }
        if image.protected {
            return Err(Fault::forbidden(format!(
                "Image {raw} is protected and cannot be deleted."
            )));
        }
        if !self.store.delete_image(id).await.map_err(store_fault)? {
            return Err(missing());
        }
        let mut response = Response::new(bytes::Bytes::new());
        *response.status_mut() = StatusCode::NO_CONTENT;
        Ok(response)
    }

    async fn index(&self, req: &Request) -> Result<Response, Fault> {
        let params: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let listing = listing(&params)?;
        let viewer = self.viewer(req);
        let now = self.clock.now();
        let images = list_images(&self.cloud, self.store.as_ref(), &viewer)
            .await
            .map_err(store_fault)?;
        page(&images, &params, &listing, &viewer, now)
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

/// An image as Glance v2 shows it at `now`: its properties at the top
/// level, then its attributes. A snapshot has no formats while `queued`,
/// and no size or checksums until its data is all there (`active`).
fn view(image: &Image, now: Timestamp) -> Value {
    use sha2::Digest;
    let id = image.id.to_string();
    let status = image.status_at(now);
    let data = format!("nova-rs image data {id}");
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let uploaded = status == ImageStatus::Active;
    let checksum = uploaded.then(|| hex(&sha2::Sha256::digest(data.as_bytes())[..16]));
    let hash = uploaded.then(|| hex(&sha2::Sha512::digest(data.as_bytes())));
    let mut view: Map<String, Value> = image
        .properties
        .iter()
        .map(|(key, value)| (key.clone(), json!(value)))
        .collect();
    let attributes = json!({
        "id": id,
        "name": image.name,
        "status": status.as_str(),
        "visibility": image.visibility.as_str(),
        "protected": image.protected,
        "os_hidden": false,
        "checksum": checksum,
        "os_hash_algo": uploaded.then_some("sha512"),
        "os_hash_value": hash,
        "owner": image.owner,
        "size": size(image, now),
        "virtual_size": null,
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "disk_format": disk_format(image, now),
        "container_format": container_format(image, now),
        "created_at": image.created_at.to_seconds_string(),
        "updated_at": image.updated_at(now).to_seconds_string(),
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

/// The size Glance shows at `now`: none until the data is there.
fn size(image: &Image, now: Timestamp) -> Option<u64> {
    (image.status_at(now) == ImageStatus::Active).then_some(image.size)
}

/// The disk format Glance shows at `now`: none while `queued` (Nova
/// creates a snapshot without one; the upload sets it).
fn disk_format(image: &Image, now: Timestamp) -> Option<&str> {
    (image.status_at(now) != ImageStatus::Queued).then_some(image.disk_format.as_str())
}

/// The container format, as [`disk_format`].
fn container_format(image: &Image, now: Timestamp) -> Option<&str> {
    (image.status_at(now) != ImageStatus::Queued).then_some(image.container_format.as_str())
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
    /// Which memberships of shared images to list: Nova shares a
    /// snapshot with a membership the member has not accepted, so such
    /// an image is listed to its member only with `pending` or `all`.
    member_status: String,
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
        member_status: member_status.to_owned(),
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

/// Whether `image` passes Glance's filters at `now`, as `viewer` lists
/// it. Base attributes compare as Glance's database does (an attribute
/// not yet set matches nothing); any other name filters on a property.
fn passes(
    image: &Image,
    listing: &Listing,
    viewer: &Viewer,
    now: Timestamp,
) -> Result<bool, Fault> {
    if !listing.tags.is_empty() {
        // No image has tags.
        return Ok(false);
    }
    let member_only = !viewer.is_admin
        && image.visibility == Visibility::Shared
        && image.owner != viewer.project_id;
    if member_only && !matches!(listing.member_status.as_str(), "pending" | "all") {
        return Ok(false);
    }
    let number = |value: &str| {
        value
            .trim()
            .parse::<u64>()
            .map_err(|_| bad("Unable to filter using the specified range."))
    };
    let optional = |wanted: &str, have: Option<&str>| have.is_some_and(|have| equals(wanted, have));
    for (key, value) in &listing.filters {
        let pass = match key.as_str() {
            "name" => equals(value, &image.name),
            "id" => equals(value, &image.id.to_string()),
            "status" => equals(value, image.status_at(now).as_str()),
            "visibility" => match value.as_str() {
                "" | "all" => true,
                wanted => wanted == image.visibility.as_str(),
            },
            "os_hidden" => value.eq_ignore_ascii_case("false"),
            "protected" => *value == image.protected.to_string(),
            "owner" => equals(value, &image.owner),
            "disk_format" => optional(value, disk_format(image, now)),
            "container_format" => optional(value, container_format(image, now)),
            "size_min" => {
                let least = number(value)?;
                size(image, now).is_some_and(|size| size >= least)
            }
            "size_max" => {
                let most = number(value)?;
                size(image, now).is_some_and(|size| size <= most)
            }
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

/// The order Glance's sort keys put `a` and `b` in at `now`; ties keep
/// the catalog's order (configured images first, then snapshots as they
/// were taken).
fn compare(
    a: &(usize, &Image),
    b: &(usize, &Image),
    sort: &[(String, bool)],
    now: Timestamp,
) -> Ordering {
    for (key, descending) in sort {
        let ordering = match key.as_str() {
            "name" => a.1.name.cmp(&b.1.name),
            "status" => a.1.status_at(now).as_str().cmp(b.1.status_at(now).as_str()),
            "container_format" => container_format(a.1, now).cmp(&container_format(b.1, now)),
            "disk_format" => disk_format(a.1, now).cmp(&disk_format(b.1, now)),
            "size" => size(a.1, now).cmp(&size(b.1, now)),
            "id" => a.1.id.to_string().cmp(&b.1.id.to_string()),
            "created_at" => a.1.created_at.cmp(&b.1.created_at),
            "updated_at" => a.1.updated_at(now).cmp(&b.1.updated_at(now)),
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

/// One page of `GET /v2/images` over `images`, the ones `viewer` may see.
fn page(
    images: &[Image],
    params: &[(String, String)],
    listing: &Listing,
    viewer: &Viewer,
    now: Timestamp,
) -> Result<Response, Fault> {
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
        if passes(entry.1, listing, viewer, now)?
            && marker.is_none_or(|m| compare(entry, &m, &listing.sort, now) == Ordering::Greater)
        {
            page.push(*entry);
        }
    }
    page.sort_by(|a, b| compare(a, b, &listing.sort, now));
    page.truncate(listing.limit);

    // Glance's serializer: the request's parameters, one value each, the
    // marker left out of `first` and replaced in `next`.
    let mut query: Vec<(&str, &str)> = Vec::new();
    for (key, value) in params {
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
        "images": page.iter().map(|(_, image)| view(image, now)).collect::<Vec<_>>(),
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
