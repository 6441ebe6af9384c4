use super::AuthenticatorCard;
use crate::api::auth::sign_out_everywhere;
use crate::ui::auth::AuthContext;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use leptos_router::NavigateOptions;

#[component]
pub fn AccountPage() -> impl IntoView {
    let auth = AuthContext::expect();
    let navigate = use_navigate();
    let session = move || auth.session();
    let fleets = move || {
        session()
            .map(|s| {
                if s.all_fleets {
                    "every fleet".to_owned()
                } else if s.fleets.is_empty() {
                    "none".to_owned()
                } else {
                    s.fleets
                        .iter()
                        .map(|f| f.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            })
            .unwrap_or_default()
    };

    let everywhere = Action::new_local(|_: &()| sign_out_everywhere());
    let leaving = everywhere.pending();
    let failure = RwSignal::new(None::<String>);
    Effect::new(move |_| match everywhere.value().get() {
        Some(Ok(())) => {
            auth.signed_out();
            navigate(
                "/login",
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
        Some(Err(e)) => failure.set(Some(auth.message_for(&e))),
        None => {}
    });

    view! {
        <section class="page account-page" aria-labelledby="account-title" data-account>
            <header class="page-header">
                <h1 id="account-title">"Your account"</h1>
            </header>
            <dl class="account-facts">
                <dt>"Username"</dt>
                <dd data-account-username>{move || session().map(|s| s.username).unwrap_or_default()}</dd>
                <dt>"Role"</dt>
                <dd>{move || session().map(|s| s.role.as_str()).unwrap_or_default()}</dd>
                <dt>"Fleets"</dt>
                <dd>{fleets}</dd>
            </dl>
            <AuthenticatorCard />
            <Show when=move || session().is_some_and(|s| s.role >= crate::domain::Role::Admin)>
                <section class="card" aria-labelledby="admin-users-title">
                    <h2 id="admin-users-title">"Users"</h2>
                    <p>"As an admin you add users, change their groups and disable them."</p>
                    <leptos_router::components::A href="/users" attr:class="button">
                        "Manage users"
                    </leptos_router::components::A>
                </section>
            </Show>
            <section class="card" aria-labelledby="everywhere-title">
                <h2 id="everywhere-title">"Sign out everywhere"</h2>
                <p>
                    "Ends your sessions on every browser and phone: the others stop at the latest when their short-lived access runs out (an hour at most)."
                </p>
                <p class="form-error" role="alert">{move || failure.get()}</p>
                <button
                    type="button"
                    class="button danger"
                    disabled=leaving
                    on:click=move |_| {
                        failure.set(None);
                        everywhere.dispatch(());
                    }
                >
                    {move || if leaving.get() { "Signing out…" } else { "Sign out everywhere" }}
                </button>
            </section>
        </section>
    }
}
