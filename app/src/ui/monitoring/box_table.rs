use super::format::{format_count, format_percent, format_signed};
use crate::domain::BoxHealth;
use leptos::prelude::*;

/// One box's line: a table row on wide screens, a card on phones (CSS).
#[component]
fn BoxRow(line: BoxHealth) -> impl IntoView {
    let c = &line.counts;
    let percent = c.loss_percent();
    let rejected = c.rejected_total();
    let name = if line.device == "-" {
        view! { <span class="muted">"unknown box"</span> }.into_any()
    } else {
        let href = format!("/devices/{}", line.device);
        view! { <a href=href class="device-link">{line.device.clone()}</a> }.into_any()
    };
    view! {
        <tr
            class="monitor-row box-row"
            class:lossy={c.lost > 0}
            data-box-row
            data-device=line.device.clone()
            data-lost=c.lost
        >
            <th scope="row" class="cell-name" data-label="Box">{name}</th>
            <td class="num" data-label="Received">{format_count(c.received)}</td>
            <td class="num" data-label="Accepted">{format_count(c.accepted)}</td>
            <td class="num cell-lost" data-label="Lost">{format_signed(c.lost)}</td>
            <td class="num cell-lost" data-label="Loss">{format_percent(percent)}</td>
            <td class="num" data-label="Rejected">{format_count(rejected)}</td>
        </tr>
    }
}

/// The boxes of the window with something wrong, most lost first (the server ranks them); their
/// counts cover the minutes where it happened.
#[component]
pub fn BoxTable(boxes: Vec<BoxHealth>) -> impl IntoView {
    view! {
        <div class="monitor-group">
            <table class="monitor-table box-table">
                <caption class="table-note">
                    "Boxes with lost, duplicate or rejected messages, most lost first; counts over the minutes where it happened."
                </caption>
                <thead>
                    <tr>
                        <th scope="col">"Box"</th>
                        <th scope="col" class="num">"Received"</th>
                        <th scope="col" class="num">"Accepted"</th>
                        <th scope="col" class="num">"Lost"</th>
                        <th scope="col" class="num">"Loss"</th>
                        <th scope="col" class="num">"Rejected"</th>
                    </tr>
                </thead>
                <tbody>
                    {boxes.into_iter().map(|line| view! { <BoxRow line=line /> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
