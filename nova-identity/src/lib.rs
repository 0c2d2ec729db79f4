//! Keystone's identity API v3 as a nova-rs application: who a caller is,
//! proved by a password or a token, and what they may touch.
//!
//! [`IdentityApp`] is a [`nova_router::Service`] that routes itself, so it
//! can be mounted anywhere (nova-server mounts it at `/identity`, as
//! devstack serves Keystone) or used alone in someone else's service. Its
//! model ([`Identity`], read from configuration by
//! [`Identity::from_config`]) is devstack's by default: users `admin`,
//! `demo` and `alt_demo`, each with a project of the same name in domain
//! `Default`, every password `open-sesame`.
//!
//! Tokens are Fernet tokens carrying the user, methods, scope, expiry and
//! audit ids, validated with no database: a token filter calls
//! [`IdentityApp::validate`] and gets a [`ValidatedToken`]. Expiry reads a
//! [`Clock`]; revocation, and the keys unless configured, ask a
//! [`TokenStore`].

mod app;
mod catalog;
mod clock;
mod config;
mod error;
mod model;
mod password;
mod token;
mod token_store;
mod views;

pub use app::{IdentityApp, AUTH_TOKEN_HEADER, SUBJECT_TOKEN_HEADER};
pub use catalog::{catalog, REGION};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    ConfigError, Identity, DEFAULT_PASSWORD, DEFAULT_TOKEN_EXPIRATION, DEFAULT_USERS,
};
pub use model::{
    Assignment, Directory, Domain, Project, Role, Target, User, DEFAULT_DOMAIN_ID,
    DEFAULT_DOMAIN_NAME, ROLE_NAMES,
};
pub use password::PasswordHash;
pub use token::{Scope, TokenError, ValidatedToken};
pub use token_store::{
    generate_token_key, MemoryTokenStore, TokenStore, TokenStoreError, TokenStoreFuture,
};
