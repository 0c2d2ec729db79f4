//! The controller: `Controller.__call__` and its five actions.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::header::{HeaderValue, ETAG, LOCATION};
use http::StatusCode;
use nova_router::{
    json_response, serialized_json_response, Fault, Request, Response, ResponseFuture, RoutingArgs,
    ScriptName, Service,
};
use serde::Serialize;
use uuid::Uuid;

use crate::params::instance_name;
use crate::{Change, ControllerError, IfMatch, Instance, InstanceStore};

/// The instance API's application: dispatches on the routed action.
///
/// | action | answer |
/// |---|---|
/// | `index` | 200 `{"instances": [{"id", "name"}, …]}`, in creation order |
/// | `create` | 201 `{"instance": {…}}` with `Location: {mount}/instances/{id}` |
/// | `show` | 200 `{"instance": {…}}` |
/// | `update` | 200 `{"instance": {…}}` with the new name |
/// | `delete` | 204, empty body |
///
/// An unknown or malformed id is 404 `itemNotFound`; see
/// [`ControllerError`] for the rest.
///
/// Answers about one instance carry a strong `ETag` made of its version
/// (`"1"` when created, one more at each change). `update` and `delete` honour
/// `If-Match` (412 `preconditionFailed` and no change when it does not match;
/// `*` matches any existing instance; without it the last write wins), and
/// `show` honours `If-None-Match` (304 when it matches).
///
/// The serialised `index` answer is kept and sent again while the store's
/// [`generation`](InstanceStore::generation) says nothing has changed, so
/// an unchanged listing is not serialised anew for every request; a store
/// that cannot tell (PostgreSQL) is listed every time.
#[derive(Clone)]
pub struct InstanceController {
    // One `Arc` for everything a request needs, so that each request
    // clones (and counts) one reference, not one per part.
    shared: Arc<Shared>,
}

/// What every request of a controller works with.
struct Shared {
    store: Arc<dyn InstanceStore>,
    listing: ListingCache,
}

/// The last serialised listing and the store generation it was read at.
#[derive(Default)]
struct ListingCache {
    kept: Mutex<Option<(u64, Bytes)>>,
}

impl ListingCache {
    fn get(&self, generation: u64) -> Option<Bytes> {
        match &*self.kept.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((kept, body)) if *kept == generation => Some(body.clone()),
            _ => None,
        }
    }

    /// Keeps `body`, read at `generation`, unless a listing read at a later
    /// generation is kept already.
    fn keep(&self, generation: u64, body: Bytes) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.as_ref().is_none_or(|(older, _)| *older < generation) {
            *kept = Some((generation, body));
        }
    }
}

impl std::fmt::Debug for InstanceController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceController").finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct OneInstance<'a> {
    instance: &'a Instance,
}

#[derive(Serialize)]
struct InstanceList<'a> {
    instances: &'a [Instance],
}

impl InstanceController {
    /// A controller over `store`.
    pub fn new(store: Arc<dyn InstanceStore>) -> Self {
        InstanceController {
            shared: Arc::new(Shared {
                store,
                listing: ListingCache::default(),
            }),
        }
    }

    /// The store this controller works on.
    pub fn store(&self) -> &Arc<dyn InstanceStore> {
        &self.shared.store
    }

    /// The `index` answer: the kept one if the store has not changed since
    /// it was serialised, else a fresh one (kept for next time when the
    /// store can tell).
    async fn index(
        store: &dyn InstanceStore,
        listing: &ListingCache,
    ) -> Result<Response, ControllerError> {
        // Read before listing: see InstanceStore::generation.
        let generation = store.generation();
        if let Some(body) = generation.and_then(|generation| listing.get(generation)) {
            return Ok(serialized_json_response(StatusCode::OK, body));
        }
        let instances = store.list().await?;
        let response = json_response(
            StatusCode::OK,
            &InstanceList {
                instances: &instances,
            },
        );
        if let (Some(generation), true) = (generation, response.status() == StatusCode::OK) {
            listing.keep(generation, response.body().clone());
        }
        Ok(response)
    }

    async fn dispatch(shared: &Shared, req: Request) -> Result<Response, ControllerError> {
        let Shared { store, listing } = shared;
        let args = req
            .extensions()
            .get::<RoutingArgs>()
            .ok_or(ControllerError::NotRouted)?;
        match args.action() {
            "index" => Self::index(&**store, listing).await,
            "create" => {
                let name = instance_name(&req)?;
                let instance = Instance::new(name);
                // The answer is made before the store takes the instance,
                // so it need not be copied; it is sent only if the store
                // took it.
                let mut response = one_instance(StatusCode::CREATED, &instance);
                if let Some(location) = location(ScriptName::of(&req), instance.id) {
                    response.headers_mut().insert(LOCATION, location);
                }
                store.insert(instance).await?;
                Ok(response)
            }
            "show" => {
                let id = instance_id(args)?;
                let instance = store.get(id).await?.ok_or_else(|| not_found(args))?;
                if crate::preconditions::none_match(req.headers(), instance.version) {
                    let mut response = Response::new(Bytes::new());
                    *response.status_mut() = StatusCode::NOT_MODIFIED;
                    response.headers_mut().insert(ETAG, etag(instance.version));
                    return Ok(response);
                }
                Ok(one_instance(StatusCode::OK, &instance))
            }
            "update" => {
                let id = instance_id(args)?;
                let name = instance_name(&req)?;
                let if_match = IfMatch::from_headers(req.headers());
                match store.rename(id, name, if_match).await? {
                    Change::Applied(instance) => Ok(one_instance(StatusCode::OK, &instance)),
                    Change::NotFound => Err(not_found(args)),
                    Change::VersionMismatch { current } => {
                        Err(ControllerError::PreconditionFailed { id, current })
                    }
                }
            }
            "delete" => {
                let id = instance_id(args)?;
                match store
                    .delete(id, IfMatch::from_headers(req.headers()))
                    .await?
                {
                    Change::Applied(()) => {}
                    Change::NotFound => return Err(not_found(args)),
                    Change::VersionMismatch { current } => {
                        return Err(ControllerError::PreconditionFailed { id, current })
                    }
                }
                let mut response = Response::new(Bytes::new());
                *response.status_mut() = StatusCode::NO_CONTENT;
                Ok(response)
            }
            other => Err(ControllerError::UnknownAction(other.to_owned())),
        }
    }
}

/// `{"instance": {…}}` with the instance's `ETag`.
fn one_instance(status: StatusCode, instance: &Instance) -> Response {
    let mut response = json_response(status, &OneInstance { instance });
    response.headers_mut().insert(ETAG, etag(instance.version));
    response
}

/// `{mount}/instances/{id}`: under a URL map the API is mounted below a
/// prefix, which the client needs to reach the new instance.
fn location(mount: &str, id: Uuid) -> Option<HeaderValue> {
    const COLLECTION: &str = "/instances/";
    let mut text =
        String::with_capacity(mount.len() + COLLECTION.len() + uuid::fmt::Hyphenated::LENGTH);
    text.push_str(mount);
    text.push_str(COLLECTION);
    text.push_str(id.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
    // Handed over rather than copied; a mount point is a path, so always a
    // valid header value.
    HeaderValue::from_maybe_shared(Bytes::from(text)).ok()
}

/// The strong entity tag of a version: `"7"`.
fn etag(mut version: u64) -> HeaderValue {
    // Written by hand: every answer about an instance carries one.
    let mut text = [b'"'; 22];
    let mut start = text.len() - 1;
    loop {
        start -= 1;
        text[start] = b'0' + (version % 10) as u8;
        version /= 10;
        if version == 0 {
            break;
        }
    }
    // Digits and quotes are always a valid header value.
    HeaderValue::from_bytes(&text[start - 1..]).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The instance id of the route, as a UUID. Only the canonical hyphenated
/// form names an instance; anything else cannot, so it is "not found".
fn instance_id(args: &RoutingArgs) -> Result<Uuid, ControllerError> {
    let raw = args
        .param("instance_id")
        .ok_or_else(|| ControllerError::MissingInstanceId(args.action().to_owned()))?;
    match Uuid::try_parse(raw) {
        Ok(id) if raw.len() == 36 => Ok(id),
        _ => Err(ControllerError::InstanceNotFound(raw.to_owned())),
    }
}

fn not_found(args: &RoutingArgs) -> ControllerError {
    ControllerError::InstanceNotFound(args.param("instance_id").unwrap_or_default().to_owned())
}

impl Service<Request> for InstanceController {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move {
            Ok(match Self::dispatch(&shared, req).await {
                Ok(response) => response,
                Err(error) => {
                    // A 5xx tells the client only our fixed words (see
                    // ControllerError::client_message); the whole error,
                    // the driver's reason included, goes to this request's
                    // log line, where the operator can act on it.
                    if error.status().is_server_error() {
                        tracing::error!(%error, "answering {}", error.status());
                    }
                    Fault::from(error).into_response()
                }
            })
        })
    }
}

#[cfg(test)]
mod tests;
