use super::{CommandForm, CommandList};
use crate::api::commands::{get_command_catalogue, list_commands};
use crate::domain::{CommandView, DeviceId, Role};
use crate::ui::auth::AuthContext;
use crate::ui::mqtt::{LiveEvent, MqttClient};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

/// How many recent commands the card shows.
const RECENT: usize = 10;
/// Poll period while a command is not in a final state.
const POLL: Duration = Duration::from_secs(1);

/// Puts `command` into the list (newest first), replacing an older copy of it.
fn upsert(list: &mut Vec<CommandView>, command: CommandView) {
    match list.iter_mut().find(|c| c.id == command.id) {
        Some(existing) => {
            if command.history.len() >= existing.history.len() {
                *existing = command;
            }
        }
        None => list.insert(0, command),
    }
    list.sort_by_key(|c| std::cmp::Reverse(c.issued_at));
    list.truncate(RECENT);
}

/// The "Commands" card of the box view (operators and above): the catalogue's commands the
/// user's role may send, and the box's recent commands, updated live (polling while a command is
/// open, and on each box reply seen over MQTT).
#[component]
pub fn CommandsCard(device: DeviceId) -> impl IntoView {
    let auth = AuthContext::expect();
    let mqtt = MqttClient::expect();
    let role = Memo::new(move |_| auth.session().map_or(Role::Viewer, |s| s.role));
    let catalogue = LocalResource::new(get_command_catalogue);
    let commands = RwSignal::new(Vec::<CommandView>::new());
    let list_error = RwSignal::new(None::<String>);
    // One list request at a time; a refresh asked meanwhile runs once it ends.
    let in_flight = StoredValue::new(false);
    let again = StoredValue::new(false);

    let refresh = {
        let device = device.clone();
        Callback::new(move |()| {
            if in_flight.get_value() {
                again.set_value(true);
                return;
            }
            in_flight.set_value(true);
            let device = device.clone();
            spawn_local(async move {
                loop {
                    again.set_value(false);
                    let result = list_commands(device.clone(), RECENT).await;
                    match result {
                        Ok(list) => {
                            commands.try_set(list);
                            list_error.try_set(None);
                        }
                        Err(e) => {
                            list_error.try_set(Some(auth.message_for(&e)));
                        }
                    }
                    if !again.try_get_value().unwrap_or(false) {
                        break;
                    }
                }
                in_flight.try_set_value(false);
            });
        })
    };

    Effect::new(move |_| {
        if role.get() >= Role::Operator {
            refresh.run(());
        }
    });
    if let Ok(handle) = set_interval_with_handle(
        move || {
            let open = commands
                .try_with_untracked(|c| c.iter().any(|c| !c.state.is_final()))
                .unwrap_or(false);
            if open {
                refresh.run(());
            }
        },
        POLL,
    ) {
        on_cleanup(move || handle.clear());
    }
    {
        let device = device.clone();
        mqtt.on_event(move |event| {
            if let LiveEvent::CommandReply { device: from, .. } = event {
                if *from == device {
                    refresh.run(());
                }
            }
        });
    }

    let on_sent = Callback::new(move |command: CommandView| {
        commands.update(|list| upsert(list, command));
        refresh.run(());
    });

    let forms = move || match catalogue.get() {
        None => view! {
            <div class="loading inline" role="status">
                <span class="spinner" aria-hidden="true"></span>
                "Loading commands…"
            </div>
        }
        .into_any(),
        Some(Err(e)) => {
            view! { <p class="banner error" role="alert">{auth.message_for(&e)}</p> }.into_any()
        }
        Some(Ok(catalogue)) => {
            let allowed = catalogue.for_role(role.get());
            let device = device.clone();
            view! {
                <div class="command-forms">
                    {allowed
                        .into_iter()
                        .map(|spec| {
                            view! { <CommandForm device=device.clone() spec=spec on_sent=on_sent /> }
                        })
                        .collect_view()}
                </div>
            }
            .into_any()
        }
    };

    view! {
        <Show when=move || { role.get() >= Role::Operator }>
            <section class="card commands-card" data-commands aria-labelledby="commands-title">
                <h2 id="commands-title" class="section-title">"Commands"</h2>
                {forms.clone()}
                <h3 class="section-title command-history-title">"Recent commands"</h3>
                {move || {
                    list_error.get().map(|text| view! { <p class="banner error" role="alert">{text}</p> })
                }}
                <CommandList commands=commands />
            </section>
        </Show>
    }
}
