use super::rule_json::member_text;
use super::{AlertItem, RuleDraft, RuleForm, RuleRow};
use crate::api::monitoring::{delete_alert_rule, list_alerts, save_alert_rule};
use crate::domain::{AlertView, AlertsOverview, FleetId, RuleKindSpec};
use crate::ui::auth::AuthContext;
use crate::ui::commands::ConfirmDialog;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;
use std::time::Duration;

/// Refresh of the alerts tab while it is open.
const POLL: Duration = Duration::from_secs(10);

fn kind_label(kinds: &[RuleKindSpec], kind: &str) -> String {
    kinds
        .iter()
        .find(|k| k.kind == kind)
        .map_or_else(|| kind.replace('_', " "), |k| k.label.clone())
}

/// A list of alerts, or its empty state.
#[component]
fn AlertList(
    alerts: Signal<Vec<AlertView>>,
    kinds: Memo<Vec<RuleKindSpec>>,
    empty: &'static str,
    #[prop(optional)] empty_attr: Option<&'static str>,
) -> impl IntoView {
    move || {
        let list = alerts.get();
        if list.is_empty() {
            let view = view! { <p class="empty">{empty}</p> };
            return match empty_attr {
                Some(attr) => view.attr(attr, "").into_any(),
                None => view.into_any(),
            };
        }
        let all = kinds.get();
        view! {
            <ul class="alert-list">
                {list
                    .into_iter()
                    .map(|a| {
                        let label = kind_label(&all, &a.kind);
                        view! { <AlertItem alert=a kind_label=label /> }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any()
    }
}

/// The alerts tab: what is firing, what resolved recently, and the rules (admins edit them).
#[component]
pub fn AlertsTab(
    fleet: Signal<Option<FleetId>>,
    metrics: Signal<Vec<String>>,
    may_edit: bool,
) -> impl IntoView {
    let auth = AuthContext::expect();
    let overview = RwSignal::new(None::<AlertsOverview>);
    let error = RwSignal::new(None::<String>);
    let rule_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let pending_delete = RwSignal::new(None::<String>);
    let draft = RuleDraft::new();
    let form_ref = NodeRef::<leptos::html::Div>::new();

    let refresh = Callback::new(move |()| {
        let Some(Some(f)) = fleet.try_get_untracked() else {
            return;
        };
        spawn_local(async move {
            let result = list_alerts(Some(f.clone())).await;
            if fleet.try_get_untracked().flatten().as_ref() != Some(&f) {
                return;
            }
            match result {
                Ok(o) => {
                    overview.try_set(Some(o));
                    error.try_set(None);
                }
                Err(e) => {
                    error.try_set(Some(auth.message_for(&e)));
                }
            }
        });
    });
    Effect::new(move |_| {
        fleet.track();
        overview.set(None);
        error.set(None);
        refresh.run(());
    });
    if let Ok(handle) = set_interval_with_handle(move || refresh.run(()), POLL) {
        on_cleanup(move || handle.clear());
    }

    // Only a change of the kinds (not every refresh) rebuilds the form.
    let kinds = Memo::new(move |_| {
        overview.with(|o| o.as_ref().map(|o| o.kinds.clone()).unwrap_or_default())
    });
    let active = Signal::derive(move || {
        overview.with(|o| o.as_ref().map(|o| o.active.clone()).unwrap_or_default())
    });
    let recent = Signal::derive(move || {
        overview.with(|o| o.as_ref().map(|o| o.recent.clone()).unwrap_or_default())
    });
    let rules = move || overview.with(|o| o.as_ref().map(|o| o.rules.clone()).unwrap_or_default());
    let loaded = move || overview.with(Option::is_some);

    let on_save = Callback::new(move |rule: Value| {
        busy.set(true);
        spawn_local(async move {
            let result = save_alert_rule(rule).await;
            busy.try_set(false);
            match result {
                Ok(_) => {
                    rule_error.try_set(None);
                }
                Err(e) => {
                    rule_error.try_set(Some(auth.message_for(&e)));
                }
            }
            refresh.run(());
        });
    });
    let on_edit = Callback::new(move |rule: Value| {
        let kind = member_text(&rule, "kind");
        if let Some(spec) = kinds.with_untracked(|k| k.iter().find(|s| s.kind == kind).cloned()) {
            draft.load(&rule, &spec);
            if let Some(form) = form_ref.get_untracked() {
                form.scroll_into_view();
            }
        }
    });
    let on_delete = Callback::new(move |id: String| pending_delete.set(Some(id)));
    let confirm_delete = Callback::new(move |()| {
        let Some(id) = pending_delete.get_untracked() else {
            return;
        };
        pending_delete.set(None);
        busy.set(true);
        spawn_local(async move {
            let result = delete_alert_rule(id).await;
            busy.try_set(false);
            match result {
                Ok(()) => {
                    rule_error.try_set(None);
                }
                Err(e) => {
                    rule_error.try_set(Some(auth.message_for(&e)));
                }
            }
            refresh.run(());
        });
    });

    let count = move |list: Signal<Vec<AlertView>>| {
        let n = list.with(Vec::len);
        (n > 0).then(|| view! { <span class="count-badge">{n}</span> })
    };

    view! {
        <div class="monitor-tab" data-alerts>
            {move || {
                error.get().map(|text| view! { <p class="banner error" role="alert">{text}</p> })
            }}
            <Show
                when=loaded
                fallback=move || {
                    error
                        .with(Option::is_none)
                        .then(|| {
                            view! {
                                <div class="loading inline" role="status">
                                    <span class="spinner" aria-hidden="true"></span>
                                    "Loading the alerts…"
                                </div>
                            }
                        })
                }
            >
                <section class="alerts-section" aria-labelledby="active-title" data-active-alerts>
                    <h2 id="active-title" class="section-title">"Firing now " {move || count(active)}</h2>
                    <AlertList
                        alerts=active
                        kinds=kinds
                        empty="No alert is firing."
                        empty_attr="data-alerts-empty"
                    />
                </section>
                <section class="alerts-section" aria-labelledby="recent-title" data-recent-alerts>
                    <h2 id="recent-title" class="section-title">"Recently resolved"</h2>
                    <AlertList alerts=recent kinds=kinds empty="Nothing resolved recently." />
                </section>
                <section class="alerts-section" aria-labelledby="rules-title" data-rules>
                    <h2 id="rules-title" class="section-title">"Rules"</h2>
                    {(!may_edit)
                        .then(|| view! { <p class="muted">"Only admins change the rules."</p> })}
                    {move || {
                        rule_error
                            .get()
                            .map(|text| view! { <p class="banner error" role="alert" data-rule-list-error>{text}</p> })
                    }}
                    {move || {
                        rules()
                            .is_empty()
                            .then(|| view! { <p class="empty" data-rules-empty>"No rule for this fleet yet."</p> })
                    }}
                    <ul class="rule-list">
                        <For
                            each=rules
                            key=|rule| rule.to_string()
                            let:rule
                        >
                            {
                                let kind = member_text(&rule, "kind");
                                let spec = kinds.with_untracked(|k| k.iter().find(|s| s.kind == kind).cloned());
                                view! {
                                    <RuleRow
                                        rule=rule
                                        spec=spec
                                        may_edit=may_edit
                                        busy=busy
                                        on_save=on_save
                                        on_edit=on_edit
                                        on_delete=on_delete
                                    />
                                }
                            }
                        </For>
                    </ul>
                    {may_edit
                        .then(|| {
                            view! {
                                <div node_ref=form_ref>
                                    {move || {
                                        let all = kinds.get();
                                        if all.is_empty() {
                                            None
                                        } else {
                                            Some(view! {
                                                <RuleForm
                                                    kinds=all
                                                    draft=draft
                                                    fleet=fleet
                                                    metrics=metrics
                                                    on_saved=Callback::new(move |()| refresh.run(()))
                                                />
                                            })
                                        }
                                    }}
                                </div>
                            }
                        })}
                </section>
            </Show>
            <Show when=move || pending_delete.with(Option::is_some)>
                <ConfirmDialog
                    title="Delete this rule?".to_owned()
                    message=format!(
                        "Rule {} stops being evaluated, and the alerts it is firing resolve.",
                        pending_delete.get_untracked().unwrap_or_default()
                    )
                    confirm_label="Yes, delete".to_owned()
                    on_confirm=confirm_delete
                    on_cancel=Callback::new(move |()| pending_delete.set(None))
                />
            </Show>
        </div>
    }
}
