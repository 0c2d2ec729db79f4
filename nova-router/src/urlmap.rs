//! Paste's URL map as a service: sends each request to the application
//! mounted at the longest matching path prefix.
//!
//! It is what `use = egg:Paste#urlmap` builds: nova-paste reads the
//! composite's `/prefix = app` keys, and the program hands the applications
//! to [`UrlMap::mount`]. The matched prefix moves from the path to the
//! [`ScriptName`] request extension, as paste moves it from `PATH_INFO` to
//! `SCRIPT_NAME`, so the application below routes as if mounted at the root
//! and can still write links that include the prefix.

use http::uri::PathAndQuery;
use http::Uri;

use crate::{
    ready, Fault, OriginalUri, Request, Response, ResponseFuture, ScriptName, Service,
    SharedService,
};

/// Why [`UrlMap::mount`] refused a prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MountError {
    /// The prefix does not start with `/`.
    #[error("{0:?} is not a path starting with /")]
    NotAPath(String),
    /// The prefix (trailing slashes aside) is already mounted.
    #[error("the prefix {0:?} is mapped twice")]
    Duplicate(String),
}

/// Applications by path prefix.
///
/// A prefix matches a path equal to it or continuing with `/`: `/v2.1`
/// matches `/v2.1` and `/v2.1/instances`, not `/v2.10`. `/` matches every
/// path. A prefix ending in `/+` is Nova's wildcard (its own urlmap's):
/// `/v2.1/+` matches `/v2.1/servers` but neither `/v2.1/` nor `/v2.1`, and
/// strips `/v2.1`; with `/v2.1` mounted beside it, the bare version path
/// goes to one application (the version document) and everything below it
/// to another (the API). A path no prefix matches is answered 404
/// `itemNotFound`, unless a not-found application is set.
///
/// ```
/// use std::sync::Arc;
/// use nova_router::{service_fn, Request, ScriptName, Service, UrlMap};
///
/// let echo = Arc::new(service_fn(|req: Request| async move {
///     let seen = format!("{} {}", ScriptName::of(&req), req.uri().path());
///     http::Response::new(seen.into())
/// }));
/// let mut map = UrlMap::new();
/// map.mount("/v2.1", echo).unwrap();
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let req = http::Request::get("/v2.1/instances").body(Default::default()).unwrap();
/// let res = map.call(req).await.unwrap();
/// assert_eq!(res.body().as_ref(), b"/v2.1 /instances");
/// let req = http::Request::get("/other").body(Default::default()).unwrap();
/// assert_eq!(map.call(req).await.unwrap().status(), 404);
/// # });
/// ```
#[derive(Clone, Default)]
pub struct UrlMap {
    /// Longest prefix first, a wildcard before the plain prefix it extends.
    entries: Vec<Mount>,
    not_found: Option<SharedService>,
}

/// One mounted application.
#[derive(Clone)]
struct Mount {
    /// The prefix stripped from matching paths, without a trailing slash:
    /// `/` is "", `/v2.1/+` is `/v2.1`.
    prefix: String,
    /// A `/+` mount: the path must go on below the prefix.
    wildcard: bool,
    app: SharedService,
}

impl Mount {
    fn matches(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix(self.prefix.as_str()) else {
            return false;
        };
        if self.wildcard {
            rest.len() > 1 && rest.starts_with('/')
        } else {
            rest.is_empty() || rest.starts_with('/')
        }
    }

    /// As written, for messages and `Debug`.
    fn shown(&self) -> String {
        if self.wildcard {
            format!("{}/+", self.prefix)
        } else if self.prefix.is_empty() {
            "/".to_owned()
        } else {
            self.prefix.clone()
        }
    }
}

impl std::fmt::Debug for UrlMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlMap")
            .field(
                "prefixes",
                &self.entries.iter().map(Mount::shown).collect::<Vec<_>>(),
            )
            .field("not_found", &self.not_found.is_some())
            .finish()
    }
}

impl UrlMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Mounts `app` at `prefix`, which must start with `/`; a trailing
    /// slash is ignored, a trailing `/+` makes it a wildcard (see
    /// [`UrlMap`]). The same prefix twice is refused.
    pub fn mount(&mut self, prefix: &str, app: SharedService) -> Result<&mut Self, MountError> {
        if !prefix.starts_with('/') {
            return Err(MountError::NotAPath(prefix.to_owned()));
        }
        let (base, wildcard) = match prefix.strip_suffix("/+") {
            Some(base) => (base, true),
            None => (prefix, false),
        };
        let normalized = base.trim_end_matches('/').to_owned();
        if self
            .entries
            .iter()
            .any(|m| m.prefix == normalized && m.wildcard == wildcard)
        {
            return Err(MountError::Duplicate(prefix.to_owned()));
        }
        self.entries.push(Mount {
            prefix: normalized,
            wildcard,
            app,
        });
        // Longest first, as paste orders them by the prefix as written, in
        // which `/v2.1/+` is longer than `/v2.1`.
        self.entries
            .sort_by_key(|m| std::cmp::Reverse(m.prefix.len() + if m.wildcard { 2 } else { 0 }));
        Ok(self)
    }

    /// Sends requests no prefix matches to `app` instead of answering 404.
    pub fn set_not_found(&mut self, app: SharedService) -> &mut Self {
        self.not_found = Some(app);
        self
    }

    fn find(&self, path: &str) -> Option<(&str, &SharedService)> {
        self.entries
            .iter()
            .find(|m| m.matches(path))
            .map(|m| (m.prefix.as_str(), &m.app))
    }
}

/// `req` with `prefix` moved from its path to its [`ScriptName`].
fn strip(mut req: Request, prefix: &str) -> Result<Request, Fault> {
    // The root mount strips nothing: the path, the mount point and the
    // original URI stay what they are, and rebuilding the URI for every
    // request would be wasted work.
    if prefix.is_empty() {
        return Ok(req);
    }
    let rest = &req.uri().path()[prefix.len()..];
    let rest = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match req.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(
        PathAndQuery::try_from(path_and_query)
            .map_err(|_| Fault::bad_request("the request path is not valid"))?,
    );
    let uri =
        Uri::from_parts(parts).map_err(|_| Fault::bad_request("the request path is not valid"))?;
    let script_name = req
        .extensions()
        .get::<ScriptName>()
        .cloned()
        .unwrap_or_default()
        .join(prefix);
    if req.extensions().get::<OriginalUri>().is_none() {
        let original = OriginalUri(req.uri().clone());
        req.extensions_mut().insert(original);
    }
    req.extensions_mut().insert(script_name);
    *req.uri_mut() = uri;
    Ok(req)
}

impl Service<Request> for UrlMap {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request) -> Self::Future {
        match self.find(req.uri().path()) {
            Some((prefix, app)) => match strip(req, prefix) {
                Ok(req) => app.call(req),
                Err(fault) => ready(fault.into_response()),
            },
            None => match &self.not_found {
                Some(app) => app.call(req),
                None => ready(Fault::not_found("the resource could not be found").into_response()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service_fn;
    use bytes::Bytes;
    use std::sync::Arc;

    fn echo(tag: &'static str) -> SharedService {
        Arc::new(service_fn(move |req: Request| async move {
            let seen = format!(
                "{tag} {} {} {}",
                ScriptName::of(&req),
                req.uri(),
                OriginalUri::of(&req)
            );
            http::Response::new(Bytes::from(seen))
        }))
    }

    async fn get(map: &UrlMap, uri: &str) -> (u16, String) {
        let req = http::Request::get(uri).body(Bytes::new()).unwrap();
        let res = map.call(req).await.unwrap();
        (
            res.status().as_u16(),
            String::from_utf8_lossy(res.body()).into_owned(),
        )
    }

    #[tokio::test]
    async fn the_longest_prefix_wins_and_moves_to_the_script_name() {
        let mut map = UrlMap::new();
        map.mount("/", echo("root")).unwrap();
        map.mount("/v2.1", echo("api")).unwrap();
        map.mount("/healthcheck/", echo("health")).unwrap();
        let table = [
            ("/", "root  / /"),
            (
                "/v2.1/instances?x=1",
                "api /v2.1 /instances?x=1 /v2.1/instances?x=1",
            ),
            ("/v2.1", "api /v2.1 / /v2.1"),
            ("/v2.10", "root  /v2.10 /v2.10"),
            ("/healthcheck", "health /healthcheck / /healthcheck"),
        ];
        for (uri, expected) in table {
            assert_eq!(get(&map, uri).await, (200, expected.to_owned()), "{uri}");
        }
    }

    #[tokio::test]
    async fn a_wildcard_takes_what_lies_below_and_leaves_the_bare_path() {
        // Nova's api-paste.ini: the version document at /v2.1, the API
        // under /v2.1/+.
        let mut map = UrlMap::new();
        map.mount("/", echo("root")).unwrap();
        map.mount("/v2.1", echo("version")).unwrap();
        map.mount("/v2.1/+", echo("api")).unwrap();
        let table = [
            ("/v2.1", "version /v2.1 / /v2.1"),
            ("/v2.1/", "version /v2.1 / /v2.1/"),
            ("/v2.1/servers", "api /v2.1 /servers /v2.1/servers"),
            ("/v2.1/x?a=1", "api /v2.1 /x?a=1 /v2.1/x?a=1"),
            ("/v2.10", "root  /v2.10 /v2.10"),
        ];
        for (uri, expected) in table {
            assert_eq!(get(&map, uri).await, (200, expected.to_owned()), "{uri}");
        }
        // Alone, the wildcard leaves the bare path to nobody.
        let mut map = UrlMap::new();
        map.mount("/v2.1/+", echo("api")).unwrap();
        assert_eq!(get(&map, "/v2.1").await.0, 404);
        assert_eq!(get(&map, "/v2.1/").await.0, 404);
        assert!(map.mount("/v2.1", echo("version")).is_ok());
        assert!(map.mount("/v2.1/+", echo("again")).is_err());
    }

    #[tokio::test]
    async fn nested_maps_join_their_prefixes() {
        let mut inner = UrlMap::new();
        inner.mount("/b", echo("inner")).unwrap();
        let mut outer = UrlMap::new();
        outer.mount("/a", Arc::new(inner)).unwrap();
        assert_eq!(
            get(&outer, "/a/b/c").await,
            (200, "inner /a/b /c /a/b/c".to_owned())
        );
    }

    #[tokio::test]
    async fn unmatched_paths_are_404_or_go_to_the_not_found_app() {
        let mut map = UrlMap::new();
        map.mount("/v2.1", echo("api")).unwrap();
        let (status, body) = get(&map, "/nothing").await;
        assert_eq!(status, 404);
        assert!(body.contains("itemNotFound"), "{body}");
        map.set_not_found(echo("fallback"));
        assert_eq!(
            get(&map, "/nothing").await,
            (200, "fallback  /nothing /nothing".to_owned())
        );
    }

    #[test]
    fn prefixes_must_be_paths_and_unique() {
        let mut map = UrlMap::new();
        assert!(map.mount("v2", echo("x")).is_err());
        map.mount("/v2", echo("x")).unwrap();
        assert!(map.mount("/v2/", echo("y")).is_err());
    }

    #[test]
    fn refused_prefixes_say_why_in_words() {
        let mut map = UrlMap::new();
        map.mount("/v2", echo("x")).unwrap();
        let table = [
            (
                "v2",
                MountError::NotAPath("v2".to_owned()),
                "\"v2\" is not a path starting with /",
            ),
            (
                "/v2/",
                MountError::Duplicate("/v2/".to_owned()),
                "the prefix \"/v2/\" is mapped twice",
            ),
        ];
        for (prefix, error, text) in table {
            let refused = map.mount(prefix, echo("y")).map(|_| ()).unwrap_err();
            assert_eq!(refused, error, "{prefix}");
            assert_eq!(refused.to_string(), text, "{prefix}");
        }
    }
}
