use super::shadow_rows;
use crate::api::shadow::{get_shadow, update_shadow};
use crate::domain::{
    parse_typed_value, AppError, DeviceId, Role, ShadowDoc, ShadowUpdate, ShadowView,
};
use crate::ui::auth::AuthContext;
use crate::ui::clock::local_date_time;
use crate::ui::mqtt::{LiveEvent, MqttClient};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

/// While the box has not reached its desired state, the card also reloads this often (in case
/// the MQTT connection is down).
const POLL: Duration = Duration::from_secs(3);

/// "Desired state": what people want the box to run with, what it reports, and what is still
/// pending. Operators set a key (a number, `true`/`false`, or text) or remove one; the change
/// names the version shown, so a change made meanwhile is refused rather than overwritten.
#[component]
pub fn DesiredStateCard(device: DeviceId) -> impl IntoView {
    let auth = AuthContext::expect();
    let mqtt = MqttClient::expect();
    let may_edit = Memo::new(move |_| auth.session().is_some_and(|s| s.role >= Role::Operator));
    let shadow = RwSignal::new(None::<ShadowView>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let key = RwSignal::new(String::new());
    let value = RwSignal::new(String::new());

    let reload = {
        let device = device.clone();
        Callback::new(move |()| {
            let device = device.clone();
            spawn_local(async move {
                match get_shadow(device).await {
                    Ok(s) => {
                        shadow.try_set(Some(s));
                    }
                    Err(e) => {
                        error.try_set(Some(auth.message_for(&e)));
                    }
                }
            });
        })
    };
    reload.run(());
    {
        let device = device.clone();
        mqtt.on_event(move |event| {
            if let LiveEvent::ShadowReport { device: from, .. } = event {
                if *from == device {
                    reload.run(());
                }
            }
        });
    }
    if let Ok(handle) = set_interval_with_handle(
        move || {
            let pending = shadow
                .try_with_untracked(|s| s.as_ref().is_some_and(|s| !s.delta.is_empty()))
                .unwrap_or(false);
            if pending {
                reload.run(());
            }
        },
        POLL,
    ) {
        on_cleanup(move || handle.clear());
    }

    let send = {
        let device = device.clone();
        Callback::new(move |patch: ShadowDoc| {
            let Some(version) = shadow.with_untracked(|s| s.as_ref().map(|s| s.version)) else {
                return;
            };
            busy.set(true);
            error.set(None);
            let device = device.clone();
            spawn_local(async move {
                let result = update_shadow(
                    device,
                    ShadowUpdate {
                        desired: patch,
                        version,
                    },
                )
                .await;
                busy.try_set(false);
                match result {
                    Ok(s) => {
                        shadow.try_set(Some(s));
                        key.try_set(String::new());
                        value.try_set(String::new());
                    }
                    Err(AppError::Conflict(_)) => {
                        error.try_set(Some(
                            "The state changed meanwhile (the box reported, or someone else edited it). It is reloaded: check it and try again.".into(),
                        ));
                        reload.run(());
                    }
                    Err(e) => {
                        error.try_set(Some(auth.message_for(&e)));
                    }
                }
            });
        })
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let k = key.get_untracked().trim().to_owned();
        if k.is_empty() {
            error.set(Some("Name the key to set, e.g. setpoint_c.".into()));
            return;
        }
        let v = parse_typed_value(&value.get_untracked());
        send.run(ShadowDoc::from([(k, v)]));
    };

    let rows = move || shadow.with(|s| s.as_ref().map(shadow_rows).unwrap_or_default());
    let summary = move || {
        shadow.with(|s| match s {
            None => String::new(),
            Some(s) if s.version == 0 => "Nothing set or reported yet.".into(),
            Some(s) => {
                let state = match s.delta.len() {
                    0 => "In sync".to_owned(),
                    1 => "1 key pending".to_owned(),
                    n => format!("{n} keys pending"),
                };
                let by = match (&s.desired_by, s.desired_at) {
                    (Some(who), Some(at)) => format!(
                        " · set by {} {}",
                        who.trim_start_matches("user:"),
                        local_date_time(at)
                    ),
                    _ => String::new(),
                };
                format!("{state} · version {}{by}", s.version)
            }
        })
    };

    view! {
        <section class="card desired-card" data-desired-state aria-labelledby="desired-title">
            <h2 id="desired-title" class="section-title">"Desired state"</h2>
            <p class="muted desired-summary" role="status" aria-live="polite" data-desired-summary>
                {summary}
            </p>
            {move || {
                error.get().map(|text| view! { <p class="banner error" role="alert">{text}</p> })
            }}
            <Show when=move || !rows().is_empty()>
                <table class="desired-table">
                    <thead>
                        <tr>
                            <th scope="col">"Key"</th>
                            <th scope="col">"Desired"</th>
                            <th scope="col">"Reported"</th>
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=rows key=|r| format!("{r:?}") let:row>
                            {
                                let remove_key = row.key.clone();
                                let has_desired = row.desired.is_some();
                                view! {
                                    <tr data-key=row.key.clone() class:pending=row.pending>
                                        <th scope="row" class="mono">{row.key.clone()}</th>
                                        <td class="mono" data-label="Desired">{row.desired.clone().unwrap_or_else(|| "—".into())}</td>
                                        <td class="mono" data-label="Reported">
                                            {row.reported.clone().unwrap_or_else(|| "—".into())}
                                            {row.pending.then(|| view! { <span class="pending-tag" data-pending>"pending"</span> })}
                                        </td>
                                        <td class="desired-actions">
                                            <Show when=move || may_edit.get() && has_desired>
                                                <button
                                                    type="button"
                                                    class="button ghost small"
                                                    disabled=move || busy.get()
                                                    aria-label=format!("Stop asking for {}", remove_key)
                                                    on:click={
                                                        let k = remove_key.clone();
                                                        move |_| send.run(ShadowDoc::from([(k.clone(), serde_json::Value::Null)]))
                                                    }
                                                >
                                                    "Remove"
                                                </button>
                                            </Show>
                                        </td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
            </Show>
            <Show when=move || may_edit.get()>
                <form class="desired-form" novalidate on:submit=on_submit>
                    <label>
                        <span>"Key"</span>
                        <input
                            type="text"
                            name="desired-key"
                            placeholder="setpoint_c"
                            autocapitalize="off"
                            prop:value=move || key.get()
                            on:input=move |ev| key.set(event_target_value(&ev))
                        />
                    </label>
                    <label>
                        <span>"Value"</span>
                        <input
                            type="text"
                            name="desired-value"
                            placeholder="4.5, true or text"
                            autocapitalize="off"
                            prop:value=move || value.get()
                            on:input=move |ev| value.set(event_target_value(&ev))
                        />
                    </label>
                    <button
                        type="submit"
                        class="button primary"
                        disabled=move || busy.get() || shadow.with(Option::is_none)
                        data-desired-set
                    >
                        {move || if busy.get() { "Saving…" } else { "Set" }}
                    </button>
                </form>
            </Show>
        </section>
    }
}
