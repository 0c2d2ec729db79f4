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
//!
//! It speaks two APIs: the seed's instance API (`/instances`, behind the
//! built-in configuration) and the compute API v2.1 (`/v2.1/servers`,
//! behind `api-paste.ini`), where every request names the microversion a
//! real client sends, [`COMPUTE_VERSION`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE, HOST, LOCATION};
use http::{Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::BenchError;

/// The header the token travels in.
const AUTH_TOKEN_HEADER: &str = "x-auth-token";
/// The form content type, what `curl -d` sends.
const FORM: &str = "application/x-www-form-urlencoded";
/// The JSON content type, what the compute API takes.
const JSON: &str = "application/json";
/// The header a compute API request names its microversion in.
const API_VERSION_HEADER: &str = "openstack-api-version";
/// Where the shipped configuration's identity service issues tokens.
const IDENTITY_TOKENS: &str = "/identity/v3/auth/tokens";
/// The header the identity service answers a new token in.
const SUBJECT_TOKEN_HEADER: &str = "x-subject-token";

/// The microversion every compute API request asks for: 2.100 is what
/// openstacksdk sends for servers (its highest) and the highest nova-rs
/// serves, so the server workloads get the views a current client gets.
pub const COMPUTE_VERSION: &str = "compute 2.100";

/// The name the seed's servers get from `POST /v2.1/servers` with
/// `max_count` over 1: `bench-1`, `bench-2`, … within each batch.
const SERVER_NAME: &str = "bench";

/// Servers created by one `POST /v2.1/servers` when seeding.
pub const SERVER_BATCH: u64 = 100;

/// The name the benchmark gives instance `index`: fixed width, so every
/// `show` answer has the same size and the baseline can match it.
pub fn instance_name(index: u64) -> String {
    format!("bench-{index:07}")
}

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
    /// `GET /v2.1/servers/{id}` on an existing server: 200.
    ServerShow,
    /// `GET /v2.1/servers/detail?limit=N`: 200.
    ServersDetail(u32),
    /// `POST /v2.1/servers` booting the target's image
    /// ([`Target::with_image`]) with flavor 1 and no network: 202.
    ServerCreate,
}

impl Op {
    /// The only status that counts as success for this operation.
    pub fn expected(self) -> StatusCode {
        match self {
            Op::Show | Op::Index | Op::Update | Op::ServerShow | Op::ServersDetail(_) => {
                StatusCode::OK
            }
            Op::Create => StatusCode::CREATED,
            Op::ServerCreate => StatusCode::ACCEPTED,
            Op::Forbidden => StatusCode::FORBIDDEN,
        }
    }

    /// Whether it is a request to the compute API (else to the seed's
    /// instance API).
    pub fn is_compute(self) -> bool {
        matches!(
            self,
            Op::ServerShow | Op::ServersDetail(_) | Op::ServerCreate
        )
    }

    /// Its name on the command line and in the workload table: `show`,
    /// `index`, `create`, `update`, `forbidden`, `server-show`,
    /// `servers-detail-N`, `server-create`.
    pub fn name(self) -> String {
        match self {
            Op::Show => "show".to_owned(),
            Op::Index => "index".to_owned(),
            Op::Create => "create".to_owned(),
            Op::Update => "update".to_owned(),
            Op::Forbidden => "forbidden".to_owned(),
            Op::ServerShow => "server-show".to_owned(),
            Op::ServersDetail(limit) => format!("servers-detail-{limit}"),
            Op::ServerCreate => "server-create".to_owned(),
        }
    }

    /// The operation [`Op::name`] gives `name`.
    pub fn from_name(name: &str) -> Option<Op> {
        Some(match name {
            "show" => Op::Show,
            "index" => Op::Index,
            "create" => Op::Create,
            "update" => Op::Update,
            "forbidden" => Op::Forbidden,
            "server-show" => Op::ServerShow,
            "server-create" => Op::ServerCreate,
            other => {
                let limit = other.strip_prefix("servers-detail-")?;
                // The canonical form only, so the name round-trips.
                if limit.starts_with('0') {
                    return None;
                }
                Op::ServersDetail(limit.parse().ok()?)
            }
        })
    }

    /// The compute operation `req` is, by its method and path: what the
    /// baseline answers it as. `None` for anything else.
    pub fn compute_op_of<B>(req: &http::Request<B>) -> Option<Op> {
        let path = req.uri().path();
        let rest = path.strip_prefix("/v2.1/servers")?;
        match rest {
            "" if req.method() == Method::POST => Some(Op::ServerCreate),
            "/detail" => {
                let limit = req
                    .uri()
                    .query()
                    .into_iter()
                    .flat_map(|query| query.split('&'))
                    .find_map(|pair| pair.strip_prefix("limit="))
                    .and_then(|limit| limit.parse().ok())
                    .unwrap_or(0);
                Some(Op::ServersDetail(limit))
            }
            _ if rest.starts_with('/') => Some(Op::ServerShow),
            _ => None,
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

    /// The operation of a mix of one operation; `None` for a mix of several.
    pub fn only_op(&self) -> Option<Op> {
        match self.weighted.as_slice() {
            [(op, _)] => Some(*op),
            _ => None,
        }
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
/// and `forbidden` requests draw from at random, or of existing servers,
/// `/v2.1/servers/{id}`, that `server-show` requests draw from.
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
    made_up_paths("/instances", count)
}

/// `count` random version-4 UUID paths under `/v2.1/servers` that name no
/// server: what `server-show` asks the baseline for.
pub fn made_up_server_ids(count: usize) -> Ids {
    made_up_paths("/v2.1/servers", count)
}

fn made_up_paths(collection: &str, count: usize) -> Ids {
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
            Uri::try_from(format!("{collection}/{id}")).ok()
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
    /// The image `POST /v2.1/servers` boots; empty until
    /// [`Target::with_image`] names one.
    image_id: String,
    /// The `server-create` body, made once for that image.
    server_create_body: Bytes,
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

    /// This outcome and `later`, a later measurement of the same workload,
    /// as one: the requests of both, over both measured times.
    pub fn followed_by(&self, later: &Outcome) -> Outcome {
        let mut both = self.clone();
        both.absorb(later.clone());
        both.measured += later.measured;
        both
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
    headers: HeaderMap,
    body: Bytes,
}

impl Target {
    /// The server at `addr`, sending `token` in `X-Auth-Token`.
    pub fn new(addr: SocketAddr, token: &str) -> Result<Self, BenchError> {
        let token = HeaderValue::from_str(token)
            .map_err(|_| BenchError::Usage("the token is not a valid header value".to_owned()))?;
        let host = HeaderValue::from_str(&addr.to_string())
            .map_err(|_| BenchError::Usage(format!("{addr} is not a valid Host header")))?;
        let mut target = Target {
            addr,
            host,
            token,
            image_id: String::new(),
            server_create_body: Bytes::new(),
        };
        target.server_create_body = target.server_body("b", None);
        Ok(target)
    }

    /// The same target, sending `token` in `X-Auth-Token` instead.
    pub fn with_token(mut self, token: &str) -> Result<Self, BenchError> {
        self.token = HeaderValue::from_str(token)
            .map_err(|_| BenchError::Usage("the token is not a valid header value".to_owned()))?;
        Ok(self)
    }

    /// The same target, with servers created by `server-create` and
    /// [`Target::seed_servers`] booting image `image_id`
    /// ([`Target::image_id`] finds the cloud's).
    pub fn with_image(mut self, image_id: &str) -> Self {
        self.image_id = image_id.to_owned();
        self.server_create_body = self.server_body("b", None);
        self
    }

    /// A `POST /v2.1/servers` body: flavor 1 (`m1.tiny`) and the target's
    /// image; alone with no network (the `server-create` workload), or
    /// `count` at once on the default network (the seeding).
    fn server_body(&self, name: &str, count: Option<u64>) -> Bytes {
        let mut server = serde_json::json!({
            "name": name,
            "flavorRef": "1",
            "imageRef": self.image_id,
            "networks": "none",
        });
        if let Some(count) = count {
            server["networks"] = "auto".into();
            server["min_count"] = count.into();
            server["max_count"] = count.into();
        }
        Bytes::from(serde_json::json!({ "server": server }).to_string())
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
                            .headers
                            .get(LOCATION)
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

    /// A token the identity service at `/identity` issues to `user` of
    /// domain Default for `password`, scoped to the project of the same
    /// name (as devstack's users are): `POST /identity/v3/auth/tokens`
    /// answers 201 with the token in `X-Subject-Token`.
    pub async fn issue_token(&self, user: &str, password: &str) -> Result<String, BenchError> {
        let body = serde_json::json!({"auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {
                    "name": user,
                    "domain": {"name": "Default"},
                    "password": password,
                }},
            },
            "scope": {"project": {"name": user, "domain": {"id": "default"}}},
        }});
        let req = self.request_with(
            Method::POST,
            Uri::from_static(IDENTITY_TOKENS),
            false,
            Some((Bytes::from(body.to_string()), JSON)),
        );
        let mut sender = self.connect().await?;
        let answer = send(&mut sender, req)
            .await
            .map_err(|error| BenchError::Authenticate(format!("as {user}: {error}")))?;
        if answer.status != StatusCode::CREATED {
            return Err(BenchError::Authenticate(format!(
                "as {user}: answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            )));
        }
        answer
            .headers
            .get(SUBJECT_TOKEN_HEADER)
            .and_then(|token| token.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| {
                BenchError::Authenticate(format!("as {user}: answered 201 without a token"))
            })
    }

    /// The id of the cloud's `cirros` image (or of its first image if it
    /// has no `cirros`), from the image service's `GET /image/v2/images`:
    /// what a client looks up before it creates a server (the compute
    /// API's own image list is gone from microversion 2.36 on).
    pub async fn image_id(&self) -> Result<String, BenchError> {
        let req = self.request_with(
            Method::GET,
            Uri::from_static("/image/v2/images"),
            true,
            None,
        );
        let listing = self.fetch_json(req, "listing images").await?;
        let images = listing["images"].as_array().cloned().unwrap_or_default();
        images
            .iter()
            .find(|image| image["name"] == "cirros")
            .or(images.first())
            .and_then(|image| image["id"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| BenchError::Populate("the cloud lists no image".to_owned()))
    }

    /// Creates `count` servers through `POST /v2.1/servers`, [`SERVER_BATCH`]
    /// at a time (`min_count` = `max_count`, as `openstack server create --min
    /// --max` does), named `bench-1`… within each batch, booting the
    /// target's image with flavor 1 on the default network. Any refused
    /// batch fails the whole seeding.
    pub async fn seed_servers(&self, count: u64) -> Result<(), BenchError> {
        let batch = SERVER_BATCH;
        let mut sender = self.connect().await?;
        let mut created = 0;
        while created < count {
            let size = batch.min(count - created);
            let req = self.compute_request(
                Method::POST,
                Uri::from_static("/v2.1/servers"),
                Some(self.server_body(SERVER_NAME, Some(size))),
            );
            let answer = send(&mut sender, req)
                .await
                .map_err(|error| BenchError::Populate(format!("creating servers: {error}")))?;
            if answer.status != Op::ServerCreate.expected() {
                return Err(BenchError::Populate(format!(
                    "creating {size} servers was answered {}: {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.body)
                )));
            }
            created += size;
        }
        Ok(())
    }

    /// The paths, `/v2.1/servers/{id}`, of every server the seeding
    /// created (named `bench-…`), read page by page from `GET /v2.1/servers`.
    pub async fn server_paths(&self) -> Result<Ids, BenchError> {
        let mut paths = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let uri = match &marker {
                None => "/v2.1/servers?limit=1000".to_owned(),
                Some(marker) => format!("/v2.1/servers?limit=1000&marker={marker}"),
            };
            let uri = Uri::try_from(uri).map_err(|error| {
                BenchError::Populate(format!("listing servers after {marker:?}: {error}"))
            })?;
            let page = self
                .fetch_json(
                    self.compute_request(Method::GET, uri, None),
                    "listing servers",
                )
                .await?;
            let servers = page["servers"].as_array().cloned().unwrap_or_default();
            for server in &servers {
                let (Some(id), Some(name)) = (server["id"].as_str(), server["name"].as_str())
                else {
                    continue;
                };
                if name.starts_with(SERVER_NAME) {
                    if let Ok(path) = Uri::try_from(format!("/v2.1/servers/{id}")) {
                        paths.push(path);
                    }
                }
            }
            marker = servers
                .last()
                .and_then(|server| server["id"].as_str())
                .map(str::to_owned);
            if marker.is_none() || page.get("servers_links").is_none() {
                return Ok(Ids(Arc::new(paths)));
            }
        }
    }

    /// The body of the answer to one `op` request (drawing from `ids`),
    /// which must have the status `op` expects: what the baseline is given
    /// to send back.
    pub async fn answer_body(&self, op: Op, ids: &Ids) -> Result<Bytes, BenchError> {
        let mut sender = self.connect().await?;
        let req = self.request_for(op, ids, &mut fastrand::Rng::new());
        let what = format!("capturing an answer to {}", op.name());
        let answer = send(&mut sender, req)
            .await
            .map_err(|error| BenchError::Populate(format!("{what}: {error}")))?;
        if answer.status != op.expected() {
            return Err(BenchError::Populate(format!(
                "{what}: answered {}, not {}",
                answer.status,
                op.expected()
            )));
        }
        Ok(answer.body)
    }

    /// Sends `req` on a connection of its own and reads the answer as
    /// JSON, which must come with 200.
    async fn fetch_json(
        &self,
        req: http::Request<Full<Bytes>>,
        what: &str,
    ) -> Result<serde_json::Value, BenchError> {
        let mut sender = self.connect().await?;
        let answer = send(&mut sender, req)
            .await
            .map_err(|error| BenchError::Populate(format!("{what}: {error}")))?;
        if answer.status != StatusCode::OK {
            return Err(BenchError::Populate(format!(
                "{what}: answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            )));
        }
        serde_json::from_slice(&answer.body)
            .map_err(|error| BenchError::Populate(format!("{what}: {error}")))
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

    /// A request to the seed's instance API, with a form body if `form`.
    fn request(
        &self,
        method: Method,
        uri: Uri,
        with_token: bool,
        form: Option<String>,
    ) -> http::Request<Full<Bytes>> {
        let body = form.map(|form| (Bytes::from(form), FORM));
        self.request_with(method, uri, with_token, body)
    }

    /// A request to the compute API, with the token and the microversion,
    /// and a JSON body if `json`.
    fn compute_request(
        &self,
        method: Method,
        uri: Uri,
        json: Option<Bytes>,
    ) -> http::Request<Full<Bytes>> {
        let mut req = self.request_with(method, uri, true, json.map(|json| (json, JSON)));
        req.headers_mut().insert(
            API_VERSION_HEADER,
            HeaderValue::from_static(COMPUTE_VERSION),
        );
        req
    }

    fn request_with(
        &self,
        method: Method,
        uri: Uri,
        with_token: bool,
        body: Option<(Bytes, &'static str)>,
    ) -> http::Request<Full<Bytes>> {
        let (body, content_type) = body.unwrap_or_default();
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
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
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
            Op::ServerShow => self.compute_request(Method::GET, ids.pick(rng), None),
            Op::ServersDetail(limit) => self.compute_request(Method::GET, detail_uri(limit), None),
            Op::ServerCreate => self.compute_request(
                Method::POST,
                Uri::from_static("/v2.1/servers"),
                Some(self.server_create_body.clone()),
            ),
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

/// `/v2.1/servers/detail?limit=LIMIT`.
fn detail_uri(limit: u32) -> Uri {
    Uri::try_from(format!("/v2.1/servers/detail?limit={limit}"))
        .unwrap_or_else(|_| Uri::from_static("/v2.1/servers/detail"))
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    req: http::Request<Full<Bytes>>,
) -> Result<Answer, hyper::Error> {
    sender.ready().await?;
    let response = sender.send_request(req).await?;
    let (parts, body) = response.into_parts();
    // Read the whole body: the connection is reusable only after that, and
    // a server is not done with a request until its answer is delivered.
    let body = body.collect().await?.to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
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

    /// A stand-in for the identity service: a password request for
    /// `user` with `password`, scoped to the project of the same name, is
    /// answered 201 with token `t-USER`; anything else 401.
    async fn identity_service(user: &'static str, password: &'static str) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = Target::new(listener.local_addr().unwrap(), "open-sesame").unwrap();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let service = hyper::service::service_fn(
                    move |req: http::Request<hyper::body::Incoming>| async move {
                        let path_ok = req.method() == Method::POST
                            && req.uri().path() == "/identity/v3/auth/tokens";
                        let body = req.into_body().collect().await?.to_bytes();
                        let auth: serde_json::Value =
                            serde_json::from_slice(&body).unwrap_or_default();
                        let given = &auth["auth"]["identity"]["password"]["user"];
                        let accepted = path_ok
                            && auth["auth"]["identity"]["methods"]
                                == serde_json::json!(["password"])
                            && given["name"] == user
                            && given["domain"]["name"] == "Default"
                            && given["password"] == password
                            && auth["auth"]["scope"]["project"]["name"] == user;
                        let mut response = http::Response::new(Full::new(Bytes::new()));
                        if accepted {
                            *response.status_mut() = StatusCode::CREATED;
                            response.headers_mut().insert(
                                SUBJECT_TOKEN_HEADER,
                                HeaderValue::try_from(format!("t-{user}")).unwrap(),
                            );
                        } else {
                            *response.status_mut() = StatusCode::UNAUTHORIZED;
                        }
                        Ok::<_, hyper::Error>(response)
                    },
                );
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        target
    }

    #[tokio::test]
    async fn a_token_is_read_from_the_identity_services_answer_to_a_password_request() {
        let target = identity_service("demo", "pw").await;
        assert_eq!(target.issue_token("demo", "pw").await.unwrap(), "t-demo");
        let target = target.with_token("t-demo").unwrap();
        assert_eq!(target.token(), "t-demo");
    }

    #[tokio::test]
    async fn a_refused_password_is_an_error_naming_the_user_and_the_status() {
        let target = identity_service("demo", "pw").await;
        let error = target.issue_token("demo", "wrong").await.unwrap_err();
        assert!(matches!(error, BenchError::Authenticate(_)), "{error}");
        let text = error.to_string();
        assert!(text.contains("as demo") && text.contains("401"), "{text}");
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
    fn every_operation_is_found_again_by_its_name() {
        for op in [
            Op::Show,
            Op::Index,
            Op::Create,
            Op::Update,
            Op::Forbidden,
            Op::ServerShow,
            Op::ServersDetail(100),
            Op::ServersDetail(1000),
            Op::ServerCreate,
        ] {
            assert_eq!(Op::from_name(&op.name()), Some(op), "{}", op.name());
        }
        for name in [
            "servers-detail-",
            "servers-detail-x",
            "servers-detail-010",
            "Show",
        ] {
            assert_eq!(Op::from_name(name), None, "{name}");
        }
    }

    #[test]
    fn each_compute_request_is_recognised_as_its_operation() {
        let target = Target::new("127.0.0.1:1".parse().unwrap(), "t")
            .unwrap()
            .with_image("img");
        let ids = made_up_server_ids(3);
        let mut rng = fastrand::Rng::with_seed(1);
        for op in [
            Op::ServerShow,
            Op::ServersDetail(100),
            Op::ServersDetail(1000),
            Op::ServerCreate,
        ] {
            let req = target.request_for(op, &ids, &mut rng);
            assert_eq!(Op::compute_op_of(&req), Some(op));
            assert_eq!(req.headers()[API_VERSION_HEADER], COMPUTE_VERSION);
        }
        let seed = target.request_for(Op::Show, &made_up_ids(1), &mut rng);
        assert_eq!(Op::compute_op_of(&seed), None);
        assert!(seed.headers().get(API_VERSION_HEADER).is_none());
    }

    #[test]
    fn a_server_create_body_names_the_targets_image_and_no_network() {
        let target = Target::new("127.0.0.1:1".parse().unwrap(), "t")
            .unwrap()
            .with_image("4a5b");
        let body: serde_json::Value = serde_json::from_slice(&target.server_create_body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"server": {"name": "b", "flavorRef": "1", "imageRef": "4a5b", "networks": "none"}})
        );
        let batch: serde_json::Value =
            serde_json::from_slice(&target.server_body("bench", Some(7))).unwrap();
        assert_eq!(batch["server"]["networks"], "auto");
        assert_eq!(batch["server"]["min_count"], 7);
        assert_eq!(batch["server"]["max_count"], 7);
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
