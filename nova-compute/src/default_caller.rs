//! Who a request acts as when no token filter names anyone (the seed's
//! shared token): the default project, which also owns the seed's
//! instances and the configured images, the default user, and the role
//! the token acts with.

/// The default project's id: hex, as Keystone's are, so it can stand in a
/// URL (`/v2.1/{project_id}/servers`).
pub const DEFAULT_PROJECT: &str = "6e6f76612d72732d64656661756c7400";

/// The default user's id.
pub const DEFAULT_USER: &str = "6e6f76612d72732d7573657200000000";

/// The role the shared token acts with: the token predates roles, and
/// whoever holds it may do anything in the project it acts for.
pub(crate) const SHARED_TOKEN_ROLE: &str = "admin";
