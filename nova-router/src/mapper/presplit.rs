//! The pre-split route table: what lets most requests skip route-recognizer's
//! NFA walk, which allocates a vector of threads for every character of the
//! path, so that a show of `/servers/{uuid}` cost more in the router than in
//! the controller.
//!
//! Every route segment is a whole literal or a whole parameter (the template
//! parser makes sure of it), and a parameter matches any non-empty segment.
//! So whether a route matches a path depends only on the path's *shape*:
//! each segment is either one of the table's literals, or empty, or
//! something else, which only a parameter can match. When routes are
//! connected, each route's own shape (its parameters as "something else")
//! is walked through route-recognizer once, and its answer is recorded. A
//! request is then split at `/` and looked up by shape. Where a segment of
//! the path is a literal at a position where some route has a parameter (a
//! server named `detail`), several routes may match; every reading is looked
//! up, and if more than one route answers, route-recognizer walks the path
//! and decides, as it does for paths too long for a shape.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Paths and routes with more segments than this are always walked.
pub(super) const MAX_SEGMENTS: usize = 8;

// A position's parameter bit must fit `param_positions`' bytes.
const _: () = assert!(MAX_SEGMENTS <= 8);

/// A segment that is no route's literal: only a parameter can match it.
const OTHER: u16 = 0;

/// An empty segment (`//`, a trailing `/`): nothing matches it, since
/// literals and parameters are never empty.
const EMPTY: u16 = u16::MAX;

/// A path or template reduced to what matching depends on: per segment, the
/// number of the literal it is, [`OTHER`] or [`EMPTY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Shape {
    len: u8,
    ids: [u16; MAX_SEGMENTS],
}

/// A request path split at `/` and reduced to its shape.
pub(super) struct SplitPath<'a> {
    shape: Shape,
    segments: [&'a str; MAX_SEGMENTS],
}

impl<'a> SplitPath<'a> {
    /// The path's segment at `position`, as it was in the path.
    pub(super) fn segment(&self, position: usize) -> &'a str {
        self.segments.get(position).copied().unwrap_or_default()
    }
}

/// What the table says about a path.
pub(super) enum Lookup {
    /// Exactly this route (an index into the mapper's routes) matches.
    Route(usize),
    /// No route matches.
    NoRoute,
    /// The table cannot tell: route-recognizer must walk the path.
    Walk,
}

/// The hash of the table's maps. Their keys are fixed when routes are
/// connected and requests only look them up, so no request can make keys
/// collide, and SipHash's defence against that (a quarter of a lookup in a
/// path of two segments) buys nothing here.
type TableHash = BuildHasherDefault<TableHasher>;

/// FxHash: a multiply and a rotate per word.
#[derive(Default)]
struct TableHasher(u64);

impl TableHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for TableHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u16(&mut self, value: u16) {
        self.add(u64::from(value));
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The literals of every route and each route's shape with the route
/// route-recognizer matches it to.
#[derive(Debug, Default)]
pub(super) struct PresplitTable {
    /// Every literal segment of every route, numbered from 1.
    literals: HashMap<String, u16, TableHash>,
    /// Each route's shape -> the route route-recognizer matched it to.
    routes: HashMap<Shape, usize, TableHash>,
    /// Per segment count, a bit per position where a route of that many
    /// segments has a parameter: where a literal in a path may still be
    /// read as a parameter's value.
    param_positions: [u8; MAX_SEGMENTS + 1],
    /// More literals than a shape can number: every path is walked.
    overflowed: bool,
}

impl PresplitTable {
    /// Numbers the literals of a newly connected route's `segments` (each
    /// `Some(literal)` or `None` for a parameter) and notes where it has
    /// parameters. Its shape is recorded by [`PresplitTable::record`].
    pub(super) fn learn(&mut self, segments: &[Option<String>]) {
        if segments.len() > MAX_SEGMENTS {
            return;
        }
        for (position, segment) in segments.iter().enumerate() {
            match segment {
                Some(literal) if !self.literals.contains_key(literal) => {
                    match u16::try_from(self.literals.len() + 1) {
                        Ok(id) if id != EMPTY => {
                            self.literals.insert(literal.clone(), id);
                        }
                        // A literal the table cannot number would be read
                        // as a parameter's value: give up on the table.
                        _ => self.overflowed = true,
                    }
                }
                Some(_) => {}
                None => self.param_positions[segments.len()] |= 1 << position,
            }
        }
    }

    /// Forgets every recorded shape, before they are recorded anew after a
    /// route was added (which may change what a shape matches).
    pub(super) fn clear_routes(&mut self) {
        self.routes.clear();
    }

    /// The path standing for a route's shape, to ask route-recognizer
    /// about: its literals, and `%` for each parameter (no literal holds a
    /// `%`, so only a parameter can match it). `None` if the route is not
    /// kept in the table.
    pub(super) fn representative(&self, segments: &[Option<String>]) -> Option<String> {
        if segments.len() > MAX_SEGMENTS {
            return None;
        }
        let mut path = String::from("/");
        for (position, segment) in segments.iter().enumerate() {
            if position > 0 {
                path.push('/');
            }
            match segment {
                Some(literal) => {
                    self.literals.get(literal)?;
                    path.push_str(literal);
                }
                None => path.push('%'),
            }
        }
        Some(path)
    }

    /// Records that the path `representative` (made by
    /// [`PresplitTable::representative`]) is matched to `route`.
    pub(super) fn record(&mut self, representative: &str, route: usize) {
        if let Some(split) = self.split(representative) {
            self.routes.insert(split.shape, route);
        }
    }

    /// `path` split at `/` (after one leading `/`, which route-recognizer
    /// ignores too), or `None` if it has too many segments.
    pub(super) fn split<'a>(&self, path: &'a str) -> Option<SplitPath<'a>> {
        if self.overflowed {
            return None;
        }
        let rest = path.strip_prefix('/').unwrap_or(path);
        let mut split = SplitPath {
            shape: Shape {
                len: 0,
                ids: [OTHER; MAX_SEGMENTS],
            },
            segments: [""; MAX_SEGMENTS],
        };
        // The root: no segments at all, as the root template has none.
        if rest.is_empty() {
            return Some(split);
        }
        for (position, segment) in rest.split('/').enumerate() {
            if position == MAX_SEGMENTS {
                return None;
            }
            split.segments[position] = segment;
            split.shape.ids[position] = if segment.is_empty() {
                EMPTY
            } else {
                self.literals.get(segment).copied().unwrap_or(OTHER)
            };
            split.shape.len += 1;
        }
        Some(split)
    }

    /// Which route matches a path of this shape, if the table can tell.
    pub(super) fn lookup(&self, split: &SplitPath<'_>) -> Lookup {
        let shape = &split.shape;
        let len = usize::from(shape.len);
        let ids = &shape.ids[..len];
        if ids.contains(&EMPTY) {
            return Lookup::NoRoute;
        }
        // Literals where a route of this length has a parameter: each may
        // be that literal or a parameter's value, so every reading is
        // looked up.
        let params = self.param_positions[len];
        let mut ambiguous = [0usize; MAX_SEGMENTS];
        let mut count = 0;
        for (position, &id) in ids.iter().enumerate() {
            if id != OTHER && params & (1 << position) != 0 {
                ambiguous[count] = position;
                count += 1;
            }
        }
        let mut found = None;
        for reading in 0u32..(1 << count) {
            let mut variant = *shape;
            for (bit, &position) in ambiguous[..count].iter().enumerate() {
                if reading & (1 << bit) != 0 {
                    variant.ids[position] = OTHER;
                }
            }
            if let Some(&route) = self.routes.get(&variant) {
                if found.is_some_and(|earlier| earlier != route) {
                    // Several routes match; which wins is route-recognizer's
                    // ranking, so it walks the path.
                    return Lookup::Walk;
                }
                found = Some(route);
            }
        }
        found.map_or(Lookup::NoRoute, Lookup::Route)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{compute_routes, Mapper};
    use http::Method;

    /// What the table says about `path`: the matched route's template,
    /// "none", or "walk".
    fn looked_up(mapper: &Mapper, path: &str) -> String {
        let lookup = match mapper.presplit.split(path) {
            Some(split) => mapper.presplit.lookup(&split),
            None => Lookup::Walk,
        };
        match lookup {
            Lookup::Route(index) => mapper.routes[index].template.clone(),
            Lookup::NoRoute => "none".to_owned(),
            Lookup::Walk => "walk".to_owned(),
        }
    }

    /// What route-recognizer's walk of `path` matches: the template, or
    /// "none".
    fn walked(mapper: &Mapper, path: &str) -> String {
        match mapper.recognizer.recognize(path) {
            Ok(matched) => mapper.routes[**matched.handler()].template.clone(),
            Err(_) => "none".to_owned(),
        }
    }

    #[test]
    fn the_table_answers_as_the_walk_does_and_leaves_it_the_ambiguous_paths() {
        let mapper = compute_routes();
        let id = "0b5f6c1e-2f4e-4d8e-9a43-5b1f6c7d8e9f";
        let table = [
            (format!("/servers/{id}"), "/servers/{id}"),
            ("/servers".to_owned(), "/servers"),
            (
                format!("/servers/{id}/metadata/k"),
                "/servers/{server_id}/metadata/{id}",
            ),
            (
                "/flavors/1/os-extra_specs".to_owned(),
                "/flavors/{flavor_id}/os-extra_specs",
            ),
            // A literal where a parameter may be: two routes match, and
            // route-recognizer's ranking decides.
            ("/servers/detail".to_owned(), "walk"),
            // A server whose id is another route's literal: only the
            // parameter route matches.
            ("/servers/images".to_owned(), "/servers/{id}"),
            ("/nothing/here".to_owned(), "none"),
            ("/servers/".to_owned(), "none"),
            ("/servers//action".to_owned(), "none"),
            (format!("/0123abcd/servers/{id}"), "none"),
            ("/a/b/c/d/e/f/g/h/i".to_owned(), "walk"),
        ];
        for (path, expected) in table {
            let answer = looked_up(&mapper, &path);
            assert_eq!(answer, expected, "{path}");
            if answer != "walk" {
                assert_eq!(answer, walked(&mapper, &path), "{path}");
            }
        }
        let args = mapper.recognize(&Method::GET, "/servers/detail").unwrap();
        assert_eq!(args.action(), "servers.detail");
    }

    // A route connected after another that it outranks on some paths: the
    // shapes recorded before it was connected must not keep the old answer.
    #[test]
    fn a_route_connected_later_changes_what_the_table_answers() {
        let mut mapper = Mapper::new();
        mapper.connect("/a/{x}", "param", &[Method::GET]).unwrap();
        assert_eq!(looked_up(&mapper, "/a/b"), "/a/{x}");
        mapper.connect("/a/b", "literal", &[Method::GET]).unwrap();
        assert_eq!(looked_up(&mapper, "/a/b"), "walk");
        assert_eq!(looked_up(&mapper, "/a/c"), "/a/{x}");
        let args = mapper.recognize(&Method::GET, "/a/b").unwrap();
        assert_eq!(args.action(), "literal");
    }

    #[test]
    fn the_root_and_paths_without_a_leading_slash_split_as_route_recognizer_reads_them() {
        let mut mapper = Mapper::new();
        mapper.connect("/", "root", &[Method::GET]).unwrap();
        mapper.connect("/a", "a", &[Method::GET]).unwrap();
        for (path, expected) in [
            ("/", "/"),
            ("", "/"),
            ("/a", "/a"),
            ("a", "/a"),
            ("//", "none"),
        ] {
            assert_eq!(looked_up(&mapper, path), expected, "{path:?}");
            assert_eq!(walked(&mapper, path), expected, "{path:?}");
        }
    }
}
