//! Per-box secrets of the embedded broker: 256 random bits, shown once, stored as SHA-256.
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub fn new_device_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

pub fn hash_device_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares in constant time, so response timing tells nothing about the stored hash.
pub fn device_secret_matches(secret: &[u8], stored_hash: &str) -> bool {
    let computed: String = Sha256::digest(secret)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    computed.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_themselves() {
        let s = new_device_secret();
        let h = hash_device_secret(&s);
        assert!(device_secret_matches(s.as_bytes(), &h));
        assert!(!device_secret_matches(b"wrong", &h));
        assert_ne!(new_device_secret(), s);
        assert_eq!(s.len(), 43);
    }
}
