//! Signing in and out, and keeping pages behind a session.
mod login_page;
mod require_session;
mod session;

pub use login_page::LoginPage;
pub use require_session::RequireSession;
pub use session::{AuthContext, SessionPhase, SessionState};
