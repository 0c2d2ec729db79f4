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
use nova_identity::{Clock as IdentityClock, Identity, IdentityApp, SystemClock};
use nova_router::{MountError, SharedService, UrlMap};
use nova_store::{StoreRequest, StoreUrl, Stores};

use crate::control_plane::{ControlParts, ControlPlan, ControlSettings};
use crate::oversize::RefuseOversizeBody;
use crate::Pipeline;

/// Builds a plan's services once its stores are open.
type Build = Arc<dyn Fn(&Built<'_>) -> Result<SharedService, BuildError> + Send + Sync>;

/// What a plan's services are built from: the open stores, the file's
/// identity service, one instance shared by the identity app and every
/// token filter, so a token it issues is one they accept and a revocation
/// through it is seen by them at once, and the file's control plane, if
/// it mounts the control app.
struct Built<'a> {
    stores: &'a Stores,
    identity: Option<IdentityApp>,
    control: Option<ControlParts>,
}

impl Built<'_> {
    fn identity(&self) -> Result<IdentityApp, BuildError> {
        self.identity.clone().ok_or(BuildError::NoIdentityService)
    }

    fn control(&self) -> Result<&ControlParts, BuildError> {
        self.control.as_ref().ok_or(BuildError::NoControlApp)
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
    /// The control app's, if the plan has one (the first, if several).
    control: Option<ControlPlan>,
    /// Whether a control filter in the plan works with it.
    needs_control: bool,
    build: Build,
}

impl std::fmt::Debug for AppPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppPlan")
            .field("stores", &self.stores)
            .field("identity", &self.identity.is_some())
            .field("needs_identity", &self.needs_identity)
            .field("control", &self.control.is_some())
            .field("needs_control", &self.needs_control)
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
    /// A control filter (`control_log`, `control_hooks`) works with the
    /// file's control app, and the file mounts none (`control` app).
    #[error("the control_log and control_hooks filters need a control app in the same file; mount one (use = egg:nova-rs#control)")]
    NoControlApp,
}

impl AppPlan {
    /// An application that needs no store.
    pub fn app(service: SharedService) -> Self {
        let guarded: SharedService = Arc::new(RefuseOversizeBody::new(service));
        AppPlan {
            stores: Vec::new(),
            identity: None,
            needs_identity: false,
            control: None,
            needs_control: false,
            build: Arc::new(move |_| Ok(guarded.clone())),
        }
    }

    /// An application over the store `request` names, made by `make` once
    /// that store is open.
    pub fn over_store<F>(request: StoreRequest, make: F) -> Self
    where
        F: Fn(Arc<dyn ServerStore>) -> SharedService + Send + Sync + 'static,
    {
        Self::over_store_controlled(request, move |store, _control| make(store))
    }

    /// As [`AppPlan::over_store`], for an application the file's control
    /// plane reaches into (the compute API asks it at server events and
    /// reads its clock): `make` also gets the control plane, if the file
    /// mounts the control app.
    pub(crate) fn over_store_controlled<F>(request: StoreRequest, make: F) -> Self
    where
        F: Fn(Arc<dyn ServerStore>, Option<&ControlParts>) -> SharedService + Send + Sync + 'static,
    {
        let url = request.url.clone();
        AppPlan {
            stores: vec![request],
            identity: None,
            needs_identity: false,
            control: None,
            needs_control: false,
            build: Arc::new(move |built| {
                let store = built
                    .stores
                    .get(&url)
                    .ok_or_else(|| BuildError::StoreNotOpened(url.clone()))?;
                Ok(Arc::new(RefuseOversizeBody::new(make(
                    store,
                    built.control.as_ref(),
                ))))
            }),
        }
    }

    /// The control app `settings` describe, keeping its behaviours and
    /// clock in the store `request` names. The file's control filters
    /// ([`AppPlan::controlled`]) and the compute and identity apps work
    /// with this one control plane.
    pub(crate) fn control(request: StoreRequest, settings: ControlSettings) -> Self {
        let url = request.url.clone();
        let plan = ControlPlan {
            settings,
            store: url.clone(),
        };
        AppPlan {
            stores: vec![request],
            identity: None,
            needs_identity: false,
            control: Some(plan),
            needs_control: false,
            build: Arc::new(move |built| {
                let servers = built
                    .stores
                    .get(&url)
                    .ok_or_else(|| BuildError::StoreNotOpened(url.clone()))?;
                let app = built.control()?.app(servers);
                Ok(Arc::new(RefuseOversizeBody::new(app)))
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
            control: None,
            needs_control: false,
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
            build: Arc::new(move |built| Ok(wrap(inner(built)?))),
            ..self
        }
    }

    /// This plan behind a control filter: `wrap` gets the built inner
    /// service and the file's control plane. Building fails with
    /// [`BuildError::NoControlApp`] if the file mounts no control app.
    pub(crate) fn controlled<F>(self, wrap: F) -> Self
    where
        F: Fn(SharedService, &ControlParts) -> SharedService + Send + Sync + 'static,
    {
        let inner = self.build;
        AppPlan {
            needs_control: true,
            build: Arc::new(move |built| Ok(wrap(inner(built)?, built.control()?))),
            ..self
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
            needs_identity: true,
            build: Arc::new(move |built| Ok(wrap(inner(built)?, built.identity()?))),
            ..self
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
        let control = plans().find_map(|plan| plan.control.clone());
        let needs_control = plans().any(|plan| plan.needs_control);
        AppPlan {
            stores,
            identity,
            needs_identity,
            control,
            needs_control,
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
        if self.needs_control && self.control.is_none() {
            return Err(BuildError::NoControlApp);
        }
        Ok(())
    }

    /// Builds the pipeline over `stores`, which must hold every store of
    /// [`AppPlan::stores`].
    pub fn build(&self, stores: &Stores) -> Result<Pipeline, BuildError> {
        self.check()?;
        let control = match &self.control {
            None => None,
            Some(plan) => {
                let store = stores
                    .control_store(&plan.store)
                    .ok_or_else(|| BuildError::StoreNotOpened(plan.store.clone()))?;
                Some(ControlParts::new(&plan.settings, store))
            }
        };
        let identity = match &self.identity {
            None => None,
            Some(plan) => {
                let store = stores
                    .token_store(&plan.store)
                    .ok_or_else(|| BuildError::StoreNotOpened(plan.store.clone()))?;
                let clock: Arc<dyn IdentityClock> = match &control {
                    Some(control) => control.identity_clock(),
                    None => Arc::new(SystemClock),
                };
                Some(IdentityApp::with_parts(plan.identity.clone(), clock, store))
            }
        };
        let built = Built {
            stores,
            identity,
            control,
        };
        (self.build)(&built).map(Pipeline::guarded)
    }
}
