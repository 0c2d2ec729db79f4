//! Stored passwords: Argon2id hashes in PHC string form
//! (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), never the password itself.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

/// A user's password as the identity service keeps it: an Argon2id PHC
/// string with its own random salt. Its `Debug` shows no part of it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Hashes `password` with a fresh random salt.
    pub fn new(password: &str) -> Result<Self, argon2::password_hash::Error> {
        let hash = Argon2::default().hash_password(password.as_bytes())?;
        Ok(PasswordHash(hash.to_string()))
    }

    /// A stored PHC string, as read back from somewhere durable.
    pub fn from_phc(phc: impl Into<String>) -> Self {
        PasswordHash(phc.into())
    }

    /// The PHC string, for storing.
    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// Whether `password` is the one this hash was made from. A malformed
    /// stored hash matches nothing.
    pub fn verify(&self, password: &str) -> bool {
        Argon2::default()
            .verify_password(password.as_bytes(), self.0.as_str())
            .is_ok()
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_a_salted_argon2id_phc_string_without_the_password() {
        let hash = PasswordHash::new("open-sesame").unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$"));
        assert!(!hash.as_phc().contains("open-sesame"));
        // A fresh salt each time: equal passwords do not give equal hashes.
        let again = PasswordHash::new("open-sesame").unwrap();
        assert_ne!(hash, again);
        assert!(hash.verify("open-sesame"));
        assert!(!hash.verify("open-sesame "));
        assert!(!PasswordHash::from_phc("plain").verify("plain"));
    }

    #[test]
    fn debug_output_redacts_the_hash() {
        let hash = PasswordHash::new("open-sesame").unwrap();
        let shown = format!("{hash:?}");
        assert!(!shown.contains("argon2"));
        assert!(shown.contains("redacted"));
    }
}
