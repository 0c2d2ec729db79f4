//! `request_id`: gives each request an id, as oslo's `RequestId` and Nova's
//! `compute_req_id` middlewares do.
//!
//! The id, `req-` and a UUID v4, is stored on the request as a [`RequestId`]
//! extension for the layers below, answered in both `x-openstack-request-id`
//! and `x-compute-request-id`, and recorded on a `request` tracing span
//! (`request{request_id=req-…}`) that is entered while the rest of the
//! pipeline handles the request, so every log line of that request carries
//! it. An id sent by the client is not reused: ids are the server's own.

use http::header::{HeaderName, HeaderValue};
pub use nova_router::RequestId;
use nova_router::{NovaService, Request, Response, ResponseFuture, Service};
use tracing::Instrument;

/// The header oslo's middleware answers with.
pub const OPENSTACK_REQUEST_ID: HeaderName = HeaderName::from_static("x-openstack-request-id");

/// The header Nova's `compute_req_id` answers with, same value.
pub const COMPUTE_REQUEST_ID: HeaderName = HeaderName::from_static("x-compute-request-id");

/// The filter; see the module documentation.
#[derive(Debug, Clone)]
pub struct RequestIdFilter<S> {
    inner: S,
}

impl<S> RequestIdFilter<S> {
    /// Gives every request passed to `inner` an id.
    pub fn new(inner: S) -> Self {
        RequestIdFilter { inner }
    }
}

impl<S: NovaService> Service<Request> for RequestIdFilter<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut req: Request) -> Self::Future {
        let id = RequestId::generate();
        req.extensions_mut().insert(id.clone());
        let span = tracing::info_span!("request", request_id = %id);
        let response = span.in_scope(|| self.inner.call(req));
        Box::pin(
            async move {
                let mut response = response.await?;
                // A UUID is always a valid header value.
                if let Ok(value) = HeaderValue::from_str(id.as_str()) {
                    let headers = response.headers_mut();
                    headers.insert(OPENSTACK_REQUEST_ID, value.clone());
                    headers.insert(COMPUTE_REQUEST_ID, value);
                }
                Ok(response)
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use nova_router::{service_fn, Fault};
    use uuid::Uuid;

    fn app() -> impl NovaService {
        service_fn(|req: Request| async move {
            let seen = RequestId::of(&req)
                .map(|id| id.to_string())
                .unwrap_or_default();
            tracing::info!("handling");
            if req.uri().path() == "/fail" {
                return Fault::not_found("nothing here").into_response();
            }
            http::Response::new(Bytes::from(seen))
        })
    }

    #[tokio::test]
    async fn every_response_carries_the_same_fresh_id_in_both_headers() {
        let filter = RequestIdFilter::new(app());
        let mut seen = Vec::new();
        for path in ["/", "/fail", "/"] {
            let req = http::Request::get(path).body(Bytes::new()).unwrap();
            let response = filter.call(req).await.unwrap();
            let id = response.headers()[OPENSTACK_REQUEST_ID]
                .to_str()
                .unwrap()
                .to_owned();
            assert_eq!(response.headers()[COMPUTE_REQUEST_ID], id.as_str());
            let uuid = id.strip_prefix("req-").unwrap();
            assert_eq!(Uuid::parse_str(uuid).unwrap().get_version_num(), 4);
            if path == "/" {
                assert_eq!(
                    response.body().as_ref(),
                    id.as_bytes(),
                    "the app saw the id"
                );
            }
            seen.push(id);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 3, "ids are never reused");
    }

    #[tokio::test]
    async fn log_lines_of_the_request_carry_its_id() {
        let captured = crate::log_capture::capture();
        let filter = RequestIdFilter::new(app());
        let req = http::Request::get("/").body(Bytes::new()).unwrap();
        let response = filter.call(req).await.unwrap();
        let id = response.headers()[OPENSTACK_REQUEST_ID]
            .to_str()
            .unwrap()
            .to_owned();
        let log = captured.text();
        let line = log.lines().find(|l| l.contains("handling")).unwrap();
        assert!(
            line.contains(&format!("request{{request_id={id}}}")),
            "{log}"
        );
    }
}
