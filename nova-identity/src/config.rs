//! The identity service's configuration: its app section's keys, read
//! once at start-up into an [`Identity`].
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `users` | comma-separated `name:project:role` entries; each makes the user (and project) in domain `Default` if new and gives it the role (`admin`, `member` or `reader`) there | `admin:admin:admin, demo:demo:member, alt_demo:alt_demo:member` |
//! | `password_<name>` | the password of user `<name>` | `open-sesame` |
//! | `token_expiration` | a token's lifetime, whole seconds | `3600` |
//! | `fernet_key` | the token key(s): comma-separated base64url 32-byte Fernet keys; the first signs new tokens, all are accepted | none |
//! | `fernet_key_repository` | a directory of key files named `0`, `1`, …, as `keystone-manage fernet_setup` writes it: the highest number signs, all are accepted; created with keys `0` and `1` if missing or empty | none |
//! | `public_url` | the base URL the catalog's endpoints are built from (`http://cloud.example`) | the request's `Host` |
//!
//! With neither key set, the keys are the [`TokenStore`](crate::TokenStore)'s:
//! nova-store keeps one beside the servers, made at first start, so tokens
//! outlive a restart and every process on that store accepts them (a
//! `memory:` store's key is gone with the process). Setting both is an
//! error.

use std::path::{Path, PathBuf};

use jiff::SignedDuration;

use crate::token::TokenKeys;
use crate::{Directory, PasswordHash};

/// The users a configuration without `users` has: devstack's.
pub const DEFAULT_USERS: &str = "admin:admin:admin, demo:demo:member, alt_demo:alt_demo:member";
/// The password of every user whose `password_<name>` is not set.
pub const DEFAULT_PASSWORD: &str = "open-sesame";
/// A token's lifetime when `token_expiration` is not set, as Keystone's.
pub const DEFAULT_TOKEN_EXPIRATION: SignedDuration = SignedDuration::from_secs(3600);

/// A configuration the identity service cannot start with; each names
/// the key at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key's value is not what it should be.
    #[error("{key}: {reason}")]
    Invalid {
        /// The key.
        key: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// `fernet_key` and `fernet_key_repository` are both set.
    #[error("fernet_key and fernet_key_repository are both set: set one")]
    ConflictingKeys,
    /// The key repository could not be read or created.
    #[error("fernet_key_repository: {path}: {source}")]
    KeyRepository {
        /// The directory or file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A password could not be hashed.
    #[error("password_{user}: the password could not be hashed: {reason}")]
    Hashing {
        /// The user whose password it is.
        user: String,
        /// Why.
        reason: String,
    },
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// The identity service's model and settings: who exists, their
/// passwords' hashes and roles, the token keys and lifetime, and the
/// catalog's base URL. Immutable once built; share it with an `Arc`.
#[derive(Debug)]
pub struct Identity {
    pub(crate) directory: Directory,
    /// The configured keys; `None` for the token store's.
    pub(crate) keys: Option<TokenKeys>,
    pub(crate) token_expiration: SignedDuration,
    pub(crate) public_url: Option<String>,
}

impl Identity {
    /// Reads the configuration through `get`, which answers a key of the
    /// app section (see the module documentation for the keys).
    ///
    /// Hashes every password, which takes a moment per user by design.
    pub fn from_config(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let users = get("users").unwrap_or_else(|| DEFAULT_USERS.to_owned());
        let mut directory = Directory::new();
        let mut hashes: Vec<(String, PasswordHash)> = Vec::new();
        for entry in users.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
            let [name, project, role] = parts[..] else {
                return Err(invalid(
                    "users",
                    format!("{entry:?} is not name:project:role"),
                ));
            };
            if name.is_empty() || project.is_empty() {
                return Err(invalid("users", format!("{entry:?} has an empty name")));
            }
            let hash = match hashes.iter().find(|(user, _)| user == name) {
                Some((_, hash)) => hash.clone(),
                None => {
                    let key = format!("password_{name}");
                    let password = get(&key).unwrap_or_else(|| DEFAULT_PASSWORD.to_owned());
                    if password.is_empty() {
                        return Err(invalid(&key, "the password is empty"));
                    }
                    let hash = PasswordHash::new(&password).map_err(|e| ConfigError::Hashing {
                        user: name.to_owned(),
                        reason: e.to_string(),
                    })?;
                    hashes.push((name.to_owned(), hash.clone()));
                    hash
                }
            };
            if !directory.add_member(name, hash, project, role) {
                return Err(invalid(
                    "users",
                    format!("{entry:?}: unknown role {role:?}, expected admin, member or reader"),
                ));
            }
        }
        if directory.users().is_empty() {
            return Err(invalid("users", "no users are configured"));
        }

        let token_expiration = match get("token_expiration") {
            None => DEFAULT_TOKEN_EXPIRATION,
            Some(value) => match value.trim().parse::<i64>() {
                Ok(seconds) if seconds > 0 => SignedDuration::from_secs(seconds),
                _ => {
                    return Err(invalid(
                        "token_expiration",
                        format!("{value:?} is not a positive number of seconds"),
                    ))
                }
            },
        };

        let keys = match (get("fernet_key"), get("fernet_key_repository")) {
            (Some(_), Some(_)) => return Err(ConfigError::ConflictingKeys),
            (Some(list), None) => {
                let keys: Vec<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect();
                Some(TokenKeys::new(&keys).ok_or_else(|| {
                    invalid(
                        "fernet_key",
                        "expected base64url-encoded 32-byte Fernet keys",
                    )
                })?)
            }
            (None, Some(directory)) => Some(read_key_repository(Path::new(directory.trim()))?),
            (None, None) => None,
        };

        let public_url = match get("public_url") {
            None => None,
            Some(url) => {
                let url = url.trim().trim_end_matches('/').to_owned();
                let valid = url
                    .parse::<http::Uri>()
                    .is_ok_and(|uri| uri.scheme().is_some() && uri.authority().is_some());
                if !valid {
                    return Err(invalid(
                        "public_url",
                        format!("{url:?} is not an absolute http(s) URL"),
                    ));
                }
                Some(url)
            }
        };

        Ok(Identity {
            directory,
            keys,
            token_expiration,
            public_url,
        })
    }

    /// The model: domains, users, projects, roles and assignments.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// A token's lifetime.
    pub fn token_expiration(&self) -> SignedDuration {
        self.token_expiration
    }

    /// The configured base URL of the catalog's endpoints, if any.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }
}

/// Keystone's key repository: files named by number, the highest the
/// primary key. A missing or empty one is set up with a staged key `0` and
/// a primary key `1`, as `keystone-manage fernet_setup` leaves it.
fn read_key_repository(directory: &Path) -> Result<TokenKeys, ConfigError> {
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| ConfigError::KeyRepository { path, source }
    };
    if directory.as_os_str().is_empty() {
        return Err(invalid("fernet_key_repository", "the directory is empty"));
    }
    std::fs::create_dir_all(directory).map_err(io_error(directory))?;
    let mut numbered = Vec::new();
    for entry in std::fs::read_dir(directory).map_err(io_error(directory))? {
        let entry = entry.map_err(io_error(directory))?;
        if let Some(number) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        {
            numbered.push((number, entry.path()));
        }
    }
    if numbered.is_empty() {
        for number in [0u32, 1] {
            let path = directory.join(number.to_string());
            write_secret(&path, &TokenKeys::generate_key()).map_err(io_error(&path))?;
            numbered.push((number, path));
        }
        tracing::info!(directory = %directory.display(), "created a fernet key repository");
    }
    // The primary key first: it signs, the others only validate.
    numbered.sort_by_key(|(number, _)| std::cmp::Reverse(*number));
    let mut keys = Vec::new();
    for (number, path) in &numbered {
        let key = std::fs::read_to_string(path).map_err(io_error(path))?;
        let key = key.trim().to_owned();
        if TokenKeys::new(std::slice::from_ref(&key)).is_none() {
            return Err(invalid(
                "fernet_key_repository",
                format!("key file {number} is not a base64url-encoded 32-byte Fernet key"),
            ));
        }
        keys.push(key);
    }
    TokenKeys::new(&keys).ok_or_else(|| invalid("fernet_key_repository", "no keys"))
}

/// Writes a key readable by its owner only.
fn write_secret(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    std::io::Write::write_all(&mut options.open(path)?, contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn error_of(pairs: &[(&str, &str)]) -> ConfigError {
        match Identity::from_config(&config(pairs)) {
            Ok(_) => panic!("{pairs:?} was accepted"),
            Err(error) => error,
        }
    }

    fn invalid_key(error: &ConfigError) -> &str {
        match error {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("not an invalid key: {other}"),
        }
    }

    #[test]
    fn configured_users_get_their_passwords_and_roles() {
        let identity = Identity::from_config(&config(&[
            ("users", "ops:infra:admin, viewer:infra:reader"),
            ("password_ops", "s3cret"),
            ("token_expiration", "60"),
        ]))
        .unwrap();
        let directory = identity.directory();
        let ops = directory.user_by_name("ops", "default").unwrap();
        assert!(ops.password.verify("s3cret"));
        let viewer = directory.user_by_name("viewer", "default").unwrap();
        assert!(viewer.password.verify(DEFAULT_PASSWORD));
        assert_eq!(directory.projects().len(), 1);
        assert_eq!(identity.token_expiration(), SignedDuration::from_secs(60));
        assert_eq!(identity.public_url(), None);
    }

    #[test]
    fn each_bad_value_is_reported_with_its_key() {
        let table: &[(&[(&str, &str)], &str)] = &[
            (&[("users", "admin:admin")], "users"),
            (&[("users", "admin:admin:owner")], "users"),
            (&[("users", ":admin:admin")], "users"),
            (&[("users", " , ")], "users"),
            (&[("users", "a:a:admin"), ("password_a", "")], "password_a"),
            (&[("token_expiration", "soon")], "token_expiration"),
            (&[("token_expiration", "0")], "token_expiration"),
            (&[("fernet_key", "c2hvcnQ=")], "fernet_key"),
            (&[("public_url", "cloud.example")], "public_url"),
        ];
        for (pairs, key) in table {
            let pairs: Vec<(&str, &str)> = pairs
                .iter()
                .copied()
                .chain(
                    pairs
                        .iter()
                        .all(|(k, _)| *k != "users")
                        .then_some(("users", "a:a:admin")),
                )
                .collect();
            assert_eq!(invalid_key(&error_of(&pairs)), *key, "{pairs:?}");
        }
    }

    #[test]
    fn debug_output_shows_no_password_hash_or_key() {
        let key = TokenKeys::generate_key();
        let identity = Identity::from_config(&config(&[
            ("users", "a:a:admin"),
            ("password_a", "hunter2"),
            ("fernet_key", &key),
        ]))
        .unwrap();
        let shown = format!("{identity:?}");
        assert!(shown.contains("redacted"), "{shown}");
        for secret in ["hunter2", "argon2", key.as_str()] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
    }

    #[test]
    fn both_key_settings_at_once_are_refused() {
        let error = error_of(&[
            ("users", "a:a:admin"),
            ("fernet_key", &TokenKeys::generate_key()),
            ("fernet_key_repository", "/nonexistent"),
        ]);
        assert!(matches!(error, ConfigError::ConflictingKeys), "{error}");
    }

    #[test]
    fn a_missing_key_repository_is_set_up_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let repository = dir.path().join("fernet-keys");
        let path = repository.to_str().unwrap();
        let pairs = [("users", "a:a:admin"), ("fernet_key_repository", path)];
        let first = Identity::from_config(&config(&pairs)).unwrap();
        assert!(repository.join("0").is_file());
        assert!(repository.join("1").is_file());
        let second = Identity::from_config(&config(&pairs)).unwrap();
        let token = first.keys.as_ref().unwrap().encrypt(b"payload", 1_000);
        let second = second.keys.as_ref().unwrap();
        assert_eq!(second.decrypt(&token, 1_000).unwrap(), b"payload");
    }

    #[test]
    fn a_bad_key_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("0"), "not a key").unwrap();
        let path = dir.path().to_str().unwrap();
        let error = error_of(&[("users", "a:a:admin"), ("fernet_key_repository", path)]);
        assert_eq!(invalid_key(&error), "fernet_key_repository");
    }
}
