use super::CommandStateBadge;
use crate::domain::CommandView;
use crate::ui::clock::{local_date_time, relative_age, Clock};
use leptos::prelude::*;

/// `value: 19.5, mode: "eco"`.
fn params_text(params: &serde_json::Value) -> String {
    match params {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One command of the box: name and parameters, state, issuer, when, and the detail or reason.
#[component]
pub fn CommandRow(command: CommandView) -> impl IntoView {
    let clock = Clock::expect();
    let issued_at = command.issued_at;
    let changed_at = command.changed_at();
    let params = params_text(&command.params);
    let issuer = command
        .issuer
        .strip_prefix("user:")
        .unwrap_or(&command.issuer)
        .to_owned();
    let detail = command.detail().map(str::to_owned);
    let final_state = command.state.is_final();
    view! {
        <li
            class="command-row"
            data-command-id=command.id.clone()
            data-state=command.state.as_str()
            data-command-name=command.name.clone()
        >
            <div class="command-row-main">
                <span class="command-row-name mono">{command.name.clone()}</span>
                {(!params.is_empty()).then(|| view! { <span class="command-row-params mono">{params}</span> })}
            </div>
            <CommandStateBadge state=command.state />
            <div class="command-row-meta muted">
                <span>"by " {issuer}</span>
                <span aria-hidden="true">" · "</span>
                <time title=local_date_time(issued_at) data-ts=issued_at>
                    "sent " {move || relative_age(clock.now.get(), issued_at)}
                </time>
                {final_state
                    .then(|| {
                        view! {
                            <span aria-hidden="true">" · "</span>
                            <time title=local_date_time(changed_at)>
                                "ended " {move || relative_age(clock.now.get(), changed_at)}
                            </time>
                        }
                    })}
            </div>
            {detail.map(|d| view! { <p class="command-row-detail" data-detail>{d}</p> })}
        </li>
    }
}
