//! The `Mapper` through its public API: tables of requests and what they
//! match, and the templates and routes it refuses when they are connected.

use http::Method;
use nova_router::{Mapper, MapperError, MatchError, RoutingArgs};

// A table that does not build fails every test that uses it; clippy allows
// `unwrap` only inside `#[test]` functions, and this helper is outside them.
#[allow(clippy::unwrap_used)]
fn instance_table() -> Mapper {
    let mut mapper = Mapper::new();
    mapper
        .connect("/instances", "create", &[Method::POST])
        .unwrap()
        .connect("/instances", "index", &[Method::GET])
        .unwrap()
        .connect("/instances/{instance_id}", "show", &[Method::GET])
        .unwrap()
        .connect("/instances/{instance_id}", "update", &[Method::PUT])
        .unwrap()
        .connect("/instances/{instance_id}", "delete", &[Method::DELETE])
        .unwrap();
    mapper
}

type Expected<'a> = Option<(&'a str, Vec<(String, String)>)>;
type ErrorCheck = fn(&MapperError) -> bool;

fn action_and_params(
    result: Result<RoutingArgs, MatchError>,
) -> Option<(String, Vec<(String, String)>)> {
    result.ok().map(|args| {
        let params = args
            .params()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        (args.action().to_owned(), params)
    })
}

#[test]
fn requests_match_the_route_for_their_path_and_method() {
    let mapper = instance_table();
    let id = |v: &str| vec![("instance_id".to_owned(), v.to_owned())];
    let table: &[(Method, &str, Expected<'_>)] = &[
        (Method::GET, "/instances", Some(("index", vec![]))),
        (Method::POST, "/instances", Some(("create", vec![]))),
        (Method::GET, "/instances/abc", Some(("show", id("abc")))),
        (Method::PUT, "/instances/abc", Some(("update", id("abc")))),
        (
            Method::DELETE,
            "/instances/abc",
            Some(("delete", id("abc"))),
        ),
        (Method::HEAD, "/instances", Some(("index", vec![]))),
        (Method::HEAD, "/instances/x.y", Some(("show", id("x.y")))),
        (Method::GET, "/instances/", None),
        (Method::GET, "/instances/a/b", None),
        (Method::GET, "/instance", None),
        (Method::GET, "/instancesx", None),
        (Method::GET, "/", None),
        (Method::GET, "", None),
        (Method::GET, "//instances", None),
    ];
    for (method, path, expected) in table {
        let got = action_and_params(mapper.recognize(method, path));
        let expected = expected
            .as_ref()
            .map(|(action, params)| ((*action).to_owned(), params.clone()));
        assert_eq!(got, expected, "{method} {path}");
    }
}

#[test]
fn an_unknown_path_is_not_found() {
    let mapper = instance_table();
    assert_eq!(
        mapper.recognize(&Method::GET, "/servers"),
        Err(MatchError::NotFound)
    );
}

#[test]
fn a_known_path_with_another_method_lists_the_allowed_methods() {
    let mapper = instance_table();
    assert_eq!(
        mapper.recognize(&Method::DELETE, "/instances"),
        Err(MatchError::MethodNotAllowed {
            allowed: vec![Method::GET, Method::HEAD, Method::POST]
        })
    );
    assert_eq!(
        mapper.recognize(&Method::PATCH, "/instances/abc"),
        Err(MatchError::MethodNotAllowed {
            allowed: vec![Method::DELETE, Method::GET, Method::HEAD, Method::PUT]
        })
    );
}

#[test]
fn head_is_not_allowed_where_get_is_not() {
    let mut mapper = Mapper::new();
    mapper.connect("/actions", "run", &[Method::POST]).unwrap();
    assert_eq!(
        mapper.recognize(&Method::HEAD, "/actions"),
        Err(MatchError::MethodNotAllowed {
            allowed: vec![Method::POST]
        })
    );
}

#[test]
fn path_parameters_are_percent_decoded() {
    let mapper = instance_table();
    let table = [
        ("/instances/a%20b", "a b"),
        ("/instances/a%2Fb", "a/b"),
        ("/instances/%E5%AE%9E%E4%BE%8B", "实例"),
        ("/instances/100%25", "100%"),
        ("/instances/a+b", "a+b"),
        ("/instances/%zz", "%zz"),
    ];
    for (path, expected) in table {
        let args = mapper.recognize(&Method::GET, path).unwrap();
        assert_eq!(args.param("instance_id"), Some(expected), "{path}");
    }
}

#[test]
fn escaped_unreserved_characters_match_literal_segments() {
    let mapper = instance_table();
    let args = mapper.recognize(&Method::GET, "/instanc%65s").unwrap();
    assert_eq!(args.action(), "index");
    // An escaped separator is data, never a separator.
    assert_eq!(
        mapper.recognize(&Method::GET, "/instances%2Fabc"),
        Err(MatchError::NotFound)
    );
}

#[test]
fn a_parameter_that_is_not_utf8_is_reported() {
    let mapper = instance_table();
    assert_eq!(
        mapper.recognize(&Method::GET, "/instances/%FF"),
        Err(MatchError::InvalidParameterEncoding {
            name: "instance_id".to_owned()
        })
    );
}

#[test]
fn literal_routes_win_over_parameters() {
    let mut mapper = instance_table();
    mapper
        .connect("/instances/detail", "detail", &[Method::GET])
        .unwrap();
    assert_eq!(
        mapper
            .recognize(&Method::GET, "/instances/detail")
            .unwrap()
            .action(),
        "detail"
    );
    assert_eq!(
        mapper
            .recognize(&Method::GET, "/instances/other")
            .unwrap()
            .action(),
        "show"
    );
}

#[test]
fn bad_templates_are_rejected_when_connected() {
    let cases: &[(&str, ErrorCheck)] = &[
        ("instances", |e| {
            matches!(e, MapperError::NotAbsolute { .. })
        }),
        ("/instances/{id", |e| {
            matches!(e, MapperError::InvalidSegment { .. })
        }),
        ("/instances/{}", |e| {
            matches!(e, MapperError::InvalidSegment { .. })
        }),
        ("/instances/x{id}", |e| {
            matches!(e, MapperError::InvalidSegment { .. })
        }),
        ("/instances/:id", |e| {
            matches!(e, MapperError::InvalidSegment { .. })
        }),
        ("/instances/*rest", |e| {
            matches!(e, MapperError::InvalidSegment { .. })
        }),
        ("/instances//x", |e| {
            matches!(e, MapperError::InvalidSegment { .. })
        }),
        ("/a/{id}/b/{id}", |e| {
            matches!(e, MapperError::RepeatedParameter { .. })
        }),
    ];
    for (template, check) in cases {
        let mut mapper = Mapper::new();
        let err = mapper.connect(template, "x", &[Method::GET]).unwrap_err();
        assert!(check(&err), "{template}: {err:?}");
    }
}

#[test]
fn conflicting_and_duplicate_routes_are_rejected_when_connected() {
    let mut mapper = instance_table();
    assert!(matches!(
        mapper.connect("/instances/{id}", "other", &[Method::PATCH]),
        Err(MapperError::ConflictingTemplate { .. })
    ));
    assert!(matches!(
        mapper.connect("/instances/{instance_id}", "again", &[Method::GET]),
        Err(MapperError::DuplicateRoute { .. })
    ));
    assert!(matches!(
        mapper.connect("/volumes", "index", &[]),
        Err(MapperError::NoMethods { .. })
    ));
    // A rejected connect leaves the table as it was.
    assert_eq!(
        mapper.recognize(&Method::PATCH, "/instances/abc"),
        Err(MatchError::MethodNotAllowed {
            allowed: vec![Method::DELETE, Method::GET, Method::HEAD, Method::PUT]
        })
    );
}

#[test]
fn overlapping_templates_of_equal_rank_are_rejected() {
    let mut mapper = Mapper::new();
    mapper.connect("/a/{x}", "first", &[Method::GET]).unwrap();
    assert!(matches!(
        mapper.connect("/{y}/b", "second", &[Method::GET]),
        Err(MapperError::ConflictingTemplate { .. })
    ));
    // More literal parts outrank fewer, so these may coexist.
    mapper.connect("/a/b", "exact", &[Method::GET]).unwrap();
    mapper
        .connect("/{y}/c.d", "dotted", &[Method::GET])
        .unwrap();
    let action = |path: &str| {
        mapper
            .recognize(&Method::GET, path)
            .map(|a| a.action().to_owned())
    };
    assert_eq!(action("/a/b").as_deref(), Ok("exact"));
    assert_eq!(action("/a/z").as_deref(), Ok("first"));
    assert_eq!(action("/a/c.d").as_deref(), Ok("dotted"));
}

// Found by the router_match fuzz target: route-recognizer subtracted one
// from the character code and overflowed on NUL, in paths and in
// templates alike.
#[test]
fn a_nul_in_a_path_or_template_is_refused_not_a_panic() {
    let mapper = instance_table();
    let path = "/inst\0\0ances/%FF";
    assert_eq!(
        mapper.recognize(&Method::GET, path),
        Err(MatchError::NotFound)
    );
    assert_eq!(
        mapper.recognize(&Method::GET, "/instances/a\0b"),
        Err(MatchError::NotFound)
    );
    let mut mapper = Mapper::new();
    assert!(matches!(
        mapper.connect("/a\0b", "x", &[Method::GET]),
        Err(MapperError::InvalidSegment { .. })
    ));
}

#[test]
fn the_root_can_be_routed() {
    let mut mapper = Mapper::new();
    mapper.connect("/", "versions", &[Method::GET]).unwrap();
    assert_eq!(
        mapper.recognize(&Method::GET, "/").unwrap().action(),
        "versions"
    );
    assert_eq!(
        mapper.recognize(&Method::GET, "/x"),
        Err(MatchError::NotFound)
    );
}

#[test]
fn routes_are_listed_in_connection_order() {
    let mapper = instance_table();
    let listed: Vec<(String, String, String)> = mapper
        .routes()
        .map(|(t, m, a)| (t.to_owned(), m.to_string(), a.to_owned()))
        .collect();
    assert_eq!(listed.len(), 5);
    assert_eq!(
        listed[0],
        ("/instances".into(), "POST".into(), "create".into())
    );
    assert_eq!(
        listed[4],
        (
            "/instances/{instance_id}".into(),
            "DELETE".into(),
            "delete".into()
        )
    );
}
