//! What a token says about its bearer, and the trait that finds out:
//! keystonemiddleware's `fetch_token`/`_validate_token` as a seam between
//! [`KeystoneFilter`](crate::KeystoneFilter) and whoever knows the tokens
//! (nova-identity's Fernet tokens, or a fake in tests).
//!
//! The trait returns a boxed future rather than a plain `Result`: decoding a
//! Fernet token needs no I/O, but Keystone also checks each token against
//! its revocation events, and a validator that keeps those in nova-store's
//! SQLite or PostgreSQL stores (whose methods are async) has to wait for
//! them without blocking a runtime thread. A validator with nothing to wait
//! for returns `Box::pin(std::future::ready(..))`.

use std::future::Future;
use std::pin::Pin;

/// The future [`TokenValidator::validate`] returns.
pub type ValidationFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ValidToken, InvalidToken>> + Send + 'a>>;

/// Decides whether a token is good and, if it is, whose it is.
///
/// Implementations check everything that makes a token unusable now
/// (format, signature, expiry against the clock they were given,
/// revocation) and must never put the token, or any part of it, into an
/// error, a log line or a panic message.
pub trait TokenValidator: Send + Sync {
    /// Validates `token`, the value of the request's one `X-Auth-Token`
    /// header (never empty, visible ASCII only).
    fn validate<'a>(&'a self, token: &'a str) -> ValidationFuture<'a>;
}

/// The identity a valid token proves: what keystonemiddleware passes on as
/// `X-User-*`, `X-Project-*` and `X-Roles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidToken {
    /// The user's id (`X-User-Id`).
    pub user_id: String,
    /// The user's name, unique within the user's domain (`X-User-Name`).
    pub user_name: String,
    /// The id of the domain the user belongs to (`X-User-Domain-Id`).
    pub user_domain_id: String,
    /// The project the token is scoped to, if it is project-scoped.
    pub project: Option<ProjectScope>,
    /// The user's role names on that scope (`X-Roles`), as Keystone spells
    /// them (role names are case-sensitive).
    pub roles: Vec<String>,
}

/// The project a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectScope {
    /// The project's id (`X-Project-Id`).
    pub id: String,
    /// The project's name, unique within its domain (`X-Project-Name`).
    pub name: String,
    /// The id of the domain that owns the project (`X-Project-Domain-Id`).
    pub domain_id: String,
}

/// Why a request's token was not accepted.
///
/// Its messages say why, never what the token was: they are what the
/// filter logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidToken {
    /// The request has no `X-Auth-Token` header, or an empty one.
    #[error("no token was given")]
    Missing,
    /// The request has more than one `X-Auth-Token` header, so it is not
    /// clear which one counts.
    #[error("more than one token was given")]
    Several,
    /// The token is not one this validator can decode and verify: wrong
    /// characters or format, or not signed by any key it knows.
    #[error("the token is malformed or not authentic")]
    Malformed,
    /// The token was genuine but its lifetime is over.
    #[error("the token has expired")]
    Expired,
    /// The token was genuine but has been revoked (its user, project or
    /// the token itself was disabled or deleted since it was issued).
    #[error("the token has been revoked")]
    Revoked,
    /// The token is genuine but scoped to no project (unscoped, domain- or
    /// system-scoped), and every API behind the filter acts for a project.
    #[error("the token is not scoped to a project")]
    NotProjectScoped,
    /// Not a verdict on the token: the validator could not reach what it
    /// needs (its keys, its revocation store). Answered 503, as
    /// keystonemiddleware answers when Keystone cannot be reached. The
    /// reason is logged, so it must not contain the token.
    #[error("the token could not be checked: {0}")]
    Unavailable(String),
}
