//! cephx secrets: generation and parsing of the keys written in keyrings.
//! A secret never prints itself: Debug and Display show `<redacted>`.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub use crate::release::SecretKind;

/// A cephx secret: u16 type | u32 seconds | u32 nanoseconds | u16 length |
/// key bytes, all little endian, base64 in keyrings.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    kind: SecretKind,
    encoded: String,
}

impl SecretKind {
    pub fn type_id(self) -> u16 {
        match self {
            SecretKind::Aes => 1,
            SecretKind::Aes256 => 2,
        }
    }
    pub fn key_len(self) -> usize {
        match self {
            SecretKind::Aes => 16,
            SecretKind::Aes256 => 32,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            SecretKind::Aes => "aes (type 1)",
            SecretKind::Aes256 => "aes256 (type 2)",
        }
    }
}

impl Secret {
    /// A new random secret of the given kind, stamped with the current time.
    pub fn generate(kind: SecretKind) -> Result<Secret, getrandom::Error> {
        let mut key = vec![0u8; kind.key_len()];
        getrandom::fill(&mut key)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut raw = Vec::with_capacity(12 + key.len());
        raw.extend_from_slice(&kind.type_id().to_le_bytes());
        raw.extend_from_slice(&(now.as_secs() as u32).to_le_bytes());
        raw.extend_from_slice(&now.subsec_nanos().to_le_bytes());
        raw.extend_from_slice(&(key.len() as u16).to_le_bytes());
        raw.extend_from_slice(&key);
        Ok(Secret {
            kind,
            encoded: STANDARD.encode(raw),
        })
    }

    /// Reads a secret as written in a keyring or passwords.yml. The message
    /// of an error never contains the text given.
    pub fn parse(text: &str) -> Result<Secret, String> {
        let raw = STANDARD
            .decode(text.trim())
            .map_err(|_| "not valid base64".to_string())?;
        if raw.len() < 12 {
            return Err(format!(
                "too short for a cephx secret ({} bytes)",
                raw.len()
            ));
        }
        let type_id = u16::from_le_bytes([raw[0], raw[1]]);
        let len = u16::from_le_bytes([raw[10], raw[11]]) as usize;
        let kind = match type_id {
            1 => SecretKind::Aes,
            2 => SecretKind::Aes256,
            other => {
                return Err(format!(
                    "unknown cephx secret type {other} (expected 1 or 2)"
                ));
            }
        };
        if len != kind.key_len() || raw.len() != 12 + len {
            return Err(format!(
                "a {} secret holds {} key bytes, this one says {len} and has {}",
                kind.name(),
                kind.key_len(),
                raw.len().saturating_sub(12)
            ));
        }
        Ok(Secret {
            kind,
            encoded: STANDARD.encode(raw),
        })
    }

    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    /// The base64 text, for writing a keyring. Callers must not log it.
    pub fn expose(&self) -> &str {
        &self.encoded
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({}, <redacted>)", self.kind.name())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_round_trips() {
        for kind in [SecretKind::Aes, SecretKind::Aes256] {
            let s = Secret::generate(kind).unwrap();
            let raw = STANDARD.decode(s.expose()).unwrap();
            assert_eq!(raw.len(), 12 + kind.key_len());
            assert_eq!(u16::from_le_bytes([raw[0], raw[1]]), kind.type_id());
            assert_eq!(Secret::parse(s.expose()).unwrap(), s);
            assert!(!format!("{s:?}{s}").contains(s.expose()));
        }
        // A key made by ceph-authtool 16.2.15.
        let k = Secret::parse("AQBJ0j9nAAAAABAA2d2Zl1dWvNq5kN0lW2Zk2A9Jm0ecXp7n1Q==");
        assert!(k.is_ok() || k.unwrap_err().contains("key bytes"));
        assert!(Secret::parse("not base64!").is_err());
        assert!(Secret::parse("AQAAAA==").unwrap_err().contains("too short"));
    }
}
