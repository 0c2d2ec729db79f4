//! The compute API's factories: `compute` (Nova's `APIRouterV21`, which
//! also keeps the seed's `/instances` beside `/servers`, on the same
//! records) and `image` (the minimal image service clients resolve
//! `--image NAME` against), both over a store: the image service shows
//! the snapshots the compute API keeps there, so both must name the same
//! store (`store` in `[DEFAULT]`, as the shipped file has it).

use std::sync::Arc;

use nova_compute::{Cloud, ComputeApi, ImageServiceApp, ImageStore};
use nova_controller::{InstanceController, InstanceStore};
use nova_paste::{FactoryConfig, FactoryError};
use nova_router::{
    compute_routes, instance_routes, NovaService, Request, ResponseFuture, RoutesMiddleware,
    Service, SharedService,
};
use nova_store::{StoreRequest, StoreUrl};

use crate::AppPlan;

/// The compute app: `/instances…` to the seed's controller, everything
/// else to the compute API, both over one store, so an instance created
/// through either is seen by both.
#[derive(Clone)]
pub(crate) struct ComputeWithSeed {
    seed: SharedService,
    compute: SharedService,
}

impl std::fmt::Debug for ComputeWithSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComputeWithSeed").finish_non_exhaustive()
    }
}

impl Service<Request> for ComputeWithSeed {
    type Response = nova_router::Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        let path = req.uri().path();
        if path == "/instances" || path.starts_with("/instances/") {
            self.seed.call(req)
        } else {
            self.compute.call(req)
        }
    }
}

/// The cloud a section describes: its keys, else `[DEFAULT]`'s.
pub(crate) fn cloud(config: &FactoryConfig) -> Result<Cloud, FactoryError> {
    Cloud::from_config(&|key: &str| config.get(key).map(str::to_owned))
        .map_err(|error| FactoryError::bad_value(error.key().to_owned(), &error))
}

/// The `compute` app over the store `request` names.
pub(crate) fn compute_app(request: StoreRequest, cloud: Cloud) -> AppPlan {
    AppPlan::over_store_controlled(request, move |store, control| {
        let seed_store: Arc<dyn InstanceStore> = store.clone();
        let seed = Arc::new(RoutesMiddleware::new(
            instance_routes(),
            InstanceController::new(seed_store),
        ));
        let api = match control {
            Some(control) => ComputeApi::with_clock(store, cloud.clone(), control.compute_clock())
                .with_injector(control.injector()),
            None => ComputeApi::new(store, cloud.clone()),
        };
        let compute = Arc::new(RoutesMiddleware::new(compute_routes(), api));
        let app: Arc<dyn NovaService> = Arc::new(ComputeWithSeed { seed, compute });
        app
    })
}

/// The `image` app over the store `request` names: the cloud's images
/// and the snapshots the compute app keeps in that store.
pub(crate) fn image_app(request: StoreRequest, cloud: Cloud) -> AppPlan {
    AppPlan::over_store_controlled(request, move |store, control| {
        let images: Arc<dyn ImageStore> = store;
        let app: Arc<dyn NovaService> = Arc::new(match control {
            Some(control) => {
                ImageServiceApp::with_clock(images, cloud.clone(), control.compute_clock())
            }
            None => ImageServiceApp::new(images, cloud.clone()),
        });
        app
    })
}

/// The store URL a section names, with the command line's override.
pub(crate) fn store_url(
    config: &FactoryConfig,
    store_override: Option<&str>,
    default_store: &str,
) -> Result<StoreUrl, FactoryError> {
    let from_file = config.get("store").map(str::to_owned);
    let url = store_override
        .map(str::to_owned)
        .or(from_file)
        .unwrap_or_else(|| default_store.to_owned());
    let url: StoreUrl = url
        .trim()
        .parse()
        .map_err(|error| FactoryError::bad_value("store", error))?;
    url.check()
        .map_err(|error| FactoryError::bad_value("store", error))?;
    Ok(url)
}
