//! The route table: path templates, their actions and methods, and matching.
//!
//! Matching is `route-recognizer`'s; this module adds what it leaves out:
//! method conditions, `{name}` templates checked when a route is connected,
//! percent-decoding of path parameters and errors a caller can match on.

use std::collections::HashMap;
use std::fmt;

use http::Method;
use percent_encoding::percent_decode_str;

/// What the router matched for a request, stored in the request's extensions.
///
/// This is nova-rs's `wsgiorg.routing_args`: the action name of the matched
/// route and the path parameters by name, already percent-decoded. The
/// application reads it instead of parsing the path itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingArgs {
    action: String,
    params: Vec<(String, String)>,
}

impl RoutingArgs {
    /// Routing arguments for an action and its path parameters.
    ///
    /// The router is what builds these for real requests; this constructor is
    /// for calling an application directly, in tests or from another router.
    pub fn new(action: impl Into<String>, params: Vec<(String, String)>) -> Self {
        RoutingArgs {
            action: action.into(),
            params,
        }
    }

    /// The action name the matched route was connected with.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The decoded value of the path parameter `name`, if the route has one.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// All path parameters, in the order they appear in the template.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Why a route could not be connected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapperError {
    /// The template does not start with `/`.
    #[error("route template {template:?} must start with '/'")]
    NotAbsolute {
        /// The template as given.
        template: String,
    },
    /// A segment is malformed: an unclosed or empty `{}`, a parameter that is
    /// not a whole segment, or a character the matcher would misread.
    #[error("route template {template:?} has an invalid segment {segment:?}")]
    InvalidSegment {
        /// The template as given.
        template: String,
        /// The offending segment.
        segment: String,
    },
    /// The same parameter name appears twice in one template.
    #[error("route template {template:?} names parameter {name:?} twice")]
    RepeatedParameter {
        /// The template as given.
        template: String,
        /// The repeated name.
        name: String,
    },
    /// Another template matches some of the same paths and neither is more
    /// specific (same paths with other parameter names, or overlapping
    /// templates such as `/a/{x}` and `/{y}/b`), so which route answers
    /// would depend on connection order.
    #[error("route template {template:?} conflicts with {existing:?}")]
    ConflictingTemplate {
        /// The template being connected.
        template: String,
        /// The template already connected.
        existing: String,
    },
    /// This template and method are already connected to an action.
    #[error("{method} {template} is already connected to action {existing_action:?}")]
    DuplicateRoute {
        /// The template.
        template: String,
        /// The method.
        method: Method,
        /// The action it is connected to already.
        existing_action: String,
    },
    /// No methods were given; a route must answer at least one.
    #[error("route template {template:?} was connected without methods")]
    NoMethods {
        /// The template as given.
        template: String,
    },
}

/// Why a request matched no route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MatchError {
    /// No template matches the path.
    #[error("no route matches the path")]
    NotFound,
    /// A template matches the path but not the method.
    #[error("method not allowed; allowed: {allowed:?}")]
    MethodNotAllowed {
        /// The methods that would match, `HEAD` included wherever `GET` is.
        allowed: Vec<Method>,
    },
    /// A path parameter does not decode to UTF-8 text.
    #[error("path parameter {name:?} is not valid UTF-8 once percent-decoded")]
    InvalidParameterEncoding {
        /// The parameter's name.
        name: String,
    },
}

#[derive(Debug)]
struct Route {
    template: String,
    param_names: Vec<String>,
    /// Each `/` segment: `Some(literal)` or `None` for a parameter.
    segments: Vec<Option<String>>,
    /// route-recognizer's rank of this route: (static parts, parameters).
    rank: (usize, usize),
    actions: Vec<(Method, String)>,
}

impl Route {
    /// Whether some path matches both routes and neither outranks the
    /// other, so which one answers would be arbitrary.
    fn is_ambiguous_with(&self, segments: &[Option<String>], rank: (usize, usize)) -> bool {
        self.rank == rank
            && self.segments.len() == segments.len()
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(a, b)| match (a, b) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                })
    }
}

/// A table of routes: path templates with an action per method.
///
/// Routes are checked when they are connected, so a table that builds is one
/// where every request has exactly one answer.
///
/// ```
/// use http::Method;
/// use nova_router::{Mapper, MatchError};
///
/// let mut mapper = Mapper::new();
/// mapper.connect("/instances", "index", &[Method::GET])?;
/// mapper.connect("/instances/{instance_id}", "show", &[Method::GET])?;
///
/// let args = mapper.recognize(&Method::GET, "/instances/inst%2D1").unwrap();
/// assert_eq!(args.action(), "show");
/// assert_eq!(args.param("instance_id"), Some("inst-1"));
///
/// assert_eq!(mapper.recognize(&Method::GET, "/volumes"), Err(MatchError::NotFound));
/// # Ok::<(), nova_router::MapperError>(())
/// ```
#[derive(Default)]
pub struct Mapper {
    recognizer: route_recognizer::Router<usize>,
    routes: Vec<Route>,
    /// Template with parameter names erased -> index in `routes`.
    shapes: HashMap<String, usize>,
}

impl fmt::Debug for Mapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapper")
            .field("routes", &self.routes)
            .finish()
    }
}

impl Mapper {
    /// An empty route table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Connects `template` to `action` for each of `methods`, as
    /// `routes.Mapper.connect(template, action=…, conditions={'method': […]})`.
    ///
    /// A template is `/`-separated; a segment is either literal text or a
    /// parameter `{name}` that matches one non-empty path segment.
    pub fn connect(
        &mut self,
        template: &str,
        action: &str,
        methods: &[Method],
    ) -> Result<&mut Self, MapperError> {
        if methods.is_empty() {
            return Err(MapperError::NoMethods {
                template: template.to_owned(),
            });
        }
        let parsed = parse_template(template)?;
        let index = match self.shapes.get(&parsed.shape) {
            Some(&index) => {
                let existing = &self.routes[index];
                if existing.param_names != parsed.param_names {
                    return Err(MapperError::ConflictingTemplate {
                        template: template.to_owned(),
                        existing: existing.template.clone(),
                    });
                }
                index
            }
            None => {
                if let Some(existing) = self
                    .routes
                    .iter()
                    .find(|route| route.is_ambiguous_with(&parsed.segments, parsed.rank))
                {
                    return Err(MapperError::ConflictingTemplate {
                        template: template.to_owned(),
                        existing: existing.template.clone(),
                    });
                }
                let index = self.routes.len();
                self.recognizer.add(&parsed.recognizer_pattern, index);
                self.shapes.insert(parsed.shape, index);
                self.routes.push(Route {
                    template: template.to_owned(),
                    param_names: parsed.param_names,
                    segments: parsed.segments,
                    rank: parsed.rank,
                    actions: Vec::new(),
                });
                index
            }
        };
        let route = &mut self.routes[index];
        for method in methods {
            if let Some((_, existing_action)) = route.actions.iter().find(|(m, _)| m == method) {
                return Err(MapperError::DuplicateRoute {
                    template: template.to_owned(),
                    method: method.clone(),
                    existing_action: existing_action.clone(),
                });
            }
        }
        for method in methods {
            route.actions.push((method.clone(), action.to_owned()));
        }
        Ok(self)
    }

    /// Matches a request's method and path (without query string).
    ///
    /// `HEAD` matches wherever `GET` does, with the `GET` route's action.
    /// Percent-encoded unreserved characters in the path are decoded before
    /// matching (RFC 3986, 6.2.2.2), so `/instanc%65s` is `/instances`; path
    /// parameters are fully percent-decoded.
    pub fn recognize(&self, method: &Method, path: &str) -> Result<RoutingArgs, MatchError> {
        // route-recognizer computes `char - 1` and overflows on NUL. No
        // HTTP request carries a raw NUL in its path, so none can match.
        if path.contains('\0') {
            return Err(MatchError::NotFound);
        }
        let normalized = normalize_unreserved(path);
        let matched = self
            .recognizer
            .recognize(&normalized)
            .map_err(|_| MatchError::NotFound)?;
        let route = &self.routes[**matched.handler()];
        let action = route
            .actions
            .iter()
            .find(|(m, _)| m == method)
            .or_else(|| {
                (method == Method::HEAD)
                    .then(|| route.actions.iter().find(|(m, _)| m == Method::GET))
                    .flatten()
            })
            .map(|(_, action)| action.clone());
        let Some(action) = action else {
            return Err(MatchError::MethodNotAllowed {
                allowed: allowed_methods(route),
            });
        };
        let params = matched.params();
        let mut decoded = Vec::with_capacity(route.param_names.len());
        for name in &route.param_names {
            let raw = params.find(name).unwrap_or_default();
            let value = percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| MatchError::InvalidParameterEncoding { name: name.clone() })?;
            decoded.push((name.clone(), value.into_owned()));
        }
        Ok(RoutingArgs::new(action, decoded))
    }

    /// The connected routes as (template, method, action), in connection
    /// order: for documentation and for checking a route table against a
    /// description of the API.
    pub fn routes(&self) -> impl Iterator<Item = (&str, &Method, &str)> {
        self.routes.iter().flat_map(|route| {
            route
                .actions
                .iter()
                .map(move |(method, action)| (route.template.as_str(), method, action.as_str()))
        })
    }
}

fn allowed_methods(route: &Route) -> Vec<Method> {
    let mut allowed: Vec<Method> = route.actions.iter().map(|(m, _)| m.clone()).collect();
    if allowed.contains(&Method::GET) && !allowed.contains(&Method::HEAD) {
        allowed.push(Method::HEAD);
    }
    allowed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    allowed
}

struct ParsedTemplate {
    recognizer_pattern: String,
    shape: String,
    param_names: Vec<String>,
    segments: Vec<Option<String>>,
    rank: (usize, usize),
}

fn parse_template(template: &str) -> Result<ParsedTemplate, MapperError> {
    let Some(rest) = template.strip_prefix('/') else {
        return Err(MapperError::NotAbsolute {
            template: template.to_owned(),
        });
    };
    let invalid = |segment: &str| MapperError::InvalidSegment {
        template: template.to_owned(),
        segment: segment.to_owned(),
    };
    let mut recognizer_pattern = String::with_capacity(template.len());
    let mut shape = String::with_capacity(template.len());
    let mut param_names: Vec<String> = Vec::new();
    let mut parsed_segments: Vec<Option<String>> = Vec::new();
    let mut statics = 0;
    // "/" alone is the root; otherwise every segment must be non-empty.
    let segments: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    };
    for segment in segments {
        recognizer_pattern.push('/');
        shape.push('/');
        if let Some(inner) = segment.strip_prefix('{') {
            let name = inner.strip_suffix('}').ok_or_else(|| invalid(segment))?;
            let valid_name =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name {
                return Err(invalid(segment));
            }
            if param_names.iter().any(|n| n == name) {
                return Err(MapperError::RepeatedParameter {
                    template: template.to_owned(),
                    name: name.to_owned(),
                });
            }
            recognizer_pattern.push(':');
            recognizer_pattern.push_str(name);
            shape.push_str("{}");
            param_names.push(name.to_owned());
            parsed_segments.push(None);
        } else {
            // route-recognizer reads ':' and '*' at a segment start (after '/'
            // or '.') as parameters; braces elsewhere mean a mistyped parameter.
            let misread = segment.is_empty()
                || segment.contains(['{', '}', '%', '?', '#'])
                || segment.chars().any(char::is_control)
                || segment
                    .split('.')
                    .any(|part| part.starts_with(':') || part.starts_with('*'));
            if misread {
                return Err(invalid(segment));
            }
            recognizer_pattern.push_str(segment);
            shape.push_str(segment);
            // route-recognizer splits literals at '.' too and ranks routes by
            // how many such parts they have.
            statics += segment.split('.').count();
            parsed_segments.push(Some(segment.to_owned()));
        }
    }
    if recognizer_pattern.is_empty() {
        recognizer_pattern.push('/');
        shape.push('/');
    }
    let rank = (statics, param_names.len());
    Ok(ParsedTemplate {
        recognizer_pattern,
        shape,
        param_names,
        segments: parsed_segments,
        rank,
    })
}

/// Decodes `%XX` escapes of unreserved characters (letters, digits, `-._~`),
/// which RFC 3986 says are equivalent to the characters themselves; every
/// other escape stays as it is so that `%2F` never becomes a separator.
fn normalize_unreserved(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains('%') {
        return std::borrow::Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let decoded = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            if let Some(byte) = decoded.filter(|b| b.is_ascii_alphanumeric() || b"-._~".contains(b))
            {
                out.push(byte as char);
                i += 3;
                continue;
            }
        }
        // Copy one whole UTF-8 character so multi-byte text survives intact.
        let ch_len = path[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&path[i..i + ch_len]);
        i += ch_len;
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
