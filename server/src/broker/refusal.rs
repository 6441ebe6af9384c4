//! CONNACK "server unavailable" for [`ConnectRefusal::Unavailable`](super::ConnectRefusal).
//!
//! rmqtt 0.24's authentication hook can only answer allow, bad username or password, or not
//! authorized, and its CONNACK hook is not consulted for refused connections. The one place after
//! authentication where rmqtt turns a per-connection error into "server unavailable" (3.1.1 code 3,
//! MQTT 5 reason 0x88) is the keepalive negotiation of the connection's `Fitter`. So, for an
//! `Unavailable` authentication, the hook answers "allow" *without* recording a principal and marks
//! the connection; the fitter manager below then gives that connection a fitter whose keepalive
//! negotiation fails, and rmqtt refuses it with "server unavailable" before the session is
//! registered, before any hook sees it as connected and before any packet is read.
//!
//! Between the "allow" and the fitter, rmqtt takes over any existing session with the same client
//! id. The hook therefore answers `NotAuthorized` instead when such a session exists: an
//! unauthenticated client never kicks anyone. Even if the mark were lost, the connection would have
//! no principal, and the ACL hooks deny everything to a connection without one.
use std::num::{NonZeroU16, NonZeroU32};
use std::sync::Arc;
use std::time::Duration;

use rmqtt::codec::types::Publish as CodecPublish;
use rmqtt::fitter::{DefaultFitter, Fitter, FitterManager};
use rmqtt::types::{ConnectInfo, Disconnect, FitterType, Id, ListenerConfig};

use super::connections::Connections;

pub(crate) struct UnavailableFitterManager {
    connections: Arc<Connections>,
}

impl UnavailableFitterManager {
    pub fn new(connections: Arc<Connections>) -> Self {
        Self { connections }
    }
}

impl FitterManager for UnavailableFitterManager {
    fn create(&self, conn_info: Arc<ConnectInfo>, id: Id, cfg: ListenerConfig) -> FitterType {
        let unavailable = self.connections.take_unavailable(&id);
        let fitter = DefaultFitter::new(conn_info, id, cfg);
        if unavailable {
            Arc::new(UnavailableFitter(fitter))
        } else {
            Arc::new(fitter)
        }
    }
}

/// The default fitter, except that it fails the handshake.
struct UnavailableFitter(DefaultFitter);

#[async_trait::async_trait]
impl Fitter for UnavailableFitter {
    fn keep_alive(&self, _keep_alive: &mut u16) -> rmqtt::Result<u16> {
        Err(rmqtt::Error::msg(
            "authentication is unavailable, try again later",
        ))
    }

    fn max_mqueue_len(&self) -> usize {
        self.0.max_mqueue_len()
    }

    fn mqueue_rate_limit(&self) -> (NonZeroU32, Duration) {
        self.0.mqueue_rate_limit()
    }

    fn max_inflight(&self) -> NonZeroU16 {
        self.0.max_inflight()
    }

    fn session_expiry_interval(&self, d: Option<&Disconnect>) -> Duration {
        self.0.session_expiry_interval(d)
    }

    fn message_expiry_interval(&self, publish: &CodecPublish) -> Duration {
        self.0.message_expiry_interval(publish)
    }

    fn max_client_topic_aliases(&self) -> u16 {
        self.0.max_client_topic_aliases()
    }

    fn max_server_topic_aliases(&self) -> u16 {
        self.0.max_server_topic_aliases()
    }
}
