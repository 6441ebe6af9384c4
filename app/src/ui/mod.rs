//! The console's user interface (browser only, feature `csr`), one folder per feature and one
//! component per file.
pub mod account;
mod app;
pub mod audit;
pub mod auth;
pub mod chart;
pub mod clock;
pub mod commands;
pub mod desired_state;
pub mod device;
pub mod fleet;
pub mod layout;
pub mod lazy_pages;
pub mod monitoring;
pub mod mqtt;
pub mod rollouts;
pub mod users;

pub use app::App;
