//! Shared pieces of the end-to-end tests: a real nova-server on an ephemeral
//! 127.0.0.1 port, and clients that talk to it over TCP.

pub mod clients;
pub mod postgres;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nova_paste::Registry;
use nova_server::{
    load_with, registry, AppPlan, ConfigSource, Overrides, Pipeline, RunningServer, Server,
    ServerConfig,
};
use nova_store::Stores;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The seed's token.
pub const TOKEN: &str = "open-sesame";

/// A server started for one test and stopped by it.
#[derive(Debug)]
pub struct TestServer {
    running: RunningServer,
    /// The stores of a pipeline loaded from a file, closed at [`stop`](Self::stop).
    stores: Option<Stores>,
    /// A client with connection pooling, as real clients have.
    pub client: reqwest::Client,
}

impl TestServer {
    /// The seed's pipeline over a fresh in-memory store.
    pub async fn start() -> Self {
        Self::start_with(test_config()).await
    }

    /// The seed's pipeline (the built-in configuration, its store in
    /// memory) with a custom configuration (its `listen` is replaced by an
    /// ephemeral loopback port).
    pub async fn start_with(mut config: ServerConfig) -> Self {
        config.listen = ephemeral();
        let registry = registry(&Overrides::default());
        Self::start_loaded(&ConfigSource::Builtin, &registry, &config).await
    }

    /// Any pipeline, served by the real server.
    pub async fn start_pipeline(pipeline: Pipeline) -> Self {
        let server = Server::bind(&test_config(), pipeline)
            .await
            .expect("bind 127.0.0.1:0");
        Self::from_server(server, None)
    }

    /// The application `main` of a paste.deploy file, with every factory
    /// nova-rs has, served by the real server.
    pub async fn start_config(path: &Path) -> Self {
        // Files may name durable stores; tests keep everything in memory.
        let overrides = Overrides {
            store: Some("memory:".to_owned()),
            ..Overrides::default()
        };
        Self::start_config_with(path, &registry(&overrides)).await
    }

    /// The application `main` of a paste.deploy file, with `registry`'s
    /// factories, served by the real server.
    pub async fn start_config_with(path: &Path, registry: &Registry<AppPlan>) -> Self {
        let source = ConfigSource::File(path.to_path_buf());
        Self::start_loaded(&source, registry, &test_config()).await
    }

    /// Loads `source`, opens its stores, builds and serves it, as
    /// nova-server's `main` does.
    async fn start_loaded(
        source: &ConfigSource,
        registry: &Registry<AppPlan>,
        config: &ServerConfig,
    ) -> Self {
        let loaded = load_with(source, "main", registry).unwrap_or_else(|error| panic!("{error}"));
        let stores = Stores::open(loaded.app.stores().iter().cloned())
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let pipeline = loaded
            .app
            .build(&stores)
            .unwrap_or_else(|error| panic!("{error}"));
        let server = Server::bind(config, pipeline)
            .await
            .expect("bind 127.0.0.1:0");
        Self::from_server(server, Some(stores))
    }

    fn from_server(server: Server, stores: Option<Stores>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("build client");
        TestServer {
            running: server.spawn(),
            stores,
            client,
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.running.local_addr()
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.running.url(), path)
    }

    /// A request to `path` carrying the accepted token.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("X-Auth-Token", TOKEN)
    }

    /// A request to `path` carrying the accepted token and asking for
    /// compute microversion `version` (`2.47`, `latest`).
    pub fn request_at(
        &self,
        method: reqwest::Method,
        path: &str,
        version: &str,
    ) -> reqwest::RequestBuilder {
        self.request(method, path)
            .header("OpenStack-API-Version", format!("compute {version}"))
    }

    /// The names `GET /instances` lists, in order; panics unless it is 200.
    pub async fn instance_names(&self) -> Vec<String> {
        let response = self
            .request(reqwest::Method::GET, "/instances")
            .send()
            .await
            .expect("GET /instances");
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 200, "GET /instances: {body}");
        body["instances"]
            .as_array()
            .expect("an instances array")
            .iter()
            .map(|i| i["name"].as_str().expect("a name").to_owned())
            .collect()
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(self) {
        self.running.shutdown().await;
        if let Some(stores) = self.stores {
            stores
                .close()
                .await
                .unwrap_or_else(|error| panic!("{error}"));
        }
    }

    /// Sends raw bytes on a new connection and returns everything the server
    /// answers until it closes the connection or `wait` passes.
    pub async fn raw(&self, bytes: &[u8], wait: Duration) -> String {
        let mut stream = TcpStream::connect(self.addr()).await.expect("connect");
        stream.write_all(bytes).await.expect("write");
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(wait, stream.read_to_end(&mut answer)).await;
        String::from_utf8_lossy(&answer).into_owned()
    }
}

/// A file of the repository, by its path from the repository's root.
pub fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// Writes a copy of the shipped `etc/nova-rs/api-paste.ini` into `dir`
/// with `keys` set in the compute app's section (a key the file has is
/// replaced, any other added), and returns its path. Tests use it to make
/// builds and actions quick, or to set a quota.
pub fn api_paste_with(dir: &Path, keys: &[(&str, &str)]) -> PathBuf {
    api_paste_with_sections(dir, &[("[app:osapi_compute_app_v21]", keys)])
}

/// As [`api_paste_with`], with keys set in any of the file's sections:
/// each `(section header, keys)`.
pub fn api_paste_with_sections(dir: &Path, sections: &[(&str, &[(&str, &str)])]) -> PathBuf {
    let shipped = std::fs::read_to_string(repo_file("etc/nova-rs/api-paste.ini"))
        .expect("read etc/nova-rs/api-paste.ini");
    let mut lines: Vec<String> = shipped.lines().map(str::to_owned).collect();
    for (header, keys) in sections {
        let section = lines
            .iter()
            .position(|line| line.trim() == *header)
            .unwrap_or_else(|| panic!("no section {header} in the shipped file"));
        for (key, value) in *keys {
            let setting = format!("{key} = {value}");
            let existing = lines
                .iter()
                .skip(section + 1)
                .take_while(|line| !line.starts_with('['))
                .position(|line| {
                    line.split_once('=')
                        .is_some_and(|(name, _)| name.trim() == *key)
                });
            match existing {
                Some(offset) => lines[section + 1 + offset] = setting,
                None => lines.insert(section + 1, setting),
            }
        }
    }
    let path = dir.join("api-paste.ini");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write the configuration copy");
    path
}

fn ephemeral() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn test_config() -> ServerConfig {
    ServerConfig {
        listen: ephemeral(),
        shutdown_grace: Duration::from_secs(5),
        ..ServerConfig::default()
    }
}

/// devstack's cirros image, which the shipped file's cloud offers (its id
/// is fixed by nova-rs).
pub const CIRROS: &str = "840dd654-a43f-8980-b114-836ff26c51fa";

/// The compute app's keys for a cloud whose builds, reboots, resizes,
/// rebuilds, deletions and other actions end at once: for
/// [`api_paste_with`], when a test wants final states without waiting.
pub const INSTANT_CLOUD: &[(&str, &str)] = &[
    ("build_seconds", "0"),
    ("reboot_seconds", "0"),
    ("resize_seconds", "0"),
    ("rebuild_seconds", "0"),
    ("delete_seconds", "0"),
    ("action_seconds", "0"),
];

/// An answer as a client sees it: status, headers, JSON body (`Null` when
/// empty).
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body, parsed.
    pub body: serde_json::Value,
}

impl Answer {
    /// Asserts this is a Nova fault of `kind` with `code`; its message.
    pub fn fault(&self, kind: &str, code: u16) -> String {
        assert_eq!(self.status, code, "{}", self.body);
        assert_fault(&self.body, kind, code)
    }

    /// The header `name`, which must be there as text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header: {:?}", self.headers))
            .to_str()
            .expect("a text header")
    }

    /// The `x-openstack-request-id` the answer carries.
    pub fn request_id(&self) -> String {
        let id = self.header("x-openstack-request-id").to_owned();
        assert!(id.starts_with("req-"), "{id}");
        id
    }
}

/// `method path` on `server` with the token, at `version` (none: the
/// default, 2.1), with `body` as JSON.
pub async fn send(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    version: Option<&str>,
    body: Option<serde_json::Value>,
) -> Answer {
    let mut request = match version {
        Some(version) => server.request_at(method, path, version),
        None => server.request(method, path),
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the server answers");
    let headers = response.headers().clone();
    let (status, body) = status_and_json(response).await;
    Answer {
        status,
        headers,
        body,
    }
}

/// A response's status and its body parsed as JSON (`Null` when empty).
pub async fn status_and_json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("read body");
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, body)
}

/// Asserts that `body` is a Nova fault of `kind` with `code`, and returns its
/// message.
pub fn assert_fault(body: &serde_json::Value, kind: &str, code: u16) -> String {
    let fault = &body[kind];
    assert_eq!(fault["code"], code, "fault body: {body}");
    let object = body.as_object().expect("fault is an object");
    assert_eq!(object.len(), 1, "one fault key: {body}");
    let message = fault["message"].as_str().expect("fault message");
    assert!(!message.is_empty(), "fault message is empty: {body}");
    message.to_owned()
}
