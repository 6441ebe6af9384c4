use super::metric_format::format_value;
use crate::domain::MetricValue;
use leptos::prelude::*;
use std::collections::BTreeMap;

/// Every latest value of a box, as a grid of name / value tiles.
#[component]
pub fn LatestValues(#[prop(into)] values: Signal<BTreeMap<String, MetricValue>>) -> impl IntoView {
    let entries = move || {
        values.with(|v| {
            v.iter()
                .map(|(name, value)| (name.clone(), format_value(name, value)))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <Show
            when=move || values.with(|v| !v.is_empty())
            fallback=|| view! { <p class="muted">"No readings yet."</p> }
        >
            <dl class="metric-grid">
                <For
                    each=entries
                    key=|(name, value)| (name.clone(), value.clone())
                    children=|(name, value)| {
                        let metric = name.clone();
                        view! {
                            <div class="metric-tile" data-metric=metric>
                                <dt>{name}</dt>
                                <dd>{value}</dd>
                            </div>
                        }
                    }
                />
            </dl>
        </Show>
    }
}
