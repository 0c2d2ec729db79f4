//! The `openapi` app: an API's OpenAPI document, served beside the API so a
//! client can read what it answers and where. The instance API's document
//! is this crate's ([`OPENAPI_DOCUMENT`]); an app serves any other as well
//! ([`OpenApiApp::with_document`]).

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::Method;
use nova_router::{Request, Response, ResponseFuture, Service, JSON_CONTENT_TYPE};

/// The OpenAPI 3.1 description of the instance API this crate serves, with
/// paths relative to where the API is mounted.
pub const OPENAPI_DOCUMENT: &str = include_str!("../openapi.json");

/// Why an [`OpenApiApp`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenApiError {
    /// The API prefix is not a path: it must be empty (the API is mounted at
    /// the root) or start with `/`.
    #[error("{0:?} must be empty or start with '/'")]
    BadPrefix(String),
    /// The document is not a JSON object; for [`OPENAPI_DOCUMENT`] a broken
    /// build, which the tests of this crate rule out.
    #[error("the OpenAPI document is not a JSON object: {0}")]
    BrokenDocument(String),
}

/// Answers `GET` and `HEAD` with an OpenAPI document ([`OPENAPI_DOCUMENT`]
/// unless made [`with_document`](OpenApiApp::with_document)), its `servers`
/// entry set to where the API is mounted, so a client resolves the
/// document's paths against the right prefix; any other method is 405
/// `badMethod` with `Allow: GET, HEAD`. It answers the same on every path:
/// where it is mounted is the configuration's business.
///
/// ```
/// use nova_controller::OpenApiApp;
/// use nova_router::Service;
///
/// let app = OpenApiApp::new("/v2.1").unwrap();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let req = http::Request::get("/openapi.json").body(Default::default()).unwrap();
/// let response = app.call(req).await.unwrap();
/// let document: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
/// assert_eq!(document["servers"], serde_json::json!([{"url": "/v2.1"}]));
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct OpenApiApp {
    /// The document as sent, serialised once.
    body: Bytes,
}

impl OpenApiApp {
    /// The app for an instance API mounted at `api_prefix` (`""` for the
    /// root, else a path such as `/v2.1`).
    pub fn new(api_prefix: &str) -> Result<OpenApiApp, OpenApiError> {
        Self::with_document(OPENAPI_DOCUMENT, api_prefix)
    }

    /// The app for the API `document` (an OpenAPI document, JSON)
    /// describes, mounted at `api_prefix` as for [`OpenApiApp::new`]: how
    /// another crate serves the document of its own API.
    pub fn with_document(document: &str, api_prefix: &str) -> Result<OpenApiApp, OpenApiError> {
        if !(api_prefix.is_empty() || api_prefix.starts_with('/')) {
            return Err(OpenApiError::BadPrefix(api_prefix.to_owned()));
        }
        let broken = |error: serde_json::Error| OpenApiError::BrokenDocument(error.to_string());
        let mut document: serde_json::Value = serde_json::from_str(document).map_err(broken)?;
        if !document.is_object() {
            // Setting `servers` below needs an object to set it in.
            return Err(OpenApiError::BrokenDocument(format!(
                "its top level is {document}"
            )));
        }
        let url = if api_prefix.is_empty() {
            "/"
        } else {
            api_prefix
        };
        document["servers"] = serde_json::json!([{ "url": url }]);
        let body = serde_json::to_vec(&document).map_err(broken)?;
        Ok(OpenApiApp { body: body.into() })
    }

    /// The document this app answers with.
    pub fn document(&self) -> &Bytes {
        &self.body
    }
}

impl Service<Request> for OpenApiApp {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let response = match *req.method() {
            Method::GET | Method::HEAD => {
                let body = if req.method() == Method::GET {
                    self.body.clone()
                } else {
                    Bytes::new()
                };
                let mut response = Response::new(body);
                let headers = response.headers_mut();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
                // A HEAD answer says how long the GET answer would be.
                headers.insert(CONTENT_LENGTH, HeaderValue::from(self.body.len()));
                response
            }
            _ => nova_router::method_not_allowed(req.method(), &[Method::GET, Method::HEAD]),
        };
        nova_router::ready(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use serde_json::{json, Value};

    async fn answer(app: &OpenApiApp, method: Method) -> Response {
        let req = http::Request::builder()
            .method(method)
            .uri("/openapi.json")
            .body(Bytes::new())
            .unwrap();
        app.call(req).await.unwrap()
    }

    #[tokio::test]
    async fn get_answers_the_document_with_the_prefix_as_its_server() {
        for (prefix, server) in [
            ("", "/"),
            ("/v2.1", "/v2.1"),
            ("/compute/v2.1", "/compute/v2.1"),
        ] {
            let app = OpenApiApp::new(prefix).unwrap();
            let response = answer(&app, Method::GET).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()[CONTENT_TYPE], JSON_CONTENT_TYPE);
            assert_eq!(
                response.headers()[CONTENT_LENGTH],
                response.body().len().to_string()
            );
            let document: Value = serde_json::from_slice(response.body()).unwrap();
            assert_eq!(
                document["servers"],
                json!([{ "url": server }]),
                "{prefix:?}"
            );
            let built_in: Value = serde_json::from_str(OPENAPI_DOCUMENT).unwrap();
            assert_eq!(document["paths"], built_in["paths"]);
        }
    }

    #[tokio::test]
    async fn head_answers_no_body_but_the_length_of_the_document() {
        let app = OpenApiApp::new("/v2.1").unwrap();
        let got = answer(&app, Method::GET).await;
        let head = answer(&app, Method::HEAD).await;
        assert_eq!(head.status(), StatusCode::OK);
        assert!(head.body().is_empty());
        assert_eq!(
            head.headers()[CONTENT_LENGTH],
            got.headers()[CONTENT_LENGTH]
        );
        assert_eq!(head.headers()[CONTENT_TYPE], JSON_CONTENT_TYPE);
    }

    #[tokio::test]
    async fn other_methods_are_405_with_allow() {
        let app = OpenApiApp::new("").unwrap();
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let response = answer(&app, method.clone()).await;
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method}"
            );
            assert_eq!(response.headers()[http::header::ALLOW], "GET, HEAD");
            let body: Value = serde_json::from_slice(response.body()).unwrap();
            assert_eq!(body["badMethod"]["code"], 405);
        }
    }

    #[tokio::test]
    async fn another_document_is_served_the_same_way() {
        let app = OpenApiApp::with_document(r#"{"openapi": "3.1.0", "paths": {"/x": {}}}"#, "/v3")
            .unwrap();
        let response = answer(&app, Method::GET).await;
        assert_eq!(response.status(), StatusCode::OK);
        let document: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            document,
            json!({"openapi": "3.1.0", "paths": {"/x": {}}, "servers": [{"url": "/v3"}]})
        );
    }

    #[test]
    fn a_document_that_is_not_a_json_object_is_refused() {
        for text in ["", "{", "[]", "null", "\"openapi\""] {
            let error = OpenApiApp::with_document(text, "").unwrap_err();
            assert!(
                matches!(error, OpenApiError::BrokenDocument(_)),
                "{text:?}: {error}"
            );
        }
    }

    #[test]
    fn a_prefix_that_is_not_a_path_is_refused() {
        for prefix in ["v2.1", " /v2.1", "http://example.com/v2.1"] {
            let error = OpenApiApp::new(prefix).unwrap_err();
            assert_eq!(error, OpenApiError::BadPrefix(prefix.to_owned()));
            assert_eq!(
                error.to_string(),
                format!("{prefix:?} must be empty or start with '/'")
            );
        }
    }
}
