mod broker_credential;

pub use broker_credential::*;
