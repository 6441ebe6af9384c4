mod account_security;
mod answer_challenge;
mod begin_totp_setup;
mod confirm_totp_setup;
mod current_session;
mod login;
mod logout;
mod sign_out_everywhere;

pub use account_security::*;
pub use answer_challenge::*;
pub use begin_totp_setup::*;
pub use confirm_totp_setup::*;
pub use current_session::*;
pub use login::*;
pub use logout::*;
pub use sign_out_everywhere::*;

/// A sign-in's progress as the browser sees it: on a new session the cookie is set on the
/// response and only the session's description crosses the wire.
#[cfg(feature = "ssr")]
fn sign_in_step(progress: crate::service::SignInProgress) -> crate::domain::SignInStep {
    use crate::domain::SignInStep;
    use crate::service::SignInProgress;
    match progress {
        SignInProgress::Session(session) => {
            super::context::set_cookie(crate::service::session_cookie(
                &session.session_id,
                session.max_age_secs,
            ));
            SignInStep::SignedIn(session.info)
        }
        SignInProgress::Challenge(challenge) => SignInStep::Challenge(challenge),
    }
}
