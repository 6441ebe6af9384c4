//! The broker's map from connection to authenticated principal.
//!
//! Keyed by rmqtt's connection [`Id`]: the client id plus the remote address, listener and creation
//! time of that connection. Two connections with the same client id (a take-over) therefore never
//! see each other's principal, and the old connection's disconnect does not remove the new one's.
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use rmqtt::types::Id;

use super::settings::fixed;
use crate::access::Principal;

/// An authenticated connection.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    pub principal: Arc<Principal>,
    /// MQTT protocol level of the CONNECT (3, 4 = 3.1.1, 5).
    pub protocol: u8,
}

#[derive(Default)]
struct Inner {
    /// Filled at authentication, removed at disconnection.
    connections: HashMap<Id, Connection>,
    /// Connections authenticated but not yet connected, with the time of authentication. A
    /// handshake that fails after authentication never reaches the connected or disconnected hooks,
    /// so these are pruned after `fixed::STALE_HANDSHAKE`.
    pending: HashMap<Id, Instant>,
    /// Connections whose authentication was `Unavailable` and that are being failed (refusal.rs).
    unavailable: HashMap<Id, Instant>,
}

#[derive(Default)]
pub(crate) struct Connections {
    inner: Mutex<Inner>,
}

impl Connections {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map stays consistent whatever panicked while holding it: keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records the principal of a connection that passed authentication.
    pub fn authenticated(&self, id: Id, principal: Principal, protocol: u8) {
        let now = Instant::now();
        let mut inner = self.lock();
        prune(&mut inner, now);
        inner.pending.insert(id.clone(), now);
        inner.connections.insert(
            id,
            Connection {
                principal: Arc::new(principal),
                protocol,
            },
        );
    }

    /// The handshake of `id` completed; returns its principal.
    pub fn connected(&self, id: &Id) -> Option<Connection> {
        let mut inner = self.lock();
        inner.pending.remove(id);
        inner.connections.get(id).cloned()
    }

    pub fn get(&self, id: &Id) -> Option<Connection> {
        self.lock().connections.get(id).cloned()
    }

    pub fn contains(&self, id: &Id) -> bool {
        self.lock().connections.contains_key(id)
    }

    /// The connection is gone; returns its principal.
    pub fn remove(&self, id: &Id) -> Option<Connection> {
        let mut inner = self.lock();
        inner.pending.remove(id);
        inner.connections.remove(id)
    }

    /// Whether another connection with the same client id has authenticated and not yet
    /// connected: a take-over in progress.
    pub fn has_pending_sibling(&self, id: &Id) -> bool {
        self.lock()
            .pending
            .keys()
            .any(|other| other.client_id == id.client_id && other != id)
    }

    /// Connections whose handshake completed.
    pub fn connected_ids(&self) -> Vec<Id> {
        let inner = self.lock();
        inner
            .connections
            .keys()
            .filter(|id| !inner.pending.contains_key(*id))
            .cloned()
            .collect()
    }

    pub fn connected_count(&self) -> usize {
        let inner = self.lock();
        inner.connections.len().saturating_sub(inner.pending.len())
    }

    /// Marks a connection to be failed with "server unavailable" (see refusal.rs).
    pub fn mark_unavailable(&self, id: Id) {
        let now = Instant::now();
        let mut inner = self.lock();
        prune(&mut inner, now);
        inner.unavailable.insert(id, now);
    }

    /// Whether the connection was marked unavailable; forgets the mark.
    pub fn take_unavailable(&self, id: &Id) -> bool {
        self.lock().unavailable.remove(id).is_some()
    }
}

fn prune(inner: &mut Inner, now: Instant) {
    let stale = |at: &Instant| now.duration_since(*at) > fixed::STALE_HANDSHAKE;
    if inner.pending.values().any(stale) {
        let gone: Vec<Id> = inner
            .pending
            .iter()
            .filter(|(_, at)| stale(at))
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            inner.pending.remove(&id);
            inner.connections.remove(&id);
        }
    }
    inner.unavailable.retain(|_, at| !stale(at));
}

/// Presence per client id, so that the host sees `connected` / `disconnected` alternate for a client
/// id even when a new connection takes over an old one: rmqtt runs the new connection's connected
/// hook and the old one's disconnected hook concurrently, in either order.
#[derive(Default)]
pub(crate) struct Presence {
    /// Live connections per client id; the async lock serializes that client id's events.
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<usize>>>>,
}

impl Presence {
    fn slots(&self) -> MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<usize>>>> {
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A connection of `client_id` arrived (`true`) or left (`false`). Runs `event` when the client
    /// id goes from no live connection to one (arrival) or from one to none (departure), after the
    /// events of earlier transitions of that client id have completed.
    pub async fn transition<F, Fut>(&self, client_id: &str, arriving: bool, event: F)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ()>,
    {
        let slot = self
            .slots()
            .entry(client_id.to_owned())
            .or_default()
            .clone();
        {
            let mut live = slot.lock().await;
            let fire = if arriving {
                *live += 1;
                *live == 1
            } else {
                *live = live.saturating_sub(1);
                *live == 0
            };
            if fire {
                event().await;
            }
        }
        // Forget the client id once it has no connection and nobody else holds its slot (clones
        // are only taken under the map's lock, so the count cannot grow meanwhile).
        let mut slots = self.slots();
        let idle = Arc::strong_count(&slot) == 2 && slot.try_lock().is_ok_and(|live| *live == 0);
        if idle && slots.get(client_id).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
            slots.remove(client_id);
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.slots().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn presence_fires_on_the_first_arrival_and_the_last_departure() {
        let presence = Presence::default();
        let fired = AtomicUsize::new(0);
        let count = || async {
            fired.fetch_add(1, Ordering::SeqCst);
        };
        presence.transition("b1", true, count).await; // first connection: fires
        presence.transition("b1", true, count).await; // take-over: new connection first
        presence.transition("b1", false, count).await; // then the old one leaves
        assert_eq!(fired.load(Ordering::SeqCst), 1);
        presence.transition("b1", false, count).await; // the last one leaves: fires
        assert_eq!(fired.load(Ordering::SeqCst), 2);
        assert_eq!(presence.tracked(), 0, "idle client ids are forgotten");
    }
}
