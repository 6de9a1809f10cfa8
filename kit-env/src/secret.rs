//! Secret values and their fingerprints.

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A secret value. `Debug` and `Display` never show it: call
/// [`SecretValue::expose`] where the value is really needed.
///
/// ```
/// let v = kit_env::SecretValue::new("hunter2".into());
/// assert_eq!(format!("{v} {v:?}"), "<redacted> <redacted>");
/// assert_eq!(v.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Arc<str>);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: String) -> Self {
        SecretValue(value.into())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Turns secret values into short keyed fingerprints for review output:
/// `redacted:` and the first 12 hex digits of HMAC-SHA256(key, value).
///
/// Keyed, so that a short password cannot be recovered by hashing guesses;
/// stable for a given key, so that a reviewer sees which secret changed.
///
/// ```
/// let f = kit_env::Fingerprinter::with_key(b"team-key");
/// let a = f.fingerprint("hunter2");
/// assert!(a.starts_with("redacted:") && a.len() == 21);
/// assert_eq!(a, f.fingerprint("hunter2"));
/// assert_ne!(a, f.fingerprint("hunter3"));
/// ```
#[derive(Clone)]
pub struct Fingerprinter {
    key: Vec<u8>,
    per_run: bool,
}

impl fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fingerprinter")
            .field("per_run", &self.per_run)
            .finish_non_exhaustive()
    }
}

impl Fingerprinter {
    /// Uses the given key.
    pub fn with_key(key: &[u8]) -> Self {
        Fingerprinter {
            key: key.to_vec(),
            per_run: false,
        }
    }

    /// Uses a random key: fingerprints compare only within this run.
    pub fn random() -> Self {
        let mut key = vec![0u8; 32];
        // The OS random source failing is not something to recover from.
        getrandom::fill(&mut key).expect("the operating system's random source failed");
        Fingerprinter { key, per_run: true }
    }

    /// The key in `file` (its bytes, trailing line breaks removed), else
    /// `key` when given and not empty (the `kit` CLI passes
    /// `KIT_REDACT_KEY`), else a random one.
    pub fn from_file_or_key(
        file: Option<&std::path::Path>,
        key: Option<&str>,
    ) -> std::io::Result<Self> {
        match file {
            Some(path) => {
                let mut key = std::fs::read(path)?;
                while key.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    key.pop();
                }
                if key.is_empty() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "the key file is empty",
                    ));
                }
                Ok(Fingerprinter::with_key(&key))
            }
            None => Ok(match key {
                Some(k) if !k.is_empty() => Fingerprinter::with_key(k.as_bytes()),
                _ => Fingerprinter::random(),
            }),
        }
    }

    /// Whether the key is random for this run.
    pub fn is_per_run(&self) -> bool {
        self.per_run
    }

    /// The fingerprint of `value`.
    pub fn fingerprint(&self, value: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(21);
        out.push_str("redacted:");
        for b in &digest[..6] {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_a_known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let f = Fingerprinter::with_key(b"Jefe");
        assert_eq!(
            f.fingerprint("what do ya want for nothing?"),
            "redacted:5bdcc146bf60"
        );
    }

    #[test]
    fn random_keys_differ() {
        assert_ne!(
            Fingerprinter::random().fingerprint("x"),
            Fingerprinter::random().fingerprint("x")
        );
    }
}
