//! The route table: path templates, their actions and methods, and matching.
//!
//! Matching is `route-recognizer`'s; this module adds what it leaves out:
//! method conditions, `{name}` templates checked when a route is connected
//! (`template`), percent-decoding of path parameters and errors a caller
//! can match on. Most requests are matched through route-recognizer's
//! answers recorded per path shape when routes are connected (`presplit`),
//! rather than by walking its NFA again for every request.

mod presplit;
mod template;

use std::collections::HashMap;
use std::fmt;

use http::Method;
use percent_encoding::percent_decode_str;

use crate::{MapperError, MatchError, RoutingArgs};
use presplit::{Lookup, PresplitTable};
use template::parse_template;

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
    /// The parameter name a leading project-id segment is recognised as,
    /// if this table is a project mapper (see [`Mapper::project_mapper`]).
    project_param: Option<String>,
    /// route-recognizer's answers by path shape, kept up to date by
    /// [`Mapper::connect`].
    presplit: PresplitTable,
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

    /// An empty route table that also matches every route behind a leading
    /// project-id segment, recorded as the parameter `param`: Nova's
    /// `ProjectMapper`, which connects `/{project_id}/servers` beside
    /// `/servers` for clients whose endpoint URL names the project.
    ///
    /// As in Nova, a project id is hex digits and dashes (`[0-9a-f-]+`), so
    /// it can never be mistaken for a route's first literal segment
    /// (`servers`, `flavors`, `os-…` all hold other letters). A path is
    /// matched as it is first; only if nothing matches is its first segment
    /// taken as the project id.
    ///
    /// ```
    /// use http::Method;
    /// use nova_router::Mapper;
    ///
    /// let mut mapper = Mapper::project_mapper("project_id");
    /// mapper.connect("/servers/{id}", "show", &[Method::GET])?;
    /// let args = mapper.recognize(&Method::GET, "/6f70656e/servers/web-1").unwrap();
    /// assert_eq!(args.param("project_id"), Some("6f70656e"));
    /// assert_eq!(args.param("id"), Some("web-1"));
    /// assert_eq!(mapper.recognize(&Method::GET, "/servers/web-1").unwrap().param("project_id"), None);
    /// # Ok::<(), nova_router::MapperError>(())
    /// ```
    pub fn project_mapper(param: &str) -> Self {
        Mapper {
            project_param: Some(param.to_owned()),
            ..Self::default()
        }
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
                self.presplit.learn(&parsed.segments);
                self.routes.push(Route {
                    template: template.to_owned(),
                    param_names: parsed.param_names,
                    segments: parsed.segments,
                    rank: parsed.rank,
                    actions: Vec::new(),
                });
                self.record_shapes();
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
        let direct = self.recognize_route(method, path);
        let Some(param) = &self.project_param else {
            return direct;
        };
        if !matches!(direct, Err(MatchError::NotFound)) {
            return direct;
        }
        let Some((project, rest)) = split_project_id(path) else {
            return direct;
        };
        let mut args = self.recognize_route(method, rest)?;
        args.push_param(param, project);
        Ok(args)
    }

    /// Asks route-recognizer what each route's shape matches, after the
    /// table changed: a new route may outrank an older one on some paths.
    fn record_shapes(&mut self) {
        self.presplit.clear_routes();
        for route in &self.routes {
            let Some(path) = self.presplit.representative(&route.segments) else {
                continue;
            };
            if let Ok(matched) = self.recognizer.recognize(&path) {
                self.presplit.record(&path, **matched.handler());
            }
        }
    }

    fn recognize_route(&self, method: &Method, path: &str) -> Result<RoutingArgs, MatchError> {
        // route-recognizer computes `char - 1` and overflows on NUL. No
        // HTTP request carries a raw NUL in its path, so none can match.
        if path.contains('\0') {
            return Err(MatchError::NotFound);
        }
        let normalized = normalize_unreserved(path);
        let split = self.presplit.split(&normalized);
        let lookup = split
            .as_ref()
            .map_or(Lookup::Walk, |split| self.presplit.lookup(split));
        match (lookup, &split) {
            (Lookup::Route(index), Some(split)) => {
                let route = &self.routes[index];
                let raw_params = route
                    .segments
                    .iter()
                    .enumerate()
                    .filter(|(_, segment)| segment.is_none())
                    .map(|(position, _)| split.segment(position));
                routing_args(route, method, raw_params)
            }
            (Lookup::NoRoute, _) => Err(MatchError::NotFound),
            _ => {
                let matched = self
                    .recognizer
                    .recognize(&normalized)
                    .map_err(|_| MatchError::NotFound)?;
                let route = &self.routes[**matched.handler()];
                let params = matched.params();
                let raw_params = route
                    .param_names
                    .iter()
                    .map(|name| params.find(name).unwrap_or_default());
                routing_args(route, method, raw_params)
            }
        }
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

/// The arguments of a request for `method` that matched `route`, whose
/// parameters have the raw (percent-encoded) values `raw_params`, in
/// template order.
fn routing_args<'a>(
    route: &Route,
    method: &Method,
    raw_params: impl Iterator<Item = &'a str>,
) -> Result<RoutingArgs, MatchError> {
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
    let mut decoded = Vec::with_capacity(route.param_names.len());
    for (name, raw) in route.param_names.iter().zip(raw_params) {
        // Most values (ids) have nothing to decode, which one scan tells.
        let value = if raw.contains('%') {
            percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| MatchError::InvalidParameterEncoding { name: name.clone() })?
                .into_owned()
        } else {
            raw.to_owned()
        };
        decoded.push((name.clone(), value));
    }
    Ok(RoutingArgs::new(action, decoded))
}

/// `/6f70/servers` -> `("6f70", "/servers")` when the first segment is a
/// project id by Nova's rule, `[0-9a-f-]+`, and something follows it.
fn split_project_id(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix('/')?;
    let end = rest.find('/')?;
    let (project, tail) = rest.split_at(end);
    let is_project_id = !project.is_empty()
        && project
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'-'));
    (is_project_id && tail.len() > 1).then_some((project, tail))
}

fn allowed_methods(route: &Route) -> Vec<Method> {
    let mut allowed: Vec<Method> = route.actions.iter().map(|(m, _)| m.clone()).collect();
    if allowed.contains(&Method::GET) && !allowed.contains(&Method::HEAD) {
        allowed.push(Method::HEAD);
    }
    allowed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    allowed
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
