mod current_session;
mod login;
mod logout;

pub use current_session::*;
pub use login::*;
pub use logout::*;
