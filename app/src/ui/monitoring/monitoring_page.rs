use super::{AlertsTab, CostsTab, MonitoringTab, PipelineTab, SegmentedChoice};
use crate::api::devices::list_devices;
use crate::domain::{FleetId, MetricValue, Role};
use crate::ui::auth::AuthContext;
use crate::ui::fleet::FleetPicker;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

/// `/monitoring` (support and admin): the message pipeline's health, what the fleet would cost
/// on AWS, and the alerts, one tab each (`?tab=pipeline|costs|alerts`), for the fleet chosen.
#[component]
pub fn MonitoringPage() -> impl IntoView {
    let auth = AuthContext::expect();
    let role = Memo::new(move |_| auth.session().map_or(Role::Viewer, |s| s.role));
    let query = use_query_map();
    let navigate = use_navigate();
    let tab = Memo::new(move |_| query.with(|q| MonitoringTab::parse(q.get_str("tab"))));
    let choose_tab = Callback::new(move |next: MonitoringTab| {
        navigate(
            &format!("/monitoring?tab={}", next.as_str()),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    });

    let fleets = RwSignal::new(Vec::<FleetId>::new());
    let fleet = RwSignal::new(None::<FleetId>);
    let metrics = RwSignal::new(Vec::<String>::new());
    let error = RwSignal::new(None::<String>);
    let loaded = RwSignal::new(false);

    // The fleets come from the boxes the user may see; their numeric metrics feed the rule
    // editor's suggestions.
    spawn_local(async move {
        match list_devices().await {
            Ok(devices) => {
                let mut ids: Vec<FleetId> = devices.iter().map(|d| d.fleet.clone()).collect();
                ids.sort();
                ids.dedup();
                let mut names: Vec<String> = devices
                    .iter()
                    .flat_map(|d| d.latest.iter())
                    .filter(|(_, v)| matches!(v, MetricValue::Number(_)))
                    .map(|(k, _)| k.clone())
                    .collect();
                names.sort();
                names.dedup();
                fleet.try_set(ids.first().cloned());
                fleets.try_set(ids);
                metrics.try_set(names);
            }
            Err(e) => {
                error.try_set(Some(auth.message_for(&e)));
            }
        }
        loaded.try_set(true);
    });

    let fleet_signal = Signal::derive(move || fleet.get());
    let allowed = move || role.get() >= Role::Support;
    let body = move || {
        if !allowed() {
            return view! {
                <p class="empty" data-monitoring-denied>
                    "Monitoring is for support and admin accounts."
                </p>
            }
            .into_any();
        }
        if loaded.get() && fleets.with(Vec::is_empty) && error.with(Option::is_none) {
            return view! { <p class="empty">"No fleet to monitor yet: no box is registered."</p> }
                .into_any();
        }
        match tab.get() {
            MonitoringTab::Pipeline => view! { <PipelineTab fleet=fleet_signal /> }.into_any(),
            MonitoringTab::Costs => view! { <CostsTab fleet=fleet_signal /> }.into_any(),
            MonitoringTab::Alerts => view! {
                <AlertsTab
                    fleet=fleet_signal
                    metrics=Signal::derive(move || metrics.get())
                    may_edit={ role.get_untracked() >= Role::Admin }
                />
            }
            .into_any(),
        }
    };
    let tabs: Vec<_> = MonitoringTab::ALL
        .into_iter()
        .map(|t| (t, t.as_str(), t.label()))
        .collect();

    view! {
        <section
            class="page monitoring-page"
            aria-labelledby="monitoring-title"
            data-monitoring
            data-active-tab=move || tab.get().as_str()
        >
            <header class="page-header">
                <div>
                    <h1 id="monitoring-title">"Monitoring"</h1>
                    <p class="page-sub">
                        "What the pipeline loses, what the fleet costs, and what is alerting."
                    </p>
                </div>
                <FleetPicker fleets=fleets fleet=fleet />
            </header>
            <Show when=allowed>
                <nav class="monitor-tabs" aria-label="Monitoring views">
                    <SegmentedChoice
                        value=tab
                        options=tabs.clone()
                        label="Monitoring view"
                        attribute="data-tab"
                        on_choose=choose_tab
                    />
                </nav>
            </Show>
            {move || {
                error.get().map(|text| view! { <p class="banner error" role="alert">{text}</p> })
            }}
            <Show
                when=move || loaded.get() || !allowed()
                fallback=|| {
                    view! {
                        <div class="loading inline" role="status">
                            <span class="spinner" aria-hidden="true"></span>
                            "Loading the fleets…"
                        </div>
                    }
                }
            >
                {body}
            </Show>
        </section>
    }
}
