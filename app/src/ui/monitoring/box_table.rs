use super::format::{format_count, format_signed};
use crate::domain::BoxHealth;
use leptos::prelude::*;

/// One box's line: a table row on wide screens, a card on phones (CSS).
#[component]
fn BoxRow(line: BoxHealth) -> impl IntoView {
    let c = &line.counts;
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
            <td class="num cell-lost" data-label="Lost">{format_signed(c.lost)}</td>
            <td class="num" data-label="Duplicates">{format_count(c.duplicates)}</td>
            <td class="num" data-label="Rejected">{format_count(rejected)}</td>
        </tr>
    }
}

/// The boxes of the window with something wrong, most lost first (the server ranks them). Only
/// their exact counts are shown: a box's clean minutes are counted with the fleet's (the totals
/// above), so its received and accepted counts here would cover only the minutes that went wrong.
#[component]
pub fn BoxTable(boxes: Vec<BoxHealth>) -> impl IntoView {
    view! {
        <p class="table-note">
            "Boxes with lost, duplicate or rejected messages in this window, most lost first."
        </p>
        <div class="monitor-group">
            <table class="monitor-table box-table">
                <caption class="visually-hidden">"Boxes with problems, ranked by lost messages"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Box"</th>
                        <th scope="col" class="num">"Lost"</th>
                        <th scope="col" class="num">"Duplicates"</th>
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
