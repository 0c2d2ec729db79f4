//! `versions`: the version document Nova answers at `GET /`, without
//! authentication, so clients can discover where the API is.
//!
//! ```json
//! {"versions": [{"id": "v2.1", "status": "CURRENT", "version": "2.1",
//!   "min_version": "2.1", "updated": "2013-07-23T11:33:21Z",
//!   "links": [{"rel": "self", "href": "http://HOST/v2.1/"}]}]}
//! ```
//!
//! The link is built from the request's `Host` (or, for HTTP/2, its
//! authority), the mount point of this app and `api_path`, where the
//! instance API is mounted (`/v2.1` in the shipped file). nova-rs has no
//! microversions, so `version` and `min_version` are both 2.1.

use http::header::HOST;
use http::{Method, StatusCode};
use nova_router::{
    json_response, method_not_allowed, ready, Fault, Request, Response, ResponseFuture, ScriptName,
    Service,
};

/// Where the shipped `api-paste.ini` mounts the instance API.
pub const DEFAULT_API_PATH: &str = "/v2.1";

/// The app; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    api_path: String,
}

impl Default for Versions {
    fn default() -> Self {
        Versions::new(DEFAULT_API_PATH)
    }
}

impl Versions {
    /// Links to the API mounted at `api_path` (a trailing slash is ignored).
    pub fn new(api_path: impl Into<String>) -> Self {
        let mut api_path = api_path.into();
        while api_path.ends_with('/') {
            api_path.pop();
        }
        Versions { api_path }
    }

    fn document(&self, req: &Request) -> serde_json::Value {
        let host = req
            .headers()
            .get(HOST)
            .and_then(|value| value.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        let scheme = req.uri().scheme_str().unwrap_or("http");
        let base = host.map_or(String::new(), |host| format!("{scheme}://{host}"));
        let href = format!("{base}{}{}/", ScriptName::of(req), self.api_path);
        serde_json::json!({"versions": [{
            "id": "v2.1",
            "status": "CURRENT",
            "version": "2.1",
            "min_version": "2.1",
            "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": href}],
        }]})
    }
}

impl Service<Request> for Versions {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        if req.uri().path() != "/" {
            return ready(Fault::not_found("the resource could not be found").into_response());
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let response = method_not_allowed(req.method(), &[Method::GET, Method::HEAD]);
            return ready(response);
        }
        let mut response = json_response(StatusCode::OK, &self.document(&req));
        if req.method() == Method::HEAD {
            *response.body_mut() = bytes::Bytes::new();
        }
        ready(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[tokio::test]
    async fn the_document_links_to_the_api_under_this_host_and_mount_point() {
        let versions = Versions::default();
        let req = http::Request::get("/")
            .header(HOST, "api.example:8000")
            .body(Bytes::new())
            .unwrap();
        let response = versions.call(req).await.unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        let version = &body["versions"][0];
        assert_eq!(version["id"], "v2.1");
        assert_eq!(version["status"], "CURRENT");
        assert_eq!(version["links"][0]["href"], "http://api.example:8000/v2.1/");

        let mut req = http::Request::get("/").body(Bytes::new()).unwrap();
        req.extensions_mut().insert(ScriptName::new("/compute"));
        let body = versions.call(req).await.unwrap().into_body();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["versions"][0]["links"][0]["href"], "/compute/v2.1/");
    }

    #[tokio::test]
    async fn other_paths_are_404_and_other_methods_405() {
        let versions = Versions::new("/v2.1/");
        let req = http::Request::get("/nope").body(Bytes::new()).unwrap();
        assert_eq!(versions.call(req).await.unwrap().status(), 404);
        let req = http::Request::delete("/").body(Bytes::new()).unwrap();
        let response = versions.call(req).await.unwrap();
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[http::header::ALLOW], "GET, HEAD");
    }
}
