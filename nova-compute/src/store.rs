//! Where servers live: the [`ServerStore`] trait, which every store that
//! keeps instances for the seed's API also implements over the same rows,
//! and [`MemoryServerStore`]; and beside them, in the same stores, the
//! images `createImage` takes ([`ImageStore`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use nova_controller::{
    Change, CreationOrder, IfMatch, Instance, InstanceStore, StoreError, StoreFuture, Timestamp,
    SEED_NAMES,
};
use nova_router::Fault;
use uuid::Uuid;

use crate::{Image, Keypair, KeypairCreate, KeypairStore, QuotaLimit, QuotaStore, Server};

/// Which servers a listing wants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerScope {
    /// Only servers of these projects (`""` is the project of instances
    /// created through the seed's API); `None` for every project.
    pub projects: Option<Vec<String>>,
    /// Whether servers deleted through the compute API are listed too.
    pub include_deleted: bool,
}

impl ServerScope {
    /// Whether `server` is in this scope.
    pub fn contains(&self, server: &Server) -> bool {
        (self.include_deleted || server.deleted_at.is_none())
            && self
                .projects
                .as_ref()
                .is_none_or(|projects| projects.contains(&server.project_id))
    }
}

/// A change to one server, applied by the store in one atomic step with
/// the server as it is stored at that moment. It may refuse (a server in
/// the wrong state for an action) with the fault to answer; then nothing
/// is changed.
///
/// The change sets whatever it changes, `updated_at` included; the store
/// adds one to `version`.
pub type ServerChange = Box<dyn FnOnce(&mut Server) -> Result<(), Fault> + Send>;

/// The outcome of [`ServerStore::update_server`].
// Returned once per update and matched at once, never stored: boxing the
// server would cost an allocation per update for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ServerUpdate {
    /// Changed and committed; the server as it now is.
    Applied(Server),
    /// No server has this id.
    NotFound,
    /// The version did not satisfy the `IfMatch`; nothing was changed.
    VersionMismatch {
        /// The version it has.
        current: u64,
    },
    /// The change refused; nothing was changed.
    Refused(Fault),
}

impl From<Change<Server>> for ServerUpdate {
    fn from(change: Change<Server>) -> Self {
        match change {
            Change::Applied(server) => ServerUpdate::Applied(server),
            Change::NotFound => ServerUpdate::NotFound,
            Change::VersionMismatch { current } => ServerUpdate::VersionMismatch { current },
        }
    }
}

/// Storage for servers, over the same records as the seed's
/// [`InstanceStore`]: an instance created either way is a server to the
/// compute API and an instance to the seed's API. Every server store also
/// keeps the images taken of its servers ([`ImageStore`]), so the compute
/// API and the image service opened on one store see the same images,
/// and the users' key pairs ([`KeypairStore`](crate::KeypairStore)) and
/// quota limits ([`QuotaStore`](crate::QuotaStore)).
///
/// Every method is atomic and, once its future answers `Ok`, committed as
/// durably as the store promises, as for [`InstanceStore`].
pub trait ServerStore:
    InstanceStore + ImageStore + crate::KeypairStore + crate::QuotaStore
{
    /// Stores new servers, all of them or (on error) none.
    fn create_servers(&self, servers: Vec<Server>) -> StoreFuture<'_, ()>;

    /// The server with this id, deleted or not.
    fn server(&self, id: Uuid) -> StoreFuture<'_, Option<Server>>;

    /// The servers in `scope`, in the order they were created.
    fn servers(&self, scope: ServerScope) -> StoreFuture<'_, Vec<Server>>;

    /// Shows `visit` each server in `scope`, in the order they were
    /// created, for a caller that only reads them (quota usage counts a
    /// project's servers on every create). A store that holds its rows in
    /// memory shows them where they lie, copying none; the default asks
    /// [`servers`](Self::servers).
    fn visit_servers<'a>(
        &'a self,
        scope: ServerScope,
        visit: &'a mut (dyn FnMut(&Server) + Send),
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            for server in self.servers(scope).await? {
                visit(&server);
            }
            Ok(())
        })
    }

    /// Applies `change` to the server with this id if its version
    /// satisfies `if_match`, in one atomic step, and adds one to its
    /// version.
    fn update_server(
        &self,
        id: Uuid,
        if_match: IfMatch,
        change: ServerChange,
    ) -> StoreFuture<'_, ServerUpdate>;
}

/// Which stored images a listing wants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageScope {
    /// Only the images this project may see ([`Image::visible_to`]): its
    /// own, public ones and those shared with it; `None` for every image
    /// (an admin's view).
    pub project: Option<String>,
}

impl ImageScope {
    /// Whether `image` is in this scope.
    pub fn contains(&self, image: &Image) -> bool {
        self.project
            .as_deref()
            .is_none_or(|project| image.visible_to(project))
    }
}

/// Storage for the images the compute API creates (`createImage`'s
/// snapshots), kept by the same stores as the servers they are taken
/// from. The cloud's configured images are not stored: they are fixed.
///
/// Every method is atomic and, once its future answers `Ok`, committed as
/// durably as the store promises, as for [`InstanceStore`]. An image is
/// never changed once stored: its status is derived from the instants it
/// holds ([`Image::status_at`]).
pub trait ImageStore: Send + Sync + 'static {
    /// Stores a new image; [`StoreError::DuplicateId`] if its id is taken.
    fn create_image(&self, image: Image) -> StoreFuture<'_, ()>;

    /// The image with this id.
    fn image(&self, id: Uuid) -> StoreFuture<'_, Option<Image>>;

    /// The images in `scope`, in the order they were created.
    fn images(&self, scope: ImageScope) -> StoreFuture<'_, Vec<Image>>;

    /// Deletes the image with this id; whether there was one.
    fn delete_image(&self, id: Uuid) -> StoreFuture<'_, bool>;
}

/// Servers in memory, gone when the process stops.
///
/// ```
/// use nova_compute::{MemoryServerStore, ServerScope, ServerStore};
/// use nova_controller::InstanceStore;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryServerStore::seeded();
/// // The seed's instances are servers too.
/// assert_eq!(store.servers(ServerScope::default()).await.unwrap().len(), 3);
/// assert_eq!(store.list().await.unwrap().len(), 3);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryServerStore {
    state: RwLock<Slots>,
    /// Bumped under the write lock by every change; see
    /// [`InstanceStore::generation`].
    generation: AtomicU64,
    /// Users' key pairs ([`KeypairStore`](crate::KeypairStore)).
    pub(crate) keypairs: crate::keypair_store::MemoryKeypairs,
    /// Quota limits set through the API
    /// ([`QuotaStore`](crate::QuotaStore)).
    pub(crate) quotas: crate::quota_store::MemoryQuotas,
}

impl nova_controller::Keyed for Server {
    fn key(&self) -> Uuid {
        self.id
    }
}

#[derive(Debug, Default)]
struct Slots {
    /// Servers in creation order, by id.
    servers: CreationOrder<Server>,
    /// Stored images, in creation order.
    images: Vec<Image>,
}

impl Slots {
    /// The servers the seed's API sees: not deleted through the compute
    /// API.
    fn live(&self) -> impl Iterator<Item = &Server> {
        self.servers.iter().filter(|s| s.deleted_at.is_none())
    }

    fn live_mut(&mut self, id: &Uuid) -> Option<&mut Server> {
        self.servers.get_mut(id).filter(|s| s.deleted_at.is_none())
    }
}

impl MemoryServerStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding the seed's three instances, with fresh ids.
    pub fn seeded() -> Self {
        let store = Self::new();
        {
            let mut slots = store.write();
            for name in SEED_NAMES {
                slots
                    .servers
                    .insert(Server::from_instance(Instance::new(name)));
            }
        }
        store
    }

    // Each operation changes the slots only after every check has passed,
    // so a panic under the lock leaves them whole: a poisoned lock is safe
    // to keep using.
    fn read(&self) -> RwLockReadGuard<'_, Slots> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Slots> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }
}

fn ready<T: Send + 'static>(value: Result<T, StoreError>) -> StoreFuture<'static, T> {
    Box::pin(std::future::ready(value))
}

impl InstanceStore for MemoryServerStore {
    fn list(&self) -> StoreFuture<'_, Vec<Instance>> {
        ready(Ok(self.read().live().map(Server::instance).collect()))
    }

    fn insert(&self, instance: Instance) -> StoreFuture<'_, ()> {
        let id = instance.id;
        let mut slots = self.write();
        if slots.servers.contains(&id) {
            return ready(Err(StoreError::DuplicateId { id }));
        }
        slots.servers.insert(Server::from_instance(instance));
        self.changed();
        ready(Ok(()))
    }

    fn get(&self, id: Uuid) -> StoreFuture<'_, Option<Instance>> {
        let found = self
            .read()
            .servers
            .get(&id)
            .filter(|s| s.deleted_at.is_none())
            .map(Server::instance);
        ready(Ok(found))
    }

    fn rename(
        &self,
        id: Uuid,
        name: String,
        if_match: IfMatch,
    ) -> StoreFuture<'_, Change<Instance>> {
        let mut slots = self.write();
        let outcome = match slots.live_mut(&id) {
            None => Change::NotFound,
            Some(server) if !if_match.matches(server.version) => Change::VersionMismatch {
                current: server.version,
            },
            Some(server) => {
                let renamed = server.instance().renamed(name, Timestamp::now());
                server.name = renamed.name.clone();
                server.updated_at = renamed.updated_at;
                server.version = renamed.version;
                self.changed();
                Change::Applied(renamed)
            }
        };
        ready(Ok(outcome))
    }

    fn delete(&self, id: Uuid, if_match: IfMatch) -> StoreFuture<'_, Change<()>> {
        let mut slots = self.write();
        let outcome = match slots.live_mut(&id).map(|s| s.version) {
            None => Change::NotFound,
            Some(current) if !if_match.matches(current) => Change::VersionMismatch { current },
            Some(_) => {
                slots.servers.remove(&id);
                self.changed();
                Change::Applied(())
            }
        };
        ready(Ok(outcome))
    }

    fn generation(&self) -> Option<u64> {
        Some(self.generation.load(Ordering::Acquire))
    }
}

impl ServerStore for MemoryServerStore {
    fn create_servers(&self, servers: Vec<Server>) -> StoreFuture<'_, ()> {
        let mut slots = self.write();
        if let Some(clash) = servers.iter().find(|s| slots.servers.contains(&s.id)) {
            return ready(Err(StoreError::DuplicateId { id: clash.id }));
        }
        for server in servers {
            slots.servers.insert(server);
        }
        self.changed();
        ready(Ok(()))
    }

    fn server(&self, id: Uuid) -> StoreFuture<'_, Option<Server>> {
        ready(Ok(self.read().servers.get(&id).cloned()))
    }

    fn servers(&self, scope: ServerScope) -> StoreFuture<'_, Vec<Server>> {
        let slots = self.read();
        let found = slots
            .servers
            .iter()
            .filter(|s| scope.contains(s))
            .cloned()
            .collect();
        ready(Ok(found))
    }

    fn visit_servers<'a>(
        &'a self,
        scope: ServerScope,
        visit: &'a mut (dyn FnMut(&Server) + Send),
    ) -> StoreFuture<'a, ()> {
        let slots = self.read();
        slots
            .servers
            .iter()
            .filter(|s| scope.contains(s))
            .for_each(visit);
        ready(Ok(()))
    }

    fn update_server(
        &self,
        id: Uuid,
        if_match: IfMatch,
        change: ServerChange,
    ) -> StoreFuture<'_, ServerUpdate> {
        let mut slots = self.write();
        let Some(server) = slots.servers.get_mut(&id) else {
            return ready(Ok(ServerUpdate::NotFound));
        };
        if !if_match.matches(server.version) {
            return ready(Ok(ServerUpdate::VersionMismatch {
                current: server.version,
            }));
        }
        // Changed on a copy, so a refusal leaves the stored server as it was.
        let mut changed = server.clone();
        if let Err(fault) = change(&mut changed) {
            return ready(Ok(ServerUpdate::Refused(fault)));
        }
        changed.id = id;
        changed.version = server.version + 1;
        *server = changed.clone();
        self.changed();
        ready(Ok(ServerUpdate::Applied(changed)))
    }
}

// Key pairs and quota limits are tables of their own beside the servers;
// the store answers for them by asking each.
impl KeypairStore for MemoryServerStore {
    fn create_keypair(&self, keypair: Keypair, limit: i64) -> StoreFuture<'_, KeypairCreate> {
        self.keypairs.create_keypair(keypair, limit)
    }

    fn keypair(&self, user_id: String, name: String) -> StoreFuture<'_, Option<Keypair>> {
        self.keypairs.keypair(user_id, name)
    }

    fn keypairs(&self, user_id: String) -> StoreFuture<'_, Vec<Keypair>> {
        self.keypairs.keypairs(user_id)
    }

    fn delete_keypair(&self, user_id: String, name: String) -> StoreFuture<'_, bool> {
        self.keypairs.delete_keypair(user_id, name)
    }
}

impl QuotaStore for MemoryServerStore {
    fn quota_limits(&self, project_id: String) -> StoreFuture<'_, Vec<QuotaLimit>> {
        self.quotas.quota_limits(project_id)
    }

    fn set_quota_limits(
        &self,
        project_id: String,
        user_id: Option<String>,
        limits: Vec<(String, i64)>,
    ) -> StoreFuture<'_, ()> {
        self.quotas.set_quota_limits(project_id, user_id, limits)
    }

    fn delete_quota_limits(
        &self,
        project_id: String,
        user_id: Option<String>,
    ) -> StoreFuture<'_, ()> {
        self.quotas.delete_quota_limits(project_id, user_id)
    }
}

impl ImageStore for MemoryServerStore {
    fn create_image(&self, image: Image) -> StoreFuture<'_, ()> {
        let mut slots = self.write();
        if slots.images.iter().any(|i| i.id == image.id) {
            return ready(Err(StoreError::DuplicateId { id: image.id }));
        }
        slots.images.push(image);
        ready(Ok(()))
    }

    fn image(&self, id: Uuid) -> StoreFuture<'_, Option<Image>> {
        let found = self.read().images.iter().find(|i| i.id == id).cloned();
        ready(Ok(found))
    }

    fn images(&self, scope: ImageScope) -> StoreFuture<'_, Vec<Image>> {
        let found = self
            .read()
            .images
            .iter()
            .filter(|i| scope.contains(i))
            .cloned()
            .collect();
        ready(Ok(found))
    }

    fn delete_image(&self, id: Uuid) -> StoreFuture<'_, bool> {
        let mut slots = self.write();
        let before = slots.images.len();
        slots.images.retain(|i| i.id != id);
        ready(Ok(slots.images.len() != before))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: &str, project: &str) -> Server {
        let mut server = Server::from_instance(Instance::new(name));
        server.project_id = project.to_owned();
        server.details = Some(Default::default());
        server
    }

    #[tokio::test]
    async fn servers_and_the_seeds_instances_are_one_set_of_records() {
        let store = MemoryServerStore::seeded();
        let web = server("web", "p1");
        store.create_servers(vec![web.clone()]).await.unwrap();
        let names: Vec<String> = store
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(names, ["inst-0", "inst-1", "inst-2", "web"]);
        let seeded = store.list().await.unwrap()[0].clone();
        let as_server = store.server(seeded.id).await.unwrap().unwrap();
        assert_eq!(
            (as_server.details, as_server.project_id.as_str()),
            (None, "")
        );
    }

    #[tokio::test]
    async fn a_scope_selects_projects_and_deleted_servers() {
        let store = MemoryServerStore::new();
        let (a, b) = (server("a", "p1"), server("b", "p2"));
        store
            .create_servers(vec![a.clone(), b.clone()])
            .await
            .unwrap();
        let now = Timestamp::now();
        let deleted = store
            .update_server(
                a.id,
                IfMatch::Any,
                Box::new(move |s| {
                    s.deleted_at = Some(now);
                    Ok(())
                }),
            )
            .await
            .unwrap();
        assert!(matches!(deleted, ServerUpdate::Applied(ref s) if s.version == 2));
        let p1 = ServerScope {
            projects: Some(vec!["p1".into()]),
            include_deleted: false,
        };
        assert!(store.servers(p1.clone()).await.unwrap().is_empty());
        let with_deleted = ServerScope {
            include_deleted: true,
            ..p1
        };
        assert_eq!(store.servers(with_deleted).await.unwrap().len(), 1);
        // Gone from the seed's API at once, still there for the compute API.
        assert_eq!(store.get(a.id).await.unwrap(), None);
        assert!(store.server(a.id).await.unwrap().is_some());
        assert_eq!(store.list().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_refused_change_changes_nothing() {
        let store = MemoryServerStore::new();
        let a = server("a", "p1");
        store.create_servers(vec![a.clone()]).await.unwrap();
        let outcome = store
            .update_server(
                a.id,
                IfMatch::Any,
                Box::new(|s| {
                    s.name = "changed".into();
                    Err(Fault::bad_request("no"))
                }),
            )
            .await
            .unwrap();
        assert_eq!(outcome, ServerUpdate::Refused(Fault::bad_request("no")));
        assert_eq!(store.server(a.id).await.unwrap(), Some(a.clone()));
        let stale = store
            .update_server(a.id, IfMatch::Versions(vec![9]), Box::new(|_| Ok(())))
            .await
            .unwrap();
        assert_eq!(stale, ServerUpdate::VersionMismatch { current: 1 });
    }

    fn image(name: &str, owner: &str, visibility: crate::Visibility, members: &[&str]) -> Image {
        Image {
            id: Uuid::new_v4(),
            owner: owner.to_owned(),
            visibility,
            protected: false,
            members: members.iter().map(|&m| m.to_owned()).collect(),
            ..Image::named(name)
        }
    }

    #[tokio::test]
    async fn images_are_kept_beside_the_servers_and_listed_to_who_may_see_them() {
        use crate::Visibility::{Private, Public, Shared};
        let store = MemoryServerStore::seeded();
        let images = [
            image("a", "p1", Private, &[]),
            image("b", "p2", Shared, &["p1"]),
            image("c", "p2", Private, &[]),
            image("d", "p3", Public, &[]),
        ];
        for image in &images {
            store.create_image(image.clone()).await.unwrap();
        }
        let names =
            |found: Vec<Image>| -> Vec<String> { found.into_iter().map(|i| i.name).collect() };
        let scope = |project: Option<&str>| ImageScope {
            project: project.map(str::to_owned),
        };
        assert_eq!(
            names(store.images(scope(None)).await.unwrap()),
            ["a", "b", "c", "d"]
        );
        assert_eq!(
            names(store.images(scope(Some("p1"))).await.unwrap()),
            ["a", "b", "d"]
        );
        assert_eq!(
            names(store.images(scope(Some("p2"))).await.unwrap()),
            ["b", "c", "d"]
        );
        assert_eq!(
            store.create_image(images[0].clone()).await,
            Err(StoreError::DuplicateId { id: images[0].id })
        );
        assert_eq!(
            store.image(images[1].id).await.unwrap().as_ref(),
            Some(&images[1])
        );
        assert!(store.delete_image(images[1].id).await.unwrap());
        assert!(!store.delete_image(images[1].id).await.unwrap());
        assert_eq!(store.image(images[1].id).await.unwrap(), None);
        // The servers are untouched.
        assert_eq!(store.list().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn creating_servers_is_all_or_nothing() {
        let store = MemoryServerStore::new();
        let a = server("a", "p1");
        store.create_servers(vec![a.clone()]).await.unwrap();
        let b = server("b", "p1");
        let clash = Server {
            name: "a-again".into(),
            ..a.clone()
        };
        assert_eq!(
            store.create_servers(vec![b.clone(), clash]).await,
            Err(StoreError::DuplicateId { id: a.id })
        );
        assert_eq!(store.server(b.id).await.unwrap(), None);
    }
}
