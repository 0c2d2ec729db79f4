//! The loader against every construct of a paste.deploy file and every way a
//! file can be wrong, with small test factories that show which sections
//! were built, in which order, with which settings.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use nova_paste::{Config, ConfigError, ConfigErrorKind, FactoryError, Registry};
use nova_router::{service_fn, Request, ScriptName, Service, SharedService, UrlMap};

/// `echo` answers `TAG@SCRIPT_NAME PATH` plus `{KEY=VALUE}` for each key
/// named in `show` (read with the local-then-global rule); `wrap` answers
/// `TAG[INNER]`. `size` must be a number if given. `urlmap` is paste's,
/// built as a [`UrlMap`]; `egg:nova-rs#NAME` finds the factory `NAME`.
fn registry() -> Registry<SharedService> {
    let mut registry = Registry::new();
    registry
        .add_urlmap(|spec| {
            let mut map = UrlMap::new();
            for (prefix, app) in spec.mounts {
                map.mount(&prefix, app)
                    .map_err(|error| FactoryError::bad_value(&prefix, error))?;
            }
            if let Some(app) = spec.not_found {
                map.set_not_found(app);
            }
            Ok(Arc::new(map) as SharedService)
        })
        .add_distribution("nova-rs")
        .add_app("echo", |config| {
            let tag = config.get("tag").unwrap_or("app").to_owned();
            let _size: Option<usize> = config.parse("size")?;
            let shown: String = config
                .list("show")
                .unwrap_or_default()
                .iter()
                .map(|key| format!("{{{key}={}}}", config.get(key).unwrap_or("-")))
                .collect();
            let app: SharedService = Arc::new(service_fn(move |req: Request| {
                let text = format!("{tag}{shown}@{} {}", ScriptName::of(&req), req.uri().path());
                async move { http::Response::new(Bytes::from(text)) }
            }));
            Ok(app)
        })
        .add_filter("wrap", |config, inner| {
            let tag = config.get("tag").unwrap_or("wrap").to_owned();
            if tag.is_empty() {
                return Err(FactoryError::bad_value("tag", "must not be empty"));
            }
            let filter: SharedService = Arc::new(service_fn(move |req: Request| {
                let inner = inner.clone();
                let tag = tag.clone();
                async move {
                    let response = inner.call(req).await.unwrap();
                    let body = String::from_utf8_lossy(response.body()).into_owned();
                    http::Response::new(Bytes::from(format!("{tag}[{body}]")))
                }
            }));
            Ok(filter)
        })
        .alias("routers:app_factory", "echo")
        .alias("auth:filter_factory", "wrap");
    registry
}

fn load(text: &str, name: &str) -> Result<SharedService, ConfigError> {
    let config = Config::from_text("test.ini", Path::new("/etc/nova-rs"), text)?;
    config.load_app(&registry(), name)
}

async fn get(app: &SharedService, path: &str) -> String {
    let req = http::Request::get(path).body(Bytes::new()).unwrap();
    let res = app.call(req).await.unwrap();
    String::from_utf8_lossy(res.body()).into_owned()
}

async fn body_of(text: &str, name: &str, path: &str) -> String {
    let app = load(text, name).unwrap_or_else(|error| panic!("{error}"));
    get(&app, path).await
}

fn error_of(text: &str, name: &str) -> ConfigError {
    match load(text, name) {
        Ok(_) => panic!("loaded, but should not have:\n{text}"),
        Err(error) => error,
    }
}

/// A fresh folder for files that refer to each other.
fn folder(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("nova-paste-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const SEED: &str = "[pipeline:main]
pipeline = auth instance
[app:instance]
paste.app_factory = routers:app_factory
[filter:auth]
paste.filter_factory = auth:filter_factory
";

#[tokio::test]
async fn the_seeds_file_builds_auth_around_instance() {
    assert_eq!(
        body_of(SEED, "main", "/instances").await,
        "wrap[app@ /instances]"
    );
}

#[tokio::test]
async fn pipeline_filters_wrap_in_order_first_outermost_across_continuation_lines() {
    let text = "
# a comment
; another
[pipeline:main]
pipeline = one
    two
  # a comment inside the value is skipped
    instance

[filter:one]
use = egg:nova-rs#wrap
tag = 1
[filter:two]
paste.filter_factory = auth:filter_factory
tag = 2
[app:instance]
use = call:routers:app_factory
";
    assert_eq!(body_of(text, "main", "/x").await, "1[2[app@ /x]]");
}

#[tokio::test]
async fn keys_keep_their_case() {
    let error = error_of("[app:main]\nuse = echo\nTag = x\n", "main");
    assert_eq!(error.line, Some(3));
    assert!(matches!(&error.kind, ConfigErrorKind::UnknownKey { key, .. } if key == "Tag"));
}

#[tokio::test]
async fn interpolation_reads_the_section_default_and_here() {
    let text = "[DEFAULT]
base = /srv
[app:main]
use = echo
tag = %(base)s/%(name)s|%(here)s|%(__file__)s|100%%
name = ignored-but-read
show = name
";
    assert_eq!(
        body_of(text, "main", "/").await,
        "/srv/ignored-but-read|/etc/nova-rs|/etc/nova-rs/test.ini|100%{name=ignored-but-read}@ /"
    );
}

#[tokio::test]
async fn default_keys_reach_every_factory_and_set_overrides_them_below_its_section() {
    let text = "[DEFAULT]
colour = red
[pipeline:main]
pipeline = paint instance
set colour = blue
[filter:paint]
use = wrap
[app:instance]
use = echo
show = colour, here
[app:plain]
use = echo
show = colour
";
    assert_eq!(
        body_of(text, "main", "/").await,
        "wrap[app{colour=blue}{here=/etc/nova-rs}@ /]"
    );
    assert_eq!(body_of(text, "plain", "/").await, "app{colour=red}@ /");
}

#[tokio::test]
async fn get_copies_a_global_key_into_the_section() {
    let text =
        "[DEFAULT]\nglobal_tag = from-default\n[app:main]\nuse = echo\nget tag = global_tag\n";
    assert_eq!(body_of(text, "main", "/").await, "from-default@ /");
}

#[tokio::test]
async fn use_reuses_a_section_and_overrides_its_keys() {
    let text =
        "[app:base]\nuse = echo\ntag = base\nshow = tag\n[app:main]\nuse = base\ntag = derived\n";
    assert_eq!(body_of(text, "main", "/").await, "derived{tag=derived}@ /");
    assert_eq!(body_of(text, "base", "/").await, "base{tag=base}@ /");
}

#[tokio::test]
async fn use_config_loads_a_section_of_another_file_relative_to_here() {
    let dir = folder("use-config");
    std::fs::create_dir_all(dir.join("more")).unwrap();
    std::fs::write(
        dir.join("more/other.ini"),
        "[app:shared]\nuse = echo\ntag = %(here)s\n[app:main]\nuse = echo\ntag = other-main\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("api.ini"),
        "[pipeline:main]\npipeline = wrap elsewhere\n[filter:wrap]\nuse = wrap\n[app:elsewhere]\nuse = config:more/other.ini#shared\n[app:default_name]\nuse = config:more/other.ini\n",
    )
    .unwrap();
    let config = Config::open(dir.join("api.ini")).unwrap();
    let app = config.load_app(&registry(), "main").unwrap();
    let here = dir.join("more").display().to_string();
    assert_eq!(get(&app, "/").await, format!("wrap[{here}@ /]"));
    let app = config.load_app(&registry(), "default_name").unwrap();
    assert_eq!(get(&app, "/").await, "other-main@ /");
}

#[tokio::test]
async fn a_urlmap_composite_mounts_apps_and_strips_their_prefix() {
    for using in [
        "use = egg:Paste#urlmap",
        "use = urlmap",
        "use = call:nova.api.openstack.urlmap:urlmap_factory",
        "paste.composite_factory = paste.urlmap:urlmap_factory",
    ] {
        let text = format!(
            "[composite:main]\n{using}\n/: root\n/v2.1 = api\n/healthcheck = health\n\
             [app:root]\nuse = echo\ntag = root\n[pipeline:api]\npipeline = wrap echoed\n\
             [filter:wrap]\nuse = wrap\n[app:echoed]\nuse = echo\n[app:health]\nuse = echo\ntag = ok\n"
        );
        assert_eq!(body_of(&text, "main", "/").await, "root@ /", "{using}");
        assert_eq!(
            body_of(&text, "main", "/v2.1/instances").await,
            "wrap[app@/v2.1 /instances]",
            "{using}"
        );
        assert_eq!(
            body_of(&text, "main", "/healthcheck").await,
            "ok@/healthcheck /"
        );
        assert_eq!(body_of(&text, "main", "/other").await, "root@ /other");
    }
}

#[tokio::test]
async fn a_urlmap_sends_what_no_prefix_matches_to_its_not_found_app() {
    let text = "[composite:main]\nuse = urlmap\n/v2.1 = api\nnot_found_app = lost\n\
                [app:api]\nuse = echo\n[app:lost]\nuse = echo\ntag = lost\n";
    assert_eq!(
        body_of(text, "main", "/elsewhere").await,
        "lost@ /elsewhere"
    );
    assert_eq!(body_of(text, "main", "/v2.1/x").await, "app@/v2.1 /x");
}

#[tokio::test]
async fn a_filter_app_wraps_its_next_app() {
    let text = "[filter-app:main]\nuse = wrap\ntag = fa\nnext = inner\n[app:inner]\nuse = echo\n";
    assert_eq!(body_of(text, "main", "/").await, "fa[app@ /]");
    let text =
        "[filter-app:main]\npaste.filter_factory = wrap\nnext = inner\n[app:inner]\nuse = echo\n";
    assert_eq!(body_of(text, "main", "/").await, "wrap[app@ /]");
}

#[tokio::test]
async fn filter_with_wraps_an_app_and_stacks_through_use() {
    let text = "[app:base]\nuse = echo\nfilter-with = inner\n[app:main]\nuse = base\nfilter-with = outer\n\
                [filter:inner]\nuse = wrap\ntag = in\n[filter:outer]\nuse = wrap\ntag = out\n";
    assert_eq!(body_of(text, "base", "/").await, "in[app@ /]");
    assert_eq!(body_of(text, "main", "/").await, "out[in[app@ /]]");
}

#[tokio::test]
async fn sections_paste_does_not_read_are_ignored() {
    let text = format!("{SEED}[loggers]\nkeys = root\n[server:main]\nport = 1\n");
    assert_eq!(body_of(&text, "main", "/").await, "wrap[app@ /]");
}

#[test]
fn server_sections_are_read_by_the_caller_with_their_keys_checked() {
    let text = "[DEFAULT]\nport = 9\n[server:main]\nuse = egg:Paste#http\nhost = 0.0.0.0\nset port = 8774\n";
    let config = Config::from_text("s.ini", Path::new("."), text).unwrap();
    let read = config
        .load_server("main", |server| {
            assert_eq!(server.local("use"), Some("egg:Paste#http"));
            Ok((
                server.get("host").map(str::to_owned),
                server.parse::<u16>("port")?,
            ))
        })
        .unwrap();
    assert_eq!(read, Some((Some("0.0.0.0".to_owned()), Some(8774))));
    assert_eq!(config.load_server("other", |_| Ok(())).unwrap(), None);

    let error = config.load_server("main", |_| Ok(())).unwrap_err();
    assert_eq!(
        (error.line, error.section.as_deref()),
        (Some(4), Some("server:main"))
    );
    assert!(matches!(&error.kind, ConfigErrorKind::UnknownKey { key, .. } if key == "use"));
}

/// Every bad file: the line, the section and what is wrong.
#[test]
fn bad_files_are_refused_with_the_line_section_and_reason() {
    struct Case {
        text: &'static str,
        line: Option<usize>,
        section: Option<&'static str>,
        says: &'static str,
    }
    let cases = [
        // A reference to a section that does not exist.
        Case {
            text: "[pipeline:main]\npipeline = auth instanse\n[filter:auth]\nuse = wrap\n",
            line: Some(2),
            section: Some("pipeline:main"),
            says: "no section [app:instanse]",
        },
        Case {
            text: "[pipeline:main]\npipeline = oath echoed\n[app:echoed]\nuse = echo\n",
            line: Some(2),
            section: Some("pipeline:main"),
            says: "no section [filter:oath]",
        },
        Case {
            text: "[app:main]\nuse = nothing_called_this\n",
            line: Some(2),
            section: Some("app:main"),
            says: "no section [app:nothing_called_this]",
        },
        // An unknown factory.
        Case {
            text: "[app:main]\npaste.app_factory = routers:app_factry\n",
            line: Some(2),
            section: Some("app:main"),
            says: "no factory is registered as \"routers:app_factry\"",
        },
        Case {
            text: "[app:main]\nuse = egg:Other#thing\n",
            line: Some(2),
            section: Some("app:main"),
            says: "no factory is registered as \"egg:Other#thing\"",
        },
        Case {
            text: "[app:main]\nuse = http://example/app\n",
            line: Some(2),
            section: Some("app:main"),
            says: "unknown scheme \"http\"",
        },
        // Cycles: through pipelines, `use` and composites.
        Case {
            text: "[pipeline:main]\npipeline = wrap main\n[filter:wrap]\nuse = wrap\n",
            line: Some(2),
            section: Some("pipeline:main"),
            says: "[pipeline:main] -> [pipeline:main]",
        },
        Case {
            text: "[app:main]\nuse = other\n[app:other]\nuse = main\n",
            line: Some(4),
            section: Some("app:other"),
            says: "[app:main] -> [app:other] -> [app:main]",
        },
        Case {
            text: "[composite:main]\nuse = urlmap\n/ = api\n[pipeline:api]\npipeline = wrap main\n[filter:wrap]\nuse = wrap\n",
            line: Some(5),
            section: Some("pipeline:api"),
            says: "[composite:main] -> [pipeline:api] -> [composite:main]",
        },
        // A pipeline whose last element is not an app.
        Case {
            text: "[pipeline:main]\npipeline = echoed auth\n[filter:auth]\nuse = wrap\n[app:echoed]\nuse = echo\n",
            line: Some(2),
            section: Some("pipeline:main"),
            says: "the last element of a pipeline must be an app",
        },
        Case {
            text: "[pipeline:main]\npipeline = echoed\n[app:echoed]\nuse = wrap\n",
            line: Some(4),
            section: Some("app:echoed"),
            says: "\"wrap\" is a filter factory",
        },
        Case {
            text: "[pipeline:main]\npipeline =\n",
            line: Some(2),
            section: Some("pipeline:main"),
            says: "the pipeline is empty",
        },
        Case {
            text: "[pipeline:main]\npipelines = a b\n",
            line: Some(1),
            section: Some("pipeline:main"),
            says: "needs a `pipeline = filter … app` key",
        },
        Case {
            text: "[pipeline:main]\npipeline = echoed\ntag = x\n[app:echoed]\nuse = echo\n",
            line: Some(3),
            section: Some("pipeline:main"),
            says: "takes only `pipeline`",
        },
        // An interpolation that fails.
        Case {
            text: "[app:main]\nuse = echo\ntag = %(nowhere)s\n",
            line: Some(3),
            section: Some("app:main"),
            says: "refers to \"nowhere\"",
        },
        Case {
            text: "[DEFAULT]\nbad = 5%\n[app:main]\nuse = echo\n",
            line: Some(2),
            section: Some("DEFAULT"),
            says: "'%' must be followed by",
        },
        // Unknown and ill-typed keys.
        Case {
            text: "[app:main]\nuse = echo\ntga = x\n",
            line: Some(3),
            section: Some("app:main"),
            says: "unknown key \"tga\" for echo",
        },
        Case {
            text: "[app:main]\nuse = echo\nsize = big\n",
            line: Some(3),
            section: Some("app:main"),
            says: "size: \"big\" is not valid",
        },
        Case {
            text: "[DEFAULT]\nsize = big\n[app:main]\nuse = echo\n",
            line: Some(2),
            section: Some("DEFAULT"),
            says: "size: \"big\" is not valid",
        },
        Case {
            text: "[pipeline:main]\npipeline = f echoed\n[filter:f]\nuse = wrap\ntag =\n[app:echoed]\nuse = echo\n",
            line: Some(5),
            section: Some("filter:f"),
            says: "tag: must not be empty",
        },
        Case {
            text: "[composite:main]\nuse = urlmap\nv2 = echoed\n[app:echoed]\nuse = echo\n",
            line: Some(3),
            section: Some("composite:main"),
            says: "a URL map key is a path",
        },
        // Sections that are wrong as a whole.
        Case {
            text: "[app:main]\ntag = x\n",
            line: Some(1),
            section: Some("app:main"),
            says: "no factory",
        },
        Case {
            text: "[app:main]\nuse = echo\npaste.app_factory = echo\n",
            line: Some(1),
            section: Some("app:main"),
            says: "more than one factory",
        },
        Case {
            text: "[filter-app:main]\nuse = wrap\n",
            line: Some(1),
            section: Some("filter-app:main"),
            says: "needs a `next = app` key",
        },
        Case {
            text: "[app:main]\nuse = echo\nfilter-with = f\n[filter:f]\nuse = wrap\nfilter-with = g\n",
            line: Some(6),
            section: Some("filter:f"),
            says: "filter-with is only allowed on app",
        },
        Case {
            text: "[DEFAULT]\ntag = global\n[app:main]\nuse = echo\ntag = local\n",
            line: Some(5),
            section: Some("app:main"),
            says: "write `set tag = …`",
        },
        Case {
            text: "[app:main]\nuse = echo\nget tag = nothing\n",
            line: Some(3),
            section: Some("app:main"),
            says: "not in the global configuration",
        },
        Case {
            text: "[app:main]\npaste.composite_factory = echo\n",
            line: Some(2),
            section: Some("app:main"),
            says: "which is a app factory, not a composite factory",
        },
        // Syntax.
        Case {
            text: "[app:main]\nuse = echo\nuse = echo\n",
            line: Some(3),
            section: Some("app:main"),
            says: "key \"use\" is given twice",
        },
        Case {
            text: "pipeline = a\n",
            line: Some(1),
            section: None,
            says: "a key before the first [section] header",
        },
        // The name asked for does not exist.
        Case {
            text: "[app:other]\nuse = echo\n",
            line: None,
            section: None,
            says: "no section [app:main], [pipeline:main], [composite:main] or [filter-app:main] in test.ini",
        },
        Case {
            text: "[filter:main]\nuse = wrap\n",
            line: None,
            section: None,
            says: "\"main\" is a filter ([filter:main] on line 1)",
        },
    ];
    for case in cases {
        let error = error_of(case.text, "main");
        let shown = error.to_string();
        assert_eq!(error.file, "test.ini", "{shown}");
        assert_eq!(error.line, case.line, "{}\n{shown}", case.text);
        assert_eq!(
            error.section.as_deref(),
            case.section,
            "{}\n{shown}",
            case.text
        );
        assert!(shown.contains(case.says), "{}\n{shown}", case.text);
        assert!(!shown.contains('\n'), "one line: {shown}");
    }
}

#[test]
fn missing_files_are_named_with_the_reference_that_wanted_them() {
    let dir = folder("missing");
    let error = Config::open(dir.join("absent.ini")).unwrap_err();
    assert!(matches!(error.kind, ConfigErrorKind::Read { .. }));
    assert!(error.to_string().starts_with(&format!(
        "{}: cannot read the file",
        dir.join("absent.ini").display()
    )));

    std::fs::write(
        dir.join("api.ini"),
        "[app:main]\nuse = config:absent.ini#x\n",
    )
    .unwrap();
    let config = Config::open(dir.join("api.ini")).unwrap();
    let Err(error) = config.load_app(&registry(), "main") else {
        panic!("loaded, but should not have");
    };
    assert_eq!(
        (error.line, error.section.as_deref()),
        (Some(2), Some("app:main"))
    );
    assert!(error.to_string().contains("config:absent.ini"), "{error}");
}

#[test]
fn a_section_in_another_file_that_refers_back_is_a_cycle() {
    let dir = folder("cross-file-cycle");
    std::fs::write(dir.join("a.ini"), "[app:main]\nuse = config:b.ini#main\n").unwrap();
    std::fs::write(dir.join("b.ini"), "[app:main]\nuse = config:a.ini#main\n").unwrap();
    let config = Config::open(dir.join("a.ini")).unwrap();
    let Err(error) = config.load_app(&registry(), "main") else {
        panic!("loaded, but should not have");
    };
    assert!(
        matches!(error.kind, ConfigErrorKind::Cycle { .. }),
        "{error}"
    );
}

#[test]
fn a_part_a_composite_cannot_build_is_reported_where_the_part_is() {
    let text = "[composite:main]\nuse = urlmap\n/ = inner\n\
                [composite:inner]\nuse = urlmap\n/x = broken\n\
                [app:broken]\nuse = echo\nsize = huge\n";
    let error = error_of(text, "main");
    assert_eq!(
        (error.line, error.section.as_deref()),
        (Some(9), Some("app:broken"))
    );
    assert!(matches!(&error.kind, ConfigErrorKind::BadValue { key, .. } if key == "size"));
}

#[test]
fn a_file_that_cannot_be_read_has_its_io_error_as_the_source() {
    let dir = folder("io-source");
    std::fs::write(dir.join("api.ini"), "[app:main]\nuse = config:absent.ini\n").unwrap();
    let config = Config::open(dir.join("api.ini")).unwrap();
    let Err(error) = config.load_app(&registry(), "main") else {
        panic!("loaded, but should not have");
    };
    let source = std::error::Error::source(&error).and_then(|s| s.downcast_ref::<std::io::Error>());
    assert_eq!(
        source.map(std::io::Error::kind),
        Some(std::io::ErrorKind::NotFound)
    );
}
