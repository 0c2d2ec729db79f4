//! `versions` and `versions_v2`: the version documents Nova answers without
//! authentication, so clients can discover where the API is and which
//! microversions it speaks.
//!
//! [`Versions`] answers `GET /` with the list of API versions, as Nova's
//! `versions.py` lists them: the legacy v2.0 API (deprecated in Nova since
//! 2025, no microversions) and v2.1, in that order:
//!
//! ```json
//! {"versions": [
//!   {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
//!    "updated": "2011-01-21T11:33:21Z",
//!    "links": [{"rel": "self", "href": "http://HOST/v2/"}]},
//!   {"id": "v2.1", "status": "CURRENT", "version": "2.100",
//!    "min_version": "2.1", "updated": "2013-07-23T11:33:21Z",
//!    "links": [{"rel": "self", "href": "http://HOST/v2.1/"}]}]}
//! ```
//!
//! [`VersionDocument`] (Nova's `VersionsV2`), mounted at an API's own path
//! (`/v2.1`, `/v2`), answers `GET /v2.1` and `GET /v2.1/` with that one
//! version in full, its `describedby` link and `media-types` added: the
//! document openstacksdk and the `openstack` CLI read before their first
//! call to learn the newest microversion (`version`). Behind
//! [`LegacyV2Compatible`] (Nova's `legacy_v2_compatible`, as Nova's
//! `api-paste.ini` puts it in front of `/v2`) it answers the v2.0 document
//! instead. Each document's `self` link is the path it answers at.
//!
//! Links are built from the request's `Host` (or, for HTTP/2, its
//! authority) and the mount point. `version` and `min_version` of v2.1 are
//! the microversion range the API serves, handed in by whoever knows it.

use http::header::HOST;
use http::{Method, StatusCode};
use nova_router::{
    json_response, method_not_allowed, ready, ApiVersion, ApiVersionRange, Fault, NovaService,
    Request, Response, ResponseFuture, ScriptName, Service,
};
use serde_json::{json, Value};

/// Where the shipped `api-paste.ini` mounts the instance API.
pub const DEFAULT_API_PATH: &str = "/v2.1";

/// When Nova's v2.1 API first came out, as its version documents say.
const UPDATED: &str = "2013-07-23T11:33:21Z";

/// The v2.0 API's status, as Nova's `versions.py` said it up to the
/// release whose highest microversion is 2.100 (2025.1), the one nova-rs
/// answers as; Nova deprecated v2.0 in the release after
/// (`DEPRECATED`, updated `2025-07-04T12:00:00Z`).
const V20_STATUS: &str = "SUPPORTED";

/// When the v2.0 API came out, as Nova's version documents say.
const V20_UPDATED: &str = "2011-01-21T11:33:21Z";

/// The request extension [`LegacyV2Compatible`] sets: the request came in
/// through the legacy v2.0 API's mount (Nova's `req.is_legacy_v2()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyV2;

/// `legacy_v2_compatible`: Nova's `LegacyV2CompatibleWrapper`, as far as
/// the version document needs it: it marks each request as the legacy
/// v2.0 API's ([`LegacyV2`]), so [`VersionDocument`] answers the v2.0
/// document. (nova-rs serves no compute API at `/v2/`, so nothing else
/// reads the mark.)
#[derive(Debug, Clone)]
pub struct LegacyV2Compatible<S> {
    inner: S,
}

impl<S> LegacyV2Compatible<S> {
    /// Marks every request passed to `inner` as the legacy API's.
    pub fn new(inner: S) -> Self {
        LegacyV2Compatible { inner }
    }
}

impl<S: NovaService> Service<Request> for LegacyV2Compatible<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut req: Request) -> Self::Future {
        req.extensions_mut().insert(LegacyV2);
        self.inner.call(req)
    }
}

/// The list of versions at `GET /`; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    api_path: String,
    legacy_path: String,
    served: ApiVersionRange,
}

impl Default for Versions {
    /// The API at [`DEFAULT_API_PATH`], serving 2.1 only.
    fn default() -> Self {
        let only = ApiVersion::DEFAULT;
        Versions::new(
            DEFAULT_API_PATH,
            ApiVersionRange {
                min: only,
                max: only,
            },
        )
    }
}

impl Versions {
    /// Links to the API mounted at `api_path` (a trailing slash is ignored),
    /// which serves the microversions `served`, and to the legacy v2.0
    /// API's document beside it: `/v2.1` → `/v2`, `/compute/v2.1` →
    /// `/compute/v2`, as Nova builds both links from one prefix.
    pub fn new(api_path: impl Into<String>, served: ApiVersionRange) -> Self {
        let api_path = without_trailing_slashes(api_path.into());
        let legacy_path = match api_path.rsplit_once('/') {
            Some((parent, _)) => format!("{parent}/v2"),
            None => "/v2".to_owned(),
        };
        Versions {
            api_path,
            legacy_path,
            served,
        }
    }

    /// The same list, linking to the legacy v2.0 document at
    /// `legacy_path` (a trailing slash is ignored).
    pub fn with_legacy_path(mut self, legacy_path: impl Into<String>) -> Self {
        self.legacy_path = without_trailing_slashes(legacy_path.into());
        self
    }
}

fn without_trailing_slashes(mut path: String) -> String {
    while path.ends_with('/') {
        path.pop();
    }
    path
}

impl Service<Request> for Versions {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let root = format!("{}{}", base_url(&req), ScriptName::of(&req));
        // Nova lists them sorted by id: v2.0 first.
        let document = json!({ "versions": [
            v20_entry(&format!("{root}{}/", self.legacy_path)),
            version_entry(&format!("{root}{}/", self.api_path), self.served),
        ]});
        ready(answer(&req, &document))
    }
}

/// The one version document, at the API's own path; see the module
/// documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionDocument {
    served: ApiVersionRange,
}

impl VersionDocument {
    /// The document of an API serving the microversions `served`, mounted
    /// where the API is.
    pub fn new(served: ApiVersionRange) -> Self {
        VersionDocument { served }
    }
}

impl Service<Request> for VersionDocument {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let href = format!("{}{}/", base_url(&req), ScriptName::of(&req));
        let legacy = req.extensions().get::<LegacyV2>().is_some();
        let (mut version, media_type) = if legacy {
            (
                v20_entry(&href),
                "application/vnd.openstack.compute+json;version=2",
            )
        } else {
            (
                version_entry(&href, self.served),
                "application/vnd.openstack.compute+json;version=2.1",
            )
        };
        if let Value::Object(fields) = &mut version {
            if let Some(Value::Array(links)) = fields.get_mut("links") {
                links.push(json!({
                    "rel": "describedby",
                    "type": "text/html",
                    "href": "http://docs.openstack.org/",
                }));
            }
            fields.insert(
                "media-types".to_owned(),
                json!([{"base": "application/json", "type": media_type}]),
            );
        }
        ready(answer(&req, &json!({ "version": version })))
    }
}

/// The v2.0 entry both documents share: the legacy API has no
/// microversions, so both versions are empty.
fn v20_entry(href: &str) -> Value {
    json!({
        "id": "v2.0",
        "status": V20_STATUS,
        "version": "",
        "min_version": "",
        "updated": V20_UPDATED,
        "links": [{"rel": "self", "href": href}],
    })
}

/// The v2.1 entry both documents share.
fn version_entry(href: &str, served: ApiVersionRange) -> Value {
    json!({
        "id": "v2.1",
        "status": "CURRENT",
        "version": served.max.to_string(),
        "min_version": served.min.to_string(),
        "updated": UPDATED,
        "links": [{"rel": "self", "href": href}],
    })
}

/// `scheme://host` of the request, or "" when it names no host.
fn base_url(req: &Request) -> String {
    let host = req
        .headers()
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    let scheme = req.uri().scheme_str().unwrap_or("http");
    host.map_or(String::new(), |host| format!("{scheme}://{host}"))
}

/// `document` for `GET` (no body for `HEAD`) of the mount point itself;
/// 404 for any path below it, 405 for other methods.
fn answer(req: &Request, document: &Value) -> Response {
    if req.uri().path() != "/" {
        return Fault::not_found("the resource could not be found").into_response();
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return method_not_allowed(req.method(), &[Method::GET, Method::HEAD]);
    }
    let mut response = json_response(StatusCode::OK, document);
    if req.method() == Method::HEAD {
        *response.body_mut() = bytes::Bytes::new();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn served(max_minor: u16) -> ApiVersionRange {
        ApiVersionRange {
            min: ApiVersion::new(2, 1),
            max: ApiVersion::new(2, max_minor),
        }
    }

    async fn body_of(service: &impl nova_router::NovaService, req: Request) -> Value {
        let response = service.call(req).await.unwrap();
        assert_eq!(response.status(), 200);
        serde_json::from_slice(response.body()).unwrap()
    }

    #[tokio::test]
    async fn the_document_links_to_the_api_under_this_host_and_mount_point() {
        let versions = Versions::default();
        let req = http::Request::get("/")
            .header(HOST, "api.example:8000")
            .body(Bytes::new())
            .unwrap();
        let body = body_of(&versions, req).await;
        let version = &body["versions"][1];
        assert_eq!(version["id"], "v2.1");
        assert_eq!(version["status"], "CURRENT");
        assert_eq!(version["links"][0]["href"], "http://api.example:8000/v2.1/");
        let legacy = &body["versions"][0];
        assert_eq!(legacy["id"], "v2.0");
        assert_eq!(legacy["links"][0]["href"], "http://api.example:8000/v2/");

        let mut req = http::Request::get("/").body(Bytes::new()).unwrap();
        req.extensions_mut().insert(ScriptName::new("/compute"));
        let body = body_of(&versions, req).await;
        assert_eq!(body["versions"][1]["links"][0]["href"], "/compute/v2.1/");
        assert_eq!(body["versions"][0]["links"][0]["href"], "/compute/v2/");
        let moved = Versions::new("/api/v2.1/", served(1)).with_legacy_path("/old/");
        let req = http::Request::get("/").body(Bytes::new()).unwrap();
        let body = body_of(&moved, req).await;
        assert_eq!(body["versions"][1]["links"][0]["href"], "/api/v2.1/");
        assert_eq!(body["versions"][0]["links"][0]["href"], "/old/");
    }

    #[tokio::test]
    async fn both_documents_give_the_served_range_as_nova_shapes_it() {
        let list = Versions::new("/v2.1", served(7));
        let req = http::Request::get("/")
            .header(HOST, "h")
            .body(Bytes::new())
            .unwrap();
        assert_eq!(
            body_of(&list, req).await,
            json!({"versions": [{
                "id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
                "updated": "2011-01-21T11:33:21Z",
                "links": [{"rel": "self", "href": "http://h/v2/"}],
            }, {
                "id": "v2.1", "status": "CURRENT", "version": "2.7", "min_version": "2.1",
                "updated": "2013-07-23T11:33:21Z",
                "links": [{"rel": "self", "href": "http://h/v2.1/"}],
            }]})
        );
        let document = VersionDocument::new(served(7));
        let mut req = http::Request::get("/")
            .header(HOST, "h")
            .body(Bytes::new())
            .unwrap();
        req.extensions_mut().insert(ScriptName::new("/v2.1"));
        assert_eq!(
            body_of(&document, req).await,
            json!({"version": {
                "id": "v2.1", "status": "CURRENT", "version": "2.7", "min_version": "2.1",
                "updated": "2013-07-23T11:33:21Z",
                "links": [
                    {"rel": "self", "href": "http://h/v2.1/"},
                    {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
                ],
                "media-types": [{
                    "base": "application/json",
                    "type": "application/vnd.openstack.compute+json;version=2.1",
                }],
            }})
        );
    }

    #[tokio::test]
    async fn behind_the_legacy_filter_the_document_is_v2_0s() {
        let document = LegacyV2Compatible::new(VersionDocument::new(served(7)));
        let mut req = http::Request::get("/")
            .header(HOST, "h")
            .body(Bytes::new())
            .unwrap();
        req.extensions_mut().insert(ScriptName::new("/v2"));
        assert_eq!(
            body_of(&document, req).await,
            json!({"version": {
                "id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
                "updated": "2011-01-21T11:33:21Z",
                "links": [
                    {"rel": "self", "href": "http://h/v2/"},
                    {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
                ],
                "media-types": [{
                    "base": "application/json",
                    "type": "application/vnd.openstack.compute+json;version=2",
                }],
            }})
        );
    }

    #[tokio::test]
    async fn other_paths_are_404_and_other_methods_405() {
        let versions = Versions::new("/v2.1/", served(1));
        let document = VersionDocument::new(served(1));
        for (path, method, status) in [
            ("/nope", Method::GET, 404),
            ("/", Method::DELETE, 405),
            ("/", Method::HEAD, 200),
        ] {
            let request = || {
                http::Request::builder()
                    .method(method.clone())
                    .uri(path)
                    .body(Bytes::new())
                    .unwrap()
            };
            for response in [
                versions.call(request()).await.unwrap(),
                document.call(request()).await.unwrap(),
            ] {
                assert_eq!(response.status(), status, "{method} {path}");
                if status == 405 {
                    assert_eq!(response.headers()[http::header::ALLOW], "GET, HEAD");
                }
                if method == Method::HEAD {
                    assert!(response.body().is_empty());
                }
            }
        }
    }
}
