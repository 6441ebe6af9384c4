use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The RS256 key pair of the built-in identity provider and of broker credentials, kept as PKCS#8
/// PEM in the data directory (mode 0600), made at first start.
pub struct SigningKeys {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: serde_json::Value,
}

const KEY_FILE: &str = "identity-signing-key.pem";

impl SigningKeys {
    pub fn load_or_create(data_dir: &Path) -> Result<Self, String> {
        let path = data_dir.join(KEY_FILE);
        let key = if path.exists() {
            let pem = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            RsaPrivateKey::from_pkcs8_pem(&pem)
                .map_err(|e| format!("{} is not a PKCS#8 RSA key: {e}", path.display()))?
        } else {
            let key =
                RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(|e| e.to_string())?;
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| e.to_string())?;
            write_private(&path, pem.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            key
        };
        Self::from_key(&key)
    }

    fn from_key(key: &RsaPrivateKey) -> Result<Self, String> {
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| e.to_string())?;
        let public_der = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| e.to_string())?;
        let kid = hex(&Sha256::digest(public_der.as_bytes())[..8]);
        let b64 = |bytes: Vec<u8>| {
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
        };
        let (n, e) = (b64(key.n().to_bytes_be()), b64(key.e().to_bytes_be()));
        let decoding = DecodingKey::from_rsa_components(&n, &e).map_err(|e| e.to_string())?;
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        let jwk = serde_json::json!({ "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": n, "e": e });
        Ok(Self {
            kid,
            encoding,
            decoding,
            jwk,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }
    /// Signs claims with RS256 under this key's `kid`.
    pub fn sign<T: serde::Serialize>(&self, claims: &T) -> Result<String, String> {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// A verifier that knows this key only.
    pub fn verifier(&self, issuer: &str) -> super::TokenVerifier {
        let keys = super::StaticKeys(std::collections::HashMap::from([(
            self.kid.clone(),
            self.decoding.clone(),
        )]));
        super::TokenVerifier::new(issuer, std::sync::Arc::new(keys))
    }

    /// The JSON Web Key Set served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [self.jwk.clone()] })
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}
