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
use nova_router::{MountError, SharedService, UrlMap};
use nova_store::{StoreRequest, StoreUrl, Stores};

use crate::oversize::RefuseOversizeBody;
use crate::Pipeline;

/// Builds a plan's services once its stores are open.
type Build = Arc<dyn Fn(&Stores) -> Result<SharedService, BuildError> + Send + Sync>;

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
    build: Build,
}

impl std::fmt::Debug for AppPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppPlan")
            .field("stores", &self.stores)
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
}

impl AppPlan {
    /// An application that needs no store.
    pub fn app(service: SharedService) -> Self {
        let guarded: SharedService = Arc::new(RefuseOversizeBody::new(service));
        AppPlan {
            stores: Vec::new(),
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
            build: Arc::new(move |stores| {
                let store = stores
                    .get(&url)
                    .ok_or_else(|| BuildError::StoreNotOpened(url.clone()))?;
                Ok(Arc::new(RefuseOversizeBody::new(make(store))))
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
            build: Arc::new(move |stores| Ok(wrap(inner(stores)?))),
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
        AppPlan {
            stores,
            build: Arc::new(move |stores| {
                let mut map = UrlMap::new();
                for (prefix, plan) in &mounts {
                    map.mount(prefix, (plan.build)(stores)?)?;
                }
                if let Some(plan) = &not_found {
                    map.set_not_found((plan.build)(stores)?);
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

    /// Builds the pipeline over `stores`, which must hold every store of
    /// [`AppPlan::stores`].
    pub fn build(&self, stores: &Stores) -> Result<Pipeline, BuildError> {
        (self.build)(stores).map(Pipeline::guarded)
    }
}
