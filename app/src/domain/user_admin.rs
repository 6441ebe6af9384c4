//! Users as administrators manage them in the console (the identity provider's users: the
//! built-in store or a Cognito pool).
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub username: String,
    pub enabled: bool,
    /// A role (`viewer`, `operator`, `support`, `admin`) and fleets (`fleet:<id>`, `fleet:*`).
    pub groups: Vec<String>,
    /// The provider's account state (Cognito: `FORCE_CHANGE_PASSWORD`, `CONFIRMED`, ...).
    pub status: Option<String>,
}

/// A user just added, with the password to hand over (shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedUser {
    pub user: UserView,
    pub password: String,
    /// The user must choose a new password at the first sign-in (Cognito).
    pub temporary: bool,
}

/// Groups typed as a comma-separated list: trimmed, empty entries dropped.
pub fn parse_groups(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_are_read_from_a_typed_list() {
        assert_eq!(
            super::parse_groups(" operator, fleet:north,,fleet:south "),
            ["operator", "fleet:north", "fleet:south"]
        );
        assert!(super::parse_groups(" , ").is_empty());
    }
}
