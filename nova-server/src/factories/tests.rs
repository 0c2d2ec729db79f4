//! The factories as a file names them: Nova's and oslo's references, every
//! key checked, and stores named rather than opened.

use std::path::Path;

use bytes::Bytes;
use nova_paste::{Config, ConfigError};
use nova_router::Service;
use nova_store::{StoreRequest, StoreUrl, Stores};

use super::*;
use crate::oversize::OversizeBody;
use crate::{load, ConfigSource, Pipeline, DEFAULT_LISTEN};

fn plan(text: &str) -> Result<AppPlan, ConfigError> {
    Config::from_text("f.ini", Path::new("."), text)?
        .load_app(&registry(&Overrides::default()), "main")
}

async fn built(plan: &AppPlan) -> Pipeline {
    let stores = Stores::open(plan.stores().iter().cloned()).await.unwrap();
    plan.build(&stores).unwrap()
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
    let app = built(&plan(text).unwrap()).await;
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
    // A body the edge refused to read reaches no app, even one without a
    // size limit in front.
    let app = built(&plan("[app:main]\nuse = egg:nova-rs#versions\n").unwrap()).await;
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
        ("[app:main]\nuse = openapi\napi_prefix = v2.1\n", 3, "api_prefix: \"v2.1\" must be empty or start with '/'"),
        ("[filter-app:main]\nuse = authtoken\nwww_authenticate_uri = keystone:5000\nnext = v\n[app:v]\nuse = versions\n", 3, "www_authenticate_uri: the identity endpoint must be an absolute http or https URI"),
    ];
    for (text, line, says) in table {
        let error = plan(text).unwrap_err();
        assert_eq!(error.line, Some(line), "{error}");
        assert!(error.to_string().contains(says), "{error}");
    }
}

#[test]
fn the_builtin_file_loads_and_listens_where_the_seed_does() {
    let loaded = load(&ConfigSource::Builtin, "main", &Overrides::default()).unwrap();
    assert_eq!(loaded.server.listen, Some(DEFAULT_LISTEN));
    assert_eq!(loaded.server.max_body_bytes, None);
    assert_eq!(
        loaded.app.stores(),
        [StoreRequest {
            url: StoreUrl::Memory,
            seed: true
        }]
    );
}

#[test]
fn the_shipped_api_paste_file_names_its_store_and_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/nova-rs/api-paste.ini"),
    )
    .unwrap()
    .replace(
        "sqlite:nova.db",
        &format!("sqlite:{}/nova.db", dir.path().display()),
    );
    let file = dir.path().join("api-paste.ini");
    std::fs::write(&file, text).unwrap();
    let loaded = load(&ConfigSource::File(file), "main", &Overrides::default()).unwrap();
    // The compute API, the image service (mounted twice: its version
    // document and its API), the identity service and the control API
    // name one store, where the snapshots, the token key, the revocations,
    // the behaviours and the clock are.
    let urls: Vec<&StoreUrl> = loaded.app.stores().iter().map(|s| &s.url).collect();
    assert_eq!(urls.len(), 5, "{urls:?}");
    assert!(
        urls.iter()
            .all(|url| **url == StoreUrl::Sqlite(dir.path().join("nova.db"))),
        "{urls:?}"
    );
    assert!(
        !dir.path().join("nova.db").exists(),
        "loading opened the store"
    );
}

#[test]
fn instance_sections_name_their_store_and_refuse_unknown_ones() {
    let app = plan("[app:main]\nuse = instance\nstore = memory:\nseed = false\n").unwrap();
    assert_eq!(
        app.stores(),
        [StoreRequest {
            url: StoreUrl::Memory,
            seed: false
        }]
    );
    let error = plan("[app:main]\nuse = instance\nstore = mysql://db/nova\n").unwrap_err();
    assert_eq!(error.line, Some(3));
    assert!(error.to_string().contains("unknown store"), "{error}");
    let error = plan("[app:main]\nuse = instance\nseed = maybe\n").unwrap_err();
    assert!(error.to_string().contains("not a boolean"), "{error}");
    let error = plan(
        "[filter-app:main]\nuse = auth\ntokens = a, b\u{7f}\nnext = i\n[app:i]\nuse = instance\n",
    )
    .unwrap_err();
    assert_eq!(error.line, Some(3), "{error}");
}

#[test]
fn a_store_given_on_the_command_line_replaces_every_sections() {
    let overrides = Overrides {
        store: Some("memory:".to_owned()),
        ..Overrides::default()
    };
    let text = "[composite:main]\nuse = urlmap\n/a = a\n/b = b\n\
                [app:a]\nuse = instance\nstore = sqlite:/nonexistent/a.db\n\
                [app:b]\nuse = instance\n";
    let config = Config::from_text("o.ini", Path::new("."), text).unwrap();
    let app = config.load_app(&registry(&overrides), "main").unwrap();
    assert!(
        app.stores().iter().all(|s| s.url == StoreUrl::Memory),
        "{app:?}"
    );
}
