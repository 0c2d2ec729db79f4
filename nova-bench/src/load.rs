//! The load generator: keep-alive HTTP/1.1 connections on hyper's client,
//! each sending one request at a time for a fixed time.
//!
//! It is a closed loop, as wrk and hey are: `connections` requests are in
//! flight at every moment, so the request rate is what the server sustains
//! and the latency is what a client waiting in that queue sees. Every answer
//! is read to its end; a status other than the one the operation expects,
//! and a connection that fails, count as errors and are reported by status.
//! It runs on a single-threaded tokio runtime so that it uses exactly the one
//! core it may be pinned to.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::header::{HeaderValue, CONTENT_TYPE, HOST, LOCATION};
use http::{Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::baseline::instance_name;
use crate::BenchError;

/// The header the token travels in.
const AUTH_TOKEN_HEADER: &str = "x-auth-token";
/// The form content type, what `curl -d` sends.
const FORM: &str = "application/x-www-form-urlencoded";

/// One kind of request a workload sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `GET /instances/{id}` on an existing id, with the token: 200.
    Show,
    /// `GET /instances` with the token: 200.
    Index,
    /// `POST /instances` with a form body `name=…`: 201.
    Create,
    /// `PUT /instances/{id}` on an existing id with a form body: 200.
    Update,
    /// `GET /instances/{id}` without a token: 403.
    Forbidden,
}

impl Op {
    /// The only status that counts as success for this operation.
    pub fn expected(self) -> StatusCode {
        match self {
            Op::Show | Op::Index | Op::Update => StatusCode::OK,
            Op::Create => StatusCode::CREATED,
            Op::Forbidden => StatusCode::FORBIDDEN,
        }
    }
}

/// Which operations a workload sends, with weights.
#[derive(Debug, Clone)]
pub struct Mix {
    weighted: Vec<(Op, u32)>,
    total: u32,
}

impl Mix {
    /// Every request is `op`.
    pub fn only(op: Op) -> Self {
        Mix::weighted(&[(op, 1)])
    }

    /// Each request is drawn at random, `op` with probability weight / sum of
    /// weights. Operations with weight 0 are never drawn; if every weight is
    /// 0 the mix is `show` alone.
    pub fn weighted(weights: &[(Op, u32)]) -> Self {
        let weighted: Vec<(Op, u32)> = weights.iter().copied().filter(|(_, w)| *w > 0).collect();
        if weighted.is_empty() {
            return Mix::only(Op::Show);
        }
        let total = weighted.iter().map(|(_, w)| w).sum();
        Mix { weighted, total }
    }

    fn pick(&self, rng: &mut fastrand::Rng) -> Op {
        if let [(op, _)] = self.weighted.as_slice() {
            return *op;
        }
        let mut ticket = rng.u32(..self.total);
        for (op, weight) in &self.weighted {
            if ticket < *weight {
                return *op;
            }
            ticket -= weight;
        }
        self.weighted[0].0
    }
}

/// How a workload runs: how many connections, how long to warm up (requests
/// sent but not counted) and how long to measure.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Concurrent keep-alive connections, each with one request in flight.
    pub connections: usize,
    /// Time before measuring starts.
    pub warm_up: Duration,
    /// Time measured.
    pub measure: Duration,
}

/// The paths of existing instances, `/instances/{id}`, that `show`, `update`
/// and `forbidden` requests draw from at random.
#[derive(Debug, Clone, Default)]
pub struct Ids(Arc<Vec<Uri>>);

impl Ids {
    /// How many ids there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// These ids followed by `more`.
    pub fn extended(&self, more: Ids) -> Ids {
        let mut all = Vec::with_capacity(self.len() + more.len());
        all.extend(self.0.iter().cloned());
        all.extend(more.0.iter().cloned());
        Ids(Arc::new(all))
    }

    fn pick(&self, rng: &mut fastrand::Rng) -> Uri {
        match self.0.len() {
            0 => Uri::from_static("/instances/00000000-0000-4000-8000-000000000000"),
            len => self.0[rng.usize(..len)].clone(),
        }
    }
}

/// `count` random version-4 UUID paths that name no instance: what a client
/// without a token asks for.
pub fn made_up_ids(count: usize) -> Ids {
    let mut rng = fastrand::Rng::new();
    let paths = (0..count)
        .filter_map(|_| {
            let bits = rng.u128(..);
            // Set the version (4) and variant (10) bits.
            let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
            let hex = format!("{bits:032x}");
            let id = format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            );
            Uri::try_from(format!("/instances/{id}")).ok()
        })
        .collect();
    Ids(Arc::new(paths))
}

/// A server to load: its address and the token to send.
#[derive(Debug, Clone)]
pub struct Target {
    addr: SocketAddr,
    host: HeaderValue,
    token: HeaderValue,
}

/// What a workload measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Latency of each measured request, in nanoseconds.
    pub latency_ns: Histogram<u64>,
    /// Requests answered with the expected status.
    pub ok: u64,
    /// Requests answered with another status, by status.
    pub unexpected: BTreeMap<u16, u64>,
    /// Requests that got no answer (the connection failed).
    pub transport_errors: u64,
    /// Response body bytes received in the measured time.
    pub body_bytes: u64,
    /// The measured time.
    pub measured: Duration,
}

impl Outcome {
    fn empty(measured: Duration) -> Self {
        Outcome {
            latency_ns: new_histogram(),
            ok: 0,
            unexpected: BTreeMap::new(),
            transport_errors: 0,
            body_bytes: 0,
            measured,
        }
    }

    fn absorb(&mut self, other: Outcome) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency_ns.add(&other.latency_ns);
        self.ok += other.ok;
        for (status, count) in other.unexpected {
            *self.unexpected.entry(status).or_default() += count;
        }
        self.transport_errors += other.transport_errors;
        self.body_bytes += other.body_bytes;
    }

    /// Every measured request, answered or not.
    pub fn requests(&self) -> u64 {
        self.ok + self.errors()
    }

    /// Requests without the expected answer.
    pub fn errors(&self) -> u64 {
        self.unexpected.values().sum::<u64>() + self.transport_errors
    }

    /// Measured requests per second.
    pub fn per_second(&self) -> f64 {
        self.requests() as f64 / self.measured.as_secs_f64().max(f64::EPSILON)
    }

    /// The latency at `quantile` (0.5 for the median), in microseconds.
    pub fn latency_us(&self, quantile: f64) -> f64 {
        self.latency_ns.value_at_quantile(quantile) as f64 / 1_000.0
    }

    /// The mean response body size, in bytes.
    pub fn mean_body_bytes(&self) -> u64 {
        self.body_bytes / self.requests().max(1)
    }

    /// The errors as text: `none`, or counts by status, `transport` for
    /// requests that got no answer.
    pub fn error_summary(&self) -> String {
        let mut parts: Vec<String> = self
            .unexpected
            .iter()
            .map(|(status, count)| format!("{count} × {status}"))
            .collect();
        if self.transport_errors > 0 {
            parts.push(format!("{} × transport", self.transport_errors));
        }
        if parts.is_empty() {
            "0".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 100 s with three significant digits. hdrhistogram refuses only
    // a low bound under 1, a high bound under twice the low one or more than
    // five digits; these constants are none of those.
    match Histogram::new_with_bounds(1_000, 100_000_000_000, 3) {
        Ok(histogram) => histogram,
        Err(error) => unreachable!("constant histogram bounds are valid: {error}"),
    }
}

/// One answer as the load generator sees it.
struct Answer {
    status: StatusCode,
    location: Option<HeaderValue>,
    body: Bytes,
}

impl Target {
    /// The server at `addr`, sending `token` in `X-Auth-Token`.
    pub fn new(addr: SocketAddr, token: &str) -> Result<Self, BenchError> {
        let token = HeaderValue::from_str(token)
            .map_err(|_| BenchError::Usage("the token is not a valid header value".to_owned()))?;
        let host = HeaderValue::from_str(&addr.to_string())
            .map_err(|_| BenchError::Usage(format!("{addr} is not a valid Host header")))?;
        Ok(Target { addr, host, token })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token sent.
    pub fn token(&self) -> &HeaderValue {
        &self.token
    }

    /// Runs `mix` over `plan.connections` connections for the plan's warm-up
    /// and measuring time, drawing ids from `ids`. Must run inside a tokio
    /// runtime (it spawns one task per connection).
    pub async fn run(&self, plan: &Plan, mix: &Mix, ids: &Ids) -> Outcome {
        let started = Instant::now();
        let measure_from = started + plan.warm_up;
        let until = measure_from + plan.measure;
        let tasks: Vec<_> = (0..plan.connections.max(1))
            .map(|_| {
                let (target, mix, ids) = (self.clone(), mix.clone(), ids.clone());
                tokio::spawn(async move {
                    target
                        .drive_connection(&mix, &ids, measure_from, until)
                        .await
                })
            })
            .collect();
        let mut outcome = Outcome::empty(plan.measure);
        for task in tasks {
            if let Ok(part) = task.await {
                outcome.absorb(part);
            }
        }
        outcome
    }

    /// Creates `count` instances named `bench-NNNNNNN` (numbered from
    /// `first`) over `connections` connections and returns their paths, in
    /// no particular order. Any failed creation fails the whole population.
    pub async fn populate(
        &self,
        count: u64,
        first: u64,
        connections: usize,
    ) -> Result<Ids, BenchError> {
        let next = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..connections.max(1))
            .map(|_| {
                let (target, next) = (self.clone(), next.clone());
                tokio::spawn(async move {
                    let mut sender = target.connect().await?;
                    let mut paths = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= count {
                            return Ok(paths);
                        }
                        let body = format!("name={}", instance_name(first + index));
                        let req = target.request(Method::POST, Uri::from_static("/instances"), true, Some(body));
                        let answer = send(&mut sender, req).await.map_err(|error| {
                            BenchError::Populate(format!("creating an instance: {error}"))
                        })?;
                        let path = answer
                            .location
                            .filter(|_| answer.status == StatusCode::CREATED)
                            .and_then(|location| Uri::try_from(location.as_bytes()).ok())
                            .ok_or_else(|| {
                                BenchError::Populate(format!(
                                    "creating an instance was answered {} without a usable Location",
                                    answer.status
                                ))
                            })?;
                        paths.push(path);
                    }
                })
            })
            .collect();
        let mut all = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for task in tasks {
            let part = task
                .await
                .map_err(|error| BenchError::Populate(format!("a task failed: {error}")))??;
            all.extend(part);
        }
        Ok(Ids(Arc::new(all)))
    }

    /// How many instances `GET /instances` lists.
    pub async fn instance_count(&self) -> Result<u64, BenchError> {
        let mut sender = self.connect().await?;
        let req = self.request(Method::GET, Uri::from_static("/instances"), true, None);
        let answer = send(&mut sender, req)
            .await
            .map_err(|error| BenchError::Populate(format!("listing instances: {error}")))?;
        let listing: serde_json::Value = serde_json::from_slice(&answer.body)
            .map_err(|error| BenchError::Populate(format!("listing instances: {error}")))?;
        listing["instances"]
            .as_array()
            .map(|all| all.len() as u64)
            .ok_or_else(|| {
                BenchError::Populate(format!(
                    "listing instances was answered {} without an `instances` array",
                    answer.status
                ))
            })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, BenchError> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(|error| BenchError::io(format!("connecting to {}", self.addr), error))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|error| {
                    BenchError::io(
                        format!("HTTP handshake with {}", self.addr),
                        std::io::Error::other(error),
                    )
                })?;
        tokio::spawn(connection);
        Ok(sender)
    }

    fn request(
        &self,
        method: Method,
        uri: Uri,
        with_token: bool,
        form: Option<String>,
    ) -> http::Request<Full<Bytes>> {
        let body = form.map(Bytes::from).unwrap_or_default();
        let has_body = !body.is_empty();
        let mut req = http::Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        let headers = req.headers_mut();
        headers.insert(HOST, self.host.clone());
        if with_token {
            headers.insert(AUTH_TOKEN_HEADER, self.token.clone());
        }
        if has_body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(FORM));
        }
        req
    }

    fn request_for(
        &self,
        op: Op,
        ids: &Ids,
        rng: &mut fastrand::Rng,
    ) -> http::Request<Full<Bytes>> {
        let random_name =
            |rng: &mut fastrand::Rng| format!("name={}", instance_name(rng.u64(..10_000_000)));
        match op {
            Op::Show => self.request(Method::GET, ids.pick(rng), true, None),
            Op::Index => self.request(Method::GET, Uri::from_static("/instances"), true, None),
            Op::Create => {
                let name = random_name(rng);
                self.request(
                    Method::POST,
                    Uri::from_static("/instances"),
                    true,
                    Some(name),
                )
            }
            Op::Update => {
                let name = random_name(rng);
                self.request(Method::PUT, ids.pick(rng), true, Some(name))
            }
            Op::Forbidden => self.request(Method::GET, ids.pick(rng), false, None),
        }
    }

    async fn drive_connection(
        &self,
        mix: &Mix,
        ids: &Ids,
        measure_from: Instant,
        until: Instant,
    ) -> Outcome {
        let mut outcome = Outcome::empty(until - measure_from);
        let mut rng = fastrand::Rng::new();
        let mut sender = None;
        loop {
            let start = Instant::now();
            if start >= until {
                return outcome;
            }
            let measured = start >= measure_from;
            let connection = match sender.as_mut() {
                Some(connection) => connection,
                None => match self.connect().await {
                    Ok(connection) => sender.insert(connection),
                    Err(_) => {
                        if measured {
                            outcome.transport_errors += 1;
                        }
                        // Do not spin on a server that refuses connections.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            let op = mix.pick(&mut rng);
            let result = send(connection, self.request_for(op, ids, &mut rng)).await;
            let elapsed = start.elapsed();
            if !measured {
                if result.is_err() {
                    sender = None;
                }
                continue;
            }
            match result {
                Ok(answer) => {
                    outcome
                        .latency_ns
                        .saturating_record(elapsed.as_nanos() as u64);
                    outcome.body_bytes += answer.body.len() as u64;
                    if answer.status == op.expected() {
                        outcome.ok += 1;
                    } else {
                        *outcome
                            .unexpected
                            .entry(answer.status.as_u16())
                            .or_default() += 1;
                    }
                }
                Err(_) => {
                    outcome.transport_errors += 1;
                    sender = None;
                }
            }
        }
    }
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    req: http::Request<Full<Bytes>>,
) -> Result<Answer, hyper::Error> {
    sender.ready().await?;
    let response = sender.send_request(req).await?;
    let status = response.status();
    let location = response.headers().get(LOCATION).cloned();
    // Read the whole body: the connection is reusable only after that, and
    // a server is not done with a request until its answer is delivered.
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Answer {
        status,
        location,
        body,
    })
}

/// Runs `future` on a fresh single-threaded runtime, the load generator's
/// own: it keeps the generator on the one core it is pinned to.
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, BenchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| BenchError::io("starting the load generator's runtime", error))?;
    Ok(runtime.block_on(future))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn baseline() -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = Target::new(listener.local_addr().unwrap(), "open-sesame").unwrap();
        tokio::spawn(crate::baseline::serve(listener, target.token().clone()));
        target
    }

    fn short() -> Plan {
        Plan {
            connections: 4,
            warm_up: Duration::from_millis(20),
            measure: Duration::from_millis(150),
        }
    }

    #[tokio::test]
    async fn a_run_against_the_baseline_counts_requests_latencies_and_bytes() {
        let target = baseline().await;
        let outcome = target
            .run(&short(), &Mix::only(Op::Show), &made_up_ids(5))
            .await;
        assert!(outcome.requests() > 10, "{outcome:?}");
        assert_eq!(outcome.errors(), 0, "{}", outcome.error_summary());
        assert_eq!(outcome.latency_ns.len(), outcome.requests());
        assert!(outcome.latency_us(0.5) <= outcome.latency_us(0.99));
        assert_eq!(
            outcome.mean_body_bytes(),
            crate::baseline::show_sized_body().len() as u64
        );
    }

    #[tokio::test]
    async fn every_answer_with_a_status_other_than_the_expected_one_is_an_error() {
        let target = baseline().await;
        // The baseline answers 200 to every request with the token, which
        // is right for `show` and wrong for `create` (201 expected).
        let mix = Mix::weighted(&[(Op::Show, 1), (Op::Create, 1)]);
        let outcome = target.run(&short(), &mix, &made_up_ids(5)).await;
        assert!(outcome.ok > 0 && outcome.errors() > 0, "{outcome:?}");
        assert_eq!(
            outcome.unexpected.keys().copied().collect::<Vec<_>>(),
            [200]
        );
        assert!(outcome.error_summary().ends_with("× 200"));
    }

    #[tokio::test]
    async fn a_server_that_is_gone_is_counted_as_transport_errors() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = Target::new(listener.local_addr().unwrap(), "t").unwrap();
        drop(listener);
        let plan = Plan {
            connections: 2,
            warm_up: Duration::ZERO,
            measure: Duration::from_millis(50),
        };
        let outcome = target
            .run(&plan, &Mix::only(Op::Show), &Ids::default())
            .await;
        assert!(outcome.transport_errors > 0);
        assert_eq!(outcome.ok, 0);
    }

    #[test]
    fn a_weighted_mix_draws_each_operation_about_as_often_as_its_weight_says() {
        let mix = Mix::weighted(&[
            (Op::Show, 90),
            (Op::Create, 5),
            (Op::Update, 5),
            (Op::Index, 0),
        ]);
        let mut rng = fastrand::Rng::with_seed(7);
        let mut counts = BTreeMap::new();
        for _ in 0..100_000 {
            *counts
                .entry(format!("{:?}", mix.pick(&mut rng)))
                .or_insert(0) += 1;
        }
        assert!((89_000..91_000).contains(&counts["Show"]), "{counts:?}");
        assert!((4_500..5_500).contains(&counts["Create"]), "{counts:?}");
        assert!((4_500..5_500).contains(&counts["Update"]), "{counts:?}");
        assert!(!counts.contains_key("Index"));
    }

    #[test]
    fn made_up_ids_are_canonical_version_4_uuids() {
        for uri in made_up_ids(50).0.iter() {
            let id = uri.path().strip_prefix("/instances/").unwrap();
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "4", "{id}");
            assert!("89ab".contains(&id[19..20]), "{id}");
        }
    }
}
