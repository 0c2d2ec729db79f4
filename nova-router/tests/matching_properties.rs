//! Property tests: the `Mapper` against a plain reference matcher that
//! compares path segments one by one, over random route tables and paths.

use http::Method;
use nova_router::{Mapper, MatchError};
use proptest::prelude::*;

/// A template segment: a literal or a parameter.
#[derive(Debug, Clone)]
enum Segment {
    Literal(&'static str),
    Param,
}

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        Just(Segment::Literal("a")),
        Just(Segment::Literal("b")),
        Just(Segment::Literal("a.b")),
        Just(Segment::Literal("x-y")),
        Just(Segment::Param),
    ]
}

fn template_text(segments: &[Segment]) -> String {
    let mut text = String::new();
    for (index, segment) in segments.iter().enumerate() {
        text.push('/');
        match segment {
            Segment::Literal(literal) => text.push_str(literal),
            Segment::Param => text.push_str(&format!("{{p{index}}}")),
        }
    }
    text
}

/// route-recognizer's ranking: literal parts split at '.', then parameters.
fn rank(segments: &[Segment]) -> (usize, usize) {
    let statics = segments
        .iter()
        .map(|s| match s {
            Segment::Literal(l) => l.split('.').count(),
            Segment::Param => 0,
        })
        .sum();
    let params = segments
        .iter()
        .filter(|s| matches!(s, Segment::Param))
        .count();
    (statics, params)
}

fn decode(raw: &str) -> Option<String> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

type Params = Vec<(String, String)>;
type Expected = Option<(String, Params)>;

/// The reference: split at '/', compare literals after decoding escapes,
/// take the best-ranked match.
fn reference(table: &[(Vec<Segment>, String)], path: &str) -> Expected {
    let rest = path.strip_prefix('/')?;
    let parts: Vec<&str> = rest.split('/').collect();
    let mut best: Option<((usize, usize), String, Params)> = None;
    for (segments, action) in table {
        if segments.len() != parts.len() {
            continue;
        }
        let mut params = Vec::new();
        let mut matched = true;
        for (index, (segment, part)) in segments.iter().zip(&parts).enumerate() {
            match segment {
                Segment::Literal(literal) => {
                    // Only escapes of unreserved characters stand for
                    // literal text; the literals here hold no others.
                    if decode(part).as_deref() != Some(*literal) {
                        matched = false;
                        break;
                    }
                }
                Segment::Param => {
                    if part.is_empty() {
                        matched = false;
                        break;
                    }
                    params.push((format!("p{index}"), decode(part)?));
                }
            }
        }
        if matched {
            let r = rank(segments);
            if best.as_ref().is_none_or(|(best_rank, _, _)| r > *best_rank) {
                best = Some((r, action.clone(), params));
            }
        }
    }
    best.map(|(_, action, params)| (action, params))
}

fn path_part() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("a"),
        Just("b"),
        Just("a.b"),
        Just("x-y"),
        Just("%61"),
        Just("x%2Dy"),
        Just("a%2Eb"),
        Just("c"),
        Just("%20"),
        Just("%2F"),
        Just(""),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_mapper_agrees_with_the_reference_matcher(
        templates in prop::collection::vec(prop::collection::vec(segment(), 1..4), 1..8),
        paths in prop::collection::vec(prop::collection::vec(path_part(), 1..4), 1..16),
    ) {
        let mut mapper = Mapper::new();
        let mut accepted: Vec<(Vec<Segment>, String)> = Vec::new();
        for (index, segments) in templates.iter().enumerate() {
            let action = format!("action{index}");
            // Rejected templates (conflicts, duplicates) are not in the
            // table; the reference sees only what the mapper accepted.
            if mapper.connect(&template_text(segments), &action, &[Method::GET]).is_ok() {
                accepted.push((segments.clone(), action));
            }
        }
        for parts in &paths {
            let path = format!("/{}", parts.join("/"));
            let expected = reference(&accepted, &path);
            let got = mapper.recognize(&Method::GET, &path);
            match (&expected, &got) {
                (Some((action, params)), Ok(args)) => {
                    prop_assert_eq!(args.action(), action.as_str(), "path {}", path);
                    let got_params: Vec<(String, String)> =
                        args.params().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
                    prop_assert_eq!(&got_params, params, "path {}", path);
                }
                (None, Err(MatchError::NotFound)) => {}
                _ => prop_assert!(false, "path {}: reference {:?}, mapper {:?}", path, expected, got),
            }
        }
    }

    #[test]
    fn arbitrary_paths_and_methods_never_panic(path in "(?s).{0,40}", method in "[A-Z]{1,8}") {
        let mapper = nova_router::instance_routes();
        if let Ok(method) = Method::from_bytes(method.as_bytes()) {
            let _ = mapper.recognize(&method, &path);
        }
    }
}
