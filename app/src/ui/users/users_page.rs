use super::{AddUserForm, UserCard};
use crate::api::users::list_users;
use crate::domain::{Role, UserView};
use crate::ui::auth::AuthContext;
use leptos::prelude::*;

#[component]
pub fn UsersPage() -> impl IntoView {
    let auth = AuthContext::expect();
    let is_admin = move || auth.session().is_some_and(|s| s.role >= Role::Admin);
    let users = RwSignal::new(None::<Vec<UserView>>);
    let error = RwSignal::new(None::<String>);
    let load = Action::new_local(|_: &()| list_users());
    Effect::new(move |_| {
        if is_admin() {
            load.dispatch(());
        }
    });
    Effect::new(move |_| match load.value().get() {
        Some(Ok(list)) => users.set(Some(list)),
        Some(Err(e)) => error.set(Some(auth.message_for(&e))),
        None => {}
    });
    // A changed or added user replaces its entry (or joins the list).
    let changed = Callback::new(move |user: UserView| {
        users.update(|list| {
            let list = list.get_or_insert_with(Vec::new);
            match list.iter_mut().find(|u| u.username == user.username) {
                Some(slot) => *slot = user,
                None => {
                    list.push(user);
                    list.sort_by(|a, b| a.username.cmp(&b.username));
                }
            }
        })
    });

    view! {
        <section class="page users-page" aria-labelledby="users-title" data-users>
            <header class="page-header">
                <h1 id="users-title">"Users"</h1>
                <p class="page-sub">
                    "Who may sign in, with which role and fleets. A role: viewer, operator, support or admin; fleets: fleet:<id>, or fleet:* for all."
                </p>
            </header>
            <Show
                when=is_admin
                fallback=|| view! { <p class="notice">"Users are managed by admins."</p> }
            >
                <AddUserForm on_added=changed />
                <p class="form-error" role="alert">{move || error.get()}</p>
                {move || match users.get() {
                    None => view! { <p class="muted">"Loading users…"</p> }.into_any(),
                    Some(list) => view! {
                        <ul class="user-list" aria-label="Users">
                            {list
                                .into_iter()
                                .map(|user| view! { <UserCard user=user on_changed=changed /> })
                                .collect_view()}
                        </ul>
                    }
                        .into_any(),
                }}
            </Show>
        </section>
    }
}
