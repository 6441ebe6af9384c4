//! The authentication port of the embedded broker.
use crate::access::Principal;

/// Decides who a connecting MQTT client is.
///
/// Called from the CONNECT handshake, inside rmqtt's handshake executor (at most
/// `MAX_HANDSHAKING` at once per listener): an expensive check (argon2id) should run on
/// `tokio::task::spawn_blocking` so that it does not stall the runtime.
#[async_trait::async_trait]
pub trait BrokerAuthenticator: Send + Sync + 'static {
    /// Called at CONNECT. No anonymous access: missing username/password must be refused before calling this.
    ///
    /// The broker refuses a CONNECT before calling this when the username or password is missing
    /// or the username is empty, and after it when the principal does not match the connection:
    /// a Console whose `expires_at` has passed or whose client id does not start with its (non
    /// empty) `client_id_prefix`, a Device whose client id is not its device id, or a last will on a
    /// topic the principal may not publish to.
    async fn authenticate(
        &self,
        client_id: &str,
        username: &str,
        password: &[u8],
    ) -> Result<Principal, ConnectRefusal>;
}

/// Why a CONNECT is refused, and the CONNACK code the client receives.
///
/// | refusal | MQTT 3.1.1 return code | MQTT 5 reason code |
/// |---|---|---|
/// | `BadCredentials` | 4 bad user name or password | 0x86 |
/// | `NotAuthorized` | 5 not authorized | 0x87 |
/// | `Unavailable` | 3 server unavailable | 0x88 |
///
/// `Unavailable` means "try again later" (the identity store cannot answer). rmqtt 0.24's
/// authentication hook has no such answer; the broker gets it out of rmqtt's handshake by failing the
/// connection after authentication (see `broker/refusal.rs`). One exception: when a session with
/// the same client id exists, the client gets `NotAuthorized` instead, so that an unauthenticated
/// client can never take over (kick) an existing session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConnectRefusal {
    #[error("bad username or password")]
    BadCredentials,
    #[error("not authorized")]
    NotAuthorized,
    #[error("authentication unavailable, try again later")]
    Unavailable,
}

impl ConnectRefusal {
    /// The CONNACK return code an MQTT 3.1.1 client receives.
    pub fn v3_return_code(self) -> u8 {
        match self {
            ConnectRefusal::BadCredentials => 4,
            ConnectRefusal::NotAuthorized => 5,
            ConnectRefusal::Unavailable => 3,
        }
    }

    /// The CONNACK reason code an MQTT 5 client receives.
    pub fn v5_reason_code(self) -> u8 {
        match self {
            ConnectRefusal::BadCredentials => 0x86,
            ConnectRefusal::NotAuthorized => 0x87,
            ConnectRefusal::Unavailable => 0x88,
        }
    }
}
