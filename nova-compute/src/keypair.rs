//! A key pair as it is stored, and what Nova's `nova/crypto.py` does with
//! one: read an imported public key (or X.509 certificate) and take its
//! fingerprint, or generate a new key pair.
//!
//! Fingerprints are Nova's: for an SSH key, the MD5 of the key's blob (the
//! base64 field of `ssh-ed25519 AAAA… comment`) as colon-separated hex;
//! for a certificate, the SHA-1 of its DER, the same way. The keypairs
//! controller (`keypairs`) calls these; the stores keep [`Keypair`]s.

use md5::{Digest, Md5};
use nova_controller::Timestamp;
use sha1::Sha1;

/// What kind of key a key pair holds (`type`, from 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeypairType {
    /// An OpenSSH public key (`ssh`).
    Ssh,
    /// A PEM X.509 certificate (`x509`), for Windows guests.
    X509,
}

impl KeypairType {
    /// Nova's name for it: `ssh` or `x509`.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeypairType::Ssh => "ssh",
            KeypairType::X509 => "x509",
        }
    }

    /// The type Nova's name names, if any.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ssh" => Some(KeypairType::Ssh),
            "x509" => Some(KeypairType::X509),
            _ => None,
        }
    }
}

/// One key pair: a user's named public key. Key pairs belong to users,
/// not projects, as in Nova; a user's key pair names are unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keypair {
    /// The store's number for it (Nova's integer `id`), given when it is
    /// stored: a value set before is ignored.
    pub id: i64,
    /// The user who owns it.
    pub user_id: String,
    /// Its name.
    pub name: String,
    /// Its type.
    pub kind: KeypairType,
    /// The public key (OpenSSH text) or certificate (PEM), as imported or
    /// generated.
    pub public_key: String,
    /// Nova's fingerprint of it.
    pub fingerprint: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// Why an imported key cannot be used: Nova's `InvalidKeypair` reason,
/// shown as `Keypair data is invalid: {reason}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not an OpenSSH public key.
    #[error("failed to generate fingerprint")]
    NotSshKey,
    /// The text is not a PEM X.509 certificate.
    #[error("failed to generate X509 fingerprint. Error message: {0}")]
    NotCertificate(String),
    /// Generating an X.509 key pair is not offered.
    #[error(
        "generating an x509 key pair is not supported; import a PEM certificate as public_key"
    )]
    X509GenerationUnsupported,
    /// The random number generator or the encoder failed.
    #[error("failed to generate a key pair: {0}")]
    Generation(String),
}

/// `aa:bb:…`: `digest` as lowercase hex, two digits a byte, joined by
/// colons, as Nova joins `hexdigest()`'s pairs.
fn colon_hex(digest: &[u8]) -> String {
    digest
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Nova's `generate_fingerprint`: checks that `public_key` is an OpenSSH
/// public key, then hashes the blob of its second space-separated field
/// with MD5, as Nova does (`public_key.split(' ')[1]`).
pub(crate) fn ssh_fingerprint(public_key: &str) -> Result<String, KeyError> {
    let key =
        ssh_key::PublicKey::from_openssh(public_key.trim()).map_err(|_| KeyError::NotSshKey)?;
    // The key's binary encoding is the blob the base64 field decodes to.
    let blob = key.to_bytes().map_err(|_| KeyError::NotSshKey)?;
    Ok(colon_hex(&Md5::digest(&blob)))
}

/// Nova's `generate_x509_fingerprint`: reads `pem` as one PEM X.509
/// certificate and hashes its DER with SHA-1.
pub(crate) fn x509_fingerprint(pem: &str) -> Result<String, KeyError> {
    use x509_cert::der::{DecodePem, Encode};
    let certificate = x509_cert::Certificate::from_pem(pem.trim().as_bytes())
        .map_err(|error| KeyError::NotCertificate(error.to_string()))?;
    let der = certificate
        .to_der()
        .map_err(|error| KeyError::NotCertificate(error.to_string()))?;
    Ok(colon_hex(&Sha1::digest(&der)))
}

/// The fingerprint of an imported key of `kind`, or why it is invalid.
pub fn fingerprint(kind: KeypairType, public_key: &str) -> Result<String, KeyError> {
    match kind {
        KeypairType::Ssh => ssh_fingerprint(public_key),
        KeypairType::X509 => x509_fingerprint(public_key),
    }
}

/// A generated key pair: the private key for the client (shown once,
/// never stored), the public key and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The private key in OpenSSH's format.
    pub private_key: String,
    /// `ssh-ed25519 AAAA… Generated-by-Nova`.
    pub public_key: String,
    /// Nova's fingerprint of the public key.
    pub fingerprint: String,
}

/// A new SSH key pair, as Nova's `generate_key_pair` makes one, but
/// Ed25519 rather than 2048-bit RSA: as good a key for every current
/// OpenSSH, and made in microseconds where RSA takes up to a second of
/// CPU per request. The public key carries Nova's `Generated-by-Nova`
/// comment. An X.509 pair is not generated
/// ([`KeyError::X509GenerationUnsupported`]).
pub fn generate(kind: KeypairType) -> Result<GeneratedKey, KeyError> {
    if kind == KeypairType::X509 {
        return Err(KeyError::X509GenerationUnsupported);
    }
    let generation = |error: ssh_key::Error| KeyError::Generation(error.to_string());
    let mut private =
        ssh_key::PrivateKey::random(&mut ssh_key::rand_core::OsRng, ssh_key::Algorithm::Ed25519)
            .map_err(generation)?;
    private.set_comment("Generated-by-Nova");
    let public_key = private.public_key().to_openssh().map_err(generation)?;
    let private_key = private
        .to_openssh(ssh_key::LineEnding::LF)
        .map_err(generation)?
        .to_string();
    let fingerprint = ssh_fingerprint(&public_key)?;
    Ok(GeneratedKey {
        private_key,
        public_key,
        fingerprint,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Nova's own sample key (`doc/api_samples/os-keypairs/v2.10/`) and
    /// the fingerprint Nova gives it.
    const NOVA_SAMPLE: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC1HTrHCbb9NawNLSV8N6tSa8i637+EC2dA+lsdHHfQlT54t+N0nHhJPlKWDLhc579j87vp6RDFriFJ/smsTnDnf64O12z0kBaJpJPH2zXrBkZFK6q2rmxydURzX/z0yLSCP77SFJ0fdXWH2hMsAusflGyryHGX20n+mZK6mDrxVzGxEz228dwQ5G7Az5OoZDWygH2pqPvKjkifRw0jwUKf3BbkP0QvANACOk26cv16mNFpFJfI1N3OC5lUsZQtKGR01ptJoWijYKccqhkAKuo902tg/qup58J5kflNm7I61sy1mJon6SGqNUSfoQagqtBH6vd/tU1jnlwZ03uUroAL Generated-by-Nova\n";

    /// `nova/tests/unit/fake_crypto.py`'s certificate.
    pub(crate) const X509_SAMPLE: &str = "-----BEGIN CERTIFICATE-----\n\
MIIDIjCCAgqgAwIBAgIJAIE8EtWfZhhFMA0GCSqGSIb3DQEBCwUAMCQxIjAgBgNV\n\
BAMTGWNsb3VkYmFzZS1pbml0LXVzZXItMTM1NTkwHhcNMTUwMTI5MTgyMzE4WhcN\n\
MjUwMTI2MTgyMzE4WjAkMSIwIAYDVQQDExljbG91ZGJhc2UtaW5pdC11c2VyLTEz\n\
NTU5MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAv4lv95ofkXLIbALU\n\
UEb1f949TYNMUvMGNnLyLgGOY+D61TNG7RZn85cRg9GVJ7KDjSLN3e3LwH5rgv5q\n\
pU+nM/idSMhG0CQ1lZeExTsMEJVT3bG7LoU5uJ2fJSf5+hA0oih2M7/Kap5ggHgF\n\
h+h8MWvDC9Ih8x1aadkk/OEmJsTrziYm0C/V/FXPHEuXfZn8uDNKZ/tbyfI6hwEj\n\
nLz5Zjgg29n6tIPYMrnLNDHScCwtNZOcnixmWzsxCt1bxsAEA/y9gXUT7xWUf52t\n\
2+DGQbLYxo0PHjnPf3YnFXNavfTt+4c7ZdHhOQ6ZA8FGQ2LJHDHM1r2/8lK4ld2V\n\
qgNTcQIDAQABo1cwVTATBgNVHSUEDDAKBggrBgEFBQcDAjA+BgNVHREENzA1oDMG\n\
CisGAQQBgjcUAgOgJQwjY2xvdWRiYXNlLWluaXQtdXNlci0xMzU1OUBsb2NhbGhv\n\
c3QwDQYJKoZIhvcNAQELBQADggEBAHHX/ZUOMR0ZggQnfXuXLIHWlffVxxLOV/bE\n\
7JC/dtedHqi9iw6sRT5R6G1pJo0xKWr2yJVDH6nC7pfxCFkby0WgVuTjiu6iNRg2\n\
4zNJd8TGrTU+Mst+PPJFgsxrAY6vjwiaUtvZ/k8PsphHXu4ON+oLurtVDVgog7Vm\n\
fQCShx434OeJj1u8pb7o2WyYS5nDVrHBhlCAqVf2JPKu9zY+i9gOG2kimJwH7fJD\n\
xXpMIwAQ+flwlHR7OrE0L8TNcWwKPRAY4EPcXrT+cWo1k6aTqZDSK54ygW2iWtni\n\
ZBcstxwcB4GIwnp1DrPW9L2gw5eLe1Sl6wdz443TW8K/KPV9rWQ=\n\
-----END CERTIFICATE-----\n\
";

    #[test]
    fn rsa_dss_and_ecdsa_keys_have_the_fingerprints_novas_tests_expect() {
        // `nova/tests/unit/test_crypto.py`'s keys and fingerprints; the
        // last one's comment has spaces in it.
        let table = [
            ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDkbjgPqUSAyPpxHAI/J2wyXVVE3YH0NXJXmWbCywZ4kKXLBkxZwqVJkFpY9vBu3bT+vvh4wZk+Wq0SL1Gj4QePj+fn7cDYyHXWHQ8ZK3nc9I99bChmESD2FDXDVnF8EwLHt4bZh0YVChwyBHTNBqwkaOO3yGu4KdZEHek0f0OETAqGARMfT8IXPFKHR5laz87gZJ/i6nCZEb/Vi73S+dVmrcBqfC+9blQGTqDi5ZvoVMRLzruQDLhvkRwfpZHeUsTT2ia4b82q0f6qSAh1ByicOSaS4rfF/mCjoZLASh3R6szUbW974LjD8wP3wpnhmWif2HLugTatyodd/nyBm05N Generated-by-Nova",
                "e7:66:a1:2c:4f:90:6e:11:19:da:ac:c2:69:e1:ad:89"),
            ("ssh-dss AAAAB3NzaC1kc3MAAACBAKWFW2++pDxJWObkADbSXw8KfZ4VupkRKEXFSPN2kV0v+FgdnBEcrEJPExaOTMhmxIuc82ktTv76wHSEpbbsLuI7IDbB6KJJwHs2y356yB28Q9rin7X0VMYKkPxvAcbIUSrEbQtyPMihlOaaQ2dGSsEQGQSpjm3f3RU6OWux0w/NAAAAFQCgzWF2zxQmi/Obd11z9Im6gY02gwAAAIAHCDLjipVwMLXIqNKOMktiPex+ewRQxBi80dzZ3mJzARqzLPYI9hJFUU0LiMtLuypV/djpUWN0cQpmgTQfTfuZx9ipC6Mtiz66NQqjkQuoihzdk+9KlOTo03UsX5uBGwuZ09Dnf1VTF8ZsW5HgHyOk6qD71QBajkcFJAKOT3rFfgAAAIAy8trIzqEps9/n37Nli1TvNPLbFQAXl1LNwUFmFDwBCGTLl8puVZv7VSu1FG8ko+mzqNebqcN4RMC26NxJqe+RRubn5KtmLoIa7tRe74hvQ1HTLLuGxugwa4CewNbwzzEDEs8U79WDhGKzDkJR4nLPVimj5WLAWV70RNnRX7zj5w== Generated-by-Nova",
                "b9:dc:ac:57:df:2a:2b:cf:65:a8:c3:4e:9d:4a:82:3c"),
            ("ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBG1r4wzPTIjSo78POCq+u/czb8gYK0KvqlmCvcRPrnDWxgLw7y6BX51tuYREz7iLRCP7BwUt8R+ZWzFZDeOLIWU= Generated by Nova",
                "16:6a:c9:ec:80:4d:17:3e:d5:3b:6f:c0:d7:15:04:40"),
        ];
        for (key, expected) in table {
            assert_eq!(ssh_fingerprint(key).as_deref(), Ok(expected), "{key}");
        }
    }

    #[test]
    fn an_ssh_fingerprint_is_novas_md5_of_the_key_blob() {
        assert_eq!(
            ssh_fingerprint(NOVA_SAMPLE).unwrap(),
            "44:fe:29:6e:23:14:b9:53:5b:65:82:58:1c:fe:5a:c3"
        );
        assert_eq!(
            ssh_fingerprint("ssh-rsa not-base64"),
            Err(KeyError::NotSshKey)
        );
        assert_eq!(ssh_fingerprint("hello"), Err(KeyError::NotSshKey));
        assert_eq!(
            KeyError::NotSshKey.to_string(),
            "failed to generate fingerprint"
        );
    }

    #[test]
    fn a_generated_key_is_ed25519_with_novas_comment_and_reads_back() {
        let key = generate(KeypairType::Ssh).unwrap();
        assert!(key.public_key.starts_with("ssh-ed25519 AAAA"));
        assert!(key.public_key.ends_with(" Generated-by-Nova"));
        assert!(key
            .private_key
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        assert_eq!(ssh_fingerprint(&key.public_key).unwrap(), key.fingerprint);
        assert_eq!(key.fingerprint.len(), 47);
        assert_eq!(
            generate(KeypairType::X509),
            Err(KeyError::X509GenerationUnsupported)
        );
    }

    #[test]
    fn a_certificate_fingerprint_is_the_sha1_of_its_der() {
        // Nova's sample certificate and its fingerprint
        // (`nova/tests/unit/fake_crypto.py`).
        assert_eq!(
            x509_fingerprint(X509_SAMPLE).unwrap(),
            "a1:6f:6d:ea:a6:36:d0:3a:c6:eb:b6:ee:07:94:3e:2a:90:98:2b:c9"
        );
        assert_eq!(
            fingerprint(KeypairType::X509, X509_SAMPLE),
            x509_fingerprint(X509_SAMPLE)
        );
        assert!(matches!(
            fingerprint(KeypairType::X509, NOVA_SAMPLE),
            Err(KeyError::NotCertificate(_))
        ));
        assert!(matches!(
            x509_fingerprint("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
            Err(KeyError::NotCertificate(_))
        ));
    }
}
