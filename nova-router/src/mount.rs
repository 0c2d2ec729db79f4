//! Where an application is mounted: WSGI's `SCRIPT_NAME`, and the URI the
//! client really sent.
//!
//! A URL map (paste's `urlmap` composite) that sends `/v2.1/instances` to an
//! application mounted at `/v2.1` strips the prefix from the request's path,
//! as paste moves it from `PATH_INFO` to `SCRIPT_NAME`, so the application
//! routes `/instances` as if it were at the root. The prefix is kept in the
//! [`ScriptName`] request extension, so that links the application writes
//! (a `Location` header, the version document) can put it back, and the
//! unstripped URI in [`OriginalUri`], so the access log shows what the client
//! asked for. Only a URL map writes them.

use crate::Request;

/// The path prefix the application is mounted under, without a trailing
/// slash: empty at the root, `/v2.1` under a URL map entry `/v2.1`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptName(String);

impl ScriptName {
    /// A mount point; a trailing slash is dropped (`/` is the root, "").
    pub fn new(prefix: impl Into<String>) -> Self {
        let mut prefix = prefix.into();
        while prefix.ends_with('/') {
            prefix.pop();
        }
        ScriptName(prefix)
    }

    /// The prefix, "" at the root.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The mount point of `req`: "" unless a URL map stripped a prefix.
    pub fn of(req: &Request) -> &str {
        req.extensions()
            .get::<ScriptName>()
            .map_or("", ScriptName::as_str)
    }

    /// This mount point with `prefix` mounted below it.
    pub fn join(&self, prefix: &str) -> Self {
        ScriptName::new(format!("{}{}", self.0, prefix))
    }
}

/// The request URI as the client sent it, before any URL map stripped a
/// prefix from its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalUri(pub http::Uri);

impl OriginalUri {
    /// The URI the client sent: the stored original, or the request's own
    /// URI when nothing was stripped.
    pub fn of(req: &Request) -> &http::Uri {
        req.extensions()
            .get::<OriginalUri>()
            .map_or(req.uri(), |original| &original.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn a_request_without_a_mount_point_is_at_the_root() {
        let req = http::Request::get("/instances").body(Bytes::new()).unwrap();
        assert_eq!(ScriptName::of(&req), "");
        assert_eq!(OriginalUri::of(&req), "/instances");
    }

    #[test]
    fn mount_points_join_without_doubled_or_trailing_slashes() {
        assert_eq!(ScriptName::new("/").as_str(), "");
        assert_eq!(ScriptName::new("/v2.1/").as_str(), "/v2.1");
        assert_eq!(ScriptName::new("/a").join("/b").as_str(), "/a/b");
    }
}
