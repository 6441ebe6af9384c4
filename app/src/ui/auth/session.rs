use crate::api::auth::current_session;
use crate::domain::{AppError, SessionInfo};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// What the console knows of its session. The session itself is an HttpOnly cookie: the browser
/// code never sees or stores a token.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionState {
    /// Asking the server whether the cookie still names a session.
    Checking,
    SignedOut {
        /// Shown on the login page (session expired, server unreachable).
        notice: Option<String>,
        /// True when the session ended under the user's feet: the login page then brings them
        /// back to the page they were on.
        return_here: bool,
    },
    SignedIn(SessionInfo),
}

/// `SessionState` without its data, for effects that only care about transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionPhase {
    Checking,
    SignedOut,
    SignedIn,
}

#[derive(Clone, Copy)]
pub struct AuthContext {
    pub state: RwSignal<SessionState>,
    pub phase: Memo<SessionPhase>,
}

impl AuthContext {
    /// Creates the context and asks the server for the current session.
    pub fn provide() -> Self {
        let state = RwSignal::new(SessionState::Checking);
        let phase = Memo::new(move |_| {
            state.with(|s| match s {
                SessionState::Checking => SessionPhase::Checking,
                SessionState::SignedOut { .. } => SessionPhase::SignedOut,
                SessionState::SignedIn(_) => SessionPhase::SignedIn,
            })
        });
        let auth = AuthContext { state, phase };
        provide_context(auth);
        spawn_local(async move {
            let next = match current_session().await {
                Ok(Some(info)) => SessionState::SignedIn(info),
                Ok(None) => SessionState::SignedOut {
                    notice: None,
                    return_here: true,
                },
                Err(error) => SessionState::SignedOut {
                    notice: Some(format!("Could not check your session: {error}")),
                    return_here: true,
                },
            };
            state.set(next);
        });
        auth
    }

    pub fn expect() -> Self {
        expect_context::<AuthContext>()
    }

    /// The signed-in user, tracked.
    pub fn session(&self) -> Option<SessionInfo> {
        self.state.with(|s| match s {
            SessionState::SignedIn(info) => Some(info.clone()),
            _ => None,
        })
    }

    pub fn signed_in(&self, info: SessionInfo) {
        self.state.set(SessionState::SignedIn(info));
    }

    /// The user signed out on purpose.
    pub fn signed_out(&self) {
        self.state.set(SessionState::SignedOut {
            notice: None,
            return_here: false,
        });
    }

    /// The server no longer knows the session (expired or revoked).
    pub fn session_expired(&self) {
        if self.phase.get_untracked() == SessionPhase::SignedIn {
            self.state.set(SessionState::SignedOut {
                notice: Some("Your session has ended. Please sign in again.".into()),
                return_here: true,
            });
        }
    }

    /// The message to show for a failed server call; an `Unauthenticated` answer also signs the
    /// console out, which sends the user to the login page.
    pub fn message_for(&self, error: &AppError) -> String {
        if matches!(error, AppError::Unauthenticated) {
            self.session_expired();
        }
        error.to_string()
    }
}
