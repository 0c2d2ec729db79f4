//! What the factories build from a paste.deploy file: an application that
//! is complete but for its stores.
//!
//! Loading a file calls every factory, so every key of every section is
//! checked, but a factory does no I/O: the `instance` app names the store it
//! needs instead of opening it. The program then opens the stores the plan
//! names ([`AppPlan::stores`], with nova-store's
//! [`Stores`](nova_store::Stores)) and only then builds the services
//! ([`AppPlan::build`]). A bad file so creates no database and connects to
//! none, and the file is read once.

use std::sync::Arc;

use nova_compute::ServerStore;
use nova_identity::{Identity, IdentityApp, SystemClock};
use nova_router::{MountError, SharedService, UrlMap};
use nova_store::{StoreRequest, StoreUrl, Stores};

use crate::oversize::RefuseOversizeBody;
use crate::Pipeline;

/// Builds a plan's services once its stores are open.
type Build = Arc<dyn Fn(&Built<'_>) -> Result<SharedService, BuildError> + Send + Sync>;

/// What a plan's services are built from: the open stores, and the file's
/// identity service, one instance shared by the identity app and every
/// token filter, so a token it issues is one they accept and a revocation
/// through it is seen by them at once.
struct Built<'a> {
    stores: &'a Stores,
    identity: Option<IdentityApp>,
}

impl Built<'_> {
    fn identity(&self) -> Result<IdentityApp, BuildError> {
        self.identity.clone().ok_or(BuildError::NoIdentityService)
    }
}

/// The identity service a file configures: its model and the store that
/// keeps its keys and revocations.
#[derive(Clone)]
struct IdentityPlan {
    identity: Arc<Identity>,
    store: StoreUrl,
}

/// An application or pipeline described by a file, waiting for its stores.
///
/// Every application in it (an [`AppPlan::app`] or
/// [`AppPlan::over_store`]) is guarded against requests whose body the
/// edge did not read, so the [`Pipeline`] it builds is safe to serve.
///
/// ```
/// use std::sync::Arc;
/// use nova_router::{service_fn, Request, Service};
/// use nova_server::AppPlan;
/// use nova_store::Stores;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let hello = AppPlan::app(Arc::new(service_fn(|_req: Request| async {
///     http::Response::new("hello".into())
/// })));
/// assert!(hello.stores().is_empty());
/// let stores = Stores::open(hello.stores().iter().cloned()).await.unwrap();
/// let pipeline = hello.build(&stores).unwrap();
/// let req = http::Request::get("/").body(Default::default()).unwrap();
/// assert_eq!(pipeline.service().call(req).await.unwrap().body().as_ref(), b"hello");
/// # });
/// ```
#[derive(Clone)]
pub struct AppPlan {
    stores: Vec<StoreRequest>,
    /// The identity app's, if the plan has one (the first, if several).
    identity: Option<IdentityPlan>,
    /// Whether a token filter in the plan validates against it.
    needs_identity: bool,
    build: Build,
}

impl std::fmt::Debug for AppPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppPlan")
            .field("stores", &self.stores)
            .field("identity", &self.identity.is_some())
            .field("needs_identity", &self.needs_identity)
            .finish_non_exhaustive()
    }
}

/// Why a plan could not be built into a pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The plan needs a store that the [`Stores`] given to
    /// [`AppPlan::build`] do not hold: they were not opened from
    /// [`AppPlan::stores`].
    #[error("the store {0} was not opened before building")]
    StoreNotOpened(StoreUrl),
    /// A URL map refused one of its prefixes.
    #[error(transparent)]
    Mount(#[from] MountError),
    /// A token filter (`authtoken`) validates tokens against the file's
    /// identity service, and the file serves none (`identity` app).
    #[error("the authtoken filter needs an identity app in the same file; mount one (use = egg:nova-rs#identity)")]
    NoIdentityService,
}

impl AppPlan {
    /// An application that needs no store.
    pub fn app(service: SharedService) -> Self {
        let guarded: SharedService = Arc::new(RefuseOversizeBody::new(service));
        AppPlan {
            stores: Vec::new(),
            identity: None,
            needs_identity: false,
            build: Arc::new(move |_| Ok(guarded.clone())),
        }
    }

    /// An application over the store `request` names, made by `make` once
    /// that store is open.
    pub fn over_store<F>(request: StoreRequest, make: F) -> Self
    where
        F: Fn(Arc<dyn ServerStore>) -> SharedService + Send + Sync + 'static,
    {
        let url = request.url.clone();
        AppPlan {
            stores: vec![request],
            identity: None,
            needs_identity: false,
            build: Arc::new(move |built| {
                let store = built
                    .stores
                    .get(&url)
                    .ok_or_else(|| BuildError::StoreNotOpened(url.clone()))?;
                Ok(Arc::new(RefuseOversizeBody::new(make(store))))
            }),
        }
    }

    /// The identity service `identity` describes, keeping its keys
    /// (unless configured) and revoked tokens in the store `request`
    /// names. Token filters of the same file ([`AppPlan::authenticated`])
    /// validate against this one instance.
    pub fn identity(request: StoreRequest, identity: Arc<Identity>) -> Self {
        let plan = IdentityPlan {
            identity,
            store: request.url.clone(),
        };
        AppPlan {
            stores: vec![request],
            identity: Some(plan),
            needs_identity: false,
            build: Arc::new(|built| {
                let app: SharedService = Arc::new(built.identity()?);
                Ok(Arc::new(RefuseOversizeBody::new(app)))
            }),
        }
    }

    /// This plan behind a filter: `wrap` gets the built inner service.
    pub fn filtered<F>(self, wrap: F) -> Self
    where
        F: Fn(SharedService) -> SharedService + Send + Sync + 'static,
    {
        let inner = self.build;
        AppPlan {
            stores: self.stores,
            identity: self.identity,
            needs_identity: self.needs_identity,
            build: Arc::new(move |built| Ok(wrap(inner(built)?))),
        }
    }

    /// This plan behind a token filter: `wrap` gets the built inner
    /// service and the file's identity service. Building fails with
    /// [`BuildError::NoIdentityService`] if the file has none.
    pub fn authenticated<F>(self, wrap: F) -> Self
    where
        F: Fn(SharedService, IdentityApp) -> SharedService + Send + Sync + 'static,
    {
        let inner = self.build;
        AppPlan {
            stores: self.stores,
            identity: self.identity,
            needs_identity: true,
            build: Arc::new(move |built| Ok(wrap(inner(built)?, built.identity()?))),
        }
    }

    /// Paste's URL map of plans: each prefix to its plan, and what answers
    /// paths no prefix matches.
    pub(crate) fn urlmap(mounts: Vec<(String, AppPlan)>, not_found: Option<AppPlan>) -> Self {
        let stores = mounts
            .iter()
            .map(|(_, plan)| plan)
            .chain(not_found.iter())
            .flat_map(|plan| plan.stores.iter().cloned())
            .collect();
        let plans = || mounts.iter().map(|(_, plan)| plan).chain(not_found.iter());
        let identity = plans().find_map(|plan| plan.identity.clone());
        let needs_identity = plans().any(|plan| plan.needs_identity);
        AppPlan {
            stores,
            identity,
            needs_identity,
            build: Arc::new(move |built| {
                let mut map = UrlMap::new();
                for (prefix, plan) in &mounts {
                    map.mount(prefix, (plan.build)(built)?)?;
                }
                if let Some(plan) = &not_found {
                    map.set_not_found((plan.build)(built)?);
                }
                Ok(Arc::new(map))
            }),
        }
    }

    /// The stores the plan needs, in the order the file names them; the
    /// same store may be named more than once.
    pub fn stores(&self) -> &[StoreRequest] {
        &self.stores
    }

    /// Whether the plan can be built once its stores are open: every
    /// token filter has an identity service to validate against. Checked
    /// by [`AppPlan::build`] too; call it first to refuse a file before
    /// opening any store.
    pub fn check(&self) -> Result<(), BuildError> {
        if self.needs_identity && self.identity.is_none() {
            return Err(BuildError::NoIdentityService);
        }
        Ok(())
    }

    /// Builds the pipeline over `stores`, which must hold every store of
    /// [`AppPlan::stores`].
    pub fn build(&self, stores: &Stores) -> Result<Pipeline, BuildError> {
        self.check()?;
        let identity = match &self.identity {
            None => None,
            Some(plan) => {
                let store = stores
                    .token_store(&plan.store)
                    .ok_or_else(|| BuildError::StoreNotOpened(plan.store.clone()))?;
                Some(IdentityApp::with_parts(
                    plan.identity.clone(),
                    Arc::new(SystemClock),
                    store,
                ))
            }
        };
        let built = Built { stores, identity };
        (self.build)(&built).map(Pipeline::guarded)
    }
}
