//! The PostgreSQL store: for several nova-server processes, on one machine
//! or many, sharing one database through a small connection pool.
//!
//! Every change of the seed's API is one statement, so it is atomic on its
//! own, and a conditional change checks the version in the statement's
//! `WHERE` clause: of two concurrent `If-Match` updates of one instance
//! exactly one matches. A change of the compute API is a transaction that
//! reads the row `FOR UPDATE`, so no other change of it can come between
//! the read and the write. Durability is the server's: with PostgreSQL's
//! defaults (`synchronous_commit=on`, `fsync=on`) an answered change has
//! been synced to the server's WAL, and PostgreSQL batches concurrent
//! commits itself.
//!
//! The seed's instances and the compute API's servers are the rows of one
//! `instances` table; the seed's API sees only the rows not deleted through
//! the compute API (`deleted_at IS NULL`). The images `createImage` takes
//! are the rows of `images`; each is written once and deleted once, each
//! by one statement, so no image change needs a transaction. The identity
//! service's token keys and revocations are the rows of `token_keys` and
//! `revoked_tokens`, each change one statement too. Users' key pairs are
//! the rows of `keypairs`: a create is a transaction that holds a lock on
//! the user (an advisory lock on the user id) while it counts the user's
//! key pairs against the quota and inserts, so two creates cannot share
//! the last place. The quota limits set through the API are the rows of
//! `quotas`, a set of them written in one transaction. The control API's
//! behaviours are the rows of `behaviors` and its clock the one row of
//! `control_clock`, each change one statement: a firing is an `UPDATE`
//! whose `WHERE` checks that firings are left, so of two processes racing
//! for the last one exactly one fires, and moving the clock is one
//! upsert. Nothing of them is kept in a process: the next request may be
//! answered by another process that changed them.

use std::error::Error as _;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use deadpool_postgres::{
    Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime, Timeouts,
};
use nova_compute::{
    Image, ImageScope, ImageStore, Keypair, KeypairCreate, KeypairStore, KeypairType, QuotaLimit,
    QuotaStore, Server, ServerChange, ServerScope, ServerStore, ServerUpdate,
};
use nova_control::{Behavior, ControlStore};
use nova_controller::{
    Change, IfMatch, Instance, InstanceStore, StoreError, StoreFuture, Timestamp, SEED_NAMES,
};
use nova_identity::{generate_token_key, TokenStore, TokenStoreError, TokenStoreFuture};
use tokio_postgres::types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};
use tokio_postgres::{NoTls, Row};
use uuid::Uuid;

use crate::{
    behavior_document, clock_saturation, details_document, duplicate_behavior, expired_by,
    image_document, parse_behavior, parse_details, parse_image, redact_password, revocation_expiry,
    times_to_sql, OpenError, SCHEMA_VERSION,
};

/// Connections per process; PostgreSQL's own limit is shared by every
/// nova-server, so each keeps few.
const POOL_SIZE: usize = 8;

/// How long a request waits for a connection (or to make one) before it is
/// answered 503.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// Serialises schema upgrades of servers starting at once (an arbitrary
/// constant, "nova" in ASCII).
const MIGRATION_LOCK: i64 = 0x6e6f_7661;

/// The schema, one entry per version: entry `n` takes the database from
/// version `n` to `n + 1`.
const MIGRATIONS: [&str; 6] = [
    "
    CREATE TABLE instances (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        name text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        version bigint NOT NULL
    );
",
    // The compute API's fields. A row from version 1 reads back as an
    // instance of the seed's: no project, not deleted, no details.
    "
    ALTER TABLE instances
        ADD COLUMN project_id text NOT NULL DEFAULT '',
        ADD COLUMN deleted_at timestamptz,
        ADD COLUMN details text;
",
    // The images createImage takes: what a listing selects by, and the
    // image as one JSON document, so a new field needs no schema change.
    "
    CREATE TABLE images (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        owner text NOT NULL,
        visibility text NOT NULL,
        document text NOT NULL
    );
    CREATE INDEX images_by_owner ON images (owner);
",
    // The identity service's: its Fernet keys, the one at the lowest
    // position sealing new tokens, and the audit ids of revoked tokens
    // with their expiry in Unix seconds, after which a revocation is
    // forgotten (the index serves that). Never a token itself.
    "
    CREATE TABLE token_keys (
        position integer PRIMARY KEY,
        key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE revoked_tokens (
        audit_id text PRIMARY KEY,
        expires_at bigint NOT NULL
    );
    CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
",
    // Users' key pairs (a user's names are unique; `id` is the number the
    // API shows) and the quota limits set through the API, per project
    // or, with a `user_id`, per user in it (`''` for the project's own).
    "
    CREATE TABLE keypairs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id text NOT NULL,
        name text NOT NULL,
        type text NOT NULL,
        public_key text NOT NULL,
        fingerprint text NOT NULL,
        created_at timestamptz NOT NULL,
        UNIQUE (user_id, name)
    );
    CREATE TABLE quotas (
        project_id text NOT NULL,
        user_id text NOT NULL DEFAULT '',
        resource text NOT NULL,
        hard_limit bigint NOT NULL,
        PRIMARY KEY (project_id, user_id, resource)
    );
",
    // The control API's: the behaviours a test registered, in the order it
    // did, each one JSON document with the firings it may have (`times`,
    // NULL for until removed) and has had (`fired`) in columns of their
    // own, so that a firing is one UPDATE; and how far the controlled
    // clock was moved ahead, in one row.
    "
    CREATE TABLE behaviors (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        document text NOT NULL,
        times bigint,
        fired bigint NOT NULL DEFAULT 0
    );
    CREATE TABLE control_clock (
        id integer PRIMARY KEY CHECK (id = 1),
        offset_micros bigint NOT NULL
    );
",
];

/// What the seed's API reads of a row.
const COLUMNS: &str = "id, name, created_at, updated_at, version";

/// What the compute API reads of a row: the seed's columns first.
const SERVER_COLUMNS: &str =
    "id, name, created_at, updated_at, version, project_id, deleted_at, details";

/// Instances, servers and their images in a PostgreSQL database, the
/// identity service's token keys and revocations ([`TokenStore`]), and the
/// control API's behaviours and clock ([`ControlStore`]).
///
/// When the server cannot be reached, requests answer
/// [`StoreError::Unavailable`] within a few seconds; the pool makes new
/// connections when it is back, so the store recovers by itself.
pub struct PostgresStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// A `timestamptz` in PostgreSQL's binary form: microseconds since
/// 2000-01-01 UTC. Exact, unlike going through floating-point seconds.
#[derive(Debug)]
struct PgTime(i64);

/// 2000-01-01T00:00:00Z in Unix microseconds.
const PG_EPOCH_US: i64 = 946_684_800_000_000;

impl From<Timestamp> for PgTime {
    fn from(t: Timestamp) -> Self {
        PgTime(t.unix_micros() - PG_EPOCH_US)
    }
}

impl ToSql for PgTime {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.put_i64(self.0);
        Ok(IsNull::No)
    }

    accepts!(TIMESTAMPTZ);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for PgTime {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let bytes: [u8; 8] = raw.try_into()?;
        Ok(PgTime(i64::from_be_bytes(bytes)))
    }

    accepts!(TIMESTAMPTZ);
}

/// A tokio-postgres error with its cause: its own text is often only
/// "db error" or "error connecting to server".
fn describe(error: &tokio_postgres::Error) -> String {
    match error.source() {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}

fn pool_unavailable(error: PoolError) -> StoreError {
    let reason = match &error {
        PoolError::Backend(error) => describe(error),
        other => other.to_string(),
    };
    tracing::error!(%reason, "the PostgreSQL store is unavailable");
    StoreError::Unavailable { reason }
}

fn query_unavailable(error: tokio_postgres::Error) -> StoreError {
    let reason = describe(&error);
    tracing::error!(%reason, "a PostgreSQL query failed");
    StoreError::Unavailable { reason }
}

fn versions_to_sql(if_match: &IfMatch) -> Option<Vec<i64>> {
    match if_match {
        IfMatch::Any => None,
        // A version past i64::MAX was never stored, so it cannot match.
        IfMatch::Versions(versions) => Some(
            versions
                .iter()
                .filter_map(|v| i64::try_from(*v).ok())
                .collect(),
        ),
    }
}

/// A server from a row read with [`SERVER_COLUMNS`].
fn to_server(row: &Row) -> Result<Server, StoreError> {
    let instance = to_instance(row)?;
    let id = instance.id;
    let corrupt = |what: &str, error: &dyn std::fmt::Display| StoreError::Corrupt {
        reason: format!("instance {id}: bad {what}: {error}"),
    };
    let deleted_at = row
        .try_get::<_, Option<PgTime>>(6)
        .map_err(|e| corrupt("deleted_at", &e))?
        .map(|PgTime(micros)| {
            micros
                .checked_add(PG_EPOCH_US)
                .and_then(Timestamp::from_unix_micros)
                .ok_or_else(|| corrupt("deleted_at", &"out of range"))
        })
        .transpose()?;
    let details: Option<&str> = row.try_get(7).map_err(|e| corrupt("details", &e))?;
    Ok(Server {
        project_id: row.try_get(5).map_err(|e| corrupt("project_id", &e))?,
        deleted_at,
        details: parse_details(id, details)?,
        ..Server::from_instance(instance)
    })
}

fn to_instance(row: &Row) -> Result<Instance, StoreError> {
    let corrupt = |what: &str, error: &dyn std::fmt::Display| StoreError::Corrupt {
        reason: format!("bad {what}: {error}"),
    };
    let id: Uuid = row.try_get(0).map_err(|e| corrupt("id", &e))?;
    let time = |index: usize, what: &str| -> Result<Timestamp, StoreError> {
        let PgTime(micros) = row.try_get(index).map_err(|e| corrupt(what, &e))?;
        micros
            .checked_add(PG_EPOCH_US)
            .and_then(Timestamp::from_unix_micros)
            .ok_or_else(|| corrupt(what, &"out of range"))
    };
    let version: i64 = row.try_get(4).map_err(|e| corrupt("version", &e))?;
    Ok(Instance {
        id,
        name: row.try_get(1).map_err(|e| corrupt("name", &e))?,
        created_at: time(2, "created_at")?,
        updated_at: time(3, "updated_at")?,
        version: u64::try_from(version).map_err(|e| corrupt("version", &e))?,
    })
}

fn version_to_sql(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

/// The driver's reading of `url`, without connecting: what
/// [`StoreUrl::check`](crate::StoreUrl::check) asks of a PostgreSQL URL.
pub(crate) fn config(url: &str) -> Result<tokio_postgres::Config, OpenError> {
    url.parse()
        .map_err(|error: tokio_postgres::Error| OpenError::Postgres {
            url: redact_password(url),
            reason: describe(&error),
        })
}

impl PostgresStore {
    /// Connects to `url`, upgrades the schema (one server at a time), seeds
    /// the store if it was just created, and keeps a pool of connections.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        Self::open_seeding(url, true).await
    }

    /// As [`PostgresStore::open`], seeding a new database only if `seed`.
    pub async fn open_seeding(url: &str, seed: bool) -> Result<Self, OpenError> {
        let error = |reason: String| OpenError::Postgres {
            url: redact_password(url),
            reason,
        };
        let mut config = config(url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(POOL_TIMEOUT);
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .timeouts(Timeouts {
                wait: Some(POOL_TIMEOUT),
                create: Some(POOL_TIMEOUT),
                recycle: Some(POOL_TIMEOUT),
            })
            .build()
            .map_err(|e| error(e.to_string()))?;
        let mut client = pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => error(describe(&e)),
            other => error(other.to_string()),
        })?;
        let transaction = client
            .transaction()
            .await
            .map_err(|e| error(describe(&e)))?;
        let sql = |e: tokio_postgres::Error| error(describe(&e));
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(sql)?;
        transaction
            .batch_execute("CREATE TABLE IF NOT EXISTS nova_schema (version integer NOT NULL)")
            .await
            .map_err(sql)?;
        let found: Option<i32> = transaction
            .query_one("SELECT max(version) FROM nova_schema", &[])
            .await
            .map_err(sql)?
            .get(0);
        let found = i64::from(found.unwrap_or(0));
        if found > SCHEMA_VERSION {
            return Err(OpenError::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        for migration in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
            transaction.batch_execute(migration).await.map_err(sql)?;
        }
        if found == 0 {
            for name in SEED_NAMES.iter().filter(|_| seed) {
                insert(&*transaction, &Instance::new(*name))
                    .await
                    .map_err(sql)?;
            }
            tracing::info!(url = %redact_password(url), "created a new instance store");
        }
        let version = i32::try_from(SCHEMA_VERSION).unwrap_or(i32::MAX);
        transaction
            .execute("DELETE FROM nova_schema", &[])
            .await
            .map_err(sql)?;
        transaction
            .execute("INSERT INTO nova_schema (version) VALUES ($1)", &[&version])
            .await
            .map_err(sql)?;
        transaction.commit().await.map_err(sql)?;
        drop(client);
        Ok(PostgresStore { pool })
    }

    async fn current_version(
        client: &deadpool_postgres::Client,
        id: Uuid,
    ) -> Result<Option<u64>, StoreError> {
        let statement = client
            .prepare_cached("SELECT version FROM instances WHERE id = $1 AND deleted_at IS NULL")
            .await
            .map_err(query_unavailable)?;
        let row = client
            .query_opt(&statement, &[&id])
            .await
            .map_err(query_unavailable)?;
        Ok(row.map(|row| u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)))
    }
}

async fn insert(
    client: &impl tokio_postgres::GenericClient,
    instance: &Instance,
) -> Result<bool, tokio_postgres::Error> {
    let inserted = client
        .execute(
            "INSERT INTO instances (id, name, created_at, updated_at, version)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            &[
                &instance.id,
                &instance.name,
                &PgTime::from(instance.created_at),
                &PgTime::from(instance.updated_at),
                &version_to_sql(instance.version),
            ],
        )
        .await?;
    Ok(inserted == 1)
}

/// Inserts `server`; `false` if its id is taken.
async fn insert_server(
    transaction: &deadpool_postgres::Transaction<'_>,
    server: &Server,
) -> Result<bool, StoreError> {
    let details = details_document(server.id, server.details.as_deref())?;
    let statement = transaction
        .prepare_cached(&format!(
            "INSERT INTO instances ({SERVER_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING"
        ))
        .await
        .map_err(query_unavailable)?;
    let inserted = transaction
        .execute(
            &statement,
            &[
                &server.id,
                &server.name,
                &PgTime::from(server.created_at),
                &PgTime::from(server.updated_at),
                &version_to_sql(server.version),
                &server.project_id,
                &server.deleted_at.map(PgTime::from),
                &details,
            ],
        )
        .await
        .map_err(query_unavailable)?;
    Ok(inserted == 1)
}

/// One statement on a pooled connection, prepared once per connection
/// (`prepare_cached`): the steps every single-statement method takes, its
/// failures as [`StoreError::Unavailable`].
impl PostgresStore {
    async fn prepared(
        &self,
        sql: &str,
    ) -> Result<(deadpool_postgres::Client, tokio_postgres::Statement), StoreError> {
        let client = self.pool.get().await.map_err(pool_unavailable)?;
        let statement = client
            .prepare_cached(sql)
            .await
            .map_err(query_unavailable)?;
        Ok((client, statement))
    }

    /// Runs `sql`; how many rows it changed.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let (client, statement) = self.prepared(sql).await?;
        client
            .execute(&statement, params)
            .await
            .map_err(query_unavailable)
    }

    /// Runs `sql`; its rows.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let (client, statement) = self.prepared(sql).await?;
        client
            .query(&statement, params)
            .await
            .map_err(query_unavailable)
    }

    /// Runs `sql`; its one row, if any.
    async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let (client, statement) = self.prepared(sql).await?;
        client
            .query_opt(&statement, params)
            .await
            .map_err(query_unavailable)
    }

    /// Runs `sql`, which answers exactly one row.
    async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, StoreError> {
        let (client, statement) = self.prepared(sql).await?;
        client
            .query_one(&statement, params)
            .await
            .map_err(query_unavailable)
    }
}

impl InstanceStore for PostgresStore {
    fn list(&self) -> StoreFuture<'_, Vec<Instance>> {
        Box::pin(async move {
            let rows = self
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM instances WHERE deleted_at IS NULL ORDER BY seq"
                    ),
                    &[],
                )
                .await?;
            rows.iter().map(to_instance).collect()
        })
    }

    fn insert(&self, instance: Instance) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(pool_unavailable)?;
            if insert(&**client, &instance)
                .await
                .map_err(query_unavailable)?
            {
                Ok(())
            } else {
                Err(StoreError::DuplicateId { id: instance.id })
            }
        })
    }

    fn get(&self, id: Uuid) -> StoreFuture<'_, Option<Instance>> {
        Box::pin(async move {
            let row = self
                .query_opt(
                    &format!(
                        "SELECT {COLUMNS} FROM instances WHERE id = $1 AND deleted_at IS NULL"
                    ),
                    &[&id],
                )
                .await?;
            row.as_ref().map(to_instance).transpose()
        })
    }

    fn rename(
        &self,
        id: Uuid,
        name: String,
        if_match: IfMatch,
    ) -> StoreFuture<'_, Change<Instance>> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(pool_unavailable)?;
            // The version is checked and bumped by the one UPDATE: a
            // concurrent update of the same row waits for this one, then
            // re-checks its WHERE against the new version.
            let statement = client
                .prepare_cached(&format!(
                    "UPDATE instances SET name = $2, updated_at = $3, version = version + 1
                     WHERE id = $1 AND deleted_at IS NULL
                       AND ($4::bigint[] IS NULL OR version = ANY($4))
                     RETURNING {COLUMNS}"
                ))
                .await
                .map_err(query_unavailable)?;
            let row = client
                .query_opt(
                    &statement,
                    &[
                        &id,
                        &name,
                        &PgTime::from(Timestamp::now()),
                        &versions_to_sql(&if_match),
                    ],
                )
                .await
                .map_err(query_unavailable)?;
            match row {
                Some(row) => Ok(Change::Applied(to_instance(&row)?)),
                None => Ok(match Self::current_version(&client, id).await? {
                    None => Change::NotFound,
                    Some(current) => Change::VersionMismatch { current },
                }),
            }
        })
    }

    fn delete(&self, id: Uuid, if_match: IfMatch) -> StoreFuture<'_, Change<()>> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(pool_unavailable)?;
            let statement = client
                .prepare_cached(
                    "DELETE FROM instances
                     WHERE id = $1 AND deleted_at IS NULL
                       AND ($2::bigint[] IS NULL OR version = ANY($2))",
                )
                .await
                .map_err(query_unavailable)?;
            let deleted = client
                .execute(&statement, &[&id, &versions_to_sql(&if_match)])
                .await
                .map_err(query_unavailable)?;
            if deleted == 1 {
                return Ok(Change::Applied(()));
            }
            Ok(match Self::current_version(&client, id).await? {
                None => Change::NotFound,
                Some(current) => Change::VersionMismatch { current },
            })
        })
    }

    fn close(&self) -> StoreFuture<'_, ()> {
        // Every change was committed before it was answered; closing only
        // ends the connections, so the server sees clean disconnects.
        self.pool.close();
        Box::pin(std::future::ready(Ok(())))
    }
}

impl ServerStore for PostgresStore {
    fn create_servers(&self, servers: Vec<Server>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut client = self.pool.get().await.map_err(pool_unavailable)?;
            let transaction = client.transaction().await.map_err(query_unavailable)?;
            for server in &servers {
                if !insert_server(&transaction, server).await? {
                    // Dropping the transaction rolls back the inserts before.
                    return Err(StoreError::DuplicateId { id: server.id });
                }
            }
            transaction.commit().await.map_err(query_unavailable)
        })
    }

    fn server(&self, id: Uuid) -> StoreFuture<'_, Option<Server>> {
        Box::pin(async move {
            let row = self
                .query_opt(
                    &format!("SELECT {SERVER_COLUMNS} FROM instances WHERE id = $1"),
                    &[&id],
                )
                .await?;
            row.as_ref().map(to_server).transpose()
        })
    }

    fn servers(&self, scope: ServerScope) -> StoreFuture<'_, Vec<Server>> {
        Box::pin(async move {
            let rows = self
                .query(
                    &format!(
                        "SELECT {SERVER_COLUMNS} FROM instances
                     WHERE ($1 OR deleted_at IS NULL)
                       AND ($2::text[] IS NULL OR project_id = ANY($2))
                     ORDER BY seq"
                    ),
                    &[&scope.include_deleted, &scope.projects],
                )
                .await?;
            rows.iter().map(to_server).collect()
        })
    }

    fn update_server(
        &self,
        id: Uuid,
        if_match: IfMatch,
        change: ServerChange,
    ) -> StoreFuture<'_, ServerUpdate> {
        Box::pin(async move {
            let mut client = self.pool.get().await.map_err(pool_unavailable)?;
            // Every answer but Applied returns before the commit: dropping
            // the transaction rolls it back and releases the row.
            let transaction = client.transaction().await.map_err(query_unavailable)?;
            let select = transaction
                .prepare_cached(&format!(
                    "SELECT {SERVER_COLUMNS} FROM instances WHERE id = $1 FOR UPDATE"
                ))
                .await
                .map_err(query_unavailable)?;
            let Some(row) = transaction
                .query_opt(&select, &[&id])
                .await
                .map_err(query_unavailable)?
            else {
                return Ok(ServerUpdate::NotFound);
            };
            let current = to_server(&row)?;
            if !if_match.matches(current.version) {
                return Ok(ServerUpdate::VersionMismatch {
                    current: current.version,
                });
            }
            let mut changed = current.clone();
            if let Err(fault) = change(&mut changed) {
                return Ok(ServerUpdate::Refused(fault));
            }
            changed.id = id;
            changed.version = current.version + 1;
            let details = details_document(id, changed.details.as_deref())?;
            let update = transaction
                .prepare_cached(
                    "UPDATE instances SET name = $2, created_at = $3, updated_at = $4,
                         version = $5, project_id = $6, deleted_at = $7, details = $8
                     WHERE id = $1",
                )
                .await
                .map_err(query_unavailable)?;
            transaction
                .execute(
                    &update,
                    &[
                        &id,
                        &changed.name,
                        &PgTime::from(changed.created_at),
                        &PgTime::from(changed.updated_at),
                        &version_to_sql(changed.version),
                        &changed.project_id,
                        &changed.deleted_at.map(PgTime::from),
                        &details,
                    ],
                )
                .await
                .map_err(query_unavailable)?;
            transaction.commit().await.map_err(query_unavailable)?;
            Ok(ServerUpdate::Applied(changed))
        })
    }
}

/// An image from a row of `id, document`.
fn to_image(row: &Row) -> Result<Image, StoreError> {
    let id: Uuid = row.try_get(0).map_err(|e| StoreError::Corrupt {
        reason: format!("bad image id: {e}"),
    })?;
    let document: &str = row.try_get(1).map_err(|e| StoreError::Corrupt {
        reason: format!("image {id}: bad document: {e}"),
    })?;
    parse_image(&id.to_string(), document)
}

impl ImageStore for PostgresStore {
    fn create_image(&self, image: Image) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let document = image_document(&image)?;
            let client = self.pool.get().await.map_err(pool_unavailable)?;
            let statement = client
                .prepare_cached(
                    "INSERT INTO images (id, owner, visibility, document)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                )
                .await
                .map_err(query_unavailable)?;
            let inserted = client
                .execute(
                    &statement,
                    &[
                        &image.id,
                        &image.owner,
                        &image.visibility.as_str(),
                        &document,
                    ],
                )
                .await
                .map_err(query_unavailable)?;
            if inserted == 1 {
                Ok(())
            } else {
                Err(StoreError::DuplicateId { id: image.id })
            }
        })
    }

    fn image(&self, id: Uuid) -> StoreFuture<'_, Option<Image>> {
        Box::pin(async move {
            let row = self
                .query_opt("SELECT id, document FROM images WHERE id = $1", &[&id])
                .await?;
            row.as_ref().map(to_image).transpose()
        })
    }

    fn images(&self, scope: ImageScope) -> StoreFuture<'_, Vec<Image>> {
        Box::pin(async move {
            // Narrowed to the project's own and those not private; the
            // scope then decides about shared ones, whose members are in
            // the document.
            let rows = self
                .query(
                    "SELECT id, document FROM images
                     WHERE $1::text IS NULL OR owner = $1 OR visibility <> 'private'
                     ORDER BY seq",
                    &[&scope.project],
                )
                .await?;
            let mut found = Vec::new();
            for row in &rows {
                let image = to_image(row)?;
                if scope.contains(&image) {
                    found.push(image);
                }
            }
            Ok(found)
        })
    }

    fn delete_image(&self, id: Uuid) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let deleted = self
                .execute("DELETE FROM images WHERE id = $1", &[&id])
                .await?;
            Ok(deleted == 1)
        })
    }
}

/// What a key pair's reads select.
const KEYPAIR_COLUMNS: &str = "id, user_id, name, type, public_key, fingerprint, created_at";

fn to_keypair(row: &Row) -> Result<Keypair, StoreError> {
    let corrupt = |what: &str, error: &dyn std::fmt::Display| StoreError::Corrupt {
        reason: format!("key pair: bad {what}: {error}"),
    };
    let text = |index: usize, what: &str| -> Result<String, StoreError> {
        row.try_get(index).map_err(|e| corrupt(what, &e))
    };
    let id: i64 = row.try_get(0).map_err(|e| corrupt("id", &e))?;
    let kind = text(3, "type")?;
    let PgTime(micros) = row.try_get(6).map_err(|e| corrupt("created_at", &e))?;
    Ok(Keypair {
        id,
        user_id: text(1, "user_id")?,
        name: text(2, "name")?,
        kind: KeypairType::parse(&kind).ok_or_else(|| corrupt("type", &kind))?,
        public_key: text(4, "public_key")?,
        fingerprint: text(5, "fingerprint")?,
        created_at: micros
            .checked_add(PG_EPOCH_US)
            .and_then(Timestamp::from_unix_micros)
            .ok_or_else(|| corrupt("created_at", &"out of range"))?,
    })
}

impl KeypairStore for PostgresStore {
    fn create_keypair(&self, keypair: Keypair, limit: i64) -> StoreFuture<'_, KeypairCreate> {
        Box::pin(async move {
            let mut client = self.pool.get().await.map_err(pool_unavailable)?;
            // Every answer but Created returns before the commit: dropping
            // the transaction rolls it back and releases the lock.
            let transaction = client.transaction().await.map_err(query_unavailable)?;
            transaction
                .execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                    &[&keypair.user_id],
                )
                .await
                .map_err(query_unavailable)?;
            let held = transaction
                .query_one(
                    "SELECT count(*), count(*) FILTER (WHERE name = $2)
                     FROM keypairs WHERE user_id = $1",
                    &[&keypair.user_id, &keypair.name],
                )
                .await
                .map_err(query_unavailable)?;
            let (count, named): (i64, i64) = (held.get(0), held.get(1));
            if named > 0 {
                return Ok(KeypairCreate::Exists);
            }
            if limit >= 0 && count >= limit {
                return Ok(KeypairCreate::OverQuota);
            }
            let row = transaction
                .query_one(
                    "INSERT INTO keypairs (user_id, name, type, public_key, fingerprint, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[
                        &keypair.user_id,
                        &keypair.name,
                        &keypair.kind.as_str(),
                        &keypair.public_key,
                        &keypair.fingerprint,
                        &PgTime::from(keypair.created_at),
                    ],
                )
                .await
                .map_err(query_unavailable)?;
            transaction.commit().await.map_err(query_unavailable)?;
            Ok(KeypairCreate::Created(Keypair {
                id: row.get(0),
                ..keypair
            }))
        })
    }

    fn keypair(&self, user_id: String, name: String) -> StoreFuture<'_, Option<Keypair>> {
        Box::pin(async move {
            let row = self
                .query_opt(
                    &format!(
                        "SELECT {KEYPAIR_COLUMNS} FROM keypairs WHERE user_id = $1 AND name = $2"
                    ),
                    &[&user_id, &name],
                )
                .await?;
            row.as_ref().map(to_keypair).transpose()
        })
    }

    fn keypairs(&self, user_id: String) -> StoreFuture<'_, Vec<Keypair>> {
        Box::pin(async move {
            // Byte order, whatever the database's collation, as the other
            // stores order names.
            let rows = self
                .query(
                    &format!(
                        "SELECT {KEYPAIR_COLUMNS} FROM keypairs WHERE user_id = $1
                     ORDER BY name COLLATE \"C\""
                    ),
                    &[&user_id],
                )
                .await?;
            rows.iter().map(to_keypair).collect()
        })
    }

    fn delete_keypair(&self, user_id: String, name: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let deleted = self
                .execute(
                    "DELETE FROM keypairs WHERE user_id = $1 AND name = $2",
                    &[&user_id, &name],
                )
                .await?;
            Ok(deleted == 1)
        })
    }
}

impl QuotaStore for PostgresStore {
    fn quota_limits(&self, project_id: String) -> StoreFuture<'_, Vec<QuotaLimit>> {
        Box::pin(async move {
            let rows = self
                .query(
                    "SELECT user_id, resource, hard_limit FROM quotas WHERE project_id = $1",
                    &[&project_id],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|row| {
                    let user: String = row.get(0);
                    QuotaLimit {
                        user_id: (!user.is_empty()).then_some(user),
                        resource: row.get(1),
                        hard_limit: row.get(2),
                    }
                })
                .collect())
        })
    }

    fn set_quota_limits(
        &self,
        project_id: String,
        user_id: Option<String>,
        limits: Vec<(String, i64)>,
    ) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut client = self.pool.get().await.map_err(pool_unavailable)?;
            let transaction = client.transaction().await.map_err(query_unavailable)?;
            let statement = transaction
                .prepare_cached(
                    "INSERT INTO quotas (project_id, user_id, resource, hard_limit)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (project_id, user_id, resource)
                     DO UPDATE SET hard_limit = excluded.hard_limit",
                )
                .await
                .map_err(query_unavailable)?;
            let user = user_id.unwrap_or_default();
            for (resource, hard_limit) in &limits {
                transaction
                    .execute(&statement, &[&project_id, &user, resource, hard_limit])
                    .await
                    .map_err(query_unavailable)?;
            }
            transaction.commit().await.map_err(query_unavailable)
        })
    }

    fn delete_quota_limits(
        &self,
        project_id: String,
        user_id: Option<String>,
    ) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(pool_unavailable)?;
            let statement = client
                .prepare_cached(
                    "DELETE FROM quotas WHERE project_id = $1
                     AND ($2::text IS NULL OR user_id = $2)",
                )
                .await
                .map_err(query_unavailable)?;
            client
                .execute(&statement, &[&project_id, &user_id])
                .await
                .map_err(query_unavailable)?;
            Ok(())
        })
    }
}

/// A behaviour from a row of `id, document, times, fired`.
fn to_behavior(row: &Row) -> Result<Behavior, StoreError> {
    let corrupt = |what: &str, error: &dyn std::fmt::Display| StoreError::Corrupt {
        reason: format!("behavior: bad {what}: {error}"),
    };
    let id: &str = row.try_get(0).map_err(|e| corrupt("id", &e))?;
    let document: &str = row.try_get(1).map_err(|e| corrupt("document", &e))?;
    let times: Option<i64> = row.try_get(2).map_err(|e| corrupt("times", &e))?;
    let fired: i64 = row.try_get(3).map_err(|e| corrupt("fired", &e))?;
    parse_behavior(id, document, times, fired)
}

/// Every read is a query, every change one statement: the processes
/// sharing the database change behaviours and the clock behind each
/// other's backs, so none keeps a copy ([`ControlStore::is_shared`]).
impl ControlStore for PostgresStore {
    fn add_behavior(&self, behavior: Behavior) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let document = behavior_document(&behavior)?;
            let client = self.pool.get().await.map_err(pool_unavailable)?;
            let statement = client
                .prepare_cached(
                    "INSERT INTO behaviors (id, document, times, fired)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                )
                .await
                .map_err(query_unavailable)?;
            let inserted = client
                .execute(
                    &statement,
                    &[
                        &behavior.id,
                        &document,
                        &times_to_sql(behavior.times),
                        &i64::try_from(behavior.fired).unwrap_or(i64::MAX),
                    ],
                )
                .await
                .map_err(query_unavailable)?;
            if inserted == 1 {
                Ok(())
            } else {
                Err(duplicate_behavior(&behavior.id))
            }
        })
    }

    fn behaviors(&self) -> StoreFuture<'_, Vec<Behavior>> {
        Box::pin(async move {
            let rows = self
                .query(
                    "SELECT id, document, times, fired FROM behaviors ORDER BY seq",
                    &[],
                )
                .await?;
            rows.iter().map(to_behavior).collect()
        })
    }

    fn remove_behavior(&self, id: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let removed = self
                .execute("DELETE FROM behaviors WHERE id = $1", &[&id])
                .await?;
            Ok(removed == 1)
        })
    }

    fn remove_behaviors(&self) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async move {
            let rows = self
                .query("DELETE FROM behaviors RETURNING seq, id", &[])
                .await?;
            let mut removed = rows
                .iter()
                .map(|row| Ok((row.try_get::<_, i64>(0)?, row.try_get::<_, String>(1)?)))
                .collect::<Result<Vec<_>, tokio_postgres::Error>>()
                .map_err(query_unavailable)?;
            // RETURNING promises no order.
            removed.sort_unstable_by_key(|(seq, _)| *seq);
            Ok(removed.into_iter().map(|(_, id)| id).collect())
        })
    }

    fn fire_behavior(&self, id: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            // A concurrent firing of the same row waits for this one's
            // commit, then checks its WHERE against the new count.
            let fired = self
                .execute(
                    "UPDATE behaviors SET fired = fired + 1
                     WHERE id = $1 AND (times IS NULL OR fired < times)",
                    &[&id],
                )
                .await?;
            Ok(fired == 1)
        })
    }

    fn clock_offset(&self) -> StoreFuture<'_, i64> {
        Box::pin(async move {
            let row = self
                .query_opt("SELECT offset_micros FROM control_clock WHERE id = 1", &[])
                .await?;
            row.map(|row| row.try_get(0))
                .transpose()
                .map(Option::unwrap_or_default)
                .map_err(query_unavailable)
        })
    }

    fn advance_clock(&self, micros: i64) -> StoreFuture<'_, i64> {
        Box::pin(async move {
            // Processes moving it at once each add their own: the upsert
            // takes the row's lock, and the second adds to the first's sum.
            let (limit, bound) = clock_saturation(micros);
            let row = self
                .query_one(
                    "INSERT INTO control_clock (id, offset_micros) VALUES (1, $1)
                     ON CONFLICT (id) DO UPDATE SET offset_micros = CASE
                         WHEN ($1 >= 0 AND control_clock.offset_micros > $2)
                           OR ($1 < 0 AND control_clock.offset_micros < $2) THEN $3
                         ELSE control_clock.offset_micros + $1
                     END
                     RETURNING offset_micros",
                    &[&micros, &limit, &bound],
                )
                .await?;
            row.try_get(0).map_err(query_unavailable)
        })
    }

    fn is_shared(&self) -> bool {
        true
    }
}

/// The pool's failure as the identity service logs it.
fn token_pool_error(error: PoolError) -> TokenStoreError {
    TokenStoreError(match &error {
        PoolError::Backend(error) => describe(error),
        other => other.to_string(),
    })
}

/// A query's failure as the identity service logs it.
fn token_query_error(error: tokio_postgres::Error) -> TokenStoreError {
    TokenStoreError(describe(&error))
}

/// The token keys, the one sealing new tokens first.
async fn token_keys(client: &deadpool_postgres::Client) -> Result<Vec<String>, TokenStoreError> {
    let statement = client
        .prepare_cached("SELECT key FROM token_keys ORDER BY position")
        .await
        .map_err(token_query_error)?;
    let rows = client
        .query(&statement, &[])
        .await
        .map_err(token_query_error)?;
    rows.iter()
        .map(|row| row.try_get(0).map_err(token_query_error))
        .collect()
}

impl TokenStore for PostgresStore {
    fn token_keys(&self) -> TokenStoreFuture<'_, Vec<String>> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(token_pool_error)?;
            let kept = token_keys(&client).await?;
            if !kept.is_empty() {
                return Ok(kept);
            }
            // Processes finding no key at once each offer one at position
            // 0. The primary key lets exactly one in: another's insert
            // waits for that one's commit and then does nothing, so every
            // process reads back the same key. An offer made after any key
            // was kept, at whatever position, does nothing either.
            let offer = client
                .prepare_cached(
                    "INSERT INTO token_keys (position, key)
                     SELECT 0, $1 WHERE NOT EXISTS (SELECT 1 FROM token_keys)
                     ON CONFLICT (position) DO NOTHING",
                )
                .await
                .map_err(token_query_error)?;
            client
                .execute(&offer, &[&generate_token_key()])
                .await
                .map_err(token_query_error)?;
            let kept = token_keys(&client).await?;
            if kept.is_empty() {
                return Err(TokenStoreError(
                    "no token key was kept in the PostgreSQL store".to_owned(),
                ));
            }
            Ok(kept)
        })
    }

    fn revoke_token<'a>(
        &'a self,
        audit_id: &'a str,
        expires_at: jiff::Timestamp,
    ) -> TokenStoreFuture<'a, ()> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(token_pool_error)?;
            // Revoked twice, it is kept until the later expiry.
            let statement = client
                .prepare_cached(
                    "INSERT INTO revoked_tokens (audit_id, expires_at) VALUES ($1, $2)
                     ON CONFLICT (audit_id) DO UPDATE
                     SET expires_at = GREATEST(revoked_tokens.expires_at, excluded.expires_at)",
                )
                .await
                .map_err(token_query_error)?;
            client
                .execute(&statement, &[&audit_id, &revocation_expiry(expires_at)])
                .await
                .map_err(token_query_error)?;
            Ok(())
        })
    }

    fn is_token_revoked<'a>(&'a self, audit_id: &'a str) -> TokenStoreFuture<'a, bool> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(token_pool_error)?;
            let statement = client
                .prepare_cached("SELECT 1 FROM revoked_tokens WHERE audit_id = $1")
                .await
                .map_err(token_query_error)?;
            let row = client
                .query_opt(&statement, &[&audit_id])
                .await
                .map_err(token_query_error)?;
            Ok(row.is_some())
        })
    }

    fn forget_expired_revocations(&self, now: jiff::Timestamp) -> TokenStoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(token_pool_error)?;
            let statement = client
                .prepare_cached("DELETE FROM revoked_tokens WHERE expires_at <= $1")
                .await
                .map_err(token_query_error)?;
            client
                .execute(&statement, &[&expired_by(now)])
                .await
                .map_err(token_query_error)?;
            Ok(())
        })
    }
}
