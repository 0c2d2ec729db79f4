//! From a paste.deploy file to a pipeline: the registry of every factory
//! nova-rs has, the built-in file, and `[server:main]`.
//!
//! The seed's `configure.ini` names `routers:app_factory` and
//! `auth:filter_factory`; here they are the instance API and the token
//! filter. Nova's standard filters come from `nova-filters`, the URL map
//! from `nova-paste`.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use nova_auth::{AuthFilter, Tokens};
use nova_controller::{InstanceController, InstanceStore, MemoryStore};
use nova_paste::{Config, ConfigError, FactoryConfig, FactoryError, LoadedApp, Registry};
use nova_router::{instance_routes, RoutesMiddleware};
use nova_store::{StoreUrl, UrlError};

/// The built-in configuration, `etc/nova-rs/configure.ini`: the seed's file
/// and its address.
pub const BUILTIN_CONFIG: &str = include_str!("../../etc/nova-rs/configure.ini");

/// The name errors in the built-in configuration are reported under.
pub const BUILTIN_CONFIG_NAME: &str = "<built-in configure.ini>";

/// The store settings of an `instance` app section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// `store =`, where instances live, as a URL (`memory:`, `sqlite:PATH`,
    /// `postgres://…`).
    pub url: String,
    /// `seed =`: whether a new, empty store gets the seed's three instances.
    pub seed: bool,
}

/// Opens the store an `instance` section asks for; the error message says
/// why it cannot (it is reported against the `store` key).
pub type StoreOpener =
    Arc<dyn Fn(&StoreSettings) -> Result<Arc<dyn InstanceStore>, String> + Send + Sync>;

/// Opens `memory:` stores, one per distinct URL (`memory:`, `memory:other`)
/// for the life of the opener, so that two sections naming the same store
/// share its instances.
pub fn memory_store_opener() -> StoreOpener {
    let stores: Mutex<BTreeMap<String, Arc<MemoryStore>>> = Mutex::new(BTreeMap::new());
    Arc::new(move |settings: &StoreSettings| {
        if !settings.url.starts_with("memory:") {
            return Err(format!(
                "{:?} is not a store this server can open; use memory:",
                settings.url
            ));
        }
        let mut stores = stores.lock().unwrap_or_else(PoisonError::into_inner);
        let store = stores.entry(settings.url.clone()).or_insert_with(|| {
            Arc::new(if settings.seed {
                MemoryStore::seeded()
            } else {
                MemoryStore::new()
            })
        });
        let store: Arc<dyn InstanceStore> = store.clone();
        Ok(store)
    })
}

/// Opens every kind of store nova-store knows (`memory:`, `sqlite:PATH`,
/// `postgres://…`), one per distinct URL, on `runtime`, and keeps them so
/// that [`OpenedStores::close_all`] can flush and release them once serving
/// has stopped. Loading a file calls the opener from outside the runtime,
/// so it may wait for the database there.
pub fn store_opener(runtime: tokio::runtime::Handle) -> (StoreOpener, OpenedStores) {
    let opened = OpenedStores::default();
    let kept = opened.clone();
    let opener: StoreOpener = Arc::new(move |settings: &StoreSettings| {
        let url: StoreUrl = settings.url.parse().map_err(|e: UrlError| e.to_string())?;
        let url = url.resolved();
        let key = url.to_string();
        let mut stores = kept.stores.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, store)) = stores.iter().find(|(known, _)| *known == key) {
            return Ok(store.clone());
        }
        let store = runtime
            .block_on(nova_store::open_seeding(&url, settings.seed))
            .map_err(|error| error.to_string())?;
        tracing::info!("instances are kept in {url}");
        stores.push((key, store.clone()));
        Ok(store)
    });
    (opener, opened)
}

/// Checks that each instance app's store URL is one [`store_opener`] can
/// open, without opening anything: loading a file with it first means a bad
/// file creates no database and connects to none.
pub fn store_url_checker() -> StoreOpener {
    Arc::new(|settings: &StoreSettings| {
        settings
            .url
            .parse::<StoreUrl>()
            .map_err(|e: UrlError| e.to_string())?;
        let store: Arc<dyn InstanceStore> = Arc::new(MemoryStore::new());
        Ok(store)
    })
}

/// The stores a [`store_opener`] has opened.
#[derive(Clone, Default)]
pub struct OpenedStores {
    stores: Arc<Mutex<Vec<OpenedStore>>>,
}

/// A store and the URL it was opened from, as shown in logs.
type OpenedStore = (String, Arc<dyn InstanceStore>);

impl std::fmt::Debug for OpenedStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stores = self.stores.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_list()
            .entries(stores.iter().map(|(url, _)| url))
            .finish()
    }
}

impl OpenedStores {
    /// Closes every store: commits what was written and releases files and
    /// connections. Returns the failures, one message per store.
    pub async fn close_all(&self) -> Result<(), Vec<String>> {
        let stores: Vec<OpenedStore> = self
            .stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect();
        let mut failures = Vec::new();
        for (url, store) in stores {
            if let Err(error) = store.close().await {
                failures.push(format!("closing {url} failed: {error}"));
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures)
        }
    }
}

/// What the server adds to the file: tokens and a store given on the
/// command line, and the function that opens stores.
#[derive(Clone)]
pub struct Wiring {
    /// Tokens that replace the auth filter's `tokens` key (`--token`,
    /// `NOVA_AUTH_TOKENS`); `None` keeps the file's, or the seed's
    /// `open-sesame` if the file has none.
    pub tokens: Option<Tokens>,
    /// A store URL that replaces every instance app's `store` key
    /// (`--store`, `NOVA_STORE`); `None` keeps the file's.
    pub store: Option<String>,
    /// The store of instance apps whose section names none.
    pub default_store: String,
    /// Opens the store of each `instance` section.
    pub open_store: StoreOpener,
}

impl Default for Wiring {
    /// In-memory stores only: what a program embedding the server wants in
    /// its tests. The nova-server binary uses [`store_opener`] and
    /// `sqlite:nova.db`.
    fn default() -> Self {
        Wiring {
            tokens: None,
            store: None,
            default_store: "memory:".to_owned(),
            open_store: memory_store_opener(),
        }
    }
}

impl std::fmt::Debug for Wiring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wiring")
            .field("tokens", &self.tokens)
            .field("store", &self.store)
            .field("default_store", &self.default_store)
            .finish_non_exhaustive()
    }
}

/// Every factory nova-rs has: paste's `urlmap`, Nova's standard filters and
/// apps (see [`nova_filters::register`]) and:
///
/// | name | kind | keys | also found as |
/// |---|---|---|---|
/// | `auth` | filter | `tokens` (comma or space separated) | `auth:filter_factory` (the seed's) |
/// | `openapi` | app | `api_prefix` (where the instance API is mounted, default none) | |
/// | `instance` | app | `store` (a store URL; `sqlite:nova.db` in nova-server), `seed` (`true`) | `routers:app_factory` (the seed's), `nova.api.openstack.compute:APIRouterV21.factory` |
///
/// An embedding program may add its own factories to the result.
pub fn registry(wiring: &Wiring) -> Registry {
    let mut registry = Registry::new();
    nova_filters::register(&mut registry);
    registry.add_app("openapi", |config| {
        let prefix = config.get("api_prefix").unwrap_or("").trim();
        Ok(Arc::new(OpenApiDocument::new(prefix)?))
    });
    let tokens = wiring.tokens.clone();
    registry
        .add_filter("auth", move |config, app| {
            let from_file = file_tokens(config)?;
            let tokens = tokens.clone().or(from_file).unwrap_or_default();
            Ok(Arc::new(AuthFilter::new(app, tokens)))
        })
        .alias("auth:filter_factory", "auth");
    let open_store = wiring.open_store.clone();
    let store_override = wiring.store.clone();
    let default_store = wiring.default_store.clone();
    registry
        .add_app("instance", move |config| {
            let from_file = config.get("store").map(str::trim);
            let url = store_override
                .as_deref()
                .or(from_file)
                .unwrap_or(&default_store);
            let settings = StoreSettings {
                url: url.to_owned(),
                seed: config.bool("seed")?.unwrap_or(true),
            };
            let store = open_store(&settings)
                .map_err(|message| FactoryError::bad_value("store", message))?;
            Ok(Arc::new(RoutesMiddleware::new(
                instance_routes(),
                InstanceController::new(store),
            )))
        })
        .alias("routers:app_factory", "instance")
        .alias(
            "nova.api.openstack.compute:APIRouterV21.factory",
            "instance",
        );
    registry
}

fn file_tokens(config: &FactoryConfig) -> Result<Option<Tokens>, FactoryError> {
    match config.list("tokens") {
        None => Ok(None),
        Some(list) => Tokens::new(list)
            .map(Some)
            .map_err(|error| FactoryError::bad_value("tokens", error)),
    }
}

/// Which file to build the server from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// [`BUILTIN_CONFIG`].
    Builtin,
    /// A file on disk.
    File(PathBuf),
}

/// A built application and the address the file asks to listen on.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The application.
    pub app: LoadedApp,
    /// `[server:main]`'s `host` and `port`, if the file has the section.
    pub listen: Option<SocketAddr>,
}

/// Reads `source` and builds the application `name` with [`registry`]'s
/// factories, and reads `[server:main]`. Either everything loads or
/// nothing does.
pub fn load(source: &ConfigSource, name: &str, wiring: &Wiring) -> Result<Loaded, ConfigError> {
    load_with(source, name, &registry(wiring))
}

/// As [`load`], with any registry (for example [`registry`]'s with an
/// embedding program's own factories added).
pub fn load_with(
    source: &ConfigSource,
    name: &str,
    registry: &Registry,
) -> Result<Loaded, ConfigError> {
    let config = match source {
        ConfigSource::Builtin => {
            let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            Config::from_text(BUILTIN_CONFIG_NAME, &here, BUILTIN_CONFIG)?
        }
        ConfigSource::File(path) => Config::open(path)?,
    };
    let app = config.load_app(registry, name)?;
    let listen = config.load_server("main", server_address)?.flatten();
    Ok(Loaded { app, listen })
}

/// The `openapi` app: answers `GET` (and `HEAD`) with the instance API's
/// OpenAPI document, its `servers` entry set to where the API is mounted.
struct OpenApiDocument {
    body: bytes::Bytes,
}

impl OpenApiDocument {
    fn new(api_prefix: &str) -> Result<Self, FactoryError> {
        if !(api_prefix.is_empty() || api_prefix.starts_with('/')) {
            return Err(FactoryError::bad_value(
                "api_prefix",
                format_args!("{api_prefix:?} must be empty or start with '/'"),
            ));
        }
        let mut document: serde_json::Value =
            serde_json::from_str(nova_controller::OPENAPI_DOCUMENT).map_err(|error| {
                FactoryError::bad_value(
                    "api_prefix",
                    format_args!("the built-in document: {error}"),
                )
            })?;
        let url = if api_prefix.is_empty() {
            "/"
        } else {
            api_prefix
        };
        document["servers"] = serde_json::json!([{ "url": url }]);
        let body = serde_json::to_vec(&document).map_err(|error| {
            FactoryError::bad_value("api_prefix", format_args!("the built-in document: {error}"))
        })?;
        Ok(OpenApiDocument { body: body.into() })
    }
}

impl nova_router::Service<nova_router::Request> for OpenApiDocument {
    type Response = nova_router::Response;
    type Error = std::convert::Infallible;
    type Future = nova_router::ResponseFuture;

    fn call(&self, req: nova_router::Request) -> Self::Future {
        use http::header::{HeaderValue, CONTENT_TYPE};
        use http::Method;
        let response = match *req.method() {
            Method::GET | Method::HEAD => {
                let mut response = nova_router::Response::new(if req.method() == Method::GET {
                    self.body.clone()
                } else {
                    bytes::Bytes::new()
                });
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static(nova_router::JSON_CONTENT_TYPE),
                );
                response.headers_mut().insert(
                    http::header::CONTENT_LENGTH,
                    HeaderValue::from(self.body.len()),
                );
                response
            }
            _ => nova_router::method_not_allowed(req.method(), &[Method::GET, Method::HEAD]),
        };
        nova_router::ready(response)
    }
}

/// The server sections nova-server can stand in for.
const SERVERS: [&str; 4] = [
    "egg:Paste#http",
    "egg:Paste#main",
    "egg:nova-rs",
    "egg:nova-rs#main",
];

/// `[server:main]`: `host` (name or address, default 127.0.0.1) and `port`
/// (default 8000); `use`, if given, must name paste's HTTP server or ours.
fn server_address(config: &FactoryConfig) -> Result<Option<SocketAddr>, FactoryError> {
    if let Some(server) = config.local("use") {
        if !SERVERS.contains(&server.trim()) {
            return Err(FactoryError::bad_value(
                "use",
                format_args!(
                    "{server:?} is not a server nova-server can stand in for (use {})",
                    SERVERS.join(", ")
                ),
            ));
        }
    }
    let host = config.local("host");
    let port = config.local("port");
    if host.is_none() && port.is_none() {
        return Ok(None);
    }
    let port = match port {
        Some(_) => config.parse::<u16>("port")?.unwrap_or(8000),
        None => 8000,
    };
    let host = host.unwrap_or("127.0.0.1").trim();
    let ip = match host.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => (host, port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .map(|addr| addr.ip())
            .ok_or_else(|| {
                FactoryError::bad_value("host", format_args!("{host:?} does not resolve"))
            })?,
    };
    Ok(Some(SocketAddr::new(ip, port)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_builtin_file_loads_and_listens_where_the_seed_does() {
        let loaded = load(&ConfigSource::Builtin, "main", &Wiring::default()).unwrap();
        assert_eq!(loaded.listen, Some(crate::DEFAULT_LISTEN));
        assert_eq!(loaded.app.max_body_size(), None);
    }

    #[test]
    fn the_shipped_api_paste_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/nova-rs/api-paste.ini");
        // The file names a SQLite store; the URL checker opens nothing.
        let wiring = Wiring {
            open_store: store_url_checker(),
            ..Wiring::default()
        };
        let loaded = load(&ConfigSource::File(path), "main", &wiring).unwrap();
        assert_eq!(loaded.app.max_body_size(), Some(114_688));
    }

    #[test]
    fn server_sections_give_an_address_or_say_what_is_wrong() {
        let read = |text: &str| {
            let config = Config::from_text("s.ini", Path::new("."), text).unwrap();
            config
                .load_server("main", server_address)
                .map(Option::flatten)
        };
        assert_eq!(
            read("[server:main]\nhost = 0.0.0.0\nport = 8774\n").unwrap(),
            Some("0.0.0.0:8774".parse().unwrap())
        );
        assert_eq!(
            read("[server:main]\nuse = egg:Paste#http\nport = 1\n").unwrap(),
            Some("127.0.0.1:1".parse().unwrap())
        );
        assert_eq!(read("[server:main]\nuse = egg:Paste#http\n").unwrap(), None);
        for (text, says) in [
            (
                "[server:main]\nport = eighty\n",
                "port: \"eighty\" is not valid",
            ),
            (
                "[server:main]\nport = 70000\n",
                "port: \"70000\" is not valid",
            ),
            (
                "[server:main]\nuse = egg:gunicorn#main\n",
                "not a server nova-server",
            ),
            ("[server:main]\nworkers = 4\n", "unknown key \"workers\""),
            (
                "[server:main]\nhost = no.such.host.invalid\n",
                "does not resolve",
            ),
        ] {
            let error = read(text).unwrap_err();
            assert_eq!(error.line, Some(2), "{error}");
            assert!(error.to_string().contains(says), "{error}");
        }
    }

    #[test]
    fn instance_sections_take_store_and_seed_and_refuse_other_stores() {
        let load = |text: &str| {
            let config = Config::from_text("i.ini", Path::new("."), text).unwrap();
            config.load_app(&registry(&Wiring::default()), "main")
        };
        load("[app:main]\nuse = instance\nstore = memory:\nseed = false\n").unwrap();
        let error = load("[app:main]\nuse = instance\nstore = sqlite:///x.db\n").unwrap_err();
        assert_eq!(error.line, Some(3));
        assert!(error.to_string().contains("use memory:"), "{error}");
        let error = load("[app:main]\nuse = instance\nseed = maybe\n").unwrap_err();
        assert!(error.to_string().contains("not a boolean"), "{error}");
        let error = load("[filter-app:main]\nuse = auth\ntokens = a, b\u{7f}\nnext = i\n[app:i]\nuse = instance\n")
            .unwrap_err();
        assert_eq!(error.line, Some(3), "{error}");
    }
}
