//! Pages whose code is loaded on demand. Each route below is a split point: wasm-split
//! (`scripts/build-console.sh`) moves the code only these pages use out of the first wasm module
//! into files fetched when a route first needs them, so the login and fleet pages load and start
//! without it (BENCHMARKS.md, section 5). The session check stays in the first module.
use crate::ui::account::AccountPage;
use crate::ui::audit::AuditPage;
use crate::ui::auth::RequireSession;
use crate::ui::device::DevicePage;
use crate::ui::monitoring::MonitoringPage;
use crate::ui::rollouts::RolloutsPage;
use crate::ui::users::UsersPage;
use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

/// A route type whose view (a signed-in page) is a split point. The split function's name comes
/// from the route type, so each use makes a distinct split module.
macro_rules! lazy_signed_in_page {
    ($route:ident => $page:ident) => {
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_route: Self) -> AnyView {
                view! { <RequireSession><$page /></RequireSession> }.into_any()
            }
        }
    };
}

lazy_signed_in_page!(DeviceRoute => DevicePage);
lazy_signed_in_page!(AccountRoute => AccountPage);
lazy_signed_in_page!(UsersRoute => UsersPage);
lazy_signed_in_page!(AuditRoute => AuditPage);
lazy_signed_in_page!(RolloutsRoute => RolloutsPage);
lazy_signed_in_page!(MonitoringRoute => MonitoringPage);
