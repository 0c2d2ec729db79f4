//! Fuzz target: routing arbitrary methods and paths through the instance
//! routes and a table with overlapping templates. Matching must never panic,
//! and a match must be one of the connected actions with decoded parameters.

#![no_main]

use http::Method;
use libfuzzer_sys::fuzz_target;
use nova_router::{instance_routes, Mapper, MatchError};

fuzz_target!(|data: &[u8]| {
    let (method, path) = match data.iter().position(|&b| b == b' ') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b"GET"[..], data),
    };
    let Ok(method) = Method::from_bytes(method) else {
        return;
    };
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    let instances = instance_routes();
    check(&instances, &method, path, &["index", "create", "show", "update", "delete"]);

    let mut wide = Mapper::new();
    for (template, action) in [
        ("/", "root"),
        ("/a/{x}", "ax"),
        ("/a/b", "ab"),
        ("/{y}/c.d", "ycd"),
        ("/v1.0/{z}/detail", "detail"),
    ] {
        wide.connect(template, action, &[Method::GET, Method::POST])
            .expect("the fuzz table is valid");
    }
    check(&wide, &method, path, &["root", "ax", "ab", "ycd", "detail"]);
});

fn check(mapper: &Mapper, method: &Method, path: &str, actions: &[&str]) {
    match mapper.recognize(method, path) {
        Ok(args) => {
            assert!(actions.contains(&args.action()), "{path}: {}", args.action());
            for (_, value) in args.params() {
                assert!(!value.is_empty(), "{path}: empty parameter");
            }
        }
        Err(MatchError::MethodNotAllowed { allowed }) => assert!(!allowed.is_empty()),
        Err(_) => {}
    }
}
