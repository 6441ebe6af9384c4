//! Signing in and out, and keeping pages behind a session.
mod challenge_form;
mod code_field;
mod login_page;
mod require_session;
mod session;
mod submit_button;
mod totp_secret;

pub use challenge_form::ChallengeForm;
pub use code_field::CodeField;
pub use login_page::LoginPage;
pub use require_session::RequireSession;
pub use session::{AuthContext, SessionPhase, SessionState};
pub use submit_button::SubmitButton;
pub use totp_secret::TotpSecret;
