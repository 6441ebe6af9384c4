//! The steps of signing in when the identity provider asks more than a password (Cognito's
//! challenges), and the account's two-step sign-in settings.
use super::SessionInfo;
use serde::{Deserialize, Serialize};

/// What the identity provider asks for before it gives tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChallengeKind {
    /// The password was temporary (set by an administrator): choose a new one
    /// (Cognito's `NEW_PASSWORD_REQUIRED`).
    NewPassword,
    /// The current code of the user's authenticator app (`SOFTWARE_TOKEN_MFA`).
    TotpCode,
    /// Two-step sign-in is required and not set up yet: add the secret to an authenticator app
    /// and enter its first code (`MFA_SETUP`).
    TotpSetup,
}

impl ChallengeKind {
    /// Checks an answer before it goes to the identity provider: a TOTP code is six digits.
    pub fn check_answer(self, answer: &str) -> Result<(), String> {
        match self {
            ChallengeKind::NewPassword if answer.is_empty() => Err("enter a new password".into()),
            ChallengeKind::NewPassword => Ok(()),
            ChallengeKind::TotpCode | ChallengeKind::TotpSetup => check_totp_code(answer),
        }
    }
}

/// A TOTP code as authenticator apps show it: six digits (spaces people type are removed first).
pub fn check_totp_code(code: &str) -> Result<(), String> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("a code is the 6 digits your authenticator app shows".into())
    }
}

/// The secret of a new TOTP authenticator, to scan or type into an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetup {
    /// Base32, as apps accept it typed in.
    pub secret: String,
    /// `otpauth://totp/...`: what the QR code holds.
    pub otpauth_uri: String,
    /// The QR code as a `data:image/svg+xml;base64,...` URL for an `<img>`.
    pub qr_code: String,
}

/// A pending challenge: the browser answers it with the same `username` and `session` (the
/// identity provider's opaque, short-lived session; no token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInChallenge {
    pub kind: ChallengeKind,
    pub username: String,
    pub session: String,
    /// Set for `TotpSetup`.
    pub totp: Option<TotpSetup>,
}

/// Where a sign-in stands after a password or an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInStep {
    SignedIn(SessionInfo),
    Challenge(SignInChallenge),
}

/// The account's sign-in settings, for the account page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSecurity {
    pub username: String,
    /// The identity provider supports authenticator apps (Cognito does; the built-in one not).
    pub totp_available: bool,
    pub totp_enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_answers_are_six_digits() {
        assert!(ChallengeKind::TotpCode.check_answer("123456").is_ok());
        assert!(ChallengeKind::TotpSetup.check_answer("12345").is_err());
        assert!(ChallengeKind::TotpCode.check_answer("12345a").is_err());
        assert!(ChallengeKind::TotpCode.check_answer("1234567").is_err());
        assert!(ChallengeKind::NewPassword.check_answer("").is_err());
        assert!(ChallengeKind::NewPassword
            .check_answer("a new password")
            .is_ok());
    }
}
