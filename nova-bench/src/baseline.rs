//! The baseline: the least a hyper server can do for a `show` request.
//!
//! It checks the `X-Auth-Token` header and answers a fixed JSON body of the
//! same size as nova-server's answer to `GET /instances/{id}` for the
//! benchmark's instances (a 403 Nova fault without the token); to
//! `GET /instances` exactly, a fixed body the size of nova-server's listing
//! of [`INDEX_INSTANCES`] benchmark instances, so that `index` too has a limit
//! to be compared with. To the compute API's requests of the server
//! workloads (`/v2.1/servers…`) it answers the bodies nova-server itself
//! gave them earlier in the run ([`CapturedAnswers`]), with the status
//! nova-server gives. No routing beyond telling those requests apart,
//! no store, no log: what is left is hyper's HTTP/1.1 and tokio's sockets,
//! served the way nova-server serves them (multi-threaded runtime, one task
//! per connection, `TCP_NODELAY`). Its requests per second are the limit
//! the benchmark compares nova-server against.

use std::convert::Infallible;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::StatusCode;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use nova_controller::Instance;
use tokio::net::TcpListener;

use crate::load::{instance_name, Op};
use crate::BenchError;

/// How many instances the `index` workload lists, and the baseline's
/// listing body has the size of.
pub const INDEX_INSTANCES: u64 = 1_000;

/// The header the token travels in, as nova-auth reads it.
const AUTH_TOKEN_HEADER: &str = "x-auth-token";

/// Answers nova-server gave to compute API requests, by operation: what
/// the baseline sends back to the same requests. Captured at run time
/// rather than made here, since a server's view is nova-compute's to
/// build; they are saved as `OP.json` files (`server-show.json`,
/// `servers-detail-100.json`, …) for the baseline process to read.
#[derive(Debug, Clone, Default)]
pub struct CapturedAnswers {
    answers: Vec<(Op, Bytes)>,
}

impl CapturedAnswers {
    /// Keeps `body` as the answer to `op`, replacing any earlier one.
    pub fn insert(&mut self, op: Op, body: Bytes) {
        self.answers.retain(|(kept, _)| *kept != op);
        self.answers.push((op, body));
    }

    /// The answer to `op`, if one was captured.
    pub fn get(&self, op: Op) -> Option<&Bytes> {
        self.answers
            .iter()
            .find_map(|(kept, body)| (*kept == op).then_some(body))
    }

    /// How many answers there are.
    pub fn len(&self) -> usize {
        self.answers.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    /// Writes each answer to `dir/OP.json`, creating `dir`.
    pub fn write_to(&self, dir: &Path) -> Result<(), BenchError> {
        fs::create_dir_all(dir)
            .map_err(|e| BenchError::io(format!("creating {}", dir.display()), e))?;
        for (op, body) in &self.answers {
            let path = dir.join(format!("{}.json", op.name()));
            fs::write(&path, body)
                .map_err(|e| BenchError::io(format!("writing {}", path.display()), e))?;
        }
        Ok(())
    }

    /// Reads every `OP.json` in `dir` whose name is an operation's.
    pub fn read_from(dir: &Path) -> Result<Self, BenchError> {
        let entries = fs::read_dir(dir)
            .map_err(|e| BenchError::io(format!("reading {}", dir.display()), e))?;
        let mut captured = CapturedAnswers::default();
        for entry in entries.flatten() {
            let path = entry.path();
            let op = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_suffix(".json"))
                .and_then(Op::from_name);
            if let Some(op) = op {
                let body = fs::read(&path)
                    .map_err(|e| BenchError::io(format!("reading {}", path.display()), e))?;
                captured.insert(op, Bytes::from(body));
            }
        }
        Ok(captured)
    }
}

/// A benchmark instance as nova-server keeps it: a UUID, a benchmark name
/// and two timestamps, all of fixed width.
fn bench_instance() -> Instance {
    Instance::new(instance_name(0))
}

/// A `show` answer for an instance with a benchmark name, byte for byte the
/// size of nova-server's: an [`Instance`] serialised the way the controller
/// does, `{"instance":{"id":…,"name":"bench-NNNNNNN","created_at":…,"updated_at":…}}`.
/// Made from the controller's own type, so it follows any change to what
/// an instance shows.
pub fn show_sized_body() -> Bytes {
    Bytes::from(
        serde_json::to_vec(&serde_json::json!({ "instance": bench_instance() }))
            .unwrap_or_default(),
    )
}

/// A listing of `instances` benchmark instances, byte for byte the size of
/// nova-server's answer to `GET /instances` for them.
pub fn index_sized_body(instances: u64) -> Bytes {
    let entries = vec![bench_instance(); usize::try_from(instances).unwrap_or(0)];
    Bytes::from(
        serde_json::to_vec(&serde_json::json!({ "instances": entries })).unwrap_or_default(),
    )
}

/// Serves the baseline on `listener` until the task is dropped, accepting
/// `token`. Connection errors end that connection only.
pub async fn serve(listener: TcpListener, token: HeaderValue) {
    serve_with(listener, token, CapturedAnswers::default()).await;
}

/// [`serve`], answering the compute API's requests with `captured` (a
/// request whose operation has no captured answer gets the `show`-sized
/// body, with the status the operation expects).
pub async fn serve_with(listener: TcpListener, token: HeaderValue, captured: CapturedAnswers) {
    let captured = Arc::new(captured);
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
        let (token, ok_body, index_body, forbidden, captured) = (
            token.clone(),
            ok_body.clone(),
            index_body.clone(),
            forbidden.clone(),
            captured.clone(),
        );
        let service = hyper::service::service_fn(move |req: http::Request<_>| {
            let allowed = req.headers().get(AUTH_TOKEN_HEADER) == Some(&token);
            let (status, body) = if !allowed {
                (StatusCode::FORBIDDEN, forbidden.clone())
            } else if req.uri().path() == "/instances" {
                (StatusCode::OK, index_body.clone())
            } else if let Some(op) = Op::compute_op_of(&req) {
                let body = captured.get(op).unwrap_or(&ok_body);
                (op.expected(), body.clone())
            } else {
                (StatusCode::OK, ok_body.clone())
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

    use nova_controller::{InstanceController, InstanceStore, MemoryStore};
    use nova_router::{RoutingArgs, Service};
    use std::sync::Arc;

    /// The controller's real answer to `action` over a store holding
    /// `count` benchmark instances (and no seed instances).
    async fn real_answer(action: &str, count: u64) -> Bytes {
        let store = Arc::new(MemoryStore::new());
        let mut ids = Vec::new();
        for n in 0..count {
            let instance = Instance::new(instance_name(n));
            ids.push(instance.id.to_string());
            store.insert(instance).await.unwrap();
        }
        let controller = InstanceController::new(store);
        let params = match action {
            "show" => vec![("instance_id".to_owned(), ids[0].clone())],
            _ => vec![],
        };
        let mut req = http::Request::get("/").body(Bytes::new()).unwrap();
        req.extensions_mut()
            .insert(RoutingArgs::new(action, params));
        let response = controller.call(req).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.into_body()
    }

    #[tokio::test]
    async fn the_baseline_body_has_the_size_of_a_show_answer_for_a_benchmark_instance() {
        assert_eq!(show_sized_body().len(), real_answer("show", 1).await.len());
    }

    #[tokio::test]
    async fn the_baseline_listing_has_the_size_of_an_index_answer_for_benchmark_instances() {
        assert_eq!(
            index_sized_body(INDEX_INSTANCES).len(),
            real_answer("index", INDEX_INSTANCES).await.len()
        );
    }

    #[tokio::test]
    async fn the_baseline_answers_compute_requests_with_the_captured_bodies() {
        use crate::load::{made_up_server_ids, Mix, Plan, Target};
        use std::time::Duration;

        let mut captured = CapturedAnswers::default();
        captured.insert(Op::ServerShow, Bytes::from_static(b"{\"server\":{}}"));
        captured.insert(Op::ServersDetail(100), Bytes::from(vec![b' '; 1000]));
        captured.insert(Op::ServerCreate, Bytes::from_static(b"{\"created\":1}"));
        let dir = std::env::temp_dir().join(format!("nova-bench-answers-{}", std::process::id()));
        captured.write_to(&dir).unwrap();
        let read = CapturedAnswers::read_from(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read.len(), 3);

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = Target::new(listener.local_addr().unwrap(), "open-sesame")
            .unwrap()
            .with_image("any");
        tokio::spawn(serve_with(listener, target.token().clone(), read));
        let plan = Plan {
            connections: 2,
            warm_up: Duration::ZERO,
            measure: Duration::from_millis(100),
        };
        let ids = made_up_server_ids(5);
        for (op, size) in [
            (Op::ServerShow, 13),
            (Op::ServersDetail(100), 1000),
            (Op::ServerCreate, 13),
            // Nothing captured: the show-sized body, with a 200.
            (Op::ServersDetail(1000), show_sized_body().len() as u64),
        ] {
            let outcome = target.run(&plan, &Mix::only(op), &ids).await;
            assert_eq!(outcome.errors(), 0, "{op:?}: {}", outcome.error_summary());
            assert_eq!(outcome.mean_body_bytes(), size, "{op:?}");
        }
    }

    #[test]
    fn instance_names_have_a_fixed_width_up_to_ten_million() {
        assert_eq!(instance_name(0).len(), instance_name(9_999_999).len());
    }
}
