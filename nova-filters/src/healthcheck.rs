//! `healthcheck`: oslo's `Healthcheck`, which load balancers poll.
//!
//! As an app (mounted by a URL map at `/healthcheck`, as Nova's file does) it
//! answers `GET` and `HEAD` of any path it is given; as a filter it answers
//! its `path` (default `/healthcheck`) and passes every other request on.
//! Either way no authentication is asked for. The answer is 200 with
//! `{"detailed": false, "reasons": ["OK"]}`, or, with the `disable_by_file`
//! backend, 503 `serviceUnavailable` while the file at
//! `disable_by_file_path` exists: an operator drains a node by creating it.

use std::path::PathBuf;

use http::{Method, StatusCode};
use nova_router::{
    json_response, method_not_allowed, ready, Fault, NovaService, Request, Response,
    ResponseFuture, Service,
};

/// Where oslo's filter answers by default.
pub const DEFAULT_HEALTHCHECK_PATH: &str = "/healthcheck";

/// What the health answer depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Healthcheck {
    disable_by_file: Option<PathBuf>,
}

impl Healthcheck {
    /// Always healthy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Unhealthy while `path` exists (oslo's `disable_by_file` backend).
    pub fn disabled_by_file(path: impl Into<PathBuf>) -> Self {
        Healthcheck {
            disable_by_file: Some(path.into()),
        }
    }

    /// The answer to `req`.
    pub fn answer(&self, req: &Request) -> Response {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let response = method_not_allowed(req.method(), &[Method::GET, Method::HEAD]);
            return response;
        }
        let mut response = match &self.disable_by_file {
            Some(path) if path.exists() => {
                Fault::service_unavailable(format!("disabled by file {}", path.display()))
                    .into_response()
            }
            _ => json_response(
                StatusCode::OK,
                &serde_json::json!({"detailed": false, "reasons": ["OK"]}),
            ),
        };
        if req.method() == Method::HEAD {
            *response.body_mut() = bytes::Bytes::new();
        }
        response
    }
}

impl Service<Request> for Healthcheck {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        ready(self.answer(&req))
    }
}

/// The filter form: answers `path`, passes everything else to `inner`.
#[derive(Debug, Clone)]
pub struct HealthcheckFilter<S> {
    inner: S,
    path: String,
    check: Healthcheck,
}

impl<S> HealthcheckFilter<S> {
    /// Answers `path` with `check` in front of `inner`.
    pub fn new(inner: S, path: impl Into<String>, check: Healthcheck) -> Self {
        HealthcheckFilter {
            inner,
            path: path.into(),
            check,
        }
    }
}

impl<S: NovaService> Service<Request> for HealthcheckFilter<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        if req.uri().path() == self.path {
            ready(self.check.answer(&req))
        } else {
            self.inner.call(req)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use nova_router::service_fn;

    fn request(method: Method, path: &str) -> Request {
        http::Request::builder()
            .method(method)
            .uri(path)
            .body(Bytes::new())
            .unwrap()
    }

    #[tokio::test]
    async fn get_is_200_ok_head_has_no_body_and_other_methods_are_405() {
        let check = Healthcheck::new();
        let response = check.call(request(Method::GET, "/")).await.unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"detailed": false, "reasons": ["OK"]})
        );
        let head = check.call(request(Method::HEAD, "/")).await.unwrap();
        assert_eq!((head.status().as_u16(), head.body().len()), (200, 0));
        let post = check.call(request(Method::POST, "/")).await.unwrap();
        assert_eq!(post.status(), 405);
        assert_eq!(post.headers()[http::header::ALLOW], "GET, HEAD");
    }

    #[tokio::test]
    async fn the_disable_file_makes_it_503_while_it_exists() {
        let file = std::env::temp_dir().join(format!("nova-hc-{}", std::process::id()));
        let _ = std::fs::remove_file(&file);
        let check = Healthcheck::disabled_by_file(&file);
        assert_eq!(
            check
                .call(request(Method::GET, "/"))
                .await
                .unwrap()
                .status(),
            200
        );
        std::fs::write(&file, b"").unwrap();
        let response = check.call(request(Method::GET, "/")).await.unwrap();
        std::fs::remove_file(&file).unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(
            check
                .call(request(Method::GET, "/"))
                .await
                .unwrap()
                .status(),
            200
        );
    }

    #[tokio::test]
    async fn the_filter_answers_its_path_and_passes_the_rest_on() {
        let filter = HealthcheckFilter::new(
            service_fn(|_req: Request| async { http::Response::new(Bytes::from_static(b"app")) }),
            DEFAULT_HEALTHCHECK_PATH,
            Healthcheck::new(),
        );
        let health = filter
            .call(request(Method::GET, "/healthcheck"))
            .await
            .unwrap();
        assert!(health.body().starts_with(b"{\"detailed\""));
        let other = filter
            .call(request(Method::GET, "/instances"))
            .await
            .unwrap();
        assert_eq!(other.body().as_ref(), b"app");
    }
}
