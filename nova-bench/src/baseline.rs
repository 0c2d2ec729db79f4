//! The baseline: the least a hyper server can do for a `show` request.
//!
//! It checks the `X-Auth-Token` header and answers a fixed JSON body of the
//! same size as nova-server's answer to `GET /instances/{id}` for the
//! benchmark's instances (a 403 Nova fault without the token); to
//! `GET /instances` exactly, a fixed body the size of nova-server's listing
//! of [`INDEX_INSTANCES`] benchmark instances, so that `index` too has a limit
//! to be compared with. No routing,
//! no store, no log: what is left is hyper's HTTP/1.1 and tokio's sockets,
//! served the way nova-server serves them (multi-threaded runtime, one task
//! per connection, `TCP_NODELAY`). Its requests per second are the limit
//! the benchmark compares nova-server against.

use std::convert::Infallible;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::StatusCode;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// How many instances the `index` workload lists, and the baseline's
/// listing body has the size of.
pub const INDEX_INSTANCES: u64 = 1_000;

/// The header the token travels in, as nova-auth reads it.
const AUTH_TOKEN_HEADER: &str = "x-auth-token";

/// The name the benchmark gives instance `index`: fixed width, so every
/// `show` answer has the same size and the baseline can match it.
pub fn instance_name(index: u64) -> String {
    format!("bench-{index:07}")
}

/// A `show` answer for an instance with a benchmark name, byte for byte the
/// size of nova-server's: `{"instance":{"id":"<uuid>","name":"bench-NNNNNNN"}}`.
pub fn show_sized_body() -> Bytes {
    Bytes::from(format!(
        r#"{{"instance":{{"id":"{}","name":"{}"}}}}"#,
        "00000000-0000-4000-8000-000000000000",
        instance_name(0)
    ))
}

/// A listing of `instances` benchmark instances, byte for byte the size of
/// nova-server's answer to `GET /instances` for them.
pub fn index_sized_body(instances: u64) -> Bytes {
    let entry = format!(
        r#"{{"id":"{}","name":"{}"}}"#,
        "00000000-0000-4000-8000-000000000000",
        instance_name(0)
    );
    let entries = vec![entry; usize::try_from(instances).unwrap_or(0)];
    Bytes::from(format!(r#"{{"instances":[{}]}}"#, entries.join(",")))
}

/// Serves the baseline on `listener` until the task is dropped, accepting
/// `token`. Connection errors end that connection only.
pub async fn serve(listener: TcpListener, token: HeaderValue) {
    let ok_body = show_sized_body();
    let index_body = index_sized_body(INDEX_INSTANCES);
    // Built once: the baseline must not do per-request work nova-server
    // would not, but the 403 is still the Nova fault body.
    let forbidden = nova_router::Fault::new(
        StatusCode::FORBIDDEN,
        "a valid X-Auth-Token header is required",
    )
    .into_response()
    .into_body();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, most likely; the load generator's
            // connections are long-lived, so simply try again.
            tokio::task::yield_now().await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (token, ok_body, index_body, forbidden) = (
            token.clone(),
            ok_body.clone(),
            index_body.clone(),
            forbidden.clone(),
        );
        let service = hyper::service::service_fn(move |req: http::Request<_>| {
            let allowed = req.headers().get(AUTH_TOKEN_HEADER) == Some(&token);
            let (status, body) = if allowed && req.uri().path() == "/instances" {
                (StatusCode::OK, index_body.clone())
            } else if allowed {
                (StatusCode::OK, ok_body.clone())
            } else {
                (StatusCode::FORBIDDEN, forbidden.clone())
            };
            let mut response = http::Response::new(Full::new(body));
            *response.status_mut() = status;
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(nova_router::JSON_CONTENT_TYPE),
            );
            std::future::ready(Ok::<_, Infallible>(response))
        });
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_body_has_the_size_of_a_show_answer_for_a_benchmark_instance() {
        let real = serde_json::json!({"instance": {
            "id": "5f0f4b53-8a4a-4b8e-9d4a-0c1f1e3c2a11",
            "name": instance_name(999_999),
        }});
        assert_eq!(
            show_sized_body().len(),
            serde_json::to_vec(&real).unwrap().len()
        );
    }

    #[test]
    fn the_baseline_listing_has_the_size_of_an_index_answer_for_benchmark_instances() {
        let instances: Vec<_> = (0..INDEX_INSTANCES)
            .map(|n| serde_json::json!({"id": "5f0f4b53-8a4a-4b8e-9d4a-0c1f1e3c2a11", "name": instance_name(n)}))
            .collect();
        let real = serde_json::json!({ "instances": instances });
        assert_eq!(
            index_sized_body(INDEX_INSTANCES).len(),
            serde_json::to_vec(&real).unwrap().len()
        );
    }

    #[test]
    fn instance_names_have_a_fixed_width_up_to_ten_million() {
        assert_eq!(instance_name(0).len(), instance_name(9_999_999).len());
    }
}
