//! `versions` and `versions_v2`: the version documents Nova answers without
//! authentication, so clients can discover where the API is and which
//! microversions it speaks.
//!
//! [`Versions`] answers `GET /` with the list of API versions:
//!
//! ```json
//! {"versions": [{"id": "v2.1", "status": "CURRENT", "version": "2.1",
//!   "min_version": "2.1", "updated": "2013-07-23T11:33:21Z",
//!   "links": [{"rel": "self", "href": "http://HOST/v2.1/"}]}]}
//! ```
//!
//! [`VersionDocument`] (Nova's `VersionsV2`), mounted at the API's own path
//! (`/v2.1`), answers `GET /v2.1` and `GET /v2.1/` with that one version in
//! full, its `describedby` link and `media-types` added: the document
//! openstacksdk and the `openstack` CLI read before their first call to learn
//! the newest microversion (`version`).
//!
//! Links are built from the request's `Host` (or, for HTTP/2, its
//! authority) and the mount point. `version` and `min_version` are the
//! microversion range the API serves, handed in by whoever knows it.

use http::header::HOST;
use http::{Method, StatusCode};
use nova_router::{
    json_response, method_not_allowed, ready, ApiVersion, ApiVersionRange, Fault, Request,
    Response, ResponseFuture, ScriptName, Service,
};
use serde_json::{json, Value};

/// Where the shipped `api-paste.ini` mounts the instance API.
pub const DEFAULT_API_PATH: &str = "/v2.1";

/// When Nova's v2.1 API first came out, as its version documents say.
const UPDATED: &str = "2013-07-23T11:33:21Z";

/// The list of versions at `GET /`; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    api_path: String,
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
    /// which serves the microversions `served`.
    pub fn new(api_path: impl Into<String>, served: ApiVersionRange) -> Self {
        let mut api_path = api_path.into();
        while api_path.ends_with('/') {
            api_path.pop();
        }
        Versions { api_path, served }
    }
}

impl Service<Request> for Versions {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let href = format!(
            "{}{}{}/",
            base_url(&req),
            ScriptName::of(&req),
            self.api_path
        );
        let document = json!({ "versions": [version_entry(&href, self.served)] });
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
        let mut version = version_entry(&href, self.served);
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
                json!([{
                    "base": "application/json",
                    "type": "application/vnd.openstack.compute+json;version=2.1",
                }]),
            );
        }
        ready(answer(&req, &json!({ "version": version })))
    }
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
        let version = &body["versions"][0];
        assert_eq!(version["id"], "v2.1");
        assert_eq!(version["status"], "CURRENT");
        assert_eq!(version["links"][0]["href"], "http://api.example:8000/v2.1/");

        let mut req = http::Request::get("/").body(Bytes::new()).unwrap();
        req.extensions_mut().insert(ScriptName::new("/compute"));
        let body = body_of(&versions, req).await;
        assert_eq!(body["versions"][0]["links"][0]["href"], "/compute/v2.1/");
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
