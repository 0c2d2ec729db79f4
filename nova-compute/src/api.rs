//! The compute application and the request every controller gets: the
//! [`ComputeApi`] (its store, cloud and clock) and the [`Call`] built once
//! per request (dispatch, the `Service` side, is `dispatch`'s).

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE, HOST};
use http::{Method, StatusCode};
use nova_router::{
    json_response, ApiVersion, Request, RequestContext, RequestId, Response, RoutingArgs,
    ScriptName,
};
use serde::Serialize;

use crate::{Clock, Cloud, ComputeError, FaultInjector, ServerStore, SystemClock};

/// The compute API v2.1 as one application: servers, their actions,
/// metadata, addresses and instance actions, flavors, images and limits,
/// over a [`ServerStore`]. Put it behind
/// [`RoutesMiddleware`](nova_router::RoutesMiddleware) with
/// [`compute_routes`](nova_router::compute_routes) and the microversion
/// filter.
///
/// ```
/// use std::sync::Arc;
/// use nova_compute::{Cloud, ComputeApi, MemoryServerStore};
/// use nova_router::{compute_routes, RoutesMiddleware, Service};
///
/// let api = ComputeApi::new(Arc::new(MemoryServerStore::new()), Cloud::default());
/// let app = RoutesMiddleware::new(compute_routes(), api);
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let flavors = http::Request::get("/flavors").body(Default::default()).unwrap();
/// let response = app.call(flavors).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # });
/// ```
#[derive(Clone)]
pub struct ComputeApi {
    pub(crate) store: Arc<dyn ServerStore>,
    pub(crate) cloud: Arc<Cloud>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Who decides on injected misbehaviour, if anyone.
    pub(crate) injector: Option<Arc<dyn FaultInjector>>,
}

impl std::fmt::Debug for ComputeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComputeApi")
            .field("cloud", &self.cloud)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl ComputeApi {
    /// The API over `store`, offering what `cloud` describes, on the
    /// system clock.
    pub fn new(store: Arc<dyn ServerStore>, cloud: Cloud) -> Self {
        Self::with_clock(store, cloud, Arc::new(SystemClock))
    }

    /// As [`ComputeApi::new`], reading the time from `clock`.
    pub fn with_clock(store: Arc<dyn ServerStore>, cloud: Cloud, clock: Arc<dyn Clock>) -> Self {
        ComputeApi {
            store,
            cloud: Arc::new(cloud),
            clock,
            injector: None,
        }
    }

    /// The same API, asking `injector` at every server event whether
    /// something other than the ordinary outcome is to happen
    /// ([`FaultInjector`]).
    pub fn with_injector(mut self, injector: Arc<dyn FaultInjector>) -> Self {
        self.injector = Some(injector);
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ServerStore> {
        &self.store
    }

    /// What the cloud offers.
    pub fn cloud(&self) -> &Cloud {
        &self.cloud
    }
}

/// One compute request, as every controller sees it: who asks, at which
/// microversion, what the router matched, the query and the body.
#[derive(Debug)]
pub struct Call {
    /// The microversion.
    pub version: ApiVersion,
    /// The project the request acts for.
    pub project_id: String,
    /// The user it acts as.
    pub user_id: String,
    /// The caller's role names on that project, as the token filter
    /// gave them (`admin` for the shared token); [`crate::policy`] decides
    /// what they allow.
    pub roles: Vec<String>,
    /// The request's id, recorded in `os-instance-actions`.
    pub request_id: String,
    /// What the router matched.
    pub args: RoutingArgs,
    /// The method.
    pub method: Method,
    /// The query string's pairs, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The request headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// `http://HOST/v2.1`: where links to this API start.
    pub application_url: String,
    /// `http://HOST`: where bookmark links start.
    pub host_url: String,
    /// The project id as it appeared in the URL, if it did; links repeat
    /// it, as Nova's do.
    pub url_project_id: Option<String>,
}

impl Call {
    pub(crate) fn from_request(req: Request, cloud: &Cloud) -> Result<Call, ComputeError> {
        let version = ApiVersion::of(&req);
        let request_id = RequestId::of(&req).map_or_else(
            || RequestId::generate().as_str().to_owned(),
            |id| id.as_str().to_owned(),
        );
        let script_name = ScriptName::of(&req).to_owned();
        let (mut parts, body) = req.into_parts();
        // Taken, not cloned: the request ends here.
        let context = parts.extensions.remove::<RequestContext>();
        let args = parts
            .extensions
            .remove::<RoutingArgs>()
            .ok_or_else(|| ComputeError::UnknownAction(String::new()))?;
        let url_project_id = args.param("project_id").map(str::to_owned);
        let (project_id, user_id, roles) = match (context, &url_project_id) {
            (Some(context), Some(in_url)) if *in_url != context.project_id => {
                return Err(ComputeError::BadRequest(format!(
                    "Malformed request URL: URL's project_id '{in_url}' doesn't match Context's project_id '{}'",
                    context.project_id
                )))
            }
            (Some(context), _) => (context.project_id, context.user_id, context.roles),
            // The shared token: whoever holds it acts for the project the
            // URL names, or the default one, with every right.
            (None, in_url) => (
                in_url.clone().unwrap_or_else(|| cloud.default_project.clone()),
                cloud.default_user.clone(),
                vec![crate::default_caller::SHARED_TOKEN_ROLE.to_owned()],
            ),
        };
        let host = parts
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("localhost");
        let host_url = format!("http://{host}");
        let query = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Ok(Call {
            version,
            project_id,
            user_id,
            roles,
            request_id,
            application_url: format!("{host_url}{script_name}"),
            host_url,
            url_project_id,
            args,
            method: parts.method,
            query,
            headers: parts.headers,
            body,
        })
    }

    /// Whether the microversion is at least `major.minor`.
    pub fn at_least(&self, major: u16, minor: u16) -> bool {
        self.version >= ApiVersion::new(major, minor)
    }

    /// The path parameter `name`.
    pub fn param(&self, name: &str) -> &str {
        self.args.param(name).unwrap_or("")
    }

    /// Every value of query parameter `name`, in order.
    pub fn query_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The last value of query parameter `name` (Nova reads the last one
    /// of a repeated single-valued parameter).
    pub fn query_last(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON, Nova's way: no body or an empty one is `None`; a
    /// body that does not parse is 400 `Malformed request body`; a
    /// content type other than JSON (or none, or `text/plain`, which Nova
    /// reads as JSON) is 415 `Unsupported Content-Type`.
    pub fn json_body(&self) -> Result<Option<serde_json::Value>, ComputeError> {
        if let Some(content_type) = self.headers.get(CONTENT_TYPE) {
            let media = content_type
                .to_str()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if !media.is_empty() && media != "application/json" && media != "text/plain" {
                return Err(ComputeError::UnsupportedMediaType(
                    "Unsupported Content-Type".to_owned(),
                ));
            }
        }
        if self.body.is_empty() {
            return Ok(None);
        }
        serde_json::from_slice(&self.body)
            .map(Some)
            .map_err(|_| ComputeError::BadRequest("Malformed request body".to_owned()))
    }

    /// The body as JSON, required: a missing body is the same 400 as a
    /// malformed one.
    pub fn required_json_body(&self) -> Result<serde_json::Value, ComputeError> {
        self.json_body()?
            .ok_or_else(|| ComputeError::BadRequest("Malformed request body".to_owned()))
    }

    /// `http://HOST/v2.1[/PROJECT]/COLLECTION/ID`: a resource's `self` link.
    pub fn self_link(&self, collection: &str, id: &str) -> String {
        self.link(&self.application_url, collection, id)
    }

    /// `http://HOST[/PROJECT]/COLLECTION/ID`: a resource's `bookmark` link.
    pub fn bookmark_link(&self, collection: &str, id: &str) -> String {
        self.link(&self.host_url, collection, id)
    }

    fn link(&self, base: &str, collection: &str, id: &str) -> String {
        match &self.url_project_id {
            Some(project) => format!("{base}/{project}/{collection}/{id}"),
            None => format!("{base}/{collection}/{id}"),
        }
    }

    /// `http://HOST/v2.1[/PROJECT]/COLLECTION`: a listing's URL, for its
    /// `next` link.
    pub fn collection_link(&self, collection: &str) -> String {
        match &self.url_project_id {
            Some(project) => format!("{}/{project}/{collection}", self.application_url),
            None => format!("{}/{collection}", self.application_url),
        }
    }
}

/// A JSON answer.
pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    json_response(status, body)
}

/// `{"KEY": value}`, moving `value` in (`json!` would copy it whole).
pub(crate) fn wrapped(key: &str, value: serde_json::Value) -> serde_json::Value {
    let mut object = serde_json::Map::with_capacity(1);
    object.insert(key.to_owned(), value);
    serde_json::Value::Object(object)
}

/// `{"KEY": value}` written straight out, for a value that is not a JSON
/// tree (a [`ServerView`](crate::views::servers::ServerView)).
pub(crate) struct Keyed<'a, T: ?Sized>(pub &'a str, pub &'a T);

impl<T: Serialize + ?Sized> Serialize for Keyed<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut object = serializer.serialize_map(Some(1))?;
        object.serialize_entry(self.0, self.1)?;
        object.end()
    }
}

/// An answer with no body: 202 or 204.
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

/// Sets a header whose value was built from our own data.
pub(crate) fn set_header(response: &mut Response, name: http::header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}
