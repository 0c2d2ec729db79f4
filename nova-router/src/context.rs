//! Who is making a request, as a typed request extension: Nova's
//! `nova.context.RequestContext`, written by the one layer that checks the
//! token and read by controllers for ownership and policy.

use crate::Request;

/// The caller of a request: user, project and roles.
///
/// Exactly one layer writes it (the token filter that validated the
/// caller's token); controllers read it with [`RequestContext::of`] and
/// never look at the token themselves. A request without one was let in by
/// a filter that knows no identities (the seed's shared token): the
/// controller then acts for its configured default project, as an admin
/// would be allowed to, since whoever holds the shared token holds every
/// key there is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The user's id.
    pub user_id: String,
    /// The project (tenant) the request is scoped to.
    pub project_id: String,
    /// The user's role names on that project.
    pub roles: Vec<String>,
}

impl RequestContext {
    /// The context a token filter stored on `req`, if any.
    pub fn of(req: &Request) -> Option<&RequestContext> {
        req.extensions().get::<RequestContext>()
    }

    /// Whether the caller has the `admin` role, which Nova's default policy
    /// (`role:admin`) asks for admin-only operations.
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|role| role == "admin")
    }
}
