//! Pages whose code is loaded on demand. Each route below is a split point: wasm-split
//! (`scripts/split-console.sh`, trunk's post-build hook) moves the code only these pages use out
//! of the first wasm module into files fetched when a route first needs them, so the login and
//! fleet pages load and start without it (BENCHMARKS.md, section 5). The session check stays in
//! the first module.
//!
//! The split functions are declared `fallible` (not with Leptos' `#[lazy]`, whose load failure
//! panics and, with `panic = "abort"`, would end the whole app): a page whose code cannot be
//! fetched shows an error with a way to try again.
use crate::ui::account::AccountPage;
use crate::ui::audit::AuditPage;
use crate::ui::auth::RequireSession;
use crate::ui::device::DevicePage;
use crate::ui::layout::PageLoadFailed;
use crate::ui::monitoring::MonitoringPage;
use crate::ui::rollouts::RolloutsPage;
use crate::ui::users::UsersPage;
use leptos::prelude::*;
use leptos::wasm_split::{wasm_split, SplitLoaderError};
use leptos_router::LazyRoute;

/// A route type whose view, a signed-in page, is the split function `$split` (its name names the
/// split module and its files); `LazyRoute::preload` fetches its code ahead (`$preload`).
macro_rules! lazy_signed_in_page {
    ($route:ident, $split:ident, $preload:ident => $page:ident) => {
        #[wasm_split($split, fallible, preload($preload), wasm_split_path = ::leptos::wasm_split)]
        fn $split() -> Result<AnyView, SplitLoaderError> {
            Ok(view! { <RequireSession><$page /></RequireSession> }.into_any())
        }

        pub struct $route;

        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            async fn preload() {
                // A failure is not kept: the route's own load tries again and reports it.
                if let Err(error) = $preload().await {
                    leptos::logging::warn!("{} ahead of time: {error}", stringify!($split));
                }
            }

            async fn view(_route: Self) -> AnyView {
                match $split().await {
                    Ok(page) => page,
                    Err(error) => {
                        leptos::logging::error!("{}: {error}", stringify!($split));
                        view! { <PageLoadFailed /> }.into_any()
                    }
                }
            }
        }
    };
}

lazy_signed_in_page!(DeviceRoute, device_page, preload_device_page => DevicePage);
lazy_signed_in_page!(AccountRoute, account_page, preload_account_page => AccountPage);
lazy_signed_in_page!(UsersRoute, users_page, preload_users_page => UsersPage);
lazy_signed_in_page!(AuditRoute, audit_page, preload_audit_page => AuditPage);
lazy_signed_in_page!(RolloutsRoute, rollouts_page, preload_rollouts_page => RolloutsPage);
lazy_signed_in_page!(MonitoringRoute, monitoring_page, preload_monitoring_page => MonitoringPage);
