use crate::api::users::add_user;
use crate::domain::{CreatedUser, UserView};
use crate::ui::auth::AuthContext;
use leptos::prelude::*;

/// Adds a user; its random password is shown once, to hand over.
#[component]
pub fn AddUserForm(on_added: Callback<UserView>) -> impl IntoView {
    let auth = AuthContext::expect();
    let username = RwSignal::new(String::new());
    let groups = RwSignal::new(String::new());
    let created = RwSignal::new(None::<CreatedUser>);
    let error = RwSignal::new(None::<String>);
    let add = Action::new_local(|(u, g): &(String, String)| add_user(u.clone(), g.clone()));
    Effect::new(move |_| match add.value().get() {
        Some(Ok(user)) => {
            error.set(None);
            username.set(String::new());
            groups.set(String::new());
            on_added.run(user.user.clone());
            created.set(Some(user));
        }
        Some(Err(e)) => error.set(Some(auth.message_for(&e))),
        None => {}
    });
    view! {
        <form
            class="card add-user"
            data-add-user
            on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                created.set(None);
                add.dispatch((username.get_untracked(), groups.get_untracked()));
            }
        >
            <h2>"Add a user"</h2>
            <div class="field">
                <label for="new-username">"Username"</label>
                <input
                    id="new-username"
                    type="text"
                    autocapitalize="none"
                    spellcheck="false"
                    required
                    bind:value=username
                />
            </div>
            <div class="field">
                <label for="new-groups">"Groups"</label>
                <input
                    id="new-groups"
                    type="text"
                    placeholder="operator, fleet:north"
                    spellcheck="false"
                    required
                    bind:value=groups
                />
            </div>
            <button type="submit" class="button primary" disabled=add.pending()>
                "Add user"
            </button>
            <p class="form-error" role="alert">{move || error.get()}</p>
            {move || {
                created
                    .get()
                    .map(|c| {
                        view! {
                            <p class="notice" role="status" data-new-password=c.password.clone()>
                                {format!("{} can sign in with the password ", c.user.username)}
                                <code>{c.password.clone()}</code>
                                {if c.temporary {
                                    " (temporary: a new one is chosen at the first sign-in). It is shown once."
                                } else {
                                    ". It is shown once."
                                }}
                            </p>
                        }
                    })
            }}
        </form>
    }
}
