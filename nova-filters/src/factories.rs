//! The paste factories of the standard filters and apps, and the names and
//! Python references they are registered under.

use std::sync::Arc;

use nova_paste::{FactoryConfig, FactoryError, Registry};
use nova_router::SharedService;

use crate::{
    FaultWrap, Healthcheck, HealthcheckFilter, RequestIdFilter, RequestLog, SizeLimit, Versions,
    DEFAULT_API_PATH, DEFAULT_HEALTHCHECK_PATH, DEFAULT_MAX_REQUEST_BODY_SIZE,
};

/// Registers, by name and by the references Nova's and oslo's files use:
///
/// | name | kind | keys | also found as |
/// |---|---|---|---|
/// | `request_id` | filter | | `oslo_middleware:RequestId.factory`, `nova.api.compute_req_id:ComputeReqIdMiddleware.factory` |
/// | `faultwrap` | filter | | `nova.api.openstack:FaultWrapper.factory` |
/// | `sizelimit` | filter | `max_request_body_size` (bytes, default 114688) | `oslo_middleware:RequestBodySizeLimiter.factory` |
/// | `request_log` | filter | | `nova.api.openstack.requestlog:RequestLog.factory` |
/// | `healthcheck` | app | `backends` (`disable_by_file`), `disable_by_file_path` | `oslo_middleware:Healthcheck.app_factory` |
/// | `healthcheck_filter` | filter | `path` (default `/healthcheck`), `backends`, `disable_by_file_path` | `oslo_middleware:Healthcheck.factory` |
/// | `versions` | app | `api_path` (default `/v2.1`) | `nova.api.openstack.compute.versions:Versions.factory` |
///
/// Each also answers to `egg:nova-rs#NAME`. Keys are read from the section,
/// else from `[DEFAULT]`, as oslo's factories do.
pub fn register(registry: &mut Registry) {
    registry
        .add_filter("request_id", |_config, app| {
            Ok(Arc::new(RequestIdFilter::new(app)))
        })
        .alias("oslo_middleware:RequestId.factory", "request_id")
        .alias("oslo_middleware.request_id:RequestId.factory", "request_id")
        .alias(
            "nova.api.compute_req_id:ComputeReqIdMiddleware.factory",
            "request_id",
        )
        .add_filter("faultwrap", |_config, app| {
            Ok(Arc::new(FaultWrap::new(app)))
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
        .add_filter("request_log", |_config, app| {
            Ok(Arc::new(RequestLog::new(app)))
        })
        .alias(
            "nova.api.openstack.requestlog:RequestLog.factory",
            "request_log",
        )
        .add_app("healthcheck", |config| Ok(Arc::new(healthcheck(config)?)))
        .alias("oslo_middleware:Healthcheck.app_factory", "healthcheck")
        .alias(
            "oslo_middleware.healthcheck:Healthcheck.app_factory",
            "healthcheck",
        )
        .add_filter("healthcheck_filter", |config, app| {
            let path = config
                .get("path")
                .unwrap_or(DEFAULT_HEALTHCHECK_PATH)
                .to_owned();
            if !path.starts_with('/') {
                return Err(FactoryError::bad_value("path", "must start with /"));
            }
            Ok(Arc::new(HealthcheckFilter::new(
                app,
                path,
                healthcheck(config)?,
            )))
        })
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
            Ok(Arc::new(Versions::new(path)))
        })
        .alias(
            "nova.api.openstack.compute.versions:Versions.factory",
            "versions",
        );
}

fn sizelimit(config: &FactoryConfig, app: SharedService) -> Result<SharedService, FactoryError> {
    let limit = config
        .parse::<usize>("max_request_body_size")?
        .unwrap_or(DEFAULT_MAX_REQUEST_BODY_SIZE);
    if limit == 0 {
        return Err(FactoryError::bad_value(
            "max_request_body_size",
            "must be at least 1 byte",
        ));
    }
    config.declare_max_body_size(limit);
    Ok(Arc::new(SizeLimit::new(app, limit)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use nova_paste::Config;
    use nova_router::{OversizeBody, Service};

    fn load(text: &str) -> Result<nova_paste::LoadedApp, nova_paste::ConfigError> {
        let mut registry = Registry::new();
        register(&mut registry);
        Config::from_text("f.ini", std::path::Path::new("."), text)?.load_app(&registry, "main")
    }

    #[tokio::test]
    async fn novas_own_references_build_the_standard_pipeline() {
        let text = "[pipeline:main]
pipeline = compute_req_id faultwrap sizelimit request_log versionapp
[filter:compute_req_id]
paste.filter_factory = nova.api.compute_req_id:ComputeReqIdMiddleware.factory
[filter:faultwrap]
paste.filter_factory = nova.api.openstack:FaultWrapper.factory
[filter:sizelimit]
paste.filter_factory = oslo_middleware:RequestBodySizeLimiter.factory
max_request_body_size = 100
[filter:request_log]
paste.filter_factory = nova.api.openstack.requestlog:RequestLog.factory
[app:versionapp]
paste.app_factory = nova.api.openstack.compute.versions:Versions.factory
";
        let app = load(text).unwrap();
        assert_eq!(app.max_body_size(), Some(100));
        let req = http::Request::get("/").body(Bytes::new()).unwrap();
        let response = app.service().call(req).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key("x-compute-request-id"));
        let req = http::Request::post("/")
            .body(Bytes::from(vec![0; 101]))
            .unwrap();
        let response = app.service().call(req).await.unwrap();
        assert_eq!(response.status(), 413);
        assert!(response.headers().contains_key("x-openstack-request-id"));
        // A body the server refused to read reaches no app, even one
        // without a size limit in front.
        let app = load("[app:main]\nuse = egg:nova-rs#versions\n").unwrap();
        let mut req = http::Request::get("/").body(Bytes::new()).unwrap();
        req.extensions_mut().insert(OversizeBody { limit: 5 });
        assert_eq!(app.service().call(req).await.unwrap().status(), 413);
    }

    #[test]
    fn ill_typed_keys_are_refused_naming_the_key() {
        let table = [
            ("[filter-app:main]\nuse = sizelimit\nmax_request_body_size = lots\nnext = v\n[app:v]\nuse = versions\n", 3, "max_request_body_size: \"lots\" is not valid"),
            ("[filter-app:main]\nuse = sizelimit\nmax_request_body_size = 0\nnext = v\n[app:v]\nuse = versions\n", 3, "must be at least 1 byte"),
            ("[filter-app:main]\nuse = sizelimit\nmax_body = 5\nnext = v\n[app:v]\nuse = versions\n", 3, "unknown key \"max_body\" for sizelimit"),
            ("[app:main]\nuse = healthcheck\nbackends = disable_by_file\n", 3, "needs disable_by_file_path"),
            ("[app:main]\nuse = healthcheck\nbackends = magic\n", 3, "not supported"),
            ("[app:main]\nuse = versions\napi_path = v2\n", 3, "api_path: must start with /"),
            ("[filter-app:main]\nuse = request_id\nverbose = true\nnext = v\n[app:v]\nuse = versions\n", 3, "unknown key \"verbose\" for request_id"),
        ];
        for (text, line, says) in table {
            let error = load(text).unwrap_err();
            assert_eq!(error.line, Some(line), "{error}");
            assert!(error.to_string().contains(says), "{error}");
        }
    }
}
