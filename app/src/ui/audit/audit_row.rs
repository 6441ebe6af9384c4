use crate::domain::AuditEntry;
use crate::ui::clock::{local_date_time, relative_age, Clock};
use crate::ui::commands::CommandStateBadge;
use leptos::prelude::*;

/// One line of the audit: when, fleet, box, command and parameters, issuer, state, when it ended
/// and the box's answer or the reason. A table row on desktop, a card on a phone (CSS).
#[component]
pub fn AuditRow(entry: AuditEntry) -> impl IntoView {
    let clock = Clock::expect();
    let c = entry.command;
    let issued_at = c.issued_at;
    let changed_at = c.changed_at();
    let final_state = c.state.is_final();
    let params = c.params_text();
    let issuer = c.issuer_name().to_owned();
    let detail = c.detail().map(str::to_owned).unwrap_or_default();
    let device = c.device.to_string();
    let href = format!("/devices/{device}");
    view! {
        <tr
            class="audit-row"
            data-audit-row
            data-command-id=c.id.clone()
            data-state=c.state.as_str()
            data-command-name=c.name.clone()
        >
            <td class="audit-cell-when" data-label="Sent">
                <time title=local_date_time(issued_at) data-ts=issued_at>
                    {move || relative_age(clock.now.get(), issued_at)}
                </time>
            </td>
            <td class="audit-cell-fleet" data-label="Fleet">
                {entry.fleet.to_string()}
            </td>
            <th scope="row" class="audit-cell-box" data-label="Box">
                <a href=href class="device-link">{device}</a>
            </th>
            <td class="audit-cell-command" data-label="Command">
                <span class="mono">{c.name.clone()}</span>
                {(!params.is_empty())
                    .then(|| view! { <span class="audit-params mono">{params}</span> })}
            </td>
            <td class="audit-cell-issuer" data-label="By">
                {issuer}
            </td>
            <td class="audit-cell-state" data-label="State">
                <CommandStateBadge state=c.state />
            </td>
            <td class="audit-cell-ended" data-label="Ended">
                {if final_state {
                    view! {
                        <time title=local_date_time(changed_at)>
                            {move || relative_age(clock.now.get(), changed_at)}
                        </time>
                    }
                        .into_any()
                } else {
                    view! { <span class="muted">"—"</span> }.into_any()
                }}
            </td>
            <td class="audit-cell-detail" data-label="Detail">
                {detail}
            </td>
        </tr>
    }
}
