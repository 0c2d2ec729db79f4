//! Micro-benchmarks of `Mapper::recognize`: what matching a request costs as
//! the route table grows from 5 routes (the seed's table) to 500.
//!
//! Run with `cargo bench -p nova-router --features bench` (or as part of
//! `cargo xtask bench`). The table has `/resK` and `/resK/{res_id}` pairs,
//! each answering GET and PUT; the paths matched are the first
//! parameterised route, the last one, and a path no route matches (404).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use http::Method;
use nova_router::Mapper;

const ID: &str = "0b5f6c1e-2f4e-4d8e-9a43-5b1f6c7d8e9f";

/// A table of `routes` routes: `/res0`, `/res0/{res_id}`, `/res1`, …
fn table(routes: usize) -> Mapper {
    let mut mapper = Mapper::new();
    for index in 0..routes {
        let template = if index % 2 == 0 {
            format!("/res{}", index / 2)
        } else {
            format!("/res{}/{{res_id}}", index / 2)
        };
        mapper
            .connect(&template, "action", &[Method::GET, Method::PUT])
            .expect("generated templates are valid and distinct");
    }
    mapper
}

fn recognize(c: &mut Criterion) {
    let mut group = c.benchmark_group("router");
    for routes in [5, 50, 500] {
        let mapper = table(routes);
        // The parameterised routes are the odd ones; the last of them is
        // number routes - 1 (an even count) or routes - 2 (an odd one).
        let last = (routes - 1 - routes % 2) / 2;
        let cases = [
            ("hit_first", format!("/res0/{ID}")),
            ("hit_last", format!("/res{last}/{ID}")),
            ("miss", "/volumes/nothing-here".to_owned()),
        ];
        for (name, path) in cases {
            let expect_hit = name != "miss";
            assert_eq!(
                mapper.recognize(&Method::GET, &path).is_ok(),
                expect_hit,
                "{name} {path}"
            );
            group.bench_with_input(BenchmarkId::new(name, routes), &path, |b, path| {
                b.iter(|| mapper.recognize(black_box(&Method::GET), black_box(path)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, recognize);
criterion_main!(benches);
