use super::{AuthContext, SessionPhase, SessionState};
use crate::ui::layout::LoadingScreen;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

/// Shows its children only with a session; without one, goes to the login page (remembering
/// where the user was when their session ended).
#[component]
pub fn RequireSession(children: ChildrenFn) -> impl IntoView {
    let auth = AuthContext::expect();
    let navigate = use_navigate();
    let location = use_location();

    Effect::new(move |_| {
        if auth.phase.get() != SessionPhase::SignedOut {
            return;
        }
        let return_here = auth.state.with_untracked(|s| {
            matches!(
                s,
                SessionState::SignedOut {
                    return_here: true,
                    ..
                }
            )
        });
        let here = location.pathname.get_untracked();
        let target = if return_here && here != "/" {
            format!("/login?next={}", js_sys::encode_uri_component(&here))
        } else {
            "/login".to_owned()
        };
        navigate(
            &target,
            NavigateOptions {
                replace: true,
                ..Default::default()
            },
        );
    });

    move || match auth.phase.get() {
        SessionPhase::SignedIn => Either::Left(children()),
        _ => Either::Right(view! { <LoadingScreen /> }),
    }
}
