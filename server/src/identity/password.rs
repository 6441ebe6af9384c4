use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::Rng;

/// argon2id with the crate's defaults (19 MiB, 2 passes: OWASP's minimum), as a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A random password: four groups of five characters from an unambiguous alphabet joined by
/// `-` (~115 bits), with an upper-case letter, a lower-case letter and a digit, so that it meets
/// Cognito's password policies too (a symbol, each class of character).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    loop {
        let groups: Vec<String> = (0..4)
            .map(|_| {
                (0..5)
                    .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                    .collect()
            })
            .collect();
        let password = groups.join("-");
        let has = |test: fn(&char) -> bool| password.chars().any(|c| test(&c));
        if has(char::is_ascii_uppercase)
            && has(char::is_ascii_lowercase)
            && has(char::is_ascii_digit)
        {
            return password;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("wrong", &a));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(a, hash_password("correct horse").unwrap(), "salted");
        assert_ne!(random_password(), random_password());
    }

    #[test]
    fn random_passwords_meet_cognito_policies() {
        for _ in 0..200 {
            let p = random_password();
            assert_eq!(p.len(), 23, "{p}");
            assert!(p.contains('-'), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_uppercase()), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_lowercase()), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_digit()), "{p}");
        }
    }
}
