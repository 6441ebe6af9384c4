//! The frame around every page: top bar, mobile navigation, loading, not-found and load-failed
//! screens.
mod app_shell;
mod brand_mark;
mod loading_screen;
mod mobile_nav;
mod mqtt_indicator;
mod not_found;
mod page_load_failed;
mod sign_out_button;
mod top_bar;

pub use app_shell::AppShell;
pub use brand_mark::BrandMark;
pub use loading_screen::LoadingScreen;
pub use mobile_nav::MobileNav;
pub use mqtt_indicator::MqttIndicator;
pub use not_found::NotFound;
pub use page_load_failed::PageLoadFailed;
pub use sign_out_button::SignOutButton;
pub use top_bar::TopBar;
