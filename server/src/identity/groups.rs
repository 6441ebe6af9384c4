use super::TokenClaims;
use app::domain::{FleetId, Role};
use app::service::Caller;

const FLEET_PREFIX: &str = "fleet:";
/// Membership of this group gives every fleet (admins have it implicitly).
const ALL_FLEETS: &str = "fleet:*";

pub fn fleet_group(fleet: &FleetId) -> String {
    format!("{FLEET_PREFIX}{fleet}")
}

/// Checks groups given to a user: each is a role or `fleet:<id>` / `fleet:*`.
pub fn validate_groups(groups: &[String]) -> Result<(), String> {
    for g in groups {
        let ok = Role::from_group(g).is_some()
            || g == ALL_FLEETS
            || g.strip_prefix(FLEET_PREFIX)
                .is_some_and(|f| FleetId::parse(f).is_ok());
        if !ok {
            return Err(format!(
                "unknown group {g:?}: use viewer, operator, support, admin, fleet:<id> or fleet:*"
            ));
        }
    }
    Ok(())
}

/// The caller a verified token describes: its highest role and its fleets. A token without any
/// role group gives no access at all.
pub fn caller_from_claims(claims: &TokenClaims) -> Option<Caller> {
    let role = claims
        .groups
        .iter()
        .filter_map(|g| Role::from_group(g))
        .max()?;
    let mut fleets: Vec<FleetId> = claims
        .groups
        .iter()
        .filter_map(|g| g.strip_prefix(FLEET_PREFIX))
        .filter_map(|f| FleetId::parse(f).ok())
        .collect();
    fleets.sort();
    fleets.dedup();
    Some(Caller {
        sub: claims.sub.clone(),
        username: claims
            .username
            .clone()
            .unwrap_or_else(|| claims.sub.clone()),
        role,
        all_fleets: role == Role::Admin || claims.groups.iter().any(|g| g == ALL_FLEETS),
        fleets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(groups: &[&str]) -> TokenClaims {
        TokenClaims {
            sub: "s".into(),
            iss: "i".into(),
            token_use: "access".into(),
            exp: 0,
            iat: 0,
            nbf: None,
            auth_time: None,
            jti: None,
            client_id: None,
            aud: None,
            username: Some("ann".into()),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            mqtt: None,
        }
    }

    #[test]
    fn highest_role_and_fleets() {
        let c = caller_from_claims(&claims(&[
            "viewer",
            "operator",
            "fleet:north",
            "fleet:bad/x",
        ]))
        .unwrap();
        assert_eq!(c.role, Role::Operator);
        assert_eq!(c.fleets, vec![FleetId::parse("north").unwrap()]);
        assert!(!c.all_fleets);
        assert!(caller_from_claims(&claims(&["admin"])).unwrap().all_fleets);
        assert!(
            caller_from_claims(&claims(&["viewer", "fleet:*"]))
                .unwrap()
                .all_fleets
        );
    }

    #[test]
    fn no_role_no_access() {
        assert!(caller_from_claims(&claims(&["fleet:north"])).is_none());
    }

    #[test]
    fn group_validation() {
        assert!(validate_groups(&["admin".into(), "fleet:north".into(), "fleet:*".into()]).is_ok());
        assert!(validate_groups(&["root".into()]).is_err());
        assert!(validate_groups(&["fleet:a/b".into()]).is_err());
    }
}
