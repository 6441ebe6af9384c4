use super::format::format_quantity;
use crate::domain::AlertView;
use crate::ui::clock::{local_date_time, relative_age, Clock};
use leptos::prelude::*;

/// Why an alert resolved, in words.
pub fn resolved_because(raw: &str) -> String {
    match raw {
        "condition_ended" => "the condition ended".into(),
        "rule_disabled" => "its rule was disabled".into(),
        "rule_deleted" => "its rule was deleted".into(),
        other => other.replace('_', " "),
    }
}

/// An alert, firing or resolved: its rule's kind, the subject, since when, the last value and
/// how each notification channel fared.
#[component]
pub fn AlertItem(alert: AlertView, kind_label: String) -> impl IntoView {
    let clock = Clock::expect();
    let since = alert.since;
    let fired_at = alert.fired_at;
    let state = if alert.resolved_at.is_some() {
        "resolved"
    } else {
        "active"
    };
    let when = match alert.resolved_at {
        None => view! {
            <span>
                "since "
                <time title=local_date_time(since)>{move || relative_age(clock.now.get(), since)}</time>
            </span>
        }
        .into_any(),
        Some(at) => {
            let why = alert
                .resolved_because
                .as_deref()
                .map(|b| format!(", {}", resolved_because(b)))
                .unwrap_or_default();
            view! {
                <span>
                    "fired "
                    <time title=local_date_time(fired_at)>
                        {move || relative_age(clock.now.get(), fired_at)}
                    </time>
                    " · resolved "
                    <time title=local_date_time(at)>{move || relative_age(clock.now.get(), at)}</time>
                    <span data-resolved-because>{why}</span>
                </span>
            }
            .into_any()
        }
    };
    let value = alert
        .last_value
        .map(|v| view! { <span>" · last value " <strong>{format_quantity(v)}</strong></span> });
    let deliveries = alert
        .deliveries
        .iter()
        .map(|d| {
            let attempts = (d.attempts > 1).then(|| format!(" after {} attempts", d.attempts));
            let detail = d.detail.clone().map(|t| format!(": {t}"));
            view! {
                <li class=format!("tag delivery delivery-{}", d.status) data-channel=d.channel.clone() data-status=d.status.clone()>
                    {format!("{} {}", d.channel.replace('_', "-"), d.status)}
                    {attempts}
                    {detail}
                </li>
            }
        })
        .collect_view();
    view! {
        <li
            class=format!("alert-item alert-{state}")
            data-alert
            data-state=state
            data-rule-id=alert.rule_id.clone()
            data-kind=alert.kind.clone()
        >
            <div class="alert-head">
                <span class="alert-kind">{kind_label}</span>
                <span class="alert-subject">"on " <strong>{alert.subject.clone()}</strong></span>
                <span class="tag mono">{alert.rule_id.clone()}</span>
            </div>
            <p class="alert-meta muted">{when} {value}</p>
            {(!alert.deliveries.is_empty())
                .then(|| {
                    view! {
                        <ul class="delivery-list" aria-label="Notifications">
                            {deliveries}
                        </ul>
                    }
                })}
        </li>
    }
}
