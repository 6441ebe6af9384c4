use crate::api::users::{set_user_enabled, set_user_groups};
use crate::domain::{AppError, UserView};
use crate::ui::auth::AuthContext;
use leptos::prelude::*;

/// One user: groups (editable), account state, enable or disable.
#[component]
pub fn UserCard(user: UserView, on_changed: Callback<UserView>) -> impl IntoView {
    let auth = AuthContext::expect();
    let name = user.username.clone();
    let groups = RwSignal::new(user.groups.join(", "));
    let error = RwSignal::new(None::<String>);
    let save =
        Action::new_local(move |(n, g): &(String, String)| set_user_groups(n.clone(), g.clone()));
    let toggle =
        Action::new_local(move |(n, on): &(String, bool)| set_user_enabled(n.clone(), *on));
    let report = move |result: Option<Result<UserView, AppError>>| match result {
        Some(Ok(u)) => {
            error.set(None);
            on_changed.run(u);
        }
        Some(Err(e)) => error.set(Some(auth.message_for(&e))),
        None => {}
    };
    Effect::new(move |_| report(save.value().get()));
    Effect::new(move |_| report(toggle.value().get()));

    let (save_name, toggle_name) = (name.clone(), name.clone());
    let enabled = user.enabled;
    view! {
        <li class="card user-card" data-user=name.clone() data-enabled=enabled.to_string()>
            <div class="user-card-head">
                <strong>{name.clone()}</strong>
                <span class=if enabled { "presence online" } else { "presence" }>
                    {if enabled { "enabled" } else { "disabled" }}
                </span>
                {user.status.map(|s| view! { <span class="muted">{s}</span> })}
            </div>
            <form
                class="user-groups"
                on:submit=move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    save.dispatch((save_name.clone(), groups.get_untracked()));
                }
            >
                <label for=format!("groups-{name}")>"Groups"</label>
                <input id=format!("groups-{name}") type="text" bind:value=groups spellcheck="false" />
                <button type="submit" class="button small" disabled=save.pending()>
                    "Save groups"
                </button>
            </form>
            <button
                type="button"
                class=if enabled { "button small danger" } else { "button small" }
                disabled=toggle.pending()
                on:click=move |_| {
                    toggle.dispatch((toggle_name.clone(), !enabled));
                }
            >
                {if enabled { "Disable" } else { "Enable" }}
            </button>
            <p class="form-error" role="alert">{move || error.get()}</p>
        </li>
    }
}
