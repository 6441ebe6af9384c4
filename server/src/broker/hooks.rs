//! rmqtt hook handlers: authentication, ACL, presence and the publish feed.
use crate::clock::now_ms;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rmqtt::codec::types::MQTT_LEVEL_5;
use rmqtt::codec::v5::SubscribeAckReason;
use rmqtt::context::ServerContext;
use rmqtt::hook::{Handler, HookResult, Parameter, ReturnType, Type};
use rmqtt::session::Session;
use rmqtt::types::{
    AuthResult, ConnectInfo, FromType, Id, LastWill, Message, Publish, PublishAclResult, Reason,
    Subscribe, SubscribeAclResult,
};
use tokio::sync::watch;

use super::connections::{Connections, Presence};
use super::settings::fixed;
use super::{BrokerAuthenticator, BrokerEvents, ConnectRefusal, Delivery};
use crate::access::Principal;

/// Key of the principal in the session's extra attributes: read for a last will, which rmqtt may
/// publish after the disconnect hook (MQTT 5 will delay).
const PRINCIPAL_ATTR: &str = "boxpilot.principal";

/// Counters the host can read.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Messages rmqtt dropped: queue overflow, expiry, closed session, inflight window full...
    pub dropped: AtomicU64,
    /// Publishes the ACL denied.
    pub denied_publishes: AtomicU64,
}

pub(crate) struct Hooks {
    pub scx: ServerContext,
    pub auth: Arc<dyn BrokerAuthenticator>,
    pub events: Arc<dyn BrokerEvents>,
    pub connections: Arc<Connections>,
    pub presence: Presence,
    pub counters: Arc<Counters>,
    pub shutdown: watch::Receiver<bool>,
}

/// Registers the handlers on rmqtt's hook manager and enables them.
pub(crate) async fn register(hooks: Arc<Hooks>) {
    let register = hooks.scx.extends.hook_mgr().register();
    for typ in [
        Type::ClientAuthenticate,
        Type::ClientConnected,
        Type::ClientDisconnected,
        Type::ClientSubscribeCheckAcl,
        Type::SessionSubscribed,
        Type::MessagePublishCheckAcl,
        Type::MessagePublish,
        Type::MessageDropped,
    ] {
        register
            .add(typ, Box::new(HookHandler(hooks.clone())))
            .await;
    }
    register.start().await;
}

struct HookHandler(Arc<Hooks>);

#[async_trait::async_trait]
impl Handler for HookHandler {
    async fn hook(&self, param: &Parameter, acc: Option<HookResult>) -> ReturnType {
        let h = &self.0;
        match param {
            Parameter::ClientAuthenticate(connect_info) => (
                false,
                Some(HookResult::AuthResult(h.authenticate(connect_info).await)),
            ),
            Parameter::ClientConnected(session) => {
                h.connected(session).await;
                (true, acc)
            }
            Parameter::ClientDisconnected(session, _reason) => {
                h.disconnected(&session.id).await;
                (true, acc)
            }
            Parameter::ClientSubscribeCheckAcl(session, subscribe) => (
                false,
                Some(HookResult::SubscribeAclResult(
                    h.check_subscribe(&session.id, subscribe),
                )),
            ),
            Parameter::SessionSubscribed(session, subscribe) => {
                if let Some(conn) = h.connections.get(&session.id) {
                    h.events
                        .on_subscribed(&conn.principal, &subscribe.topic_filter)
                        .await;
                }
                (true, acc)
            }
            Parameter::MessagePublishCheckAcl(session, publish) => (
                false,
                Some(HookResult::PublishAclResult(
                    h.check_publish(&session.id, publish).await,
                )),
            ),
            Parameter::MessagePublish(Some(session), from, publish)
                if matches!(from.typ(), FromType::LastWill) =>
            {
                h.last_will(session, publish).await;
                (true, acc)
            }
            Parameter::MessageDropped(to, _from, publish, reason) => {
                h.dropped(to.as_ref(), publish, reason);
                (true, acc)
            }
            _ => (true, acc),
        }
    }
}

fn will_topic(connect_info: &ConnectInfo) -> Option<String> {
    connect_info.last_will().map(|will| match will {
        LastWill::V3(w) => w.topic.to_string(),
        LastWill::V5(w) => w.topic.to_string(),
    })
}

fn is_expired(principal: &Principal, now_ms: i64) -> bool {
    matches!(principal, Principal::Console { expires_at, .. } if *expires_at <= now_ms)
}

/// Whether the principal may use this client id; `Err` says why not.
fn check_client_id(
    principal: &Principal,
    client_id: &str,
    now_ms: i64,
) -> Result<(), &'static str> {
    match principal {
        Principal::Device { device, .. } if device.as_str() != client_id => {
            Err("a device's client id must be its device id")
        }
        Principal::Device { .. } => Ok(()),
        Principal::Console {
            client_id_prefix, ..
        } if client_id_prefix.is_empty() => Err("the console credential names no client id prefix"),
        Principal::Console {
            client_id_prefix, ..
        } if !client_id.starts_with(client_id_prefix.as_str()) => {
            Err("the client id does not start with the console credential's prefix")
        }
        Principal::Console { .. } if is_expired(principal, now_ms) => {
            Err("the console credential has expired")
        }
        Principal::Console { .. } => Ok(()),
    }
}

impl Hooks {
    async fn authenticate(&self, connect_info: &ConnectInfo) -> AuthResult {
        let id = connect_info.id();
        let client_id: &str = &id.client_id;
        let remote = connect_info.ipaddress();
        let (username, password) = match (connect_info.username(), connect_info.password()) {
            (Some(u), Some(p)) if !u.is_empty() => (u, p),
            _ => {
                tracing::info!(
                    client_id,
                    ?remote,
                    "MQTT connect refused: no username or password"
                );
                return AuthResult::NotAuthorized;
            }
        };
        match self.auth.authenticate(client_id, username, password).await {
            Ok(principal) => {
                if let Err(why) = check_client_id(&principal, client_id, now_ms()) {
                    tracing::warn!(client_id, principal = %principal.identity(), ?remote, why, "MQTT connect refused");
                    return AuthResult::NotAuthorized;
                }
                if let Some(topic) = will_topic(connect_info) {
                    if !principal.may_publish(&topic) {
                        tracing::warn!(client_id, principal = %principal.identity(), ?remote, topic,
                            "MQTT connect refused: last will on a topic the client may not publish to");
                        return AuthResult::NotAuthorized;
                    }
                }
                tracing::debug!(client_id, principal = %principal.identity(), ?remote, "MQTT client authenticated");
                self.connections
                    .authenticated(id.clone(), principal, connect_info.proto_ver());
                AuthResult::Allow(false, None)
            }
            Err(ConnectRefusal::BadCredentials) => {
                tracing::info!(client_id, username = %username, ?remote, "MQTT connect refused: bad credentials");
                AuthResult::BadUsernameOrPassword
            }
            Err(ConnectRefusal::NotAuthorized) => {
                tracing::info!(client_id, username = %username, ?remote, "MQTT connect refused: not authorized");
                AuthResult::NotAuthorized
            }
            Err(ConnectRefusal::Unavailable) => {
                // See refusal.rs: "allow" without a principal, failed right after by the fitter,
                // unless that would take over an existing session.
                if self.scx.extends.shared().await.exist(client_id) {
                    tracing::warn!(client_id, ?remote,
                        "MQTT connect refused: authentication unavailable (not authorized: a session with this client id exists)");
                    AuthResult::NotAuthorized
                } else {
                    tracing::warn!(
                        client_id,
                        ?remote,
                        "MQTT connect refused: authentication unavailable"
                    );
                    self.connections.mark_unavailable(id.clone());
                    AuthResult::Allow(false, None)
                }
            }
        }
    }

    async fn connected(&self, session: &Session) {
        let Some(conn) = self.connections.connected(&session.id) else {
            // Cannot happen (every connection authenticates); the ACL denies it everything anyway.
            tracing::error!(client_id = %session.id.client_id, "MQTT session connected without an authenticated principal");
            return;
        };
        session
            .extra_attrs
            .write()
            .await
            .insert(PRINCIPAL_ATTR.into(), conn.principal.clone());
        tracing::info!(client_id = %session.id.client_id, principal = %conn.principal.identity(),
            remote = ?session.id.remote_addr, protocol = conn.protocol, "MQTT client connected");
        if let Principal::Console { expires_at, .. } = conn.principal.as_ref() {
            self.close_at_expiry(session.id.clone(), *expires_at);
        }
        let principal = &conn.principal;
        self.presence
            .transition(&session.id.client_id, true, || {
                self.events.on_connected(principal)
            })
            .await;
    }

    async fn disconnected(&self, id: &Id) {
        // Removed after the event, so that `shutdown` (which waits for the map to empty) returns
        // after every `on_disconnected` has completed.
        if let Some(conn) = self.connections.get(id) {
            tracing::info!(client_id = %id.client_id, principal = %conn.principal.identity(), "MQTT client disconnected");
            // A take-over: rmqtt closes this connection once the new one has authenticated, and
            // may get here before the new one is connected. Let it connect first (it does not
            // wait for us), so that presence does not flap.
            let deadline = tokio::time::Instant::now() + fixed::HANDSHAKE_TIMEOUT;
            while self.connections.has_pending_sibling(id) && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let principal = &conn.principal;
            self.presence
                .transition(&id.client_id, false, || {
                    self.events.on_disconnected(principal)
                })
                .await;
            self.connections.remove(id);
        }
    }

    fn check_subscribe(&self, id: &Id, subscribe: &Subscribe) -> SubscribeAclResult {
        let filter: &str = &subscribe.topic_filter;
        let allowed = match self.connections.get(id) {
            Some(conn) if is_expired(&conn.principal, now_ms()) => Err("credential expired"),
            Some(conn) if conn.principal.may_subscribe(filter) => Ok(()),
            Some(_) => Err("filter not allowed"),
            None => Err("no authenticated principal"),
        };
        match allowed {
            Ok(()) => SubscribeAclResult::new_success(subscribe.opts.qos(), None),
            Err(why) => {
                tracing::info!(client_id = %id.client_id, filter, why, "MQTT subscribe denied");
                SubscribeAclResult::new_failure(SubscribeAckReason::NotAuthorized)
            }
        }
    }

    /// The publish ACL. An allowed publish goes to `on_publish` here, before rmqtt routes it and
    /// acknowledges it.
    async fn check_publish(&self, id: &Id, publish: &Publish) -> PublishAclResult {
        let topic: &str = &publish.topic;
        let conn = self.connections.get(id);
        let denied = match &conn {
            Some(c) if is_expired(&c.principal, now_ms()) => "credential expired",
            Some(c) if c.principal.may_publish(topic) => {
                match self
                    .events
                    .on_publish(&c.principal, topic, &publish.payload)
                    .await
                {
                    Delivery::Done => return PublishAclResult::allow(),
                    Delivery::Refuse => "refused by the server (invalid command)",
                    Delivery::Retry => {
                        tracing::warn!(client_id = %id.client_id, topic, "publish not kept: closing without PUBACK so the client retries");
                        return PublishAclResult::rejected(
                            true,
                            Some("not stored, send again".into()),
                        );
                    }
                }
            }
            Some(_) => "topic not allowed",
            None => "no authenticated principal",
        };
        self.counters
            .denied_publishes
            .fetch_add(1, Ordering::Relaxed);
        // MQTT 5: PUBACK/PUBREC with reason 0x87 (not authorized), connection kept.
        // MQTT 3.1.1 has no negative ack: close the connection (AWS IoT Core does the same).
        let mqtt5 = conn.as_ref().is_some_and(|c| c.protocol == MQTT_LEVEL_5);
        tracing::warn!(client_id = %id.client_id,
            principal = conn.as_ref().map(|c| c.principal.identity()).unwrap_or_default(),
            topic, why = denied, disconnect = !mqtt5, "MQTT publish denied");
        PublishAclResult::rejected(!mqtt5, Some(denied.into()))
    }

    async fn last_will(&self, session: &Session, publish: &Publish) {
        let principal = session
            .extra_attrs
            .read()
            .await
            .get::<Arc<Principal>>(PRINCIPAL_ATTR)
            .cloned();
        let topic: &str = &publish.topic;
        match principal {
            // Checked at CONNECT already; rmqtt cannot stop a will from this hook.
            Some(p) if p.may_publish(topic) => {
                if self.events.on_publish(&p, topic, &publish.payload).await == Delivery::Retry {
                    tracing::error!(principal = %p.identity(), topic, "last will not kept");
                }
            }
            Some(p) => {
                tracing::error!(principal = %p.identity(), topic, "last will on a topic outside the ACL")
            }
            None => {
                tracing::error!(client_id = %session.id.client_id, topic, "last will of a session without principal")
            }
        }
    }

    fn dropped(&self, to: Option<&Id>, publish: &Publish, reason: &Reason) {
        if matches!(reason, Reason::PublishResult(_)) {
            return; // an ACL denial, counted in check_publish
        }
        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        self.events.on_dropped(&publish.topic);
        tracing::debug!(to = to.map(|id| id.client_id.to_string()).unwrap_or_default(),
            topic = %publish.topic, %reason, "MQTT message dropped");
    }

    /// Closes a console connection when its broker credential expires.
    fn close_at_expiry(&self, id: Id, expires_at: i64) {
        let scx = self.scx.clone();
        let connections = self.connections.clone();
        let mut shutdown = self.shutdown.clone();
        let delay =
            Duration::from_millis(u64::try_from(expires_at.saturating_sub(now_ms())).unwrap_or(0));
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => return,
            }
            if connections.contains(&id) {
                tracing::info!(client_id = %id.client_id, "closing MQTT connection: console credential expired");
                close_session(&scx, &id, Reason::ConnectKicked(false)).await;
            }
        });
    }
}

/// Asks rmqtt to close the session of this connection (if it is still the current one for its
/// client id). Its last will is published and the disconnect hook runs.
pub(crate) async fn close_session(scx: &ServerContext, id: &Id, reason: Reason) {
    let entry = scx.extends.shared().await.entry(id.clone());
    if entry.id_same() != Some(true) {
        return;
    }
    if let Some(tx) = entry.tx() {
        if tx.unbounded_send(Message::Closed(reason)).is_err() {
            tracing::debug!(client_id = %id.client_id, "MQTT session already closing");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{DeviceId, FleetId};

    fn console(prefix: &str, expires_at: i64) -> Principal {
        Principal::Console {
            username: "ann".into(),
            client_id_prefix: prefix.into(),
            subscribe: vec![],
            publish: vec![],
            expires_at,
        }
    }

    #[test]
    fn client_ids_must_match_the_principal() {
        let device = Principal::Device {
            fleet: FleetId::parse("f1").expect("fleet"),
            device: DeviceId::parse("b1").expect("device"),
        };
        assert!(check_client_id(&device, "b1", 0).is_ok());
        assert!(check_client_id(&device, "b2", 0).is_err());
        assert!(check_client_id(&console("console-ann-", 2_000), "console-ann-1", 1_000).is_ok());
        assert!(check_client_id(&console("console-ann-", 2_000), "console-bob-1", 1_000).is_err());
        assert!(check_client_id(&console("console-ann-", 2_000), "console-ann-1", 2_000).is_err());
        assert!(check_client_id(&console("", 2_000), "b1", 1_000).is_err());
    }
}
