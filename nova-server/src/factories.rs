//! Every paste factory nova-server registers, under its own name and the
//! references Nova's, oslo's, paste's and the seed's files use.
//!
//! | name | kind | keys | also found as |
//! |---|---|---|---|
//! | `urlmap` | composite | `/PREFIX = app`, `not_found_app` | `egg:Paste#urlmap`, `paste.urlmap:urlmap_factory`, `nova.api.openstack.urlmap:urlmap_factory` |
//! | `request_id` | filter | | `oslo_middleware:RequestId.factory`, `nova.api.compute_req_id:ComputeReqIdMiddleware.factory` |
//! | `faultwrap` | filter | | `nova.api.openstack:FaultWrapper.factory` |
//! | `sizelimit` | filter | `max_request_body_size` (bytes, default 114688) | `oslo_middleware:RequestBodySizeLimiter.factory` |
//! | `request_log` | filter | | `nova.api.openstack.requestlog:RequestLog.factory` |
//! | `healthcheck` | app | `backends` (`disable_by_file`), `disable_by_file_path` | `oslo_middleware:Healthcheck.app_factory` |
//! | `healthcheck_filter` | filter | `path` (default `/healthcheck`), `backends`, `disable_by_file_path` | `oslo_middleware:Healthcheck.factory` |
//! | `versions` | app | `api_path` (default `/v2.1`), `legacy_api_path` (the v2.0 document's, default `v2` beside `api_path`) | `nova.api.openstack.compute.versions:Versions.factory` |
//! | `versions_v2` | app | | `nova.api.openstack.compute.versions:VersionsV2.factory` |
//! | `legacy_v2_compatible` | filter | | `nova.api.openstack:LegacyV2CompatibleWrapper.factory` |
//! | `microversion` | filter | | |
//! | `openapi` | app | `api_prefix` (where the API is mounted, default none), `document` (`instances`, the seed's API, the default; `compute`, the compute API's; `control`, the control API's) | |
//! | `auth` | filter | `tokens` (comma or space separated) | `auth:filter_factory` (the seed's) |
//! | `instance` | app | `store` (a store URL), `seed` (`true`) | `routers:app_factory` (the seed's) |
//! | `compute` | app | `store`, `seed`, and the cloud's keys ([`Cloud::from_config`](nova_compute::Cloud::from_config)) | `nova.api.openstack.compute:APIRouterV21.factory` |
//! | `image` | app | `store` (the compute app's, where its snapshots are), `seed`, and the cloud's keys | `glance.api.v2.router:API.factory` |
//! | `identity` | app | `store` (where token keys and revocations are kept), and the identity's keys ([`Identity::from_config`](nova_identity::Identity::from_config)) | `keystone.server.flask.application:application_factory` |
//! | `authtoken` | filter | `www_authenticate_uri` (default `http://HOST/identity`), `tokens` (shared static tokens also let through, as the `auth` filter's) | `keystonemiddleware.auth_token:filter_factory` |
//! | `keystonecontext` | filter | | `nova.api.auth:NovaKeystoneContext.factory` |
//! | `control` | app | `store` (where behaviours and the clock are kept: the compute app's), `token` (default `open-sesame`), `clock` (`real` or `controlled`), `allow_remote` (default false), `request_log_size` (default 1000) | |
//! | `control_log` | filter | `service` (default `compute`) | |
//! | `control_hooks` | filter | `event` (`api`, the default, or `identity.token`) | |
//!
//! Each also answers to `egg:nova-rs#NAME`. Keys are read from the section,
//! else from `[DEFAULT]`, as oslo's factories do. Every factory only checks
//! its keys and describes what it will build ([`AppPlan`]); none opens a
//! database or a socket, and only `identity` reads a file (a configured
//! Fernet key repository, as Keystone reads it at start-up).
//!
//! `authtoken` validates tokens against the file's `identity` app, the one
//! instance both share once built; a file with the filter and no identity
//! app is refused ([`BuildError::NoIdentityService`](crate::BuildError)).
//! `keystonecontext` adds nothing: `authtoken` already hands the caller on
//! as a typed request context, so Nova's filter of that name is accepted
//! and passes requests on.
//!
//! `microversion` is nova-rs's own: Nova negotiates the microversion in
//! every controller's `wsgi.Resource`; here one filter in front of the API
//! does it once, with the range the controllers implement
//! ([`COMPUTE_API_VERSIONS`]), and hands the version on as a typed
//! request extension.
//!
//! `request_log` adds nothing: the server's edge writes one access-log line
//! for every request, whatever the pipeline, so Nova's filter of that name
//! is accepted (Nova's own `api-paste.ini` names it) and passes requests on.

use std::sync::Arc;

use nova_auth::{AuthFilter, Tokens};
use nova_compute::{COMPUTE_API_VERSIONS, COMPUTE_OPENAPI_DOCUMENT};
use nova_controller::{InstanceController, OpenApiApp, OpenApiError, OPENAPI_DOCUMENT};
use nova_filters::{
    FaultWrap, Healthcheck, HealthcheckFilter, LegacyV2Compatible, Microversions, RequestIdFilter,
    SizeLimit, VersionDocument, Versions, DEFAULT_API_PATH, DEFAULT_HEALTHCHECK_PATH,
    DEFAULT_MAX_REQUEST_BODY_SIZE,
};
use nova_paste::{FactoryConfig, FactoryError, Registry};
use nova_router::{instance_routes, RoutesMiddleware};
use nova_store::{StoreRequest, StoreUrl};

use crate::AppPlan;

/// What the command line puts in place of the file's settings.
#[derive(Clone)]
pub struct Overrides {
    /// Tokens that replace every auth filter's `tokens` key (`--token`,
    /// `NOVA_AUTH_TOKENS`); `None` keeps the file's, or the seed's
    /// `open-sesame` if the file has none.
    pub tokens: Option<Tokens>,
    /// A store URL that replaces the `store` key of every app that keeps
    /// a store (`instance`, `compute`, `image`; `--store`, `NOVA_STORE`);
    /// `None` keeps the file's.
    pub store: Option<String>,
    /// The store of those apps whose section (and `[DEFAULT]`) names none.
    pub default_store: String,
}

impl Default for Overrides {
    /// Nothing replaced, and `memory:` for instance apps that name no
    /// store: what a program embedding the server wants in its tests. The
    /// nova-server binary uses `sqlite:nova.db`.
    fn default() -> Self {
        Overrides {
            tokens: None,
            store: None,
            default_store: "memory:".to_owned(),
        }
    }
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A store URL may hold a password: show it as the store shows it.
        let store = self.store.as_deref().map(|url| {
            url.parse::<StoreUrl>()
                .map_or("<invalid>".to_owned(), |u| u.to_string())
        });
        f.debug_struct("Overrides")
            .field("tokens", &self.tokens)
            .field("store", &store)
            .field("default_store", &self.default_store)
            .finish()
    }
}

/// Every factory nova-server has (see the module documentation), with
/// `overrides` applied. An embedding program may add its own to the result.
pub fn registry(overrides: &Overrides) -> Registry<AppPlan> {
    let mut registry = Registry::new();
    registry
        .add_distribution("nova-rs")
        .add_urlmap(|spec| Ok(AppPlan::urlmap(spec.mounts, spec.not_found)))
        .add_filter("request_id", |_config, app: AppPlan| {
            Ok(app.filtered(|inner| Arc::new(RequestIdFilter::new(inner))))
        })
        .alias("oslo_middleware:RequestId.factory", "request_id")
        .alias("oslo_middleware.request_id:RequestId.factory", "request_id")
        .alias(
            "nova.api.compute_req_id:ComputeReqIdMiddleware.factory",
            "request_id",
        )
        .add_filter("faultwrap", |_config, app: AppPlan| {
            Ok(app.filtered(|inner| Arc::new(FaultWrap::new(inner))))
        })
        .alias("nova.api.openstack:FaultWrapper.factory", "faultwrap")
        .add_filter("sizelimit", sizelimit)
        .alias(
            "oslo_middleware:RequestBodySizeLimiter.factory",
            "sizelimit",
        )
        .alias(
            "oslo_middleware.sizelimit:RequestBodySizeLimiter.factory",
            "sizelimit",
        )
        .add_filter("request_log", |_config, app| Ok(app))
        .alias(
            "nova.api.openstack.requestlog:RequestLog.factory",
            "request_log",
        )
        .add_app("healthcheck", |config| {
            Ok(AppPlan::app(Arc::new(healthcheck(config)?)))
        })
        .alias("oslo_middleware:Healthcheck.app_factory", "healthcheck")
        .alias(
            "oslo_middleware.healthcheck:Healthcheck.app_factory",
            "healthcheck",
        )
        .add_filter("healthcheck_filter", healthcheck_filter)
        .alias("oslo_middleware:Healthcheck.factory", "healthcheck_filter")
        .alias(
            "oslo_middleware.healthcheck:Healthcheck.factory",
            "healthcheck_filter",
        )
        .add_app("versions", |config| {
            let path = config.get("api_path").unwrap_or(DEFAULT_API_PATH);
            if !path.starts_with('/') {
                return Err(FactoryError::bad_value("api_path", "must start with /"));
            }
            let mut versions = Versions::new(path, COMPUTE_API_VERSIONS);
            if let Some(legacy) = config.get("legacy_api_path") {
                if !legacy.starts_with('/') {
                    return Err(FactoryError::bad_value(
                        "legacy_api_path",
                        "must start with /",
                    ));
                }
                versions = versions.with_legacy_path(legacy);
            }
            Ok(AppPlan::app(Arc::new(versions)))
        })
        .alias(
            "nova.api.openstack.compute.versions:Versions.factory",
            "versions",
        )
        .add_app("versions_v2", |_config| {
            Ok(AppPlan::app(Arc::new(VersionDocument::new(
                COMPUTE_API_VERSIONS,
            ))))
        })
        .alias(
            "nova.api.openstack.compute.versions:VersionsV2.factory",
            "versions_v2",
        )
        // Only the version document reads its mark: nova-rs serves no
        // compute API at /v2/.
        .add_filter("legacy_v2_compatible", |_config, app: AppPlan| {
            Ok(app.filtered(|inner| Arc::new(LegacyV2Compatible::new(inner))))
        })
        .alias(
            "nova.api.openstack:LegacyV2CompatibleWrapper.factory",
            "legacy_v2_compatible",
        )
        .add_filter("microversion", |_config, app: AppPlan| {
            Ok(app.filtered(|inner| Arc::new(Microversions::new(inner, COMPUTE_API_VERSIONS))))
        })
        .add_app("openapi", |config| {
            let prefix = config.get("api_prefix").unwrap_or("").trim();
            let document = match config.get("document").map(str::trim) {
                None | Some("instances") => OPENAPI_DOCUMENT,
                Some("compute") => COMPUTE_OPENAPI_DOCUMENT,
                Some("control") => nova_control::CONTROL_OPENAPI_DOCUMENT,
                Some(other) => {
                    return Err(FactoryError::bad_value(
                        "document",
                        format_args!("{other:?} is not instances, compute or control"),
                    ))
                }
            };
            let app = OpenApiApp::with_document(document, prefix).map_err(|error| match error {
                OpenApiError::BadPrefix(_) => FactoryError::bad_value("api_prefix", error),
                _ => FactoryError::bad_value("document", error),
            })?;
            Ok(AppPlan::app(Arc::new(app)))
        });
    let tokens = overrides.tokens.clone();
    registry
        .add_filter("auth", move |config, app: AppPlan| {
            let from_file = file_tokens(config)?;
            let tokens = tokens.clone().or(from_file).unwrap_or_default();
            Ok(app.filtered(move |inner| Arc::new(AuthFilter::new(inner, tokens.clone()))))
        })
        .alias("auth:filter_factory", "auth");
    let tokens = overrides.tokens.clone();
    registry
        .add_filter("authtoken", move |config, app: AppPlan| {
            // Only a file that names shared tokens gets them (the flag
            // replaces the file's): a Keystone pipeline accepts none by
            // default.
            let shared = file_tokens(config)?.map(|from_file| tokens.clone().unwrap_or(from_file));
            identity::authtoken(config, app, shared)
        })
        .alias("keystonemiddleware.auth_token:filter_factory", "authtoken")
        .add_filter("keystonecontext", |_config, app| Ok(app))
        .alias(
            "nova.api.auth:NovaKeystoneContext.factory",
            "keystonecontext",
        );
    let store_override = overrides.store.clone();
    let default_store = overrides.default_store.clone();
    registry
        .add_app("identity", move |config| {
            let url = compute::store_url(config, store_override.as_deref(), &default_store)?;
            // The same store as the compute app's in the shipped file, so
            // the same seeding rule: whichever app names it first, a new
            // store is seeded alike.
            let request = StoreRequest {
                url,
                seed: config.bool("seed")?.unwrap_or(true),
            };
            identity::identity_app(config, request)
        })
        .alias(
            "keystone.server.flask.application:application_factory",
            "identity",
        );
    let store_override = overrides.store.clone();
    let default_store = overrides.default_store.clone();
    registry
        .add_app("instance", move |config| {
            let from_file = config.get("store").map(str::trim);
            let url = store_override
                .as_deref()
                .or(from_file)
                .unwrap_or(&default_store);
            let url: StoreUrl = url
                .parse()
                .map_err(|error| FactoryError::bad_value("store", error))?;
            url.check()
                .map_err(|error| FactoryError::bad_value("store", error))?;
            let request = StoreRequest {
                url,
                seed: config.bool("seed")?.unwrap_or(true),
            };
            Ok(AppPlan::over_store(request, |store| {
                Arc::new(RoutesMiddleware::new(
                    instance_routes(),
                    InstanceController::new(store),
                ))
            }))
        })
        .alias("routers:app_factory", "instance");
    let store_override = overrides.store.clone();
    let default_store = overrides.default_store.clone();
    registry
        .add_app("compute", move |config| {
            let url = compute::store_url(config, store_override.as_deref(), &default_store)?;
            let request = StoreRequest {
                url,
                seed: config.bool("seed")?.unwrap_or(true),
            };
            Ok(compute::compute_app(request, compute::cloud(config)?))
        })
        .alias("nova.api.openstack.compute:APIRouterV21.factory", "compute");
    let store_override = overrides.store.clone();
    let default_store = overrides.default_store.clone();
    registry
        .add_app("image", move |config| {
            let url = compute::store_url(config, store_override.as_deref(), &default_store)?;
            let request = StoreRequest {
                url,
                seed: config.bool("seed")?.unwrap_or(true),
            };
            Ok(compute::image_app(request, compute::cloud(config)?))
        })
        .alias("glance.api.v2.router:API.factory", "image");
    let store_override = overrides.store.clone();
    let default_store = overrides.default_store.clone();
    registry
        .add_app("control", move |config| {
            let url = compute::store_url(config, store_override.as_deref(), &default_store)?;
            let request = StoreRequest {
                url,
                seed: config.bool("seed")?.unwrap_or(true),
            };
            control::control_app(config, request)
        })
        .add_filter("control_log", control::control_log)
        .add_filter("control_hooks", control::control_hooks);
    registry
}

fn sizelimit(config: &FactoryConfig, app: AppPlan) -> Result<AppPlan, FactoryError> {
    let limit = config
        .parse::<usize>("max_request_body_size")?
        .unwrap_or(DEFAULT_MAX_REQUEST_BODY_SIZE);
    if limit == 0 {
        return Err(FactoryError::bad_value(
            "max_request_body_size",
            "must be at least 1 byte",
        ));
    }
    Ok(app.filtered(move |inner| Arc::new(SizeLimit::new(inner, limit))))
}

fn healthcheck_filter(config: &FactoryConfig, app: AppPlan) -> Result<AppPlan, FactoryError> {
    let path = config
        .get("path")
        .unwrap_or(DEFAULT_HEALTHCHECK_PATH)
        .to_owned();
    if !path.starts_with('/') {
        return Err(FactoryError::bad_value("path", "must start with /"));
    }
    let check = healthcheck(config)?;
    Ok(app.filtered(move |inner| {
        Arc::new(HealthcheckFilter::new(inner, path.clone(), check.clone()))
    }))
}

fn healthcheck(config: &FactoryConfig) -> Result<Healthcheck, FactoryError> {
    let backends = config.list("backends").unwrap_or_default();
    let path = config.get("disable_by_file_path");
    match (backends.as_slice(), path) {
        ([], None) => Ok(Healthcheck::new()),
        ([backend], Some(path)) if backend == "disable_by_file" => {
            Ok(Healthcheck::disabled_by_file(path))
        }
        ([backend], None) if backend == "disable_by_file" => Err(FactoryError::bad_value(
            "backends",
            "disable_by_file needs disable_by_file_path",
        )),
        ([], Some(_)) => Err(FactoryError::bad_value(
            "disable_by_file_path",
            "is only used with backends = disable_by_file",
        )),
        _ => Err(FactoryError::bad_value(
            "backends",
            format_args!("{backends:?} is not supported; the only backend is disable_by_file"),
        )),
    }
}

fn file_tokens(config: &FactoryConfig) -> Result<Option<Tokens>, FactoryError> {
    match config.list("tokens") {
        None => Ok(None),
        Some(list) => Tokens::new(list)
            .map(Some)
            .map_err(|error| FactoryError::bad_value("tokens", error)),
    }
}

mod compute;
mod control;
mod identity;

#[cfg(test)]
mod tests;
