use super::CommandRow;
use crate::domain::CommandView;
use leptos::prelude::*;

/// The box's recent commands, newest first. A row is rebuilt when its command changes.
#[component]
pub fn CommandList(#[prop(into)] commands: Signal<Vec<CommandView>>) -> impl IntoView {
    view! {
        <Show
            when=move || commands.with(|c| !c.is_empty())
            fallback=|| view! { <p class="muted command-empty">"No command sent to this box yet."</p> }
        >
            <ul class="command-list" aria-label="Recent commands">
                <For
                    each=move || commands.get()
                    key=|c| (c.id.clone(), c.state, c.history.len())
                    children=|c| view! { <CommandRow command=c /> }
                />
            </ul>
        </Show>
    }
}
