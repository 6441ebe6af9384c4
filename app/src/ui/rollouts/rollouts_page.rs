use super::{RolloutForm, RolloutRow};
use crate::api::commands::get_command_catalogue;
use crate::api::devices::list_devices;
use crate::api::rollouts::{cancel_rollout, list_rollouts};
use crate::domain::{FleetId, Role, RolloutView};
use crate::ui::auth::AuthContext;
use crate::ui::fleet::FleetPicker;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

/// Rollouts listed per fleet.
const LISTED: usize = 20;
/// Progress refresh while a rollout runs.
const POLL: Duration = Duration::from_secs(1);

/// `/rollouts`: start a bulk command on a fleet (operators and above), follow each rollout's
/// progress live, cancel a running one. Viewers see the list only.
#[component]
pub fn RolloutsPage() -> impl IntoView {
    let auth = AuthContext::expect();
    let role = Memo::new(move |_| auth.session().map_or(Role::Viewer, |s| s.role));
    let fleets = RwSignal::new(Vec::<FleetId>::new());
    let fleet = RwSignal::new(None::<FleetId>);
    let rollouts = RwSignal::new(Vec::<RolloutView>::new());
    let error = RwSignal::new(None::<String>);
    let loaded = RwSignal::new(false);
    let cancelling = RwSignal::new(false);
    let catalogue = LocalResource::new(get_command_catalogue);

    // The fleets come from the boxes the user may see.
    spawn_local(async move {
        match list_devices().await {
            Ok(devices) => {
                let mut ids: Vec<FleetId> = devices.into_iter().map(|d| d.fleet).collect();
                ids.sort();
                ids.dedup();
                fleet.try_set(ids.first().cloned());
                fleets.try_set(ids);
            }
            Err(e) => {
                error.try_set(Some(auth.message_for(&e)));
            }
        }
    });

    let refresh = Callback::new(move |()| {
        let Some(f) = fleet.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match list_rollouts(f.clone(), Some(LISTED)).await {
                // The fleet may have changed while this was loading.
                Ok(list) if fleet.get_untracked().as_ref() == Some(&f) => {
                    rollouts.try_set(list);
                    loaded.try_set(true);
                    error.try_set(None);
                }
                Ok(_) => {}
                Err(e) => {
                    error.try_set(Some(auth.message_for(&e)));
                }
            }
        });
    });
    Effect::new(move |_| {
        if fleet.get().is_some() {
            loaded.set(false);
            rollouts.set(Vec::new());
            refresh.run(());
        }
    });
    if let Ok(handle) = set_interval_with_handle(
        move || {
            let running = rollouts
                .try_with_untracked(|r| r.iter().any(|r| !r.status.is_final()))
                .unwrap_or(false);
            if running {
                refresh.run(());
            }
        },
        POLL,
    ) {
        on_cleanup(move || handle.clear());
    }

    let on_started = Callback::new(move |view: RolloutView| {
        rollouts.update(|list| list.insert(0, view));
        refresh.run(());
    });
    let on_cancel = Callback::new(move |id: String| {
        cancelling.set(true);
        spawn_local(async move {
            let result = cancel_rollout(id).await;
            cancelling.try_set(false);
            if let Err(e) = result {
                error.try_set(Some(auth.message_for(&e)));
            }
            refresh.run(());
        });
    });

    let form = move || {
        if role.get() < Role::Operator {
            return None;
        }
        Some(match catalogue.get() {
            None => view! { <p class="loading inline">"Loading commands…"</p> }.into_any(),
            Some(Err(e)) => {
                view! { <p class="banner error" role="alert">{auth.message_for(&e)}</p> }.into_any()
            }
            Some(Ok(c)) => view! {
                <RolloutForm
                    fleet=Signal::derive(move || fleet.get())
                    commands=c.for_role(role.get_untracked())
                    on_started=on_started
                />
            }
            .into_any(),
        })
    };

    view! {
        <section class="page rollouts-page" aria-labelledby="rollouts-title" data-rollouts>
            <header class="page-header">
                <div>
                    <h1 id="rollouts-title">"Rollouts"</h1>
                    <p class="page-sub">"One command to many boxes, at a steady rate, stopped when too many fail."</p>
                </div>
                <FleetPicker fleets=fleets fleet=fleet />
            </header>
            {move || {
                error.get().map(|text| view! { <p class="banner error" role="alert">{text}</p> })
            }}
            {form}
            <h2 class="section-title">"Recent rollouts"</h2>
            <Show when=move || loaded.get() && rollouts.with(Vec::is_empty)>
                <p class="empty">"No rollout in this fleet yet."</p>
            </Show>
            <ul class="rollout-list">
                <For
                    each=move || rollouts.get()
                    key=|r| format!("{}-{}-{:?}", r.id, r.status, r.progress)
                    let:rollout
                >
                    <RolloutRow
                        rollout=rollout
                        may_cancel={ role.get_untracked() >= Role::Operator }
                        on_cancel=on_cancel
                        busy=Signal::derive(move || cancelling.get())
                    />
                </For>
            </ul>
        </section>
    }
}
