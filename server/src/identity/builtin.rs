//! The built-in identity provider of the one-machine shape: users in the store with argon2id
//! hashes, RS256 tokens with Cognito's claims, opaque refresh tokens stored hashed (revocable).
use super::{
    hash_password, random_password, validate_groups, verify_password, AuthTokens, Challenge,
    DirectoryUser, IdentityError, IdentityProvider, LoginOutcome, SigningKeys, TokenClaims,
    TokenVerifier, UserDirectory,
};
use crate::store::{Grant, GrantKind, Store, UserRecord};
use sha2::{Digest, Sha256};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct BuiltinSettings {
    /// `iss` of every token: the server's public base URL.
    pub issuer: String,
    pub client_id: String,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
}

impl BuiltinSettings {
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: "boxpilot-console".into(),
            access_ttl_secs: 3600,
            refresh_ttl_secs: 30 * 86_400,
        }
    }
}

pub struct BuiltinIdentity {
    store: Arc<dyn Store>,
    keys: Arc<SigningKeys>,
    settings: BuiltinSettings,
    verifier: TokenVerifier,
    /// A real argon2id hash checked when the user does not exist, so that timing does not tell
    /// which usernames exist.
    decoy_hash: String,
}

pub const MIN_PASSWORD_LEN: usize = 10;

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn sha256_hex(secret: &str) -> String {
    super::keys::hex(&Sha256::digest(secret.as_bytes()))
}

fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

fn store_err(e: crate::store::StoreError) -> IdentityError {
    IdentityError::Unavailable(e.to_string())
}

pub fn validate_username(username: &str) -> Result<(), IdentityError> {
    let ok = (1..=128).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(IdentityError::Invalid(
            "a username is 1 to 128 characters of letters, digits, '_', '.', '@' or '-'".into(),
        ))
    }
}

pub fn validate_password(password: &str) -> Result<(), IdentityError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(IdentityError::Invalid(format!(
            "a password needs at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if password.len() > 1024 {
        return Err(IdentityError::Invalid(
            "a password is at most 1024 bytes".into(),
        ));
    }
    Ok(())
}

impl BuiltinIdentity {
    pub fn new(store: Arc<dyn Store>, keys: Arc<SigningKeys>, settings: BuiltinSettings) -> Self {
        let verifier = keys.verifier(&settings.issuer);
        let decoy_hash = hash_password(&random_password()).unwrap_or_default();
        Self {
            store,
            keys,
            settings,
            verifier,
            decoy_hash,
        }
    }

    pub fn settings(&self) -> &BuiltinSettings {
        &self.settings
    }

    fn sign(&self, claims: &TokenClaims) -> Result<String, IdentityError> {
        self.keys.sign(claims).map_err(IdentityError::Unavailable)
    }

    fn issue(&self, user: &UserRecord, auth_time: i64) -> Result<AuthTokens, IdentityError> {
        let now = now_secs();
        let base = TokenClaims {
            sub: user.sub.clone(),
            iss: self.settings.issuer.clone(),
            token_use: "access".into(),
            exp: now + self.settings.access_ttl_secs,
            iat: now,
            nbf: Some(now),
            auth_time: Some(auth_time),
            jti: Some(uuid::Uuid::new_v4().to_string()),
            client_id: Some(self.settings.client_id.clone()),
            aud: None,
            username: Some(user.username.clone()),
            groups: user.groups.clone(),
            mqtt: None,
        };
        let id = TokenClaims {
            token_use: "id".into(),
            client_id: None,
            aud: Some(self.settings.client_id.clone()),
            jti: Some(uuid::Uuid::new_v4().to_string()),
            ..base.clone()
        };
        Ok(AuthTokens {
            access_token: self.sign(&base)?,
            id_token: self.sign(&id)?,
            refresh_token: None,
            expires_in: self.settings.access_ttl_secs,
            token_type: "Bearer".into(),
        })
    }

    async fn enabled_user(&self, username: &str) -> Result<UserRecord, IdentityError> {
        let user = self
            .store
            .get_user(username)
            .await
            .map_err(store_err)?
            .ok_or(IdentityError::BadCredentials)?;
        if user.enabled {
            Ok(user)
        } else {
            Err(IdentityError::Disabled)
        }
    }

    // Administration (`boxpilot user ...`)

    pub async fn add_user(
        &self,
        username: &str,
        password: &str,
        groups: &[String],
    ) -> Result<UserRecord, IdentityError> {
        validate_username(username)?;
        validate_password(password)?;
        validate_groups(groups).map_err(IdentityError::Invalid)?;
        if self
            .store
            .get_user(username)
            .await
            .map_err(store_err)?
            .is_some()
        {
            return Err(IdentityError::Invalid(format!(
                "user {username} already exists"
            )));
        }
        let user = UserRecord {
            username: username.to_owned(),
            sub: uuid::Uuid::new_v4().to_string(),
            password_hash: hash_password(password).map_err(IdentityError::Unavailable)?,
            groups: groups.to_vec(),
            enabled: true,
            created_at: chrono::Utc::now().timestamp_millis(),
            last_active_at: None,
            signed_out_at: None,
        };
        self.store.put_user(&user).await.map_err(store_err)?;
        Ok(user)
    }

    /// Records the first login of the month (one write a month per user): monthly active users
    /// for the cost model. A failure here never refuses the login.
    async fn note_active(&self, user: &UserRecord) {
        let now = chrono::Utc::now();
        let (month_start, _) = monitor::cost::month_containing(now);
        if user
            .last_active_at
            .is_some_and(|at| at >= month_start.timestamp_millis())
        {
            return;
        }
        let mut active = user.clone();
        active.last_active_at = Some(now.timestamp_millis());
        if let Err(e) = self.store.put_user(&active).await {
            tracing::warn!(user = %user.username, error = %e, "monthly activity not recorded");
        }
    }

    async fn update_user(
        &self,
        username: &str,
        change: impl FnOnce(&mut UserRecord) -> Result<(), IdentityError>,
    ) -> Result<UserRecord, IdentityError> {
        let mut user = self
            .store
            .get_user(username)
            .await
            .map_err(store_err)?
            .ok_or_else(|| IdentityError::Invalid(format!("no user {username}")))?;
        change(&mut user)?;
        self.store.put_user(&user).await.map_err(store_err)?;
        Ok(user)
    }

    pub async fn set_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<UserRecord, IdentityError> {
        validate_password(password)?;
        let hash = hash_password(password).map_err(IdentityError::Unavailable)?;
        self.update_user(username, |u| {
            u.password_hash = hash;
            Ok(())
        })
        .await
    }

    pub async fn set_groups(
        &self,
        username: &str,
        groups: &[String],
    ) -> Result<UserRecord, IdentityError> {
        validate_groups(groups).map_err(IdentityError::Invalid)?;
        self.update_user(username, |u| {
            u.groups = groups.to_vec();
            Ok(())
        })
        .await
    }

    pub async fn set_enabled(
        &self,
        username: &str,
        enabled: bool,
    ) -> Result<UserRecord, IdentityError> {
        self.update_user(username, |u| {
            u.enabled = enabled;
            Ok(())
        })
        .await
    }

    pub async fn list_users(&self) -> Result<Vec<UserRecord>, IdentityError> {
        self.store.list_users().await.map_err(store_err)
    }

    /// At first start (no user at all) creates `admin` with a random password, returned once.
    pub async fn ensure_initial_admin(&self) -> Result<Option<String>, IdentityError> {
        if !self.store.list_users().await.map_err(store_err)?.is_empty() {
            return Ok(None);
        }
        let password = random_password();
        self.add_user("admin", &password, &["admin".into()]).await?;
        Ok(Some(password))
    }
}

#[async_trait::async_trait]
impl IdentityProvider for BuiltinIdentity {
    async fn login(&self, username: &str, password: &str) -> Result<LoginOutcome, IdentityError> {
        let user = match self.store.get_user(username).await.map_err(store_err)? {
            Some(user) => user,
            None => {
                verify_password(password, &self.decoy_hash);
                return Err(IdentityError::BadCredentials);
            }
        };
        if !verify_password(password, &user.password_hash) {
            return Err(IdentityError::BadCredentials);
        }
        if !user.enabled {
            return Err(IdentityError::Disabled);
        }
        self.note_active(&user).await;
        let mut tokens = self.issue(&user, now_secs())?;
        let refresh = random_secret();
        self.store
            .put_grant(&Grant {
                kind: GrantKind::RefreshToken,
                secret_hash: sha256_hex(&refresh),
                username: user.username.clone(),
                expires_at: chrono::Utc::now().timestamp_millis()
                    + self.settings.refresh_ttl_secs * 1000,
                access_token: None,
                refresh_token: None,
            })
            .await
            .map_err(store_err)?;
        tokens.refresh_token = Some(refresh);
        Ok(LoginOutcome::Tokens(tokens))
    }

    async fn refresh(
        &self,
        username: &str,
        refresh_token: &str,
    ) -> Result<AuthTokens, IdentityError> {
        let grant = self
            .store
            .get_grant(GrantKind::RefreshToken, &sha256_hex(refresh_token))
            .await
            .map_err(store_err)?
            .filter(|g| {
                g.expires_at > chrono::Utc::now().timestamp_millis() && g.username == username
            })
            .ok_or(IdentityError::BadCredentials)?;
        let user = self.enabled_user(&grant.username).await?;
        let issued_at = grant.expires_at - self.settings.refresh_ttl_secs * 1000;
        if user.signed_out_at.is_some_and(|at| issued_at <= at) {
            return Err(IdentityError::BadCredentials);
        }
        self.issue(&user, now_secs())
    }

    async fn answer(
        &self,
        _challenge: &Challenge,
        _answer: &str,
    ) -> Result<LoginOutcome, IdentityError> {
        Err(IdentityError::Invalid(
            "no sign-in question is pending: the built-in identity provider asks none".into(),
        ))
    }

    async fn sign_out_everywhere(&self, access_token: &str) -> Result<(), IdentityError> {
        let claims = self
            .verifier
            .verify(access_token, &super::Expectation::access(self.client_id()))
            .await?;
        let username = claims.username.ok_or(IdentityError::BadCredentials)?;
        let now = chrono::Utc::now().timestamp_millis();
        self.update_user(&username, |u| {
            u.signed_out_at = Some(now);
            Ok(())
        })
        .await
        .map(|_| ())
    }

    async fn totp_enabled(&self, _access_token: &str) -> Result<Option<bool>, IdentityError> {
        Ok(None)
    }

    async fn begin_totp(&self, _access_token: &str) -> Result<String, IdentityError> {
        Err(no_totp())
    }

    async fn confirm_totp(&self, _access_token: &str, _code: &str) -> Result<(), IdentityError> {
        Err(no_totp())
    }

    async fn revoke(&self, refresh_token: &str) -> Result<(), IdentityError> {
        self.store
            .delete_grant(GrantKind::RefreshToken, &sha256_hex(refresh_token))
            .await
            .map_err(store_err)
    }

    fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    fn client_id(&self) -> &str {
        &self.settings.client_id
    }
}

fn no_totp() -> IdentityError {
    IdentityError::Unsupported(
        "authenticator apps need the Cognito identity provider (`--identity cognito`); the built-in one signs in with passwords only".into(),
    )
}

fn directory_user(user: UserRecord) -> DirectoryUser {
    DirectoryUser {
        username: user.username,
        enabled: user.enabled,
        groups: user.groups,
        status: None,
    }
}

/// `boxpilot user ...` on the store: the inherent methods above.
#[async_trait::async_trait]
impl UserDirectory for BuiltinIdentity {
    async fn add_user(
        &self,
        username: &str,
        password: &str,
        groups: &[String],
    ) -> Result<DirectoryUser, IdentityError> {
        BuiltinIdentity::add_user(self, username, password, groups)
            .await
            .map(directory_user)
    }

    async fn set_password(&self, username: &str, password: &str) -> Result<(), IdentityError> {
        BuiltinIdentity::set_password(self, username, password)
            .await
            .map(|_| ())
    }

    async fn set_groups(
        &self,
        username: &str,
        groups: &[String],
    ) -> Result<DirectoryUser, IdentityError> {
        BuiltinIdentity::set_groups(self, username, groups)
            .await
            .map(directory_user)
    }

    async fn set_enabled(
        &self,
        username: &str,
        enabled: bool,
    ) -> Result<DirectoryUser, IdentityError> {
        BuiltinIdentity::set_enabled(self, username, enabled)
            .await
            .map(directory_user)
    }

    async fn list_users(&self) -> Result<Vec<DirectoryUser>, IdentityError> {
        BuiltinIdentity::list_users(self)
            .await
            .map(|users| users.into_iter().map(directory_user).collect())
    }

    fn passwords_are_temporary(&self) -> bool {
        false
    }
}
