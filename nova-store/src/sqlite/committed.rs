//! What a SQLite store has committed, in memory: every row of its tables
//! as the store's reads answer it, so that a read is a lock and a copy on
//! the caller's own thread instead of a hop to a blocking thread and a
//! query.
//!
//! The tables are read whole when the store opens (and again when the
//! writer reconnects after a failure) and are changed only by the writer,
//! right after a commit has succeeded and been synced: a reader sees a
//! change once it is durable, never before. They hold what the file holds
//! only because the store's writer is the file's only writer: one SQLite
//! file is for one store in one process.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use nova_compute::{Image, ImageScope, Keypair, QuotaLimit, Server, ServerScope, Visibility};
use nova_control::Behavior;
use nova_controller::{CreationOrder, Instance, Keyed, StoreError};
use uuid::Uuid;

/// The committed tables, and how many commits made them.
#[derive(Debug, Default)]
pub(super) struct Committed {
    tables: RwLock<Tables>,
    /// The writer's commits; see [`Committed::commits`].
    commits: AtomicU64,
}

impl Committed {
    /// A store's state as loaded from its file.
    pub(super) fn new(tables: Tables) -> Self {
        Committed {
            tables: RwLock::new(tables),
            commits: AtomicU64::new(0),
        }
    }

    /// The tables, to read. Held for one lookup or one listing's copy:
    /// the writer waits for it only to publish a commit.
    pub(super) fn read(&self) -> RwLockReadGuard<'_, Tables> {
        // Only the writer takes the write lock, to move finished values in
        // (see Tables::apply), and nothing there can stop half-way: a
        // poisoned lock still guards whole rows, safe to keep reading.
        self.tables.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes what one commit wrote, in the order it was written. Call
    /// only once the commit has succeeded.
    pub(super) fn publish(&self, written: Vec<Written>) {
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        for change in written {
            tables.apply(change);
        }
        // Counted under the lock, after the change: whoever reads the new
        // number and then takes the read lock sees the change (see
        // InstanceStore::generation).
        self.commits.fetch_add(1, Ordering::Release);
    }

    /// Replaces the tables with `tables`, read from the file again.
    pub(super) fn replace(&self, tables: Tables) {
        let mut kept = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        *kept = tables;
        // The reload may have found what a failed commit left behind: the
        // contents may have changed.
        self.commits.fetch_add(1, Ordering::Release);
    }

    /// How many commits have been published (and reloads made): a number
    /// that moves on after every change readers can see.
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }
}

/// The rows of `instances`, `images`, `token_keys`, `revoked_tokens`,
/// `keypairs`, `quotas`, `behaviors` and `control_clock`.
#[derive(Debug, Default)]
pub(super) struct Tables {
    /// `instances`, in `seq` order, by id.
    servers: CreationOrder<Row>,
    /// `images`, in `seq` order, by id.
    images: CreationOrder<ImageRow>,
    /// `token_keys`, in `position` order.
    token_keys: Vec<String>,
    /// `revoked_tokens`: each audit id with its kept expiry, in Unix
    /// seconds.
    revoked: HashMap<String, i64>,
    /// `keypairs`, by user, then by name.
    keypairs: BTreeMap<String, BTreeMap<String, Keypair>>,
    /// `quotas`: by project, then by (user, `""` for the project's own,
    /// and resource).
    quotas: BTreeMap<String, BTreeMap<(String, String), i64>>,
    /// `behaviors`, in `seq` order. A test registers a handful, so a list
    /// searched from the front is all the index a firing needs.
    behaviors: Vec<BehaviorRow>,
    /// `control_clock`'s offset, in microseconds; 0 without its row.
    clock_offset: i64,
}

/// One row of `behaviors`.
#[derive(Debug)]
pub(super) struct BehaviorRow {
    /// The `id` column, which removing and firing select by.
    id: String,
    /// The behaviour it reads back as, or why it does not.
    behavior: Result<Behavior, StoreError>,
}

impl BehaviorRow {
    /// A row as read from the file.
    pub(super) fn new(id: String, behavior: Result<Behavior, StoreError>) -> Self {
        BehaviorRow { id, behavior }
    }
}

/// One row of `instances`.
#[derive(Debug)]
pub(super) struct Row {
    /// The row as the compute API reads it. For a row that does not read
    /// back, what could be read, with stand-ins for the rest that are
    /// never answered.
    server: Server,
    /// Why the row does not read back, if it does not. Only a row changed
    /// outside nova-rs can be unreadable; boxed, so that every other row
    /// pays one pointer for it.
    unreadable: Option<Box<Unreadable>>,
}

/// Why a row of `instances` does not read back, and what of it the
/// queries the reads stand for would still have selected it by.
#[derive(Debug)]
pub(super) struct Unreadable {
    /// What reading the row answers: the compute API always, the seed's
    /// API unless `instance_reads`.
    pub(super) error: StoreError,
    /// Whether the seed's columns read; only the deletion time or the
    /// details are bad.
    pub(super) instance_reads: bool,
    /// Whether `deleted_at_us` is NULL.
    pub(super) live: bool,
}

impl Keyed for Row {
    fn key(&self) -> Uuid {
        self.server.id
    }
}

impl Row {
    /// A row that reads back as `server`.
    pub(super) fn readable(server: Server) -> Self {
        Row {
            server,
            unreadable: None,
        }
    }

    /// A row that does not read back. `columns.id` is the row's id if it
    /// is a UUID, else a fresh one no request can name; `columns` holds
    /// the seed's columns when `why.instance_reads`, and the project
    /// either way.
    pub(super) fn unreadable(columns: Server, why: Unreadable) -> Self {
        Row {
            server: columns,
            unreadable: Some(Box::new(why)),
        }
    }

    /// Whether the seed's API sees the row: `deleted_at_us IS NULL`.
    fn live(&self) -> bool {
        match &self.unreadable {
            Some(why) => why.live,
            None => self.server.deleted_at.is_none(),
        }
    }

    fn instance(&self) -> Result<Instance, StoreError> {
        match &self.unreadable {
            Some(why) if !why.instance_reads => Err(why.error.clone()),
            _ => Ok(self.server.instance()),
        }
    }

    fn server(&self) -> Result<Server, StoreError> {
        match &self.unreadable {
            Some(why) => Err(why.error.clone()),
            None => Ok(self.server.clone()),
        }
    }

    /// Whether a listing of `scope` selects the row, by its columns:
    /// [`ServerScope::contains`] for a row that reads back.
    fn in_scope(&self, scope: &ServerScope) -> bool {
        (scope.include_deleted || self.live())
            && scope
                .projects
                .as_ref()
                .is_none_or(|projects| projects.contains(&self.server.project_id))
    }
}

/// One row of `images`.
#[derive(Debug)]
pub(super) struct ImageRow {
    /// The row's id if it is a UUID, else a fresh one no request can name.
    key: Uuid,
    /// The `owner` column, which listings select by.
    owner: String,
    /// Whether the `visibility` column says `private`.
    private: bool,
    /// The image its document holds, or why it does not read back.
    image: Result<Image, StoreError>,
}

impl Keyed for ImageRow {
    fn key(&self) -> Uuid {
        self.key
    }
}

impl ImageRow {
    /// A row as read from the file.
    pub(super) fn new(
        key: Uuid,
        owner: String,
        visibility: &str,
        image: Result<Image, StoreError>,
    ) -> Self {
        ImageRow {
            key,
            owner,
            private: visibility == Visibility::Private.as_str(),
            image,
        }
    }

    /// The row the writer inserts for `image`.
    fn written(image: Image) -> Self {
        ImageRow {
            key: image.id,
            owner: image.owner.clone(),
            private: image.visibility == Visibility::Private,
            image: Ok(image),
        }
    }
}

/// What one change wrote, as the writer hands it over after the commit.
#[derive(Debug)]
pub(super) enum Written {
    /// A new row of `instances`: an instance of the seed's API or a
    /// server.
    Created(Server),
    /// The seed's rename of a row: its name, `updated_at` and version.
    Renamed(Instance),
    /// A row of `instances` removed.
    Deleted(Uuid),
    /// Every column of a row of `instances` rewritten.
    ServerChanged(Server),
    /// A new row of `images`.
    ImageCreated(Image),
    /// A row of `images` removed.
    ImageDeleted(Uuid),
    /// The token keys now kept.
    TokenKeys(Vec<String>),
    /// A revocation kept until `expires_at`, or until a later expiry it
    /// already had.
    Revoked {
        /// The revoked token's audit id.
        audit_id: String,
        /// Its kept expiry, in Unix seconds.
        expires_at: i64,
    },
    /// The revocations kept until `expired_by` or earlier, forgotten.
    RevocationsForgotten {
        /// In Unix seconds.
        expired_by: i64,
    },
    /// A new row of `keypairs`.
    KeypairCreated(Keypair),
    /// A row of `keypairs` removed.
    KeypairDeleted {
        /// Its user.
        user_id: String,
        /// Its name.
        name: String,
    },
    /// Rows of `quotas` set.
    QuotaSet {
        /// The project.
        project_id: String,
        /// The user, or `None` for the project's own.
        user_id: Option<String>,
        /// Each resource's limit.
        limits: Vec<(String, i64)>,
    },
    /// Rows of `quotas` removed: the user's, or the whole project's.
    QuotaDeleted {
        /// The project.
        project_id: String,
        /// The user, or `None` for every row of the project.
        user_id: Option<String>,
    },
    /// A new row of `behaviors`.
    BehaviorAdded(Behavior),
    /// The row of `behaviors` with this id removed.
    BehaviorRemoved(String),
    /// Every row of `behaviors` removed.
    BehaviorsRemoved,
    /// One firing counted in the `fired` column of the row with this id.
    BehaviorFired(String),
    /// `control_clock`'s offset, now this.
    ClockSet(i64),
}

impl Tables {
    /// Adds a row read from `instances`; rows must come in `seq` order.
    pub(super) fn load_row(&mut self, row: Row) {
        // Only ids written outside nova-rs can repeat here (two spellings
        // of one UUID); the first row keeps it, as the first one listed.
        self.servers.insert(row);
    }

    /// Adds a row read from `images`; rows must come in `seq` order.
    pub(super) fn load_image(&mut self, row: ImageRow) {
        self.images.insert(row);
    }

    /// Keeps `keys`, read from `token_keys` in `position` order.
    pub(super) fn load_token_keys(&mut self, keys: Vec<String>) {
        self.token_keys = keys;
    }

    /// Adds a row read from `keypairs`. A row that does not read back
    /// (a type or time written outside nova-rs) is logged and left out:
    /// a key pair is shown by its user and name, which such a row has,
    /// but no answer could be made of the rest.
    pub(super) fn load_keypair(&mut self, row: Result<Keypair, StoreError>) {
        match row {
            Ok(keypair) => {
                self.keypairs
                    .entry(keypair.user_id.clone())
                    .or_default()
                    .insert(keypair.name.clone(), keypair);
            }
            Err(error) => tracing::warn!(%error, "a key pair row does not read back"),
        }
    }

    /// Adds a row read from `quotas`.
    pub(super) fn load_quota(
        &mut self,
        project_id: String,
        user_id: String,
        resource: String,
        hard_limit: i64,
    ) {
        self.quotas
            .entry(project_id)
            .or_default()
            .insert((user_id, resource), hard_limit);
    }

    /// Adds a row read from `behaviors`; rows must come in `seq` order.
    pub(super) fn load_behavior(&mut self, row: BehaviorRow) {
        self.behaviors.push(row);
    }

    /// Keeps the offset read from `control_clock`.
    pub(super) fn load_clock_offset(&mut self, offset: i64) {
        self.clock_offset = offset;
    }

    /// Adds a row read from `revoked_tokens`.
    pub(super) fn load_revocation(&mut self, audit_id: String, expires_at: i64) {
        self.revoked.insert(audit_id, expires_at);
    }

    fn apply(&mut self, change: Written) {
        // The writer hands over only what its transaction did to rows it
        // found there, so each row named here is (or, when created, is
        // not yet) in the tables; a row that is not is skipped, never
        // invented.
        match change {
            Written::Created(server) => {
                self.servers.insert(Row::readable(server));
            }
            Written::Renamed(renamed) => {
                if let Some(row) = self.servers.get_mut(&renamed.id) {
                    row.server.name = renamed.name;
                    row.server.updated_at = renamed.updated_at;
                    row.server.version = renamed.version;
                }
            }
            Written::Deleted(id) => self.servers.remove(&id),
            Written::ServerChanged(server) => {
                // Every column was written from `server`: the row reads
                // back now, whatever it held before.
                if let Some(row) = self.servers.get_mut(&server.id) {
                    *row = Row::readable(server);
                }
            }
            Written::ImageCreated(image) => {
                self.images.insert(ImageRow::written(image));
            }
            Written::ImageDeleted(id) => self.images.remove(&id),
            Written::TokenKeys(keys) => self.token_keys = keys,
            Written::Revoked {
                audit_id,
                expires_at,
            } => {
                let kept = self.revoked.entry(audit_id).or_insert(expires_at);
                *kept = (*kept).max(expires_at);
            }
            Written::RevocationsForgotten { expired_by } => {
                self.revoked
                    .retain(|_, expires_at| *expires_at > expired_by);
            }
            Written::KeypairCreated(keypair) => self.load_keypair(Ok(keypair)),
            Written::KeypairDeleted { user_id, name } => {
                if let Some(mine) = self.keypairs.get_mut(&user_id) {
                    mine.remove(&name);
                }
            }
            Written::QuotaSet {
                project_id,
                user_id,
                limits,
            } => {
                let user = user_id.unwrap_or_default();
                let kept = self.quotas.entry(project_id).or_default();
                for (resource, hard_limit) in limits {
                    kept.insert((user.clone(), resource), hard_limit);
                }
            }
            Written::QuotaDeleted {
                project_id,
                user_id,
            } => match user_id {
                None => {
                    self.quotas.remove(&project_id);
                }
                Some(user) => {
                    if let Some(kept) = self.quotas.get_mut(&project_id) {
                        kept.retain(|(owner, _), _| *owner != user);
                    }
                }
            },
            Written::BehaviorAdded(behavior) => self
                .behaviors
                .push(BehaviorRow::new(behavior.id.clone(), Ok(behavior))),
            Written::BehaviorRemoved(id) => self.behaviors.retain(|row| row.id != id),
            Written::BehaviorsRemoved => self.behaviors.clear(),
            Written::BehaviorFired(id) => {
                // A row that does not read back counted its firing in the
                // column all the same; there is no behaviour here to show
                // it in.
                if let Some(Ok(behavior)) = self
                    .behaviors
                    .iter_mut()
                    .find(|row| row.id == id)
                    .map(|row| row.behavior.as_mut())
                {
                    behavior.fired = behavior.fired.saturating_add(1);
                }
            }
            Written::ClockSet(offset) => self.clock_offset = offset,
        }
    }

    /// The live instance with this id, as
    /// `SELECT … WHERE id = ? AND deleted_at_us IS NULL` reads it.
    pub(super) fn instance(&self, id: Uuid) -> Result<Option<Instance>, StoreError> {
        match self.servers.get(&id) {
            Some(row) if row.live() => row.instance().map(Some),
            _ => Ok(None),
        }
    }

    /// The live instances in creation order; the first unreadable one
    /// fails the listing, as it fails the query.
    pub(super) fn instances(&self) -> Result<Vec<Instance>, StoreError> {
        self.servers
            .iter()
            .filter(|row| row.live())
            .map(Row::instance)
            .collect()
    }

    /// The server with this id, deleted or not.
    pub(super) fn server(&self, id: Uuid) -> Result<Option<Server>, StoreError> {
        self.servers.get(&id).map(Row::server).transpose()
    }

    /// The servers in `scope`, in creation order.
    pub(super) fn servers(&self, scope: &ServerScope) -> Result<Vec<Server>, StoreError> {
        self.servers
            .iter()
            .filter(|row| row.in_scope(scope))
            .map(Row::server)
            .collect()
    }

    /// Shows `visit` the servers in `scope` where they lie, in creation
    /// order; an unreadable one in scope is the error
    /// [`servers`](Self::servers) would give, and `visit` has then seen
    /// the ones before it.
    pub(super) fn visit_servers(
        &self,
        scope: &ServerScope,
        visit: &mut (dyn FnMut(&Server) + Send),
    ) -> Result<(), StoreError> {
        for row in self.servers.iter().filter(|row| row.in_scope(scope)) {
            if let Some(why) = &row.unreadable {
                return Err(why.error.clone());
            }
            visit(&row.server);
        }
        Ok(())
    }

    /// The image with this id.
    pub(super) fn image(&self, id: Uuid) -> Result<Option<Image>, StoreError> {
        self.images
            .get(&id)
            .map(|row| row.image.clone())
            .transpose()
    }

    /// The images in `scope`, in creation order. As the query does, the
    /// columns narrow them to the project's own and those not private
    /// before any document is read; `scope` then decides about shared
    /// ones.
    pub(super) fn images(&self, scope: &ImageScope) -> Result<Vec<Image>, StoreError> {
        self.images
            .iter()
            .filter(|row| {
                scope
                    .project
                    .as_deref()
                    .is_none_or(|project| row.owner == project || !row.private)
            })
            .filter_map(|row| match &row.image {
                Ok(image) if scope.contains(image) => Some(Ok(image.clone())),
                Ok(_) => None,
                Err(corrupt) => Some(Err(corrupt.clone())),
            })
            .collect()
    }

    /// The token keys, the one sealing new tokens first.
    pub(super) fn token_keys(&self) -> Vec<String> {
        self.token_keys.clone()
    }

    /// The key pair of `user_id` named `name`.
    pub(super) fn keypair(&self, user_id: &str, name: &str) -> Option<Keypair> {
        self.keypairs
            .get(user_id)
            .and_then(|mine| mine.get(name))
            .cloned()
    }

    /// The key pairs of `user_id`, by name.
    pub(super) fn keypairs(&self, user_id: &str) -> Vec<Keypair> {
        self.keypairs
            .get(user_id)
            .map(|mine| mine.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every limit stored for `project_id`.
    pub(super) fn quota_limits(&self, project_id: &str) -> Vec<QuotaLimit> {
        self.quotas
            .get(project_id)
            .into_iter()
            .flatten()
            .map(|((user, resource), hard_limit)| QuotaLimit {
                user_id: (!user.is_empty()).then(|| user.clone()),
                resource: resource.clone(),
                hard_limit: *hard_limit,
            })
            .collect()
    }

    /// Every behaviour, in the order they were added; the first that does
    /// not read back fails the listing, as it fails the query.
    pub(super) fn behaviors(&self) -> Result<Vec<Behavior>, StoreError> {
        self.behaviors
            .iter()
            .map(|row| row.behavior.clone())
            .collect()
    }

    /// How far the controlled clock was moved ahead, in microseconds.
    pub(super) fn clock_offset(&self) -> i64 {
        self.clock_offset
    }

    /// Whether a revocation of `audit_id` is kept.
    pub(super) fn is_revoked(&self, audit_id: &str) -> bool {
        self.revoked.contains_key(audit_id)
    }
}
