//! The routing middleware: `routes.middleware.RoutesMiddleware` for nova-rs.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH};
use http::{Method, StatusCode};

use crate::{Fault, Mapper, MatchError, NovaService, Request, ResponseFuture, Service};

/// Matches each request against a [`Mapper`] and calls the inner service with
/// the match stored as [`RoutingArgs`](crate::RoutingArgs) in the request's
/// extensions.
///
/// Requests that match nothing never reach the inner service: an unknown path
/// is answered 404 `itemNotFound`, a known path with another method 405
/// `badMethod` with an `Allow` header. A `HEAD` request is routed as `GET` and
/// answered with the same headers and no body.
pub struct RoutesMiddleware<S> {
    mapper: Arc<Mapper>,
    inner: S,
}

impl<S> std::fmt::Debug for RoutesMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutesMiddleware")
            .field("mapper", &self.mapper)
            .finish_non_exhaustive()
    }
}

impl<S> RoutesMiddleware<S> {
    /// Routes requests through `mapper` to `inner`.
    pub fn new(mapper: impl Into<Arc<Mapper>>, inner: S) -> Self {
        RoutesMiddleware {
            mapper: mapper.into(),
            inner,
        }
    }

    /// The route table.
    pub fn mapper(&self) -> &Mapper {
        &self.mapper
    }
}

impl<S: NovaService> Service<Request> for RoutesMiddleware<S> {
    type Response = crate::Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut req: Request) -> Self::Future {
        let args = match self.mapper.recognize(req.method(), req.uri().path()) {
            Ok(args) => args,
            Err(error) => return crate::ready(unmatched(req.method(), error)),
        };
        req.extensions_mut().insert(args);
        if req.method() != Method::HEAD {
            return self.inner.call(req);
        }
        let response = self.inner.call(req);
        Box::pin(async move {
            let mut response = response.await?;
            let length = response.body().len();
            *response.body_mut() = Bytes::new();
            // Keep the length GET would have sent, as RFC 9110 allows for HEAD.
            if !response.headers().contains_key(CONTENT_LENGTH)
                && response.status() != StatusCode::NO_CONTENT
            {
                response
                    .headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from(length));
            }
            Ok(response)
        })
    }
}

fn unmatched(method: &Method, error: MatchError) -> crate::Response {
    match error {
        MatchError::MethodNotAllowed { allowed } => crate::method_not_allowed(method, &allowed),
        MatchError::InvalidParameterEncoding { name } => Fault::bad_request(format!(
            "path parameter {name} is not valid UTF-8 once percent-decoded"
        ))
        .into_response(),
        MatchError::NotFound => Fault::not_found("the resource could not be found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{service_fn, RoutingArgs};
    use http::header::{ALLOW, CONTENT_TYPE};

    fn echo_router() -> RoutesMiddleware<impl NovaService> {
        let mut mapper = Mapper::new();
        mapper
            .connect("/instances", "index", &[Method::GET])
            .unwrap()
            .connect("/instances", "create", &[Method::POST])
            .unwrap()
            .connect("/instances/{instance_id}", "show", &[Method::GET])
            .unwrap();
        let app = service_fn(|req: Request| async move {
            let args = req.extensions().get::<RoutingArgs>().cloned();
            let text = match args {
                Some(args) => format!(
                    "{}:{}",
                    args.action(),
                    args.param("instance_id").unwrap_or("-")
                ),
                None => "unrouted".to_owned(),
            };
            http::Response::new(Bytes::from(text))
        });
        RoutesMiddleware::new(mapper, app)
    }

    async fn send(
        router: &RoutesMiddleware<impl NovaService>,
        method: Method,
        path: &str,
    ) -> crate::Response {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .body(Bytes::new())
            .unwrap();
        router.call(req).await.unwrap()
    }

    fn fault_kind(response: &crate::Response) -> String {
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        body.as_object().unwrap().keys().next().unwrap().clone()
    }

    #[tokio::test]
    async fn a_match_reaches_the_inner_service_with_routing_args() {
        let router = echo_router();
        let response = send(&router, Method::GET, "/instances/i%2D1?x=1").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.body().as_ref(), b"show:i-1");
    }

    #[tokio::test]
    async fn an_unknown_path_is_answered_404_without_calling_the_app() {
        let router = echo_router();
        let response = send(&router, Method::GET, "/nothing").await;
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(fault_kind(&response), "itemNotFound");
    }

    #[tokio::test]
    async fn a_wrong_method_is_answered_405_with_allow() {
        let router = echo_router();
        let response = send(&router, Method::PUT, "/instances").await;
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[ALLOW], "GET, HEAD, POST");
        assert_eq!(fault_kind(&response), "badMethod");
    }

    #[tokio::test]
    async fn head_is_answered_like_get_without_a_body() {
        let router = echo_router();
        let response = send(&router, Method::HEAD, "/instances/abc").await;
        assert_eq!(response.status(), 200);
        assert!(response.body().is_empty());
        assert_eq!(response.headers()[CONTENT_LENGTH], "8");
    }

    #[tokio::test]
    async fn a_parameter_that_is_not_utf8_is_a_bad_request() {
        let router = echo_router();
        let response = send(&router, Method::GET, "/instances/%C3%28").await;
        assert_eq!(response.status(), 400);
        assert_eq!(fault_kind(&response), "badRequest");
    }
}
