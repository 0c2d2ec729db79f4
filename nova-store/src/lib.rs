//! Durable stores for nova-rs, behind nova-compute's [`ServerStore`] trait
//! (and so behind nova-controller's
//! [`InstanceStore`](nova_controller::InstanceStore), which it extends),
//! chosen by a URL; the one place in nova-rs that turns a URL into a store
//! and owns its lifecycle.
//!
//! | URL | store | durable |
//! |---|---|---|
//! | `memory:` | [`MemoryServerStore`]: the seed's dict | never: gone when the process stops |
//! | `sqlite:PATH` | `SqliteStore` (feature `sqlite`, on by default) | every answered change survives a process crash and a power loss |
//! | `postgres://…` | `PostgresStore` (feature `postgres`) | as the PostgreSQL server's own settings promise |
//!
//! Every store keeps the seed's instances and the compute API's servers as
//! one set of records: one `instances` table whose rows carry the compute
//! API's fields beside the seed's (`project_id`, a deletion time, and the
//! [`ServerDetails`](nova_compute::ServerDetails) as one JSON document). A
//! row deleted through the compute API is gone from the seed's API at once.
//! Beside it, an `images` table keeps the snapshots `createImage` takes
//! ([`ImageStore`](nova_compute::ImageStore)): the owner and visibility a
//! listing selects by, and the [`Image`](nova_compute::Image) as one JSON
//! document.
//!
//! The same database keeps what the identity service's processes must
//! share (a [`TokenStore`]): the Fernet keys its tokens are sealed with
//! (`token_keys`) and the audit ids of revoked tokens until they expire
//! (`revoked_tokens`); never a token itself. A `memory:` store has a
//! [`MemoryTokenStore`] of its own.
//!
//! It also keeps the test control API's state (a [`ControlStore`]), so a
//! behaviour outlives a restart and holds for every process on one
//! PostgreSQL: the registered behaviours (`behaviors`, each one JSON
//! document beside the `times` it may fire and the `fired` count, apart
//! so that a firing is one `UPDATE`) and how far the controlled clock was
//! moved ahead (`control_clock`, one row). A `memory:` store has a
//! [`MemoryControl`] of its own.
//!
//! The lifecycle, as nova-server follows it:
//!
//! 1. parse each URL a configuration names ([`StoreUrl`]'s `FromStr`) and
//!    [`check`](StoreUrl::check) it: no file is created and no server is
//!    contacted, so a bad file leaves nothing behind;
//! 2. [`Stores::open`] the [`StoreRequest`]s: one store per distinct URL,
//!    all opened or none;
//! 3. hand each controller [`Stores::get`]'s store, the identity service
//!    [`Stores::token_store`]'s and the control API
//!    [`Stores::control_store`]'s;
//! 4. once serving has stopped, [`Stores::close`] commits and releases them.
//!
//! Opening creates or upgrades the schema (refusing a database newer than
//! this build) and seeds `inst-0`, `inst-1` and `inst-2` only when it creates
//! the store. The controllers compile no database driver; this crate compiles
//! only the drivers whose features are on.
//!
//! ```
//! use nova_compute::ServerScope;
//! use nova_store::StoreUrl;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let url: StoreUrl = format!("sqlite:{}", dir.path().join("nova.db").display()).parse().unwrap();
//! let store = nova_store::open(&url).await.unwrap();
//! assert_eq!(store.list().await.unwrap().len(), 3); // seeded on creation
//! // The seed's instances are servers too, with no compute API details.
//! let servers = store.servers(ServerScope::default()).await.unwrap();
//! assert!(servers.iter().all(|server| server.details.is_none()));
//! store.close().await.unwrap();
//! # });
//! ```

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod stores;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use nova_compute::{MemoryServerStore, ServerStore};
use nova_control::{ControlStore, MemoryControl};
use nova_identity::{MemoryTokenStore, TokenStore};

#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use stores::{CloseError, CloseErrors, StoreRequest, Stores};

/// The schema version this build writes; a database at a higher one is
/// refused with [`OpenError::SchemaTooNew`]. Version 1 is the seed's
/// `instances` table; version 2 adds the compute API's columns to it;
/// version 3 adds the `images` table; version 4 adds the identity
/// service's `token_keys` and `revoked_tokens`; version 5 adds users'
/// `keypairs` and the `quotas` set through the compute API; version 6
/// adds the control API's `behaviors` and `control_clock`.
pub const SCHEMA_VERSION: i64 = 6;

/// The default store: `nova.db` in the working directory.
pub const DEFAULT_STORE_URL: &str = "sqlite:nova.db";

/// Where instances are kept, parsed from `memory:`, `sqlite:PATH` or
/// `postgres://…` (also `postgresql://…`).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreUrl {
    /// In memory, gone when the process stops.
    Memory,
    /// A SQLite file, created if missing.
    Sqlite(PathBuf),
    /// A PostgreSQL database, as a libpq-style URL.
    Postgres(String),
}

/// Why a store URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The URL starts with none of `memory:`, `sqlite:`, `postgres://`.
    #[error("unknown store {0:?}; use memory:, sqlite:PATH or postgres://USER@HOST/DATABASE")]
    UnknownScheme(String),
    /// `sqlite:` without a path.
    #[error("sqlite: needs a file path, as in sqlite:nova.db")]
    MissingPath,
}

impl FromStr for StoreUrl {
    type Err = UrlError;

    fn from_str(url: &str) -> Result<Self, UrlError> {
        if url == "memory:" || url == "memory" {
            Ok(StoreUrl::Memory)
        } else if let Some(path) = url.strip_prefix("sqlite:") {
            if path.is_empty() {
                Err(UrlError::MissingPath)
            } else {
                Ok(StoreUrl::Sqlite(PathBuf::from(path)))
            }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(StoreUrl::Postgres(url.to_owned()))
        } else {
            Err(UrlError::UnknownScheme(url.to_owned()))
        }
    }
}

impl StoreUrl {
    /// The same store with a relative SQLite path made absolute against the
    /// working directory, so a log line says exactly which file is used.
    pub fn resolved(self) -> Self {
        match self {
            StoreUrl::Sqlite(path) => StoreUrl::Sqlite(std::path::absolute(&path).unwrap_or(path)),
            other => other,
        }
    }

    /// Whether this build can open the store, decided without touching the
    /// file system or the network: its driver is compiled in
    /// ([`OpenError::DriverNotBuilt`] if not), and a PostgreSQL URL is one
    /// the driver can read. `Ok` does not promise that opening succeeds (the
    /// file may be unwritable, the server down); it means that loading a
    /// configuration can refuse a store it could never open before opening
    /// any.
    pub fn check(&self) -> Result<(), OpenError> {
        match self {
            StoreUrl::Memory => Ok(()),
            #[cfg(feature = "sqlite")]
            StoreUrl::Sqlite(_) => Ok(()),
            #[cfg(not(feature = "sqlite"))]
            StoreUrl::Sqlite(_) => Err(OpenError::DriverNotBuilt("sqlite")),
            #[cfg(feature = "postgres")]
            StoreUrl::Postgres(url) => postgres::config(url).map(drop),
            #[cfg(not(feature = "postgres"))]
            StoreUrl::Postgres(_) => Err(OpenError::DriverNotBuilt("postgres")),
        }
    }
}

impl fmt::Display for StoreUrl {
    /// The URL with any password replaced by `***`, fit for a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Memory => f.write_str("memory:"),
            StoreUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreUrl::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

/// `postgres://user:secret@host/db` -> `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The database was written by a newer nova-rs; this build will not
    /// touch it.
    #[error("the database is at schema version {found}, newer than this nova-rs build knows ({supported}); run a newer nova-server")]
    SchemaTooNew {
        /// The database's version.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
    /// The SQLite file could not be opened, created or upgraded.
    #[error("cannot open the SQLite store {path}: {reason}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// The PostgreSQL database could not be reached or upgraded.
    #[error("cannot open the PostgreSQL store {url}: {reason}")]
    Postgres {
        /// The URL, password hidden.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// This build was compiled without the driver for the URL.
    #[error("this nova-rs build has no {0} support (cargo feature {0:?})")]
    DriverNotBuilt(&'static str),
}

/// Opens the store `url` names: creates or upgrades its schema, seeds it if
/// it was just created, and returns it ready for the controllers. Call
/// [`close`](nova_controller::InstanceStore::close) before the process
/// exits to flush and release it.
///
/// The store serves both APIs; a controller that needs only the seed's
/// [`InstanceStore`](nova_controller::InstanceStore) takes it as one:
/// `let instances: Arc<dyn InstanceStore> = store;`.
///
/// Each call opens a store of its own, even for a URL opened before; for the
/// stores of a whole configuration, one per URL, use [`Stores::open`].
pub async fn open(url: &StoreUrl) -> Result<Arc<dyn ServerStore>, OpenError> {
    open_seeding(url, true).await
}

/// As [`open`], but a store this call creates gets the seed's three
/// instances only if `seed` (an instance app's `seed = false`).
pub async fn open_seeding(url: &StoreUrl, seed: bool) -> Result<Arc<dyn ServerStore>, OpenError> {
    Ok(open_store(url, seed).await?.servers)
}

/// One opened store as [`Stores`] keeps it: the servers, and the token
/// and control stores on the same database (the same object, for a
/// durable store).
#[derive(Clone)]
pub(crate) struct OpenStore {
    pub(crate) servers: Arc<dyn ServerStore>,
    pub(crate) tokens: Arc<dyn TokenStore>,
    pub(crate) control: Arc<dyn ControlStore>,
}

impl OpenStore {
    /// A store that keeps all three on one database.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    fn durable(store: impl ServerStore + TokenStore + ControlStore) -> Self {
        let store = Arc::new(store);
        OpenStore {
            servers: store.clone(),
            tokens: store.clone(),
            control: store,
        }
    }
}

/// As [`open_seeding`], with the store's [`TokenStore`] and
/// [`ControlStore`].
pub(crate) async fn open_store(url: &StoreUrl, seed: bool) -> Result<OpenStore, OpenError> {
    url.check()?;
    match url {
        StoreUrl::Memory => Ok(OpenStore {
            servers: if seed {
                Arc::new(MemoryServerStore::seeded())
            } else {
                Arc::new(MemoryServerStore::new())
            },
            tokens: Arc::new(MemoryTokenStore::new()),
            control: Arc::new(MemoryControl::new()),
        }),
        #[cfg(feature = "sqlite")]
        StoreUrl::Sqlite(path) => Ok(OpenStore::durable(
            SqliteStore::open_seeding(path, seed).await?,
        )),
        #[cfg(not(feature = "sqlite"))]
        StoreUrl::Sqlite(_) => Err(OpenError::DriverNotBuilt("sqlite")),
        #[cfg(feature = "postgres")]
        StoreUrl::Postgres(url) => Ok(OpenStore::durable(
            PostgresStore::open_seeding(url, seed).await?,
        )),
        #[cfg(not(feature = "postgres"))]
        StoreUrl::Postgres(_) => Err(OpenError::DriverNotBuilt("postgres")),
    }
}

/// A revoked token's expiry as the durable stores keep it: in whole Unix
/// seconds, rounded up, so that with [`expired_by`] a revocation is never
/// forgotten before its token has expired.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn revocation_expiry(expires_at: jiff::Timestamp) -> i64 {
    // `as_second` truncates towards zero, so only a positive fraction
    // needs rounding up.
    let second = expires_at.as_second();
    if expires_at.subsec_nanosecond() > 0 {
        second + 1
    } else {
        second
    }
}

/// The latest kept expiry ([`revocation_expiry`]) that has passed at
/// `now`: `now` in whole Unix seconds, rounded down.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn expired_by(now: jiff::Timestamp) -> i64 {
    let second = now.as_second();
    if now.subsec_nanosecond() < 0 {
        second - 1
    } else {
        second
    }
}

/// A server's details as the JSON document the durable stores keep in its
/// `details` column; `None` (SQL `NULL`) for an instance created through
/// the seed's API.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn details_document(
    id: uuid::Uuid,
    details: Option<&nova_compute::ServerDetails>,
) -> Result<Option<String>, nova_controller::StoreError> {
    details
        .map(serde_json::to_string)
        .transpose()
        // Only a map with non-text keys fails, and the details have none;
        // should one appear, nothing is written.
        .map_err(|error| nova_controller::StoreError::Corrupt {
            reason: format!("instance {id}: cannot write its details: {error}"),
        })
}

/// The details read back from a `details` column: a document that is not
/// the JSON of [`ServerDetails`](nova_compute::ServerDetails) was changed
/// outside nova-rs, and is [`Corrupt`](nova_controller::StoreError::Corrupt).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn parse_details(
    id: uuid::Uuid,
    document: Option<&str>,
) -> Result<Option<std::sync::Arc<nova_compute::ServerDetails>>, nova_controller::StoreError> {
    document
        .map(|text| serde_json::from_str(text).map(std::sync::Arc::new))
        .transpose()
        .map_err(|error| nova_controller::StoreError::Corrupt {
            reason: format!("instance {id}: bad details: {error}"),
        })
}

/// An image as the JSON document the durable stores keep in its
/// `document` column.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn image_document(image: &nova_compute::Image) -> Result<String, nova_controller::StoreError> {
    serde_json::to_string(image).map_err(|error| nova_controller::StoreError::Corrupt {
        reason: format!("image {}: cannot write its document: {error}", image.id),
    })
}

/// The image read back from the row of `id`: a document that is not the
/// JSON of an [`Image`](nova_compute::Image), or is another image's, was
/// changed outside nova-rs, and is
/// [`Corrupt`](nova_controller::StoreError::Corrupt).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn parse_image(
    id: &str,
    document: &str,
) -> Result<nova_compute::Image, nova_controller::StoreError> {
    let corrupt = |what: String| nova_controller::StoreError::Corrupt {
        reason: format!("image {id}: {what}"),
    };
    let image: nova_compute::Image = serde_json::from_str(document)
        .map_err(|error| corrupt(format!("bad document: {error}")))?;
    if image.id.to_string() != id {
        return Err(corrupt(format!("its document is image {}'s", image.id)));
    }
    Ok(image)
}

/// A behaviour as the JSON document the durable stores keep in its
/// `document` column; its `times` and `fired` go in columns of their own
/// as well, and are read back from those.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn behavior_document(
    behavior: &nova_control::Behavior,
) -> Result<String, nova_controller::StoreError> {
    serde_json::to_string(behavior).map_err(|error| nova_controller::StoreError::Corrupt {
        reason: format!(
            "behavior {}: cannot write its document: {error}",
            behavior.id
        ),
    })
}

/// The behaviour read back from the row of `id`, its `times` and `fired`
/// taken from their columns (a firing changes only the `fired` column). A
/// document that is not the JSON of a
/// [`Behavior`](nova_control::Behavior), or is another behaviour's, or
/// counts that are negative, were changed outside nova-rs, and are
/// [`Corrupt`](nova_controller::StoreError::Corrupt).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn parse_behavior(
    id: &str,
    document: &str,
    times: Option<i64>,
    fired: i64,
) -> Result<nova_control::Behavior, nova_controller::StoreError> {
    let corrupt = |what: String| nova_controller::StoreError::Corrupt {
        reason: format!("behavior {id}: {what}"),
    };
    let mut behavior: nova_control::Behavior = serde_json::from_str(document)
        .map_err(|error| corrupt(format!("bad document: {error}")))?;
    if behavior.id != id {
        return Err(corrupt(format!(
            "its document is behavior {}'s",
            behavior.id
        )));
    }
    behavior.times = times
        .map(u64::try_from)
        .transpose()
        .map_err(|_| corrupt(format!("bad times {times:?}")))?;
    behavior.fired = u64::try_from(fired).map_err(|_| corrupt(format!("bad fired {fired}")))?;
    Ok(behavior)
}

/// A behaviour's `times` as its column keeps it. More firings than an
/// `i64` holds are as good as unlimited: kept as `i64::MAX`, which no
/// count reaches.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn times_to_sql(times: Option<u64>) -> Option<i64> {
    times.map(|times| i64::try_from(times).unwrap_or(i64::MAX))
}

/// The behaviour id a duplicate insert reports. Ids are UUIDs
/// ([`NewBehavior::validate`](nova_control::NewBehavior::validate) makes
/// them), so only a caller's own id that is not one reports the nil UUID.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn duplicate_behavior(id: &str) -> nova_controller::StoreError {
    nova_controller::StoreError::DuplicateId {
        id: uuid::Uuid::try_parse(id).unwrap_or_default(),
    }
}

/// How the durable stores add `micros` to the clock's offset in one
/// upsert without overflowing, saturating as [`MemoryControl`] does: a
/// limit and a bound. Moving ahead, an offset above the limit becomes the
/// bound (`i64::MAX`) instead of having `micros` added; moving back, one
/// below it becomes `i64::MIN`.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn clock_saturation(micros: i64) -> (i64, i64) {
    if micros >= 0 {
        (i64::MAX - micros, i64::MAX)
    } else {
        // micros < 0, so this is at least i64::MIN + 1 and at most 0.
        (i64::MIN.saturating_sub(micros), i64::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nova_compute::ServerScope;

    #[test]
    fn store_urls_parse_to_their_store_and_print_without_a_password() {
        let table = [
            ("memory:", Ok(StoreUrl::Memory), "memory:"),
            (
                "sqlite:nova.db",
                Ok(StoreUrl::Sqlite("nova.db".into())),
                "sqlite:nova.db",
            ),
            (
                "sqlite:/var/lib/nova/nova.db",
                Ok(StoreUrl::Sqlite("/var/lib/nova/nova.db".into())),
                "sqlite:/var/lib/nova/nova.db",
            ),
            (
                "postgres://nova:s3cret@db:5432/nova?sslmode=disable",
                Ok(StoreUrl::Postgres(
                    "postgres://nova:s3cret@db:5432/nova?sslmode=disable".into(),
                )),
                "postgres://nova:***@db:5432/nova?sslmode=disable",
            ),
            (
                "postgresql://nova@db/nova",
                Ok(StoreUrl::Postgres("postgresql://nova@db/nova".into())),
                "postgresql://nova@db/nova",
            ),
        ];
        for (text, expected, shown) in table {
            let parsed = text.parse::<StoreUrl>();
            assert_eq!(parsed, expected, "{text}");
            assert_eq!(parsed.unwrap().to_string(), shown);
        }
        assert_eq!("sqlite:".parse::<StoreUrl>(), Err(UrlError::MissingPath));
        assert_eq!(
            "mysql://x".parse::<StoreUrl>(),
            Err(UrlError::UnknownScheme("mysql://x".into()))
        );
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[test]
    fn a_revocation_is_kept_in_whole_seconds_until_its_token_has_expired() {
        let at = |text: &str| text.parse::<jiff::Timestamp>().unwrap();
        // (expiry, now, forgotten)
        let table = [
            ("2030-01-01T00:00:10Z", "2030-01-01T00:00:09.999Z", false),
            ("2030-01-01T00:00:10Z", "2030-01-01T00:00:10Z", true),
            ("2030-01-01T00:00:10.2Z", "2030-01-01T00:00:10.5Z", false),
            ("2030-01-01T00:00:10.2Z", "2030-01-01T00:00:11Z", true),
            ("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.7Z", false),
            ("1969-12-31T23:59:59.5Z", "1970-01-01T00:00:00Z", true),
        ];
        for (expiry, now, forgotten) in table {
            assert_eq!(
                revocation_expiry(at(expiry)) <= expired_by(at(now)),
                forgotten,
                "{expiry} at {now}"
            );
        }
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[test]
    fn a_behavior_reads_back_with_its_counts_from_their_columns() {
        let behavior = nova_control::NewBehavior::from_json(
            br#"{"event": "api", "behavior": {"delay": {"ms": 5}}, "times": 3}"#,
        )
        .unwrap()
        .validate()
        .unwrap();
        let document = behavior_document(&behavior).unwrap();
        let id = behavior.id.as_str();
        let read = parse_behavior(id, &document, Some(4), 2).unwrap();
        assert_eq!((read.times, read.fired), (Some(4), 2));
        assert_eq!(read.effect, behavior.effect);
        let unlimited = parse_behavior(id, &document, None, 9).unwrap();
        assert_eq!((unlimited.times, unlimited.fired), (None, 9));
        // (document's id, times, fired, what the reason names)
        let table = [
            ("another", Some(3), 0, "its document is behavior"),
            (id, Some(-1), 0, "bad times"),
            (id, None, -1, "bad fired"),
        ];
        for (row_id, times, fired, named) in table {
            match parse_behavior(row_id, &document, times, fired) {
                Err(nova_controller::StoreError::Corrupt { reason }) => {
                    assert!(reason.contains(named), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(times_to_sql(Some(u64::MAX)), Some(i64::MAX));
    }

    #[tokio::test]
    async fn the_memory_store_is_seeded() {
        let store = open(&StoreUrl::Memory).await.unwrap();
        assert_eq!(store.list().await.unwrap().len(), 3);
        let servers = store.servers(ServerScope::default()).await.unwrap();
        assert_eq!(servers.len(), 3);
    }
}
