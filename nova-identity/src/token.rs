//! Tokens: what one carries, how it is sealed as a Fernet token, and how
//! it is checked, with no database.
//!
//! A token's payload is the user's id, the methods used, the scope (a
//! project, a domain, or none), when it was issued and expires, and its
//! audit ids, as compact JSON sealed with Fernet (AES-128-CBC and
//! HMAC-SHA256). It is not byte-compatible with Keystone's msgpack payload;
//! it is as opaque. Validation opens it with any configured key, checks
//! the expiry against the [`Clock`](crate::Clock)'s time, and reads
//! the user's name and roles from the model as they are now, so a role
//! taken away takes effect at once, as in Keystone. Whether a token was
//! revoked is asked of a [`TokenStore`](crate::TokenStore) after it opens.

use base64::Engine;
use fernet::Fernet;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::Target;
use crate::{Directory, Domain, Project, Role, User};

/// The Fernet keys tokens are sealed and opened with: the first seals,
/// any opens (Keystone's key rotation). Its `Debug` shows only how many
/// there are.
#[derive(Clone)]
pub(crate) struct TokenKeys {
    keys: Vec<Fernet>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("count", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// The keys, base64url-encoded; `None` if there are none or one is
    /// not a 32-byte key.
    pub(crate) fn new(encoded: &[String]) -> Option<Self> {
        let keys = encoded
            .iter()
            .map(|key| Fernet::new(key))
            .collect::<Option<Vec<_>>>()?;
        (!keys.is_empty()).then_some(TokenKeys { keys })
    }

    /// One random key.
    #[cfg(test)]
    pub(crate) fn generate() -> Self {
        TokenKeys::new(&[Self::generate_key()])
            .unwrap_or_else(|| unreachable!("fernet generates valid keys"))
    }

    /// A random base64url-encoded key.
    pub(crate) fn generate_key() -> String {
        Fernet::generate_key()
    }

    /// `payload` sealed with the primary key, timestamped `now` (seconds).
    pub(crate) fn encrypt(&self, payload: &[u8], now: u64) -> String {
        self.keys[0].encrypt_at_time(payload, now)
    }

    /// The payload of `token` if one of the keys sealed it and its
    /// timestamp is not in the future of `now` (seconds).
    pub(crate) fn decrypt(&self, token: &str, now: u64) -> Option<Vec<u8>> {
        self.keys
            .iter()
            .find_map(|key| key.decrypt_at_time(token, None, now).ok())
    }
}

/// What a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// No scope: the token proves who the user is, and can be rescoped.
    #[serde(rename = "u")]
    Unscoped,
    /// The project with this id.
    #[serde(rename = "p")]
    Project(String),
    /// The domain with this id.
    #[serde(rename = "d")]
    Domain(String),
}

/// A token's sealed contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Payload {
    /// The user's id.
    #[serde(rename = "u")]
    pub(crate) user_id: String,
    /// The methods used (`password`, `token`).
    #[serde(rename = "m")]
    pub(crate) methods: Vec<String>,
    #[serde(rename = "s")]
    pub(crate) scope: Scope,
    /// Issued and expires, whole seconds since the epoch.
    #[serde(rename = "i")]
    pub(crate) issued_at: i64,
    #[serde(rename = "e")]
    pub(crate) expires_at: i64,
    /// This token's audit id, then (if rescoped) the first token's.
    #[serde(rename = "a")]
    pub(crate) audit_ids: Vec<String>,
}

/// A new audit id as Keystone makes them: 16 random bytes, base64url
/// without padding.
pub(crate) fn new_audit_id() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

/// Why a token is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a token sealed with one of the keys (or from the future).
    #[error("the token is malformed or was not issued here")]
    Malformed,
    /// It has expired.
    #[error("the token expired at {expires_at}")]
    Expired {
        /// When.
        expires_at: Timestamp,
    },
    /// It was revoked.
    #[error("the token was revoked")]
    Revoked,
    /// Not a verdict on the token: the keys or the revocations could not
    /// be read (the store's failure is logged where it happens).
    #[error("the token could not be checked now")]
    Unavailable,
    /// Its user no longer exists or is disabled, or no longer has a role
    /// on its scope.
    #[error("the token's user no longer has access")]
    NoAccess,
}

/// A valid token's meaning, as the model has it now: what a token filter
/// needs to know about a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedToken {
    /// The user.
    pub user: User,
    /// The user's domain.
    pub user_domain: Domain,
    /// The methods used to get it (`password`, `token`).
    pub methods: Vec<String>,
    /// The project it is scoped to, if project-scoped.
    pub project: Option<Project>,
    /// The project's domain, if project-scoped.
    pub project_domain: Option<Domain>,
    /// The domain it is scoped to, if domain-scoped.
    pub domain: Option<Domain>,
    /// The user's roles on the scope, implied ones included; empty if
    /// unscoped.
    pub roles: Vec<Role>,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
    /// Its audit id, then (if it was rescoped) the first token's.
    pub audit_ids: Vec<String>,
}

impl ValidatedToken {
    /// This token's own audit id, which revokes it.
    pub fn audit_id(&self) -> &str {
        self.audit_ids.first().map_or("", String::as_str)
    }

    /// The role names, strongest first.
    pub fn role_names(&self) -> Vec<&str> {
        self.roles.iter().map(|r| r.name.as_str()).collect()
    }

    /// Whether the token carries the `admin` role.
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r.name == "admin")
    }

    /// The request context a token filter stores for a project-scoped
    /// token; `None` for one scoped otherwise, which the compute API
    /// cannot use.
    pub fn request_context(&self) -> Option<nova_router::RequestContext> {
        let project = self.project.as_ref()?;
        Some(nova_router::RequestContext {
            user_id: self.user.id.clone(),
            project_id: project.id.clone(),
            roles: self.roles.iter().map(|r| r.name.clone()).collect(),
        })
    }
}

/// The roles of `user` on `scope` with the scope's records; `None` if
/// the scope does not exist, is disabled or the user has no role there.
pub(crate) fn resolve_scope<'d>(
    directory: &'d Directory,
    user: &User,
    scope: &Scope,
) -> Option<(Option<&'d Project>, Option<&'d Domain>, Vec<Role>)> {
    let (project, domain, target) = match scope {
        Scope::Unscoped => return Some((None, None, Vec::new())),
        Scope::Project(id) => {
            let project = directory.project(id).filter(|p| p.enabled)?;
            (Some(project), None, Target::Project(id.clone()))
        }
        Scope::Domain(id) => {
            let domain = directory.domain(id)?;
            (None, Some(domain), Target::Domain(id.clone()))
        }
    };
    let roles: Vec<Role> = directory
        .effective_roles(&user.id, &target)
        .into_iter()
        .cloned()
        .collect();
    (!roles.is_empty()).then_some((project, domain, roles))
}

/// Opens and checks `token` at `now`: everything but whether
/// it was revoked, which the caller asks its [`TokenStore`](crate::TokenStore).
pub(crate) fn validate(
    keys: &TokenKeys,
    directory: &Directory,
    now: Timestamp,
    token: &str,
) -> Result<ValidatedToken, TokenError> {
    let seconds = u64::try_from(now.as_second()).unwrap_or(0);
    let payload = keys
        .decrypt(token.trim(), seconds)
        .ok_or(TokenError::Malformed)?;
    let payload: Payload = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
    let timestamp = |s: i64| Timestamp::from_second(s).map_err(|_| TokenError::Malformed);
    let issued_at = timestamp(payload.issued_at)?;
    let expires_at = timestamp(payload.expires_at)?;
    if now >= expires_at {
        return Err(TokenError::Expired { expires_at });
    }
    if payload.audit_ids.is_empty() {
        return Err(TokenError::Malformed);
    }
    let user = directory
        .user(&payload.user_id)
        .filter(|u| u.enabled)
        .ok_or(TokenError::NoAccess)?;
    let user_domain = directory
        .domain(&user.domain_id)
        .ok_or(TokenError::NoAccess)?;
    let (project, domain, roles) =
        resolve_scope(directory, user, &payload.scope).ok_or(TokenError::NoAccess)?;
    let project_domain = match project {
        Some(p) => Some(
            directory
                .domain(&p.domain_id)
                .ok_or(TokenError::NoAccess)?
                .clone(),
        ),
        None => None,
    };
    Ok(ValidatedToken {
        user: user.clone(),
        user_domain: user_domain.clone(),
        methods: payload.methods,
        project: project.cloned(),
        project_domain,
        domain: domain.cloned(),
        roles,
        issued_at,
        expires_at,
        audit_ids: payload.audit_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_only_with_a_key_that_sealed_it() {
        let keys = TokenKeys::generate();
        let token = keys.encrypt(b"hello", 1_000);
        assert_eq!(keys.decrypt(&token, 1_000).unwrap(), b"hello");
        assert!(TokenKeys::generate().decrypt(&token, 1_000).is_none());
        assert!(keys.decrypt("garbage", 1_000).is_none());
        // Rotated: an old key still opens what it sealed.
        let old = TokenKeys::generate_key();
        let rotated = TokenKeys::new(&[TokenKeys::generate_key(), old.clone()]).unwrap();
        let sealed_by_old = TokenKeys::new(&[old]).unwrap().encrypt(b"x", 1_000);
        assert_eq!(rotated.decrypt(&sealed_by_old, 1_000).unwrap(), b"x");
    }

    #[test]
    fn audit_ids_look_like_keystones() {
        let id = new_audit_id();
        assert_eq!(id.len(), 22);
        assert_ne!(id, new_audit_id());
    }
}
