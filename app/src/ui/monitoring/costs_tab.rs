use super::format::{format_per_units, format_quantity, format_usd};
use super::{CostChart, SegmentedChoice};
use crate::api::monitoring::fleet_costs;
use crate::domain::{CostPeriod, CostReport, FleetId};
use crate::ui::auth::AuthContext;
use crate::ui::clock::local_date_time;
use leptos::prelude::*;

pub fn period_label(p: CostPeriod) -> &'static str {
    match p {
        CostPeriod::Hour => "Last hour",
        CostPeriod::Day => "Last 24 h",
        CostPeriod::Month => "This month",
    }
}

fn period_phrase(p: CostPeriod) -> &'static str {
    match p {
        CostPeriod::Hour => "over the last hour",
        CostPeriod::Day => "over the last 24 hours",
        CostPeriod::Month => "this month so far (UTC)",
    }
}

/// The report itself: total, per box, projection, chart, line items and the small print.
#[component]
fn CostReportView(report: CostReport) -> impl IntoView {
    let per_box = report.per_box_usd.map(|p| {
        format!(
            "{} per box ({} box{})",
            format_usd(p),
            report.boxes,
            if report.boxes == 1 { "" } else { "es" }
        )
    });
    let projection = report.projection.clone().map(|p| {
        view! {
            <div class="cost-figure cost-projection" data-cost-projection>
                <span class="cost-label">"Projected for the month"</span>
                <span class="cost-amount">{format_usd(p.projected_usd)}</span>
                <span class="muted">
                    {format!("{} so far · {}", format_usd(p.month_to_date_usd), p.method)}
                </span>
            </div>
        }
    });
    let lines = report
        .lines
        .iter()
        .map(|l| {
            let price = if l.per_units == 1.0 {
                format!("{} each", format_usd(l.unit_price_usd))
            } else {
                format!(
                    "{} per {}",
                    format_usd(l.unit_price_usd),
                    format_per_units(l.per_units)
                )
            };
            view! {
                <tr class="monitor-row cost-line" data-cost-line=l.name.clone()>
                    <th scope="row" class="cell-name" data-label="Item">{l.name.clone()}</th>
                    <td class="num" data-label="Quantity">{format_quantity(l.quantity)}</td>
                    <td class="cell-unit" data-label="Unit">{l.unit.clone()}</td>
                    <td class="num" data-label="Price">{price}</td>
                    <td class="num cell-cost" data-label="Cost">{format_usd(l.cost_usd)}</td>
                </tr>
            }
        })
        .collect_view();
    let assumptions = report
        .assumptions
        .iter()
        .map(|a| view! { <li>{a.clone()}</li> })
        .collect_view();
    let span = format!(
        "From {} to {}",
        local_date_time(report.from),
        local_date_time(report.to)
    );
    let empty = report.lines.is_empty();
    view! {
        <div class="cost-summary card">
            <div class="cost-figure">
                <span class="cost-label">{format!("Modelled AWS cost {}", period_phrase(report.period))}</span>
                <span class="cost-amount cost-total" data-cost-total data-value=report.total_usd>
                    {format_usd(report.total_usd)}
                </span>
                <span class="muted" title=span>
                    {per_box.unwrap_or_else(|| "no box in this fleet".to_owned())}
                </span>
            </div>
            {projection}
        </div>
        <section class="card" aria-labelledby="cost-chart-title">
            <h2 id="cost-chart-title" class="section-title">
                {if report.period == CostPeriod::Month { "Cost per day" } else { "Cost per hour" }}
            </h2>
            <CostChart report=report.clone() />
        </section>
        <h2 class="section-title monitor-section">"Line items"</h2>
        {if empty {
            view! { <p class="empty">"Nothing was metered in this period."</p> }.into_any()
        } else {
            view! {
                <div class="monitor-group">
                    <table class="monitor-table cost-table">
                        <caption class="visually-hidden">"What the cost is made of"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Item"</th>
                                <th scope="col" class="num">"Quantity"</th>
                                <th scope="col">"Unit"</th>
                                <th scope="col" class="num">"Unit price"</th>
                                <th scope="col" class="num">"Cost"</th>
                            </tr>
                        </thead>
                        <tbody>{lines}</tbody>
                        <tfoot>
                            <tr class="cost-total-row">
                                <th scope="row" colspan="4">"Total"</th>
                                <td class="num cell-cost">{format_usd(report.total_usd)}</td>
                            </tr>
                        </tfoot>
                    </table>
                </div>
            }
                .into_any()
        }}
        <div class="small-print" data-cost-assumptions>
            <p>
                {format!(
                    "Modelled, not billed: {} prices as of {}, applied to the counts measured here.",
                    report.region,
                    report.prices_as_of
                )}
            </p>
            <ul>{assumptions}</ul>
        </div>
    }
}

/// The costs tab: what the fleet would cost on AWS over the period chosen.
#[component]
pub fn CostsTab(fleet: Signal<Option<FleetId>>) -> impl IntoView {
    let auth = AuthContext::expect();
    let period = RwSignal::new(CostPeriod::Day);
    let report = LocalResource::new(move || {
        let f = fleet.get();
        let p = period.get();
        async move {
            match f {
                Some(f) => fleet_costs(f, p).await.map(Some),
                None => Ok(None),
            }
        }
    });
    let periods: Vec<_> = CostPeriod::ALL
        .into_iter()
        .map(|p| (p, p.as_str(), period_label(p)))
        .collect();
    view! {
        <div class="monitor-tab" data-costs>
            <div class="monitor-toolbar">
                <SegmentedChoice
                    value=period
                    options=periods
                    label="Period"
                    attribute="data-period"
                    on_choose=Callback::new(move |p| period.set(p))
                />
                <button type="button" class="button ghost small" on:click=move |_| report.refetch()>
                    "Refresh"
                </button>
            </div>
            {move || match report.get() {
                None => {
                    view! {
                        <div class="loading inline" role="status">
                            <span class="spinner" aria-hidden="true"></span>
                            "Modelling the costs…"
                        </div>
                    }
                        .into_any()
                }
                Some(Err(e)) => {
                    view! { <p class="banner error" role="alert">{auth.message_for(&e)}</p> }
                        .into_any()
                }
                Some(Ok(None)) => view! { <p class="empty">"Choose a fleet."</p> }.into_any(),
                Some(Ok(Some(r))) => view! { <CostReportView report=r /> }.into_any(),
            }}
        </div>
    }
}
