use super::TargetChoice;
use crate::api::rollouts::start_rollout;
use crate::domain::{AbortRule, CatalogueCommand, FleetId, RolloutRequest, RolloutView};
use crate::ui::auth::AuthContext;
use crate::ui::commands::{collect_params, param_fields, ConfirmDialog, ParamField, ParamInput};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The start form: a catalogue command with its typed parameters, the target boxes, the rate and
/// the abort rule. Every rollout asks for a confirmation that says what goes where.
#[component]
pub fn RolloutForm(
    fleet: Signal<Option<FleetId>>,
    /// The commands the user's role may send.
    commands: Vec<CatalogueCommand>,
    on_started: Callback<RolloutView>,
) -> impl IntoView {
    let auth = AuthContext::expect();
    let commands = StoredValue::new(commands);
    let first = commands.with_value(|c| c.first().cloned());
    let chosen = RwSignal::new(first.map(|spec| (spec.clone(), param_fields(&spec.params))));
    let target = RwSignal::new(TargetChoice::AllBoxes);
    let names = RwSignal::new(String::new());
    let firmware = RwSignal::new(String::new());
    let rate = RwSignal::new("60".to_owned());
    let threshold = RwSignal::new("20".to_owned());
    let min_finished = RwSignal::new("5".to_owned());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let pending = RwSignal::new(None::<RolloutRequest>);

    let choose = move |name: String| {
        let spec = commands.with_value(|c| c.iter().find(|s| s.name == name).cloned());
        chosen.set(spec.map(|spec| (spec.clone(), param_fields(&spec.params))));
    };

    // The request, or what is wrong with the form.
    let build = move || -> Result<RolloutRequest, String> {
        let fleet = fleet.get_untracked().ok_or("Choose a fleet.")?;
        let (spec, fields): (CatalogueCommand, Vec<ParamField>) =
            chosen.get_untracked().ok_or("Choose a command.")?;
        let params =
            collect_params(&spec.params, &fields).ok_or("Check the command's parameters.")?;
        let rate_per_minute: u32 = rate
            .get_untracked()
            .trim()
            .parse()
            .map_err(|_| "Rate: a whole number of commands per minute.")?;
        let abort = match threshold.get_untracked().trim() {
            "" => None,
            raw => Some(AbortRule {
                threshold_percent: raw
                    .parse()
                    .map_err(|_| "Abort threshold: a percentage, e.g. 20.")?,
                min_finished: min_finished
                    .get_untracked()
                    .trim()
                    .parse()
                    .map_err(|_| "Minimum finished: a whole number, e.g. 5.")?,
            }),
        };
        let request = RolloutRequest {
            fleet,
            name: spec.name,
            params,
            target: target
                .get_untracked()
                .target(&names.get_untracked(), &firmware.get_untracked())?,
            rate_per_minute,
            abort,
            ttl_secs: None,
        };
        request.check_shape()?;
        Ok(request)
    };

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match build() {
            Ok(request) => {
                error.set(None);
                pending.set(Some(request));
            }
            Err(message) => error.set(Some(message)),
        }
    };
    let confirm = Callback::new(move |()| {
        let Some(request) = pending.get_untracked() else {
            return;
        };
        pending.set(None);
        busy.set(true);
        spawn_local(async move {
            let result = start_rollout(request).await;
            busy.try_set(false);
            match result {
                Ok(view) => on_started.run(view),
                Err(e) => {
                    error.try_set(Some(auth.message_for(&e)));
                }
            }
        });
    });
    let confirm_text = move || {
        pending.with(|p| {
            p.as_ref().map(|r| {
                let who = match (&r.target.devices, r.target.online_only) {
                    (Some(d), _) => format!("{} named boxes", d.len()),
                    (None, true) => "every online box".to_owned(),
                    (None, false) => "every box".to_owned(),
                };
                let abort = r
                    .abort
                    .map(|a| {
                        format!(
                            " It stops if more than {}% of the finished commands fail (after {}).",
                            a.threshold_percent, a.min_finished
                        )
                    })
                    .unwrap_or_else(|| " It has no abort rule.".to_owned());
                format!(
                    "{} to {who} of fleet {}, {} per minute.{abort}",
                    r.name, r.fleet, r.rate_per_minute
                )
            })
        })
    };

    let params = move || {
        chosen.get().map(|(spec, fields)| {
            spec.params
                .iter()
                .zip(fields)
                .map(|(param, (value, error))| {
                    view! {
                        <ParamInput command=format!("rollout-{}", spec.name) param=param.clone() value=value error=error />
                    }
                })
                .collect_view()
        })
    };

    view! {
        <form class="card rollout-form" novalidate on:submit=on_submit data-rollout-form>
            <h2 class="section-title">"New rollout"</h2>
            <div class="rollout-fields">
                <label>
                    <span>"Command"</span>
                    <select
                        name="command"
                        on:change=move |ev| choose(event_target_value(&ev))
                    >
                        {commands
                            .get_value()
                            .into_iter()
                            .map(|c| view! { <option value=c.name.clone()>{c.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <div class="command-params">{params}</div>
                <label>
                    <span>"Boxes"</span>
                    <select
                        name="target"
                        on:change=move |ev| target.set(TargetChoice::parse(&event_target_value(&ev)))
                    >
                        <option value="all">"Every box of the fleet"</option>
                        <option value="online">"Online boxes only"</option>
                        <option value="named">"These boxes…"</option>
                    </select>
                </label>
                <Show when=move || target.get() == TargetChoice::NamedBoxes>
                    <label class="wide">
                        <span>"Box ids (commas, spaces or lines)"</span>
                        <textarea
                            name="devices"
                            rows="2"
                            prop:value=move || names.get()
                            on:input=move |ev| names.set(event_target_value(&ev))
                        ></textarea>
                    </label>
                </Show>
                <label>
                    <span>"Only firmware (optional)"</span>
                    <input
                        type="text"
                        name="firmware"
                        placeholder="1.4.2"
                        prop:value=move || firmware.get()
                        on:input=move |ev| firmware.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    <span>"Rate (commands per minute)"</span>
                    <input
                        type="number"
                        name="rate"
                        min="1"
                        inputmode="numeric"
                        prop:value=move || rate.get()
                        on:input=move |ev| rate.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    <span>"Abort above (% failed, empty: never)"</span>
                    <input
                        type="number"
                        name="threshold"
                        min="0"
                        max="99"
                        inputmode="decimal"
                        prop:value=move || threshold.get()
                        on:input=move |ev| threshold.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    <span>"…once this many finished"</span>
                    <input
                        type="number"
                        name="min-finished"
                        min="1"
                        inputmode="numeric"
                        prop:value=move || min_finished.get()
                        on:input=move |ev| min_finished.set(event_target_value(&ev))
                    />
                </label>
            </div>
            {move || {
                error.get().map(|text| view! { <p class="banner error" role="alert" data-rollout-error>{text}</p> })
            }}
            <div class="command-actions">
                <button
                    type="submit"
                    class="button primary"
                    disabled=move || busy.get() || fleet.get().is_none()
                    data-rollout-start
                >
                    {move || if busy.get() { "Starting…" } else { "Start rollout" }}
                </button>
            </div>
            <Show when=move || pending.with(Option::is_some)>
                <ConfirmDialog
                    title="Start this rollout?".to_owned()
                    message=confirm_text().unwrap_or_default()
                    confirm_label="Yes, start".to_owned()
                    on_confirm=confirm
                    on_cancel=Callback::new(move |()| pending.set(None))
                />
            </Show>
        </form>
    }
}
