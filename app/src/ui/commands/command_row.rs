use super::CommandStateBadge;
use crate::domain::CommandView;
use crate::ui::clock::{local_date_time, relative_age, Clock};
use leptos::prelude::*;

/// One command of the box: name and parameters, state, issuer, when, and the detail or reason.
#[component]
pub fn CommandRow(command: CommandView) -> impl IntoView {
    let clock = Clock::expect();
    let issued_at = command.issued_at;
    let changed_at = command.changed_at();
    let params = command.params_text();
    let issuer = command.issuer_name().to_owned();
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
