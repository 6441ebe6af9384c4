use super::{collect_params, param_fields, ConfirmDialog, ParamInput};
use crate::api::commands::issue_command;
use crate::domain::{CatalogueCommand, CommandView, DeviceId};
use crate::ui::auth::AuthContext;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// One catalogue command as a form: typed inputs checked in the browser (the server checks
/// again), a confirmation for dangerous commands, a send button that shows it is busy.
#[component]
pub fn CommandForm(
    device: DeviceId,
    spec: CatalogueCommand,
    /// Called with the command as the server recorded it.
    on_sent: Callback<CommandView>,
) -> impl IntoView {
    let auth = AuthContext::expect();
    let fields = param_fields(&spec.params);
    let busy = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let params = StoredValue::new(spec.params.clone());
    let values = StoredValue::new(fields.clone());
    let name = spec.name.clone();
    let label = spec.label();

    // Checks every field; the JSON parameters when all are valid.
    let collect = move || {
        params.with_value(|params| values.with_value(|values| collect_params(params, values)))
    };

    let send = {
        let device = device.clone();
        let name = name.clone();
        Callback::new(move |()| {
            confirming.set(false);
            let Some(params) = collect() else {
                return;
            };
            busy.set(true);
            outcome.set(None);
            let device = device.clone();
            let name = name.clone();
            spawn_local(async move {
                let result = issue_command(device, name, params, None).await;
                busy.try_set(false);
                match result {
                    Ok(command) => {
                        outcome.try_set(Some(Ok(format!(
                            "Recorded: {}",
                            command.state.label().to_lowercase()
                        ))));
                        on_sent.run(command);
                    }
                    Err(e) => {
                        outcome.try_set(Some(Err(auth.message_for(&e))));
                    }
                }
            });
        })
    };
    let dangerous = spec.dangerous;
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() || collect().is_none() {
            return;
        }
        if dangerous {
            confirming.set(true);
        } else {
            send.run(());
        }
    };

    let inputs = spec
        .params
        .iter()
        .zip(fields)
        .map(|(param, (value, error))| {
            view! { <ParamInput command=name.clone() param=param.clone() value=value error=error /> }
        })
        .collect_view();
    let title = format!("{label}?");
    let message = format!(
        "{} on box {device}. {}",
        label,
        if spec.description.is_empty() {
            "This command is marked dangerous.".to_owned()
        } else {
            format!("{}.", spec.description.trim_end_matches('.'))
        }
    );
    view! {
        <form
            class="command-form"
            class:dangerous=dangerous
            data-command=name.clone()
            novalidate
            on:submit=on_submit
        >
            <div class="command-form-head">
                <h3 class="command-name">{label.clone()}</h3>
                {dangerous.then(|| view! { <span class="danger-tag">"Dangerous"</span> })}
            </div>
            {(!spec.description.is_empty())
                .then(|| view! { <p class="command-description muted">{spec.description.clone()}</p> })}
            <div class="command-params">{inputs}</div>
            <div class="command-actions">
                <button
                    type="submit"
                    class="button"
                    class:primary=!dangerous
                    class:danger=dangerous
                    disabled=move || busy.get()
                    aria-busy=move || busy.get().to_string()
                    data-send
                >
                    {move || {
                        busy.get()
                            .then(|| view! { <span class="spinner small" aria-hidden="true"></span> })
                    }}
                    {move || if busy.get() { "Sending…" } else { "Send" }}
                </button>
                <span class="command-outcome" role="status" aria-live="polite">
                    {move || match outcome.get() {
                        Some(Ok(text)) => view! { <span class="muted">{text}</span> }.into_any(),
                        Some(Err(text)) => {
                            view! { <span class="error-text" data-send-error>{text}</span> }.into_any()
                        }
                        None => ().into_any(),
                    }}
                </span>
            </div>
            <Show when=move || confirming.get()>
                <ConfirmDialog
                    title=title.clone()
                    message=message.clone()
                    confirm_label=format!("Yes, {}", label.to_lowercase())
                    on_confirm=send
                    on_cancel=Callback::new(move |()| confirming.set(false))
                />
            </Show>
        </form>
    }
}
