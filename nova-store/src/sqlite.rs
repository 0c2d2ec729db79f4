//! The SQLite store: one file, written by one dedicated thread that commits
//! concurrent changes together (group commit), and read from memory.
//!
//! Durability: the database is in WAL mode with `synchronous=FULL`, so each
//! commit is synced to disk before any change in it is answered; a change
//! that was answered survives both a crash of the process and a power loss.
//! Group commit makes that one sync per batch, not one per request.
//!
//! Reads: every committed row is also kept in memory ([`committed`]),
//! loaded when the store opens and changed by the writer right after each
//! commit has succeeded, before any change in it is answered. A read is a
//! lock and a copy on the caller's thread: no blocking-pool hop, no query,
//! no JSON to parse. That holds only while this store is the file's one
//! writer: one SQLite file is for one store at a time (nova-server's
//! `Stores` opens each file once, and a second process on the file is
//! unsupported, as the README says). A second store on the same file would
//! write beside this one, and neither would read the other's changes.
//!
//! The seed's instances and the compute API's servers are the rows of one
//! `instances` table; the seed's API sees only the rows not deleted through
//! the compute API (`deleted_at_us IS NULL`). The images `createImage`
//! takes are the rows of `images`, and the identity service's token keys
//! and revocations those of `token_keys` and `revoked_tokens`, users' key
//! pairs those of `keypairs`, the quota limits set through the API those
//! of `quotas`, and the control API's behaviours and clock those of
//! `behaviors` and `control_clock`, all written through the same writer.

mod committed;

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nova_compute::{
    Image, ImageScope, ImageStore, Keypair, KeypairCreate, KeypairStore, KeypairType, QuotaLimit,
    QuotaStore, Server, ServerChange, ServerDetails, ServerScope, ServerStore, ServerUpdate,
};
use nova_control::{Behavior, ControlStore};
use nova_controller::{
    Change, IfMatch, Instance, InstanceStore, StoreError, StoreFuture, Timestamp, SEED_NAMES,
};
use nova_identity::{generate_token_key, TokenStore, TokenStoreError, TokenStoreFuture};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::{
    behavior_document, clock_saturation, details_document, duplicate_behavior, expired_by,
    image_document, parse_behavior, parse_details, parse_image, revocation_expiry, times_to_sql,
    OpenError, SCHEMA_VERSION,
};
use committed::{BehaviorRow, Committed, ImageRow, Row, Tables, Unreadable, Written};

/// The most changes committed in one transaction.
const MAX_BATCH: usize = 512;

/// How long a connection waits for a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many pages the WAL may hold before the writer copies them into the
/// database (SQLite's default is 1,000). A checkpoint writes every page
/// the WAL holds to its place in the database and syncs the database, on
/// the writer thread, between two commits. With random ids nearly every
/// new row dirties a page of the `id` index of its own, so with the
/// default a busy writer stopped every twenty or so commits to write
/// hundreds of scattered pages; with ten times the room, the WAL holds
/// many versions of the same pages and each is copied once. `create`
/// under 64 clients went from about 29,000 to 43,000 a second in one run
/// on this project's machine. Every commit is still synced before it is
/// answered: durability does not change. The price is a WAL of up to
/// about 40 MB beside the database while the store is open (folded back
/// at close) and a longer replay at the first open after a crash.
const WAL_AUTOCHECKPOINT: i64 = 10_000;

/// Statements the writer keeps prepared: every statement it runs, each
/// compiled once, with room to spare.
const PREPARED_STATEMENTS: usize = 40;

/// The schema, one entry per version: entry `n` takes the database from
/// version `n` to `n + 1`.
const MIGRATIONS: [&str; 6] = [
    "
    CREATE TABLE instances (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        created_at_us INTEGER NOT NULL,
        updated_at_us INTEGER NOT NULL,
        version INTEGER NOT NULL
    );
",
    // The compute API's fields. A row from version 1 reads back as an
    // instance of the seed's: no project, not deleted, no details.
    "
    ALTER TABLE instances ADD COLUMN project_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE instances ADD COLUMN deleted_at_us INTEGER;
    ALTER TABLE instances ADD COLUMN details TEXT;
",
    // The images createImage takes: what a listing selects by, and the
    // image as one JSON document, so a new field needs no schema change.
    "
    CREATE TABLE images (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        visibility TEXT NOT NULL,
        document TEXT NOT NULL
    );
    CREATE INDEX images_by_owner ON images (owner);
",
    // The identity service's: its Fernet keys, the one at the lowest
    // position sealing new tokens, and the audit ids of revoked tokens
    // with their expiry in Unix seconds, after which a revocation is
    // forgotten (the index serves that). Never a token itself.
    "
    CREATE TABLE token_keys (
        position INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        created_at_us INTEGER NOT NULL
    );
    CREATE TABLE revoked_tokens (
        audit_id TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
",
    // Users' key pairs (a user's names are unique; `id` is the number the
    // API shows) and the quota limits set through the API, per project
    // or, with a `user_id`, per user in it (`''` for the project's own).
    "
    CREATE TABLE keypairs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        public_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        created_at_us INTEGER NOT NULL,
        UNIQUE (user_id, name)
    );
    CREATE TABLE quotas (
        project_id TEXT NOT NULL,
        user_id TEXT NOT NULL DEFAULT '',
        resource TEXT NOT NULL,
        hard_limit INTEGER NOT NULL,
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
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        document TEXT NOT NULL,
        times INTEGER,
        fired INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE control_clock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        offset_micros INTEGER NOT NULL
    );
",
];

// The writer's statements, spelled out whole so that each is one constant
// string: `prepare_cached` finds it again without building it.

const INSERT_INSTANCE: &str =
    "INSERT INTO instances (id, name, created_at_us, updated_at_us, version)
     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING";

const INSERT_SERVER: &str = "INSERT INTO instances
         (id, name, created_at_us, updated_at_us, version, project_id, deleted_at_us, details)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING";

/// What the seed's API reads of a live row (`deleted_at_us IS NULL`: not
/// deleted through the compute API).
const SELECT_LIVE_INSTANCE: &str = "SELECT id, name, created_at_us, updated_at_us, version
     FROM instances WHERE id = ?1 AND deleted_at_us IS NULL";

const SELECT_LIVE_VERSION: &str =
    "SELECT version FROM instances WHERE id = ?1 AND deleted_at_us IS NULL";

/// What the compute API reads of a row, deleted or not: the seed's columns
/// first.
const SELECT_SERVER: &str = "SELECT id, name, created_at_us, updated_at_us, version,
         project_id, deleted_at_us, details
     FROM instances WHERE id = ?1";

/// Every row, as [`SELECT_SERVER`] reads one, in creation order.
const SELECT_ALL_SERVERS: &str = "SELECT id, name, created_at_us, updated_at_us, version,
         project_id, deleted_at_us, details
     FROM instances ORDER BY seq";

const RENAME: &str =
    "UPDATE instances SET name = ?2, updated_at_us = ?3, version = ?4 WHERE id = ?1";

const DELETE_INSTANCE: &str = "DELETE FROM instances WHERE id = ?1";

const UPDATE_SERVER: &str =
    "UPDATE instances SET name = ?2, created_at_us = ?3, updated_at_us = ?4, version = ?5,
         project_id = ?6, deleted_at_us = ?7, details = ?8
     WHERE id = ?1";

const INSERT_IMAGE: &str = "INSERT INTO images (id, owner, visibility, document)
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING";

const DELETE_IMAGE: &str = "DELETE FROM images WHERE id = ?1";

const SELECT_ALL_IMAGES: &str = "SELECT id, owner, visibility, document FROM images ORDER BY seq";

const KEEP_FIRST_TOKEN_KEY: &str = "INSERT INTO token_keys (position, key, created_at_us)
     SELECT 0, ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM token_keys)";

const SELECT_TOKEN_KEYS: &str = "SELECT key FROM token_keys ORDER BY position";

/// Revoked twice, a token is kept until the later expiry.
const REVOKE_TOKEN: &str = "INSERT INTO revoked_tokens (audit_id, expires_at) VALUES (?1, ?2)
     ON CONFLICT (audit_id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)";

const FORGET_REVOCATIONS: &str = "DELETE FROM revoked_tokens WHERE expires_at <= ?1";

const SELECT_REVOCATIONS: &str = "SELECT audit_id, expires_at FROM revoked_tokens";

const SELECT_KEYPAIR_NAMED: &str = "SELECT 1 FROM keypairs WHERE user_id = ?1 AND name = ?2";

const COUNT_KEYPAIRS: &str = "SELECT count(*) FROM keypairs WHERE user_id = ?1";

const INSERT_KEYPAIR: &str =
    "INSERT INTO keypairs (user_id, name, type, public_key, fingerprint, created_at_us)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

const DELETE_KEYPAIR: &str = "DELETE FROM keypairs WHERE user_id = ?1 AND name = ?2";

const SELECT_ALL_KEYPAIRS: &str =
    "SELECT id, user_id, name, type, public_key, fingerprint, created_at_us FROM keypairs";

const SET_QUOTA: &str = "INSERT INTO quotas (project_id, user_id, resource, hard_limit)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (project_id, user_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit";

const DELETE_PROJECT_QUOTAS: &str = "DELETE FROM quotas WHERE project_id = ?1";

const DELETE_USER_QUOTAS: &str = "DELETE FROM quotas WHERE project_id = ?1 AND user_id = ?2";

const SELECT_ALL_QUOTAS: &str = "SELECT project_id, user_id, resource, hard_limit FROM quotas";

const INSERT_BEHAVIOR: &str = "INSERT INTO behaviors (id, document, times, fired)
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING";

const DELETE_BEHAVIOR: &str = "DELETE FROM behaviors WHERE id = ?1";

/// Every row removed, with its `seq` to answer them in the order added.
const DELETE_BEHAVIORS: &str = "DELETE FROM behaviors RETURNING seq, id";

/// A firing, counted only while the behaviour has firings left.
const FIRE_BEHAVIOR: &str = "UPDATE behaviors SET fired = fired + 1
     WHERE id = ?1 AND (times IS NULL OR fired < times)";

const SELECT_ALL_BEHAVIORS: &str = "SELECT id, document, times, fired FROM behaviors ORDER BY seq";

/// Adds `?1` to the offset, or keeps it as `?1` if there is none yet;
/// `?2` and `?3` are [`clock_saturation`]'s.
const ADVANCE_CLOCK: &str = "INSERT INTO control_clock (id, offset_micros) VALUES (1, ?1)
     ON CONFLICT (id) DO UPDATE SET offset_micros = CASE
         WHEN (?1 >= 0 AND control_clock.offset_micros > ?2)
           OR (?1 < 0 AND control_clock.offset_micros < ?2) THEN ?3
         ELSE control_clock.offset_micros + ?1
     END
     RETURNING offset_micros";

const SELECT_CLOCK_OFFSET: &str = "SELECT offset_micros FROM control_clock WHERE id = 1";

/// Instances, servers and their images in a SQLite file, the identity
/// service's token keys and revocations ([`TokenStore`]), and the control
/// API's behaviours and clock ([`ControlStore`]).
///
/// Writes go to one thread that owns the writing connection: it takes every
/// change waiting in its queue (up to 512), applies them in one
/// `BEGIN IMMEDIATE` transaction and commits once, then answers each.
///
/// Reads are answered from memory: the store keeps every committed row
/// there too, loaded at open and updated by the writer after each commit
/// succeeds and before it answers. A read never sees a change that is not
/// committed and synced, and sees every change that has been answered. It
/// runs on the caller's thread and does not wait for the writer. The rows
/// in memory are the file's because this store is its only writer: open
/// one store per file, in one process (a second store on the same file
/// would not see this one's changes, nor this one its).
///
/// A [`ServerChange`] runs on the writer thread, inside that transaction,
/// with the row as it is stored: nothing else writes between its read and
/// its write. It holds up every change queued behind it, so it must be
/// quick and do no I/O. If it panics, nothing is written and the panic
/// resumes in the task that asked for the change; the writer goes on.
///
/// When SQLite fails (disk full, file gone, I/O error) the changes of that
/// batch answer [`StoreError::Unavailable`], the connection is dropped, and
/// the next change opens a new one and reads the rows in memory afresh
/// from the file: the store recovers by itself. Reads go on being answered
/// meanwhile, from what was last committed.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    writer_done: Mutex<Option<oneshot::Receiver<()>>>,
    committed: Arc<Committed>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

enum Op {
    Insert(Instance),
    Rename {
        id: Uuid,
        name: String,
        if_match: IfMatch,
    },
    Delete {
        id: Uuid,
        if_match: IfMatch,
    },
    CreateServers(Vec<Server>),
    UpdateServer {
        id: Uuid,
        if_match: IfMatch,
        change: ServerChange,
    },
    CreateImage(Image),
    DeleteImage(Uuid),
    /// Answers the token keys, first keeping `candidate` as the only one
    /// if there are none.
    TokenKeys {
        candidate: String,
    },
    RevokeToken {
        audit_id: String,
        /// See [`revocation_expiry`].
        expires_at: i64,
    },
    ForgetRevocations {
        /// See [`expired_by`].
        expired_by: i64,
    },
    CreateKeypair {
        keypair: Keypair,
        /// See [`KeypairStore::create_keypair`].
        limit: i64,
    },
    DeleteKeypair {
        user_id: String,
        name: String,
    },
    SetQuota {
        project_id: String,
        user_id: Option<String>,
        limits: Vec<(String, i64)>,
    },
    DeleteQuota {
        project_id: String,
        user_id: Option<String>,
    },
    AddBehavior {
        behavior: Behavior,
        /// See [`behavior_document`]; written by the caller's task, off
        /// the writer thread.
        document: String,
    },
    RemoveBehavior(String),
    RemoveBehaviors,
    FireBehavior(String),
    AdvanceClock(i64),
}

enum Outcome {
    Inserted(Result<(), StoreError>),
    Renamed(Change<Instance>),
    Deleted(Change<()>),
    ServersCreated(Result<(), StoreError>),
    /// Boxed: a server is large, and every outcome is as big as the
    /// largest.
    ServerUpdated(Box<Result<ServerUpdate, StoreError>>),
    /// The [`ServerChange`] panicked; nothing was written, and the panic is
    /// for the caller's task to resume.
    ChangePanicked(Box<dyn Any + Send>),
    ImageCreated(Result<(), StoreError>),
    /// Whether there was an image to delete.
    ImageDeleted(bool),
    TokenKeys(Vec<String>),
    TokenRevoked,
    RevocationsForgotten,
    KeypairCreated(KeypairCreate),
    /// Whether there was a key pair to delete.
    KeypairDeleted(bool),
    QuotaChanged,
    BehaviorAdded(Result<(), StoreError>),
    /// Whether there was a behaviour to remove.
    BehaviorRemoved(bool),
    /// The ids removed, in the order they were added.
    BehaviorsRemoved(Vec<String>),
    /// Whether it fired.
    BehaviorFired(bool),
    /// The new offset.
    ClockAdvanced(i64),
}

struct Job {
    op: Op,
    reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable {
        reason: error.to_string(),
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable {
        reason: "the store is closed".to_owned(),
    }
}

/// A read's answer, ready at once: reads are answered from memory.
fn ready<T: Send + 'static>(answer: Result<T, StoreError>) -> StoreFuture<'static, T> {
    Box::pin(std::future::ready(answer))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, upgrades its
    /// schema, seeds it if it was just created, reads its rows into memory
    /// and starts the writer thread.
    pub async fn open(path: &Path) -> Result<Self, OpenError> {
        Self::open_seeding(path, true).await
    }

    /// As [`SqliteStore::open`], seeding a new database only if `seed`.
    pub async fn open_seeding(path: &Path, seed: bool) -> Result<Self, OpenError> {
        let path = path.to_path_buf();
        let open_path = path.clone();
        let (connection, tables) = tokio::task::spawn_blocking(move || {
            let connection = open_and_migrate(&open_path, seed)?;
            let tables = load(&connection).map_err(open_error(&open_path))?;
            Ok::<_, OpenError>((connection, tables))
        })
        .await
        .map_err(|error| OpenError::Sqlite {
            path: path.clone(),
            reason: error.to_string(),
        })??;
        let committed = Arc::new(Committed::new(tables));
        let (sender, receiver) = mpsc::channel();
        let (done, writer_done) = oneshot::channel();
        let writer_path = path.clone();
        let published = committed.clone();
        std::thread::Builder::new()
            .name("nova-sqlite-writer".to_owned())
            .spawn(move || {
                write_loop(&writer_path, Some(connection), &receiver, &published);
                let _ = done.send(());
            })
            .map_err(|error| OpenError::Sqlite {
                path: path.clone(),
                reason: format!("cannot start the writer thread: {error}"),
            })?;
        Ok(SqliteStore {
            path,
            writer: Mutex::new(Some(sender)),
            writer_done: Mutex::new(Some(writer_done)),
            committed,
        })
    }

    /// How many transactions the writer has committed since the store was
    /// opened (with group commit, fewer than the changes it committed),
    /// counting as one each time it read the rows afresh after a failure.
    pub fn commits(&self) -> u64 {
        self.committed.commits()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn write(&self, op: Op) -> Result<Outcome, StoreError> {
        let sender = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(closed)?;
        let (reply, answer) = oneshot::channel();
        sender.send(Job { op, reply }).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

fn open_error(path: &Path) -> impl Fn(rusqlite::Error) -> OpenError + '_ {
    move |error| OpenError::Sqlite {
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}

fn configure(connection: &Connection) -> rusqlite::Result<()> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.set_prepared_statement_cache_capacity(PREPARED_STATEMENTS);
    // WAL: a commit is one sequential append. FULL: the WAL is synced at
    // every commit, so an answered change survives a power loss, not only
    // a process crash.
    let mode: String = connection.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidQuery);
    }
    connection.execute_batch("PRAGMA synchronous=FULL;")?;
    connection.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)?;
    Ok(())
}

fn open_and_migrate(path: &Path, seed: bool) -> Result<Connection, OpenError> {
    let error = open_error(path);
    let mut connection = Connection::open(path).map_err(&error)?;
    configure(&connection).map_err(&error)?;
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&error)?;
    let found: i64 = transaction
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(&error)?;
    if found > SCHEMA_VERSION {
        return Err(OpenError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for migration in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
        transaction.execute_batch(migration).map_err(&error)?;
    }
    if found == 0 {
        for name in SEED_NAMES.iter().filter(|_| seed) {
            insert(&transaction, &Instance::new(*name)).map_err(&error)?;
        }
        tracing::info!(path = %path.display(), "created a new instance store");
    }
    transaction
        .pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(&error)?;
    transaction.commit().map_err(&error)?;
    Ok(connection)
}

fn reopen(path: &Path) -> rusqlite::Result<Connection> {
    // No CREATE: a file that vanished is an outage, not a new empty store.
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&connection)?;
    Ok(connection)
}

/// Opens the file again after a failure and reads the rows in memory
/// afresh from it: a commit reported as failed may still have reached the
/// file, and what is in memory must be what the file holds.
fn reconnect(path: &Path, committed: &Committed) -> rusqlite::Result<Connection> {
    let connection = reopen(path)?;
    committed.replace(load(&connection)?);
    Ok(connection)
}

/// Every row of the file, as the store's reads answer them. A row that
/// does not read back is kept with the reason, which reading it answers,
/// so that opening never fails on one damaged row and the rest stays
/// readable, as it did when every read was a query.
fn load(connection: &Connection) -> rusqlite::Result<Tables> {
    let mut tables = Tables::default();
    let mut servers = connection.prepare(SELECT_ALL_SERVERS)?;
    for row in servers.query_map([], read_server_row)? {
        tables.load_row(committed_row(row?));
    }
    let mut images = connection.prepare(SELECT_ALL_IMAGES)?;
    let rows = images.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (id, owner, visibility, document) = row?;
        // An id that is no UUID cannot be asked for; a stand-in keeps its
        // row listed (and so reported) where the query would list it.
        let key = Uuid::try_parse(&id).unwrap_or_else(|_| Uuid::new_v4());
        let image = parse_image(&id, &document);
        tables.load_image(ImageRow::new(key, owner, &visibility, image));
    }
    tables.load_token_keys(token_keys(connection)?);
    let mut keypairs = connection.prepare(SELECT_ALL_KEYPAIRS)?;
    for keypair in keypairs.query_map([], read_keypair)? {
        tables.load_keypair(keypair?);
    }
    let mut quotas = connection.prepare(SELECT_ALL_QUOTAS)?;
    let rows = quotas.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, i64>(3)?,
        ))
    })?;
    for row in rows {
        let (project_id, user_id, resource, hard_limit) = row?;
        tables.load_quota(project_id, user_id, resource, hard_limit);
    }
    let mut revocations = connection.prepare(SELECT_REVOCATIONS)?;
    for row in revocations.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))? {
        let (audit_id, expires_at) = row?;
        tables.load_revocation(audit_id, expires_at);
    }
    let mut behaviors = connection.prepare(SELECT_ALL_BEHAVIORS)?;
    let rows = behaviors.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Option<i64>>(2)?,
            row.get::<_, i64>(3)?,
        ))
    })?;
    for row in rows {
        let (id, document, times, fired) = row?;
        let behavior = parse_behavior(&id, &document, times, fired);
        tables.load_behavior(BehaviorRow::new(id, behavior));
    }
    let offset: Option<i64> = connection
        .query_row(SELECT_CLOCK_OFFSET, [], |row| row.get(0))
        .optional()?;
    tables.load_clock_offset(offset.unwrap_or(0));
    Ok(tables)
}

/// A row of `instances` as the tables in memory keep it: the server it
/// reads back as, or what can be read of it and why the rest cannot.
fn committed_row((row, project_id, deleted_at, details): ServerRow) -> Row {
    let live = deleted_at.is_none();
    // An id that is no UUID cannot be asked for; a stand-in keeps its row
    // listed (and so reported) where the query would list it.
    let key = Uuid::try_parse(&row.0).unwrap_or_else(|_| Uuid::new_v4());
    let instance = match to_instance(row) {
        Ok(instance) => instance,
        Err(error) => {
            let columns = Server {
                project_id,
                ..Server::from_instance(Instance {
                    id: key,
                    ..Instance::new(String::new())
                })
            };
            let why = Unreadable {
                error,
                instance_reads: false,
                live,
            };
            return Row::unreadable(columns, why);
        }
    };
    match server_columns(instance.id, deleted_at, details.as_deref()) {
        Ok((deleted_at, details)) => Row::readable(Server {
            project_id,
            deleted_at,
            details,
            ..Server::from_instance(instance)
        }),
        Err(error) => {
            let columns = Server {
                project_id,
                ..Server::from_instance(instance)
            };
            let why = Unreadable {
                error,
                instance_reads: true,
                live,
            };
            Row::unreadable(columns, why)
        }
    }
}

/// The writer thread: batch, apply, commit once, publish, answer; until
/// every sender is gone, then checkpoint and close.
fn write_loop(
    path: &Path,
    mut connection: Option<Connection>,
    jobs: &mpsc::Receiver<Job>,
    committed: &Committed,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // A server change is run once, so the ops are handed over whole.
        let (ops, replies): (Vec<Op>, Vec<_>) =
            batch.into_iter().map(|job| (job.op, job.reply)).unzip();
        let result = match connection.take() {
            Some(open) => Ok(open),
            None => reconnect(path, committed),
        }
        .and_then(|mut open| match commit(&mut open, ops) {
            Ok(committed) => {
                connection = Some(open);
                Ok(committed)
            }
            // A connection that failed is dropped; the next batch opens a
            // fresh one, so the store recovers when the disk does.
            Err(error) => Err(error),
        });
        match result {
            Ok((outcomes, written)) => {
                // Committed and synced: now, and only now, readers may see
                // it; and before any change in it is answered.
                committed.publish(written);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(error) => {
                tracing::error!(path = %path.display(), %error, changes = replies.len(), "the SQLite store could not commit");
                for reply in replies {
                    let _ = reply.send(Err(unavailable(&error)));
                }
            }
        }
    }
    if let Some(open) = connection {
        // Fold the WAL back into the database so the file stands alone.
        if let Err(error) = open.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
            tracing::warn!(%error, "the final checkpoint failed; the WAL is kept and replayed at the next open");
        }
        if let Err((_, error)) = open.close() {
            tracing::warn!(%error, "closing the SQLite store failed");
        }
    }
}

/// Applies `ops` in one transaction and commits it: each op's outcome, and
/// what the batch wrote, in order, for the rows in memory.
fn commit(
    connection: &mut Connection,
    ops: Vec<Op>,
) -> rusqlite::Result<(Vec<Outcome>, Vec<Written>)> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(ops.len());
    let mut written = Vec::with_capacity(ops.len());
    for op in ops {
        outcomes.push(apply(&transaction, op, &mut written)?);
    }
    transaction.commit()?;
    Ok((outcomes, written))
}

/// Applies one op inside the batch's transaction and adds what it wrote
/// to `written`.
fn apply(connection: &Connection, op: Op, written: &mut Vec<Written>) -> rusqlite::Result<Outcome> {
    Ok(match op {
        Op::Insert(instance) => Outcome::Inserted(if insert(connection, &instance)? {
            written.push(Written::Created(Server::from_instance(instance)));
            Ok(())
        } else {
            Err(StoreError::DuplicateId { id: instance.id })
        }),
        Op::Rename { id, name, if_match } => Outcome::Renamed(match get(connection, id)? {
            None => Change::NotFound,
            Some(Err(corrupt)) => return Err(corrupt_error(corrupt)),
            Some(Ok(current)) if !if_match.matches(current.version) => Change::VersionMismatch {
                current: current.version,
            },
            Some(Ok(current)) => {
                let renamed = current.renamed(name, Timestamp::now());
                connection.prepare_cached(RENAME)?.execute(params![
                    id.to_string(),
                    renamed.name,
                    renamed.updated_at.unix_micros(),
                    version_to_sql(renamed.version),
                ])?;
                written.push(Written::Renamed(renamed.clone()));
                Change::Applied(renamed)
            }
        }),
        Op::Delete { id, if_match } => Outcome::Deleted(match current_version(connection, id)? {
            None => Change::NotFound,
            Some(current) if !if_match.matches(current) => Change::VersionMismatch { current },
            Some(_) => {
                connection
                    .prepare_cached(DELETE_INSTANCE)?
                    .execute([id.to_string()])?;
                written.push(Written::Deleted(id));
                Change::Applied(())
            }
        }),
        Op::CreateServers(servers) => {
            let created = create_servers(connection, &servers)?;
            if created.is_ok() {
                written.extend(servers.into_iter().map(Written::Created));
            }
            Outcome::ServersCreated(created)
        }
        Op::UpdateServer {
            id,
            if_match,
            change,
        } => update_server(connection, id, &if_match, change, written)?,
        Op::CreateImage(image) => {
            let created = create_image(connection, &image)?;
            if created.is_ok() {
                written.push(Written::ImageCreated(image));
            }
            Outcome::ImageCreated(created)
        }
        Op::DeleteImage(id) => {
            let deleted = connection
                .prepare_cached(DELETE_IMAGE)?
                .execute([id.to_string()])?
                == 1;
            if deleted {
                written.push(Written::ImageDeleted(id));
            }
            Outcome::ImageDeleted(deleted)
        }
        Op::TokenKeys { candidate } => {
            let keys = keep_token_key(connection, &candidate)?;
            written.push(Written::TokenKeys(keys.clone()));
            Outcome::TokenKeys(keys)
        }
        Op::RevokeToken {
            audit_id,
            expires_at,
        } => {
            connection
                .prepare_cached(REVOKE_TOKEN)?
                .execute(params![audit_id, expires_at])?;
            written.push(Written::Revoked {
                audit_id,
                expires_at,
            });
            Outcome::TokenRevoked
        }
        Op::CreateKeypair { keypair, limit } => {
            Outcome::KeypairCreated(create_keypair(connection, keypair, limit, written)?)
        }
        Op::DeleteKeypair { user_id, name } => {
            let deleted = connection
                .prepare_cached(DELETE_KEYPAIR)?
                .execute(params![user_id, name])?
                == 1;
            if deleted {
                written.push(Written::KeypairDeleted { user_id, name });
            }
            Outcome::KeypairDeleted(deleted)
        }
        Op::SetQuota {
            project_id,
            user_id,
            limits,
        } => {
            let user = user_id.clone().unwrap_or_default();
            let mut statement = connection.prepare_cached(SET_QUOTA)?;
            for (resource, hard_limit) in &limits {
                statement.execute(params![project_id, user, resource, hard_limit])?;
            }
            written.push(Written::QuotaSet {
                project_id,
                user_id,
                limits,
            });
            Outcome::QuotaChanged
        }
        Op::DeleteQuota {
            project_id,
            user_id,
        } => {
            match &user_id {
                None => connection
                    .prepare_cached(DELETE_PROJECT_QUOTAS)?
                    .execute([&project_id])?,
                Some(user) => connection
                    .prepare_cached(DELETE_USER_QUOTAS)?
                    .execute([&project_id, user])?,
            };
            written.push(Written::QuotaDeleted {
                project_id,
                user_id,
            });
            Outcome::QuotaChanged
        }
        Op::ForgetRevocations { expired_by } => {
            connection
                .prepare_cached(FORGET_REVOCATIONS)?
                .execute([expired_by])?;
            written.push(Written::RevocationsForgotten { expired_by });
            Outcome::RevocationsForgotten
        }
        Op::AddBehavior { behavior, document } => {
            let inserted = connection
                .prepare_cached(INSERT_BEHAVIOR)?
                .execute(params![
                    behavior.id,
                    document,
                    times_to_sql(behavior.times),
                    i64::try_from(behavior.fired).unwrap_or(i64::MAX),
                ])?
                == 1;
            Outcome::BehaviorAdded(if inserted {
                written.push(Written::BehaviorAdded(behavior));
                Ok(())
            } else {
                Err(duplicate_behavior(&behavior.id))
            })
        }
        Op::RemoveBehavior(id) => {
            let removed = connection.prepare_cached(DELETE_BEHAVIOR)?.execute([&id])? == 1;
            if removed {
                written.push(Written::BehaviorRemoved(id));
            }
            Outcome::BehaviorRemoved(removed)
        }
        Op::RemoveBehaviors => {
            let mut statement = connection.prepare_cached(DELETE_BEHAVIORS)?;
            let mut removed = statement
                .query_map([], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            // RETURNING promises no order.
            removed.sort_unstable_by_key(|(seq, _)| *seq);
            written.push(Written::BehaviorsRemoved);
            Outcome::BehaviorsRemoved(removed.into_iter().map(|(_, id)| id).collect())
        }
        Op::FireBehavior(id) => {
            let fired = connection.prepare_cached(FIRE_BEHAVIOR)?.execute([&id])? == 1;
            if fired {
                written.push(Written::BehaviorFired(id));
            }
            Outcome::BehaviorFired(fired)
        }
        Op::AdvanceClock(micros) => {
            let (limit, bound) = clock_saturation(micros);
            let offset: i64 = connection
                .prepare_cached(ADVANCE_CLOCK)?
                .query_row(params![micros, limit, bound], |row| row.get(0))?;
            written.push(Written::ClockSet(offset));
            Outcome::ClockAdvanced(offset)
        }
    })
}

/// Stores `keypair` under a new id unless its user has one of its name or
/// `limit` already ([`KeypairStore::create_keypair`]). It reads the rows
/// in the batch's transaction, earlier changes of the batch included.
fn create_keypair(
    connection: &Connection,
    mut keypair: Keypair,
    limit: i64,
    written: &mut Vec<Written>,
) -> rusqlite::Result<KeypairCreate> {
    let exists = connection
        .prepare_cached(SELECT_KEYPAIR_NAMED)?
        .exists(params![keypair.user_id, keypair.name])?;
    if exists {
        return Ok(KeypairCreate::Exists);
    }
    if limit >= 0 {
        let held: i64 = connection
            .prepare_cached(COUNT_KEYPAIRS)?
            .query_row([&keypair.user_id], |row| row.get(0))?;
        if held >= limit {
            return Ok(KeypairCreate::OverQuota);
        }
    }
    connection.prepare_cached(INSERT_KEYPAIR)?.execute(params![
        keypair.user_id,
        keypair.name,
        keypair.kind.as_str(),
        keypair.public_key,
        keypair.fingerprint,
        keypair.created_at.unix_micros(),
    ])?;
    keypair.id = connection.last_insert_rowid();
    written.push(Written::KeypairCreated(keypair.clone()));
    Ok(KeypairCreate::Created(keypair))
}

/// A row of `keypairs`, or why it does not read back.
fn read_keypair(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Keypair, StoreError>> {
    let kind: String = row.get(3)?;
    let created: i64 = row.get(6)?;
    let id: i64 = row.get(0)?;
    let (Some(kind), Some(created_at)) = (
        KeypairType::parse(&kind),
        Timestamp::from_unix_micros(created),
    ) else {
        return Ok(Err(StoreError::Corrupt {
            reason: format!("key pair {id}: bad type or creation time"),
        }));
    };
    Ok(Ok(Keypair {
        id,
        user_id: row.get(1)?,
        name: row.get(2)?,
        kind,
        public_key: row.get(4)?,
        fingerprint: row.get(5)?,
        created_at,
    }))
}

/// Keeps `candidate` as the first token key if there is none yet, and
/// answers the keys. It runs in the writer's `BEGIN IMMEDIATE`
/// transaction, which holds the file's write lock from the check to the
/// commit, so another process on the file cannot keep a key of its own
/// in between.
fn keep_token_key(connection: &Connection, candidate: &str) -> rusqlite::Result<Vec<String>> {
    connection
        .prepare_cached(KEEP_FIRST_TOKEN_KEY)?
        .execute(params![candidate, Timestamp::now().unix_micros()])?;
    token_keys(connection)
}

/// The token keys, the one sealing new tokens first.
fn token_keys(connection: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement = connection.prepare_cached(SELECT_TOKEN_KEYS)?;
    let keys = statement.query_map([], |row| row.get(0))?;
    keys.collect()
}

/// Inserts `image`; [`StoreError::DuplicateId`] if its id is taken.
fn create_image(
    connection: &Connection,
    image: &Image,
) -> rusqlite::Result<Result<(), StoreError>> {
    let document = match image_document(image) {
        Ok(document) => document,
        Err(error) => return Ok(Err(error)),
    };
    let inserted = connection.prepare_cached(INSERT_IMAGE)?.execute(params![
        image.id.to_string(),
        image.owner,
        image.visibility.as_str(),
        document,
    ])?;
    Ok(if inserted == 1 {
        Ok(())
    } else {
        Err(StoreError::DuplicateId { id: image.id })
    })
}

/// Inserts every server or, if one's id is taken, none.
fn create_servers(
    connection: &Connection,
    servers: &[Server],
) -> rusqlite::Result<Result<(), StoreError>> {
    let mut documents = Vec::with_capacity(servers.len());
    for server in servers {
        match details_document(server.id, server.details.as_deref()) {
            Ok(document) => documents.push(document),
            Err(error) => return Ok(Err(error)),
        }
    }
    // One server is one insert, which either happens or does not: only
    // several need a savepoint, to undo this op's earlier inserts without
    // touching the rest of the batch.
    let several = servers.len() > 1;
    if several {
        connection
            .prepare_cached("SAVEPOINT create_servers")?
            .execute([])?;
    }
    for (server, details) in servers.iter().zip(&documents) {
        if !insert_server(connection, server, details.as_deref())? {
            if several {
                connection
                    .prepare_cached("ROLLBACK TO create_servers")?
                    .execute([])?;
                connection
                    .prepare_cached("RELEASE create_servers")?
                    .execute([])?;
            }
            return Ok(Err(StoreError::DuplicateId { id: server.id }));
        }
    }
    if several {
        connection
            .prepare_cached("RELEASE create_servers")?
            .execute([])?;
    }
    Ok(Ok(()))
}

/// Inserts `server`; `false` if its id is taken.
fn insert_server(
    connection: &Connection,
    server: &Server,
    details: Option<&str>,
) -> rusqlite::Result<bool> {
    let inserted = connection.prepare_cached(INSERT_SERVER)?.execute(params![
        server.id.to_string(),
        server.name,
        server.created_at.unix_micros(),
        server.updated_at.unix_micros(),
        version_to_sql(server.version),
        server.project_id,
        server.deleted_at.map(|t| t.unix_micros()),
        details,
    ])?;
    Ok(inserted == 1)
}

/// Reads the server, applies `change` to a copy and writes the copy back,
/// all inside the batch's transaction. An unreadable row or a refusal
/// answers this op alone; the rest of the batch goes on.
fn update_server(
    connection: &Connection,
    id: Uuid,
    if_match: &IfMatch,
    change: ServerChange,
    written: &mut Vec<Written>,
) -> rusqlite::Result<Outcome> {
    let answer = |update| Ok(Outcome::ServerUpdated(Box::new(Ok(update))));
    let current = match server(connection, id)? {
        None => return answer(ServerUpdate::NotFound),
        Some(Err(corrupt)) => return Ok(Outcome::ServerUpdated(Box::new(Err(corrupt)))),
        Some(Ok(current)) => current,
    };
    if !if_match.matches(current.version) {
        return answer(ServerUpdate::VersionMismatch {
            current: current.version,
        });
    }
    let mut changed = current.clone();
    // The copy is thrown away if the change panics, and the connection is
    // out of its reach: nothing it could leave half-done is kept.
    match panic::catch_unwind(AssertUnwindSafe(|| change(&mut changed))) {
        Err(panic) => return Ok(Outcome::ChangePanicked(panic)),
        Ok(Err(fault)) => return answer(ServerUpdate::Refused(fault)),
        Ok(Ok(())) => {}
    }
    changed.id = id;
    changed.version = current.version + 1;
    let details = match details_document(id, changed.details.as_deref()) {
        Ok(details) => details,
        Err(error) => return Ok(Outcome::ServerUpdated(Box::new(Err(error)))),
    };
    connection.prepare_cached(UPDATE_SERVER)?.execute(params![
        id.to_string(),
        changed.name,
        changed.created_at.unix_micros(),
        changed.updated_at.unix_micros(),
        version_to_sql(changed.version),
        changed.project_id,
        changed.deleted_at.map(|t| t.unix_micros()),
        details,
    ])?;
    written.push(Written::ServerChanged(changed.clone()));
    answer(ServerUpdate::Applied(changed))
}

// An unreadable row found while writing aborts the batch; it is reported as
// the store's failure, with the reason.
fn corrupt_error(error: StoreError) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(error))
}

fn version_to_sql(version: u64) -> i64 {
    // Versions start at 1 and grow by one per change: they never get near
    // i64::MAX.
    i64::try_from(version).unwrap_or(i64::MAX)
}

/// Inserts `instance`; `false` if its id is taken.
fn insert(connection: &Connection, instance: &Instance) -> rusqlite::Result<bool> {
    let inserted = connection
        .prepare_cached(INSERT_INSTANCE)?
        .execute(params![
            instance.id.to_string(),
            instance.name,
            instance.created_at.unix_micros(),
            instance.updated_at.unix_micros(),
            version_to_sql(instance.version),
        ])?;
    Ok(inserted == 1)
}

fn current_version(connection: &Connection, id: Uuid) -> rusqlite::Result<Option<u64>> {
    let version: Option<i64> = connection
        .prepare_cached(SELECT_LIVE_VERSION)?
        .query_row([id.to_string()], |row| row.get(0))
        .optional()?;
    Ok(version.map(|v| u64::try_from(v).unwrap_or(0)))
}

type InstanceRow = (String, String, i64, i64, i64);

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<InstanceRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn to_instance((id, name, created, updated, version): InstanceRow) -> Result<Instance, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt {
        reason: format!("instance {id}: bad {what}"),
    };
    Ok(Instance {
        id: Uuid::try_parse(&id).map_err(|_| corrupt("id"))?,
        created_at: Timestamp::from_unix_micros(created).ok_or_else(|| corrupt("created_at"))?,
        updated_at: Timestamp::from_unix_micros(updated).ok_or_else(|| corrupt("updated_at"))?,
        version: u64::try_from(version).map_err(|_| corrupt("version"))?,
        name,
    })
}

/// The live instance with this id, read inside the writer's transaction.
fn get(
    connection: &Connection,
    id: Uuid,
) -> rusqlite::Result<Option<Result<Instance, StoreError>>> {
    let row = connection
        .prepare_cached(SELECT_LIVE_INSTANCE)?
        .query_row([id.to_string()], read_row)
        .optional()?;
    Ok(row.map(to_instance))
}

/// A row as the compute API reads it: the seed's columns, then
/// `project_id`, `deleted_at_us` and `details`.
type ServerRow = (InstanceRow, String, Option<i64>, Option<String>);

fn read_server_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ServerRow> {
    Ok((read_row(row)?, row.get(5)?, row.get(6)?, row.get(7)?))
}

/// The compute API's columns of the row of `id` beside the seed's: its
/// deletion time and details.
fn server_columns(
    id: Uuid,
    deleted_at: Option<i64>,
    details: Option<&str>,
) -> Result<(Option<Timestamp>, Option<std::sync::Arc<ServerDetails>>), StoreError> {
    let deleted_at = deleted_at
        .map(|micros| {
            Timestamp::from_unix_micros(micros).ok_or_else(|| StoreError::Corrupt {
                reason: format!("instance {id}: bad deleted_at"),
            })
        })
        .transpose()?;
    Ok((deleted_at, parse_details(id, details)?))
}

fn to_server((row, project_id, deleted_at, details): ServerRow) -> Result<Server, StoreError> {
    let instance = to_instance(row)?;
    let (deleted_at, details) = server_columns(instance.id, deleted_at, details.as_deref())?;
    Ok(Server {
        project_id,
        deleted_at,
        details,
        ..Server::from_instance(instance)
    })
}

/// The server with this id, deleted or not, read inside the writer's
/// transaction.
fn server(
    connection: &Connection,
    id: Uuid,
) -> rusqlite::Result<Option<Result<Server, StoreError>>> {
    let row = connection
        .prepare_cached(SELECT_SERVER)?
        .query_row([id.to_string()], read_server_row)
        .optional()?;
    Ok(row.map(to_server))
}

impl InstanceStore for SqliteStore {
    fn list(&self) -> StoreFuture<'_, Vec<Instance>> {
        ready(self.committed.read().instances())
    }

    fn insert(&self, instance: Instance) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            match self.write(Op::Insert(instance)).await? {
                Outcome::Inserted(result) => result,
                _ => Err(unavailable("the writer answered another request")),
            }
        })
    }

    fn get(&self, id: Uuid) -> StoreFuture<'_, Option<Instance>> {
        ready(self.committed.read().instance(id))
    }

    fn rename(
        &self,
        id: Uuid,
        name: String,
        if_match: IfMatch,
    ) -> StoreFuture<'_, Change<Instance>> {
        Box::pin(async move {
            match self.write(Op::Rename { id, name, if_match }).await? {
                Outcome::Renamed(change) => Ok(change),
                _ => Err(unavailable("the writer answered another request")),
            }
        })
    }

    fn delete(&self, id: Uuid, if_match: IfMatch) -> StoreFuture<'_, Change<()>> {
        Box::pin(async move {
            match self.write(Op::Delete { id, if_match }).await? {
                Outcome::Deleted(change) => Ok(change),
                _ => Err(unavailable("the writer answered another request")),
            }
        })
    }

    /// The commits of this process's writer: one SQLite file is for one
    /// store, and every change (the compute API's too) goes through its
    /// writer, so they are all the changes there are. The writer counts a
    /// commit after the rows in memory show it.
    fn generation(&self) -> Option<u64> {
        Some(self.committed.commits())
    }

    fn close(&self) -> StoreFuture<'_, ()> {
        // Dropping the only sender ends the writer's loop once it has
        // committed everything already queued.
        drop(
            self.writer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let done = self
            .writer_done
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        Box::pin(async move {
            if let Some(done) = done {
                done.await.map_err(|_| closed())?;
            }
            Ok(())
        })
    }
}

impl ServerStore for SqliteStore {
    fn create_servers(&self, servers: Vec<Server>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            match self.write(Op::CreateServers(servers)).await? {
                Outcome::ServersCreated(result) => result,
                _ => Err(unavailable("the writer answered another request")),
            }
        })
    }

    fn server(&self, id: Uuid) -> StoreFuture<'_, Option<Server>> {
        ready(self.committed.read().server(id))
    }

    fn servers(&self, scope: ServerScope) -> StoreFuture<'_, Vec<Server>> {
        ready(self.committed.read().servers(&scope))
    }

    fn visit_servers<'a>(
        &'a self,
        scope: ServerScope,
        visit: &'a mut (dyn FnMut(&Server) + Send),
    ) -> StoreFuture<'a, ()> {
        ready(self.committed.read().visit_servers(&scope, visit))
    }

    fn update_server(
        &self,
        id: Uuid,
        if_match: IfMatch,
        change: ServerChange,
    ) -> StoreFuture<'_, ServerUpdate> {
        Box::pin(async move {
            let op = Op::UpdateServer {
                id,
                if_match,
                change,
            };
            match self.write(op).await? {
                Outcome::ServerUpdated(result) => *result,
                Outcome::ChangePanicked(panic) => panic::resume_unwind(panic),
                _ => Err(unavailable("the writer answered another request")),
            }
        })
    }
}

impl ImageStore for SqliteStore {
    fn create_image(&self, image: Image) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            match self.write(Op::CreateImage(image)).await? {
                Outcome::ImageCreated(result) => result,
                _ => Err(unavailable("the writer answered another request")),
            }
        })
    }

    fn image(&self, id: Uuid) -> StoreFuture<'_, Option<Image>> {
        ready(self.committed.read().image(id))
    }

    fn images(&self, scope: ImageScope) -> StoreFuture<'_, Vec<Image>> {
        ready(self.committed.read().images(&scope))
    }

    fn delete_image(&self, id: Uuid) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            match self.write(Op::DeleteImage(id)).await? {
                Outcome::ImageDeleted(deleted) => Ok(deleted),
                _ => Err(unavailable("the writer answered another request")),
            }
        })
    }
}

fn writer_answered_another() -> StoreError {
    unavailable("the writer answered another request")
}

impl KeypairStore for SqliteStore {
    fn create_keypair(&self, keypair: Keypair, limit: i64) -> StoreFuture<'_, KeypairCreate> {
        Box::pin(async move {
            match self.write(Op::CreateKeypair { keypair, limit }).await? {
                Outcome::KeypairCreated(created) => Ok(created),
                _ => Err(writer_answered_another()),
            }
        })
    }

    fn keypair(&self, user_id: String, name: String) -> StoreFuture<'_, Option<Keypair>> {
        ready(Ok(self.committed.read().keypair(&user_id, &name)))
    }

    fn keypairs(&self, user_id: String) -> StoreFuture<'_, Vec<Keypair>> {
        ready(Ok(self.committed.read().keypairs(&user_id)))
    }

    fn delete_keypair(&self, user_id: String, name: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            match self.write(Op::DeleteKeypair { user_id, name }).await? {
                Outcome::KeypairDeleted(deleted) => Ok(deleted),
                _ => Err(writer_answered_another()),
            }
        })
    }
}

impl QuotaStore for SqliteStore {
    fn quota_limits(&self, project_id: String) -> StoreFuture<'_, Vec<QuotaLimit>> {
        ready(Ok(self.committed.read().quota_limits(&project_id)))
    }

    fn set_quota_limits(
        &self,
        project_id: String,
        user_id: Option<String>,
        limits: Vec<(String, i64)>,
    ) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let op = Op::SetQuota {
                project_id,
                user_id,
                limits,
            };
            match self.write(op).await? {
                Outcome::QuotaChanged => Ok(()),
                _ => Err(writer_answered_another()),
            }
        })
    }

    fn delete_quota_limits(
        &self,
        project_id: String,
        user_id: Option<String>,
    ) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            match self
                .write(Op::DeleteQuota {
                    project_id,
                    user_id,
                })
                .await?
            {
                Outcome::QuotaChanged => Ok(()),
                _ => Err(writer_answered_another()),
            }
        })
    }
}

/// Reads are answered from memory, as the key pairs' are: the control
/// API's filter asks for the behaviours on every compute request.
/// Changes go through the writer, so a firing is counted once it is
/// committed, and two requests racing for a behaviour's last firing are
/// ordered by the writer: one fires.
impl ControlStore for SqliteStore {
    fn add_behavior(&self, behavior: Behavior) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let document = behavior_document(&behavior)?;
            match self.write(Op::AddBehavior { behavior, document }).await? {
                Outcome::BehaviorAdded(result) => result,
                _ => Err(writer_answered_another()),
            }
        })
    }

    fn behaviors(&self) -> StoreFuture<'_, Vec<Behavior>> {
        ready(self.committed.read().behaviors())
    }

    fn remove_behavior(&self, id: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            match self.write(Op::RemoveBehavior(id)).await? {
                Outcome::BehaviorRemoved(removed) => Ok(removed),
                _ => Err(writer_answered_another()),
            }
        })
    }

    fn remove_behaviors(&self) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async move {
            match self.write(Op::RemoveBehaviors).await? {
                Outcome::BehaviorsRemoved(ids) => Ok(ids),
                _ => Err(writer_answered_another()),
            }
        })
    }

    fn fire_behavior(&self, id: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            match self.write(Op::FireBehavior(id)).await? {
                Outcome::BehaviorFired(fired) => Ok(fired),
                _ => Err(writer_answered_another()),
            }
        })
    }

    fn clock_offset(&self) -> StoreFuture<'_, i64> {
        ready(Ok(self.committed.read().clock_offset()))
    }

    fn advance_clock(&self, micros: i64) -> StoreFuture<'_, i64> {
        Box::pin(async move {
            match self.write(Op::AdvanceClock(micros)).await? {
                Outcome::ClockAdvanced(offset) => Ok(offset),
                _ => Err(writer_answered_another()),
            }
        })
    }
}

/// The store's failure as the identity service logs it.
fn token_store_error(error: StoreError) -> TokenStoreError {
    TokenStoreError(error.to_string())
}

fn writer_mixed_up() -> TokenStoreError {
    token_store_error(unavailable("the writer answered another request"))
}

/// Reads are answered from memory and changes go through the writer, as
/// the servers' are; a revocation shares its commit with whatever changes
/// are queued beside it. The revocation check, which the token filter
/// makes on every request with a Keystone token, is one hash lookup.
impl TokenStore for SqliteStore {
    fn token_keys(&self) -> TokenStoreFuture<'_, Vec<String>> {
        let kept = self.committed.read().token_keys();
        Box::pin(async move {
            if !kept.is_empty() {
                return Ok(kept);
            }
            let op = Op::TokenKeys {
                candidate: generate_token_key(),
            };
            match self.write(op).await.map_err(token_store_error)? {
                Outcome::TokenKeys(keys) if !keys.is_empty() => Ok(keys),
                Outcome::TokenKeys(_) => Err(TokenStoreError(
                    "no token key was kept in the SQLite store".to_owned(),
                )),
                _ => Err(writer_mixed_up()),
            }
        })
    }

    fn revoke_token<'a>(
        &'a self,
        audit_id: &'a str,
        expires_at: jiff::Timestamp,
    ) -> TokenStoreFuture<'a, ()> {
        Box::pin(async move {
            let op = Op::RevokeToken {
                audit_id: audit_id.to_owned(),
                expires_at: revocation_expiry(expires_at),
            };
            match self.write(op).await.map_err(token_store_error)? {
                Outcome::TokenRevoked => Ok(()),
                _ => Err(writer_mixed_up()),
            }
        })
    }

    fn is_token_revoked<'a>(&'a self, audit_id: &'a str) -> TokenStoreFuture<'a, bool> {
        let revoked = self.committed.read().is_revoked(audit_id);
        Box::pin(std::future::ready(Ok(revoked)))
    }

    fn forget_expired_revocations(&self, now: jiff::Timestamp) -> TokenStoreFuture<'_, ()> {
        Box::pin(async move {
            let op = Op::ForgetRevocations {
                expired_by: expired_by(now),
            };
            match self.write(op).await.map_err(token_store_error)? {
                Outcome::RevocationsForgotten => Ok(()),
                _ => Err(writer_mixed_up()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_changes_share_commits_and_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("nova.db"))
                .await
                .unwrap(),
        );
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { store.insert(Instance::new(format!("i-{i}"))).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let commits = store.commits();
        assert_eq!(store.list().await.unwrap().len(), 203);
        assert!(
            commits < 200,
            "200 concurrent inserts took {commits} commits"
        );
        store.close().await.unwrap();
        let closed = store.insert(Instance::new("late")).await;
        assert!(
            matches!(closed, Err(StoreError::Unavailable { .. })),
            "{closed:?}"
        );
        eprintln!("group commit: 200 concurrent inserts in {commits} commits");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_images_share_commits_with_the_servers_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("nova.db"))
                .await
                .unwrap(),
        );
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let image = Image {
                        id: Uuid::new_v4(),
                        owner: format!("p-{}", i % 3),
                        ..Image::named(&format!("snap-{i}"))
                    };
                    store.create_image(image).await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let commits = store.commits();
        assert!(
            commits < 100,
            "100 concurrent images took {commits} commits"
        );
        let all = store.images(ImageScope::default()).await.unwrap();
        assert_eq!(all.len(), 100);
        store.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_vanished_file_is_unavailable_not_silently_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nova.db");
        let store = SqliteStore::open(&path).await.unwrap();
        store.close().await.unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let (sender, receiver) = mpsc::channel();
        let (reply, answer) = oneshot::channel();
        sender
            .send(Job {
                op: Op::Insert(Instance::new("x")),
                reply,
            })
            .unwrap();
        drop(sender);
        write_loop(&path, None, &receiver, &Committed::default());
        let result = answer.await.unwrap();
        assert!(matches!(result, Err(StoreError::Unavailable { .. })));
        assert!(!path.exists());
    }

    // A reader must never see a change that was not committed: when a
    // batch fails, nothing of it reaches the rows in memory.
    #[tokio::test]
    async fn a_batch_that_fails_to_commit_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nova.db");
        let connection = open_and_migrate(&path, false).unwrap();
        // A row whose timestamps do not read makes a rename of it fail
        // the whole batch.
        let damaged = Instance::new("damaged");
        insert(&connection, &damaged).unwrap();
        connection
            .execute(
                "UPDATE instances SET created_at_us = ?2 WHERE id = ?1",
                params![damaged.id.to_string(), i64::MAX],
            )
            .unwrap();
        let committed = Committed::new(load(&connection).unwrap());
        let fresh = Instance::new("fresh");
        let behavior = nova_control::NewBehavior::from_json(
            br#"{"event": "api", "behavior": {"delay": {"ms": 1}}}"#,
        )
        .unwrap()
        .validate()
        .unwrap();
        let document = behavior_document(&behavior).unwrap();
        let (sender, receiver) = mpsc::channel();
        let mut answers = Vec::new();
        for op in [
            Op::Insert(fresh.clone()),
            Op::AddBehavior { behavior, document },
            Op::AdvanceClock(1_000),
            Op::Rename {
                id: damaged.id,
                name: "renamed".to_owned(),
                if_match: IfMatch::Any,
            },
        ] {
            let (job, answer) = job(op);
            sender.send(job).unwrap();
            answers.push(answer);
        }
        drop(sender);
        write_loop(&path, Some(connection), &receiver, &committed);
        for answer in answers {
            let answered = answer.await.unwrap();
            assert!(
                matches!(answered, Err(StoreError::Unavailable { .. })),
                "the batch failed"
            );
        }
        assert_eq!(committed.commits(), 0);
        assert_eq!(committed.read().instance(fresh.id), Ok(None));
        assert_eq!(committed.read().behaviors(), Ok(Vec::new()));
        assert_eq!(committed.read().clock_offset(), 0);
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(store.get(fresh.id).await.unwrap(), None, "not in the file");
        store.close().await.unwrap();
    }

    // After a failure the writer opens the file again and reads the rows
    // in memory afresh, so they are the file's whatever the failed commit
    // left there.
    #[tokio::test]
    async fn a_writer_that_reconnects_reads_the_rows_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nova.db");
        drop(open_and_migrate(&path, true).unwrap());
        // Stands in for rows in memory that no longer match the file.
        let committed = Committed::default();
        let late = Instance::new("late");
        let (sender, receiver) = mpsc::channel();
        let (job, answer) = job(Op::Insert(late.clone()));
        sender.send(job).unwrap();
        drop(sender);
        write_loop(&path, None, &receiver, &committed);
        assert!(matches!(
            answer.await.unwrap(),
            Ok(Outcome::Inserted(Ok(())))
        ));
        assert_eq!(committed.commits(), 2, "a reload and a commit");
        let names: Vec<String> = committed
            .read()
            .instances()
            .unwrap()
            .into_iter()
            .map(|instance| instance.name)
            .collect();
        assert_eq!(names, ["inst-0", "inst-1", "inst-2", "late"]);
    }

    fn job(op: Op) -> (Job, oneshot::Receiver<Result<Outcome, StoreError>>) {
        let (reply, answer) = oneshot::channel();
        (Job { op, reply }, answer)
    }

    fn server_named(name: &str) -> Server {
        Server {
            project_id: "p".to_owned(),
            details: Some(Default::default()),
            ..Server::from_instance(Instance::new(name))
        }
    }

    // The writer applies a batch in one transaction: a create that fails
    // must undo only its own inserts, and a change must see what the ops
    // before it in the batch wrote.
    #[tokio::test]
    async fn one_batch_keeps_each_ops_outcome_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nova.db");
        let connection = open_and_migrate(&path, false).unwrap();
        let first = Instance::new("first");
        let (b, c) = (server_named("b"), server_named("c"));
        let clash = Server::from_instance(Instance {
            name: "clash".to_owned(),
            ..first.clone()
        });
        let (sender, receiver) = mpsc::channel();
        let mut answers = Vec::new();
        for op in [
            Op::Insert(first.clone()),
            Op::CreateServers(vec![b.clone(), clash]),
            Op::UpdateServer {
                id: first.id,
                if_match: IfMatch::Any,
                change: Box::new(|s| {
                    s.name = "refused".to_owned();
                    Err(nova_router::Fault::bad_request("no"))
                }),
            },
            Op::UpdateServer {
                id: first.id,
                if_match: IfMatch::Versions(vec![1]),
                change: Box::new(|s| {
                    s.project_id = "p".to_owned();
                    Ok(())
                }),
            },
            Op::CreateServers(vec![c.clone()]),
        ] {
            let (job, answer) = job(op);
            sender.send(job).unwrap();
            answers.push(answer);
        }
        drop(sender);
        let committed = Committed::default();
        write_loop(&path, Some(connection), &receiver, &committed);
        assert_eq!(committed.commits(), 1, "one batch");
        let mut outcomes = Vec::new();
        for answer in answers {
            outcomes.push(answer.await.unwrap().unwrap());
        }
        assert!(matches!(outcomes[0], Outcome::Inserted(Ok(()))));
        assert!(
            matches!(outcomes[1], Outcome::ServersCreated(Err(StoreError::DuplicateId { id })) if id == first.id)
        );
        let updated = |outcome: &Outcome| match outcome {
            Outcome::ServerUpdated(update) => update.as_ref().clone().unwrap(),
            _ => panic!("not an update's outcome"),
        };
        assert_eq!(
            updated(&outcomes[2]),
            ServerUpdate::Refused(nova_router::Fault::bad_request("no"))
        );
        assert!(matches!(
            updated(&outcomes[3]),
            ServerUpdate::Applied(s) if s.version == 2 && s.name == "first"
        ));
        assert!(matches!(outcomes[4], Outcome::ServersCreated(Ok(()))));

        let store = SqliteStore::open(&path).await.unwrap();
        let all = store.servers(ServerScope::default()).await.unwrap();
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["first", "c"]);
        assert_eq!((all[0].project_id.as_str(), all[0].version), ("p", 2));
        assert_eq!(all[1], c);
        store.close().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_change_that_panics_panics_its_caller_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("nova.db"))
                .await
                .unwrap(),
        );
        let a = server_named("a");
        store.create_servers(vec![a.clone()]).await.unwrap();
        let panicking = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .update_server(
                        a.id,
                        IfMatch::Any,
                        Box::new(|s| {
                            s.name = "half-done".to_owned();
                            panic!("a bug in a change");
                        }),
                    )
                    .await
            })
        };
        let joined = panicking.await.unwrap_err();
        assert!(joined.is_panic());
        assert_eq!(store.server(a.id).await.unwrap(), Some(a.clone()));
        let renamed = store
            .update_server(
                a.id,
                IfMatch::Any,
                Box::new(|s| {
                    s.name = "b".to_owned();
                    Ok(())
                }),
            )
            .await
            .unwrap();
        assert!(matches!(renamed, ServerUpdate::Applied(ref s) if s.name == "b"));
        store.close().await.unwrap();
    }
}
