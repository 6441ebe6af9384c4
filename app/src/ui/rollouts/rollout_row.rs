use crate::domain::{params_text, CommandState, RolloutStatus, RolloutView};
use crate::ui::clock::{local_date_time, relative_age, Clock};
use leptos::prelude::*;

/// States shown as counts under the progress bar, in lifecycle order.
const SHOWN: [CommandState; 8] = [
    CommandState::Succeeded,
    CommandState::Failed,
    CommandState::Rejected,
    CommandState::TimedOut,
    CommandState::Expired,
    CommandState::Cancelled,
    CommandState::Sent,
    CommandState::Created,
];

/// One rollout: command, target size, status, a progress bar with the count of each state, and
/// Cancel while it runs (operators).
#[component]
pub fn RolloutRow(
    rollout: RolloutView,
    may_cancel: bool,
    on_cancel: Callback<String>,
    busy: Signal<bool>,
) -> impl IntoView {
    let clock = Clock::expect();
    let p = &rollout.progress;
    let percent = p.percent_done();
    let succeeded = p.count(CommandState::Succeeded) as f64 * 100.0 / p.targets.max(1) as f64;
    let failed = p.failures() as f64 * 100.0 / p.targets.max(1) as f64;
    let sent = (p.count(CommandState::Sent) + p.count(CommandState::Accepted)) as f64 * 100.0
        / p.targets.max(1) as f64;
    let counts = SHOWN
        .iter()
        .chain(std::iter::once(&CommandState::Accepted))
        .filter_map(|s| {
            let n = p.count(*s);
            (n > 0).then(|| {
                view! {
                    <span class=format!("rollout-count cmd-state-{}", s.as_str()) data-count=s.as_str()>
                        {format!("{n} {}", s.label().to_lowercase())}
                    </span>
                }
            })
        })
        .collect_view();
    let params = params_text(&rollout.params);
    let running = rollout.status == RolloutStatus::Running;
    let id = rollout.id.clone();
    let created_at = rollout.created_at;
    let summary = format!(
        "{} of {} boxes done · {} sent · {}/min",
        p.finished(),
        p.targets,
        p.issued,
        rollout.rate_per_minute
    );
    view! {
        <li class="rollout-row" data-rollout-id=rollout.id.clone() data-status=rollout.status.as_str()>
            <div class="rollout-head">
                <span class="mono rollout-name">{rollout.name.clone()}</span>
                {(!params.is_empty()).then(|| view! { <span class="mono muted">{params}</span> })}
                <span class=format!("rollout-status rollout-status-{}", rollout.status.as_str())>
                    {rollout.status.as_str()}
                </span>
            </div>
            <div
                class="rollout-bar"
                role="progressbar"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=format!("{percent:.0}")
                aria-label=format!("{percent:.0}% of the boxes finished")
            >
                <span class="bar-ok" style=format!("width:{succeeded:.2}%")></span>
                <span class="bar-failed" style=format!("width:{failed:.2}%")></span>
                <span class="bar-sent" style=format!("width:{sent:.2}%")></span>
            </div>
            <p class="rollout-summary" data-rollout-summary>{summary}</p>
            <div class="rollout-counts">{counts}</div>
            {rollout
                .status_detail
                .clone()
                .map(|d| view! { <p class="rollout-detail" data-rollout-detail>{d}</p> })}
            <div class="rollout-meta muted">
                <span>"by " {rollout.issuer.trim_start_matches("user:").to_owned()}</span>
                <span aria-hidden="true">" · "</span>
                <time title=local_date_time(created_at)>
                    "started " {move || relative_age(clock.now.get(), created_at)}
                </time>
                {(running && may_cancel)
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="button ghost small danger-text"
                                disabled=move || busy.get()
                                data-rollout-cancel
                                on:click=move |_| on_cancel.run(id.clone())
                            >
                                "Cancel"
                            </button>
                        }
                    })}
            </div>
        </li>
    }
}
