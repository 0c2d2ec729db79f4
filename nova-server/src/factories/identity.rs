//! The identity factories: `identity` (Keystone's v3 API, nova-identity's
//! [`IdentityApp`]), `authtoken` (keystonemiddleware's filter, nova-auth's
//! [`KeystoneFilter`]) and `keystonecontext` (Nova's filter that turns
//! `authtoken`'s headers into a request context; `authtoken` already
//! hands the context on, so it passes requests through), and the adapter
//! between the two crates: nova-auth defines what a validator is, nova-
//! identity knows the tokens, and neither depends on the other.

use std::sync::Arc;

use nova_auth::{
    check_identity_uri, InvalidToken, KeystoneFilter, ProjectScope, TokenValidator, Tokens,
    ValidToken, ValidationFuture,
};
use nova_identity::{Identity, IdentityApp, TokenError, ValidatedToken};
use nova_paste::{FactoryConfig, FactoryError};
use nova_router::SharedService;
use nova_store::StoreRequest;

use crate::AppPlan;

/// Where the identity API is mounted when `www_authenticate_uri` is not
/// set: devstack's path, and the shipped file's.
pub(crate) const DEFAULT_IDENTITY_PATH: &str = "/identity";

/// The `identity` app: its model from the section's keys (see
/// [`Identity::from_config`]), its keys and revocations in `request`'s
/// store. Hashes the configured passwords, and reads (or sets up) a
/// configured key repository, as loading the file.
pub(crate) fn identity_app(
    config: &FactoryConfig,
    request: StoreRequest,
) -> Result<AppPlan, FactoryError> {
    let identity = Identity::from_config(&|key: &str| config.get(key).map(str::to_owned)).map_err(
        |error| {
            let key = match &error {
                nova_identity::ConfigError::Invalid { key, .. } => key.clone(),
                nova_identity::ConfigError::ConflictingKeys
                | nova_identity::ConfigError::KeyRepository { .. } => {
                    "fernet_key_repository".to_owned()
                }
                nova_identity::ConfigError::Hashing { user, .. } => format!("password_{user}"),
                _ => "identity".to_owned(),
            };
            FactoryError::bad_value(key, &error)
        },
    )?;
    Ok(AppPlan::identity(request, Arc::new(identity)))
}

/// The `authtoken` filter over `app`: Keystone tokens checked against the
/// file's identity app, and `shared` (the seed's static tokens), if any,
/// let through for clients without Keystone. Key: `www_authenticate_uri`
/// (where a 401 says to get a token; default `http://HOST/identity`, the
/// host the client asked).
pub(crate) fn authtoken(
    config: &FactoryConfig,
    app: AppPlan,
    shared: Option<Tokens>,
) -> Result<AppPlan, FactoryError> {
    let uri = config
        .get("www_authenticate_uri")
        .map(str::trim)
        .filter(|uri| !uri.is_empty())
        .map(str::to_owned);
    // Checked now, so a bad value fails the file, not the first request.
    if let Some(uri) = &uri {
        check_identity_uri(uri)
            .map_err(|error| FactoryError::bad_value("www_authenticate_uri", error))?;
    }
    Ok(app.authenticated(move |inner, identity| {
        let validator: Arc<dyn TokenValidator> = Arc::new(IdentityValidator { identity });
        let filter = match &uri {
            Some(uri) => KeystoneFilter::new(inner, validator, uri),
            None => KeystoneFilter::on_request_host(inner, validator, DEFAULT_IDENTITY_PATH),
        };
        // Both were checked above (the default is a constant).
        let filter = match filter {
            Ok(filter) => filter,
            Err(error) => unreachable!("a checked identity endpoint: {error}"),
        };
        let filter = match &shared {
            Some(tokens) => filter.with_shared_tokens(tokens.clone()),
            None => filter,
        };
        let service: SharedService = Arc::new(filter);
        service
    }))
}

/// nova-auth's [`TokenValidator`] over nova-identity's [`IdentityApp`].
struct IdentityValidator {
    identity: IdentityApp,
}

impl TokenValidator for IdentityValidator {
    fn validate<'a>(&'a self, token: &'a str) -> ValidationFuture<'a> {
        Box::pin(async move {
            self.identity
                .validate(token)
                .await
                .map(valid_token)
                .map_err(invalid_token)
        })
    }
}

/// What the filter passes on of a valid token.
fn valid_token(token: ValidatedToken) -> ValidToken {
    let project = token.project.map(|project| ProjectScope {
        id: project.id,
        name: project.name,
        domain_id: project.domain_id,
    });
    ValidToken {
        user_id: token.user.id,
        user_name: token.user.name,
        user_domain_id: token.user_domain.id,
        project,
        roles: token.roles.into_iter().map(|role| role.name).collect(),
    }
}

/// Why the filter refuses a token.
fn invalid_token(error: TokenError) -> InvalidToken {
    match error {
        TokenError::Expired { .. } => InvalidToken::Expired,
        // A user who lost their role or was disabled holds a token that no
        // longer means anything: revoked, as Keystone's revocation events
        // make it.
        TokenError::Revoked | TokenError::NoAccess => InvalidToken::Revoked,
        TokenError::Unavailable => {
            InvalidToken::Unavailable("the identity store cannot be read".to_owned())
        }
        _ => InvalidToken::Malformed,
    }
}
