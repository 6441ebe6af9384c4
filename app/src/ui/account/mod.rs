//! The signed-in user's account: who they are, two-step sign-in, signing out everywhere.
mod account_page;
mod authenticator_card;

pub use account_page::AccountPage;
pub use authenticator_card::AuthenticatorCard;
