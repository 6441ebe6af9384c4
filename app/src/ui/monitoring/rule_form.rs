use super::rule_json::{
    build_rule, default_texts, is_enabled, member_text, rule_texts, FieldTexts,
};
use crate::api::monitoring::save_alert_rule;
use crate::domain::{FleetId, RuleFieldSpec, RuleKindSpec};
use crate::ui::auth::AuthContext;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

/// What the rule form holds, outside the form so that a rule's Edit button can fill it.
#[derive(Clone, Copy)]
pub struct RuleDraft {
    pub id: RwSignal<String>,
    pub kind: RwSignal<String>,
    pub texts: RwSignal<FieldTexts>,
    pub enabled: RwSignal<bool>,
}

impl RuleDraft {
    pub fn new() -> Self {
        Self {
            id: RwSignal::new(String::new()),
            kind: RwSignal::new(String::new()),
            texts: RwSignal::new(FieldTexts::new()),
            enabled: RwSignal::new(true),
        }
    }

    /// A new kind starts from its defaults.
    pub fn choose_kind(&self, spec: &RuleKindSpec) {
        self.texts.set(default_texts(spec));
        self.kind.set(spec.kind.clone());
    }

    /// Fills the form with a saved rule, to change it (same id: the save replaces it).
    pub fn load(&self, rule: &Value, spec: &RuleKindSpec) {
        self.id.set(member_text(rule, "id"));
        self.enabled.set(is_enabled(rule));
        self.texts.set(rule_texts(rule, spec));
        self.kind.set(spec.kind.clone());
    }
}

impl Default for RuleDraft {
    fn default() -> Self {
        Self::new()
    }
}

/// One field of a rule kind: a number input (with its unit and bounds) or a metric name with
/// the fleet's metrics as suggestions.
#[component]
fn RuleFieldInput(field: RuleFieldSpec, texts: RwSignal<FieldTexts>) -> impl IntoView {
    let name = field.name.clone();
    let value = {
        let name = name.clone();
        move || texts.with(|t| t.get(&name).cloned().unwrap_or_default())
    };
    let set = {
        let name = name.clone();
        move |ev| {
            let text = event_target_value(&ev);
            texts.update(|t| {
                t.insert(name.clone(), text);
            });
        }
    };
    let heading = match &field.unit {
        Some(unit) if !unit.is_empty() => format!("{} ({unit})", field.name),
        _ => field.name.clone(),
    };
    let input = if field.kind == "metric" {
        view! {
            <input
                type="text"
                name=name.clone()
                list="rule-metrics"
                autocomplete="off"
                spellcheck="false"
                placeholder="temp_c"
                prop:value=value
                on:input=set
            />
        }
        .into_any()
    } else {
        let integer = field.kind == "integer";
        view! {
            <input
                type="number"
                name=name.clone()
                step=if integer { "1" } else { "any" }
                min=field.min.map(|m| m.to_string())
                max=field.max.map(|m| m.to_string())
                inputmode=if integer { "numeric" } else { "decimal" }
                prop:value=value
                on:input=set
            />
        }
        .into_any()
    };
    view! {
        <label class="rule-field" data-rule-field=name>
            <span class="rule-field-name">{heading}</span>
            {input}
            {(!field.description.is_empty())
                .then(|| view! { <span class="param-hint">{field.description.clone()}</span> })}
        </label>
    }
}

/// Adds a rule, or replaces the rule of the same id, from the kinds the server offers. The
/// server checks thresholds and metric names; its message is shown under the form.
#[component]
pub fn RuleForm(
    kinds: Vec<RuleKindSpec>,
    draft: RuleDraft,
    fleet: Signal<Option<FleetId>>,
    metrics: Signal<Vec<String>>,
    on_saved: Callback<()>,
) -> impl IntoView {
    let auth = AuthContext::expect();
    let kinds = StoredValue::new(kinds);
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    // Start on the first kind when nothing (or a kind no longer offered) is chosen.
    let known = kinds.with_value(|k| {
        draft
            .kind
            .with_untracked(|chosen| k.iter().any(|s| &s.kind == chosen))
    });
    if !known {
        if let Some(first) = kinds.with_value(|k| k.first().cloned()) {
            draft.choose_kind(&first);
        }
    }
    let spec = Memo::new(move |_| {
        let chosen = draft.kind.get();
        kinds.with_value(|k| k.iter().find(|s| s.kind == chosen).cloned())
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(None);
        let Some(spec) = spec.get_untracked() else {
            error.set(Some("Choose a kind of rule.".into()));
            return;
        };
        let Some(f) = fleet.get_untracked() else {
            error.set(Some("Choose a fleet.".into()));
            return;
        };
        let rule = match build_rule(
            &draft.id.get_untracked(),
            f.as_str(),
            draft.enabled.get_untracked(),
            &spec,
            &draft.texts.get_untracked(),
        ) {
            Ok(rule) => rule,
            Err(message) => {
                error.set(Some(message));
                return;
            }
        };
        let id = member_text(&rule, "id");
        error.set(None);
        busy.set(true);
        spawn_local(async move {
            let result = save_alert_rule(rule).await;
            busy.try_set(false);
            match result {
                Ok(_) => {
                    saved.try_set(Some(format!("Rule {id} saved.")));
                    draft.id.try_set(String::new());
                    on_saved.run(());
                }
                Err(e) => {
                    error.try_set(Some(auth.message_for(&e)));
                }
            }
        });
    };

    let description = move || spec.get().map(|s| s.description).unwrap_or_default();
    let fields = move || {
        spec.get().map(|s| {
            s.fields
                .into_iter()
                .map(|field| view! { <RuleFieldInput field=field texts=draft.texts /> })
                .collect_view()
        })
    };

    view! {
        <form class="card rule-form" novalidate on:submit=on_submit data-rule-form>
            <h3 class="section-title">"Add or replace a rule"</h3>
            <div class="rule-fields">
                <label class="rule-field">
                    <span class="rule-field-name">"Rule id"</span>
                    <input
                        type="text"
                        name="rule-id"
                        placeholder="high-loss"
                        autocomplete="off"
                        spellcheck="false"
                        prop:value=move || draft.id.get()
                        on:input=move |ev| draft.id.set(event_target_value(&ev))
                    />
                    <span class="param-hint">"A rule with the same id is replaced."</span>
                </label>
                <label class="rule-field">
                    <span class="rule-field-name">"Kind"</span>
                    <select
                        name="rule-kind"
                        prop:value=move || draft.kind.get()
                        on:change=move |ev| {
                            let chosen = event_target_value(&ev);
                            if let Some(s) = kinds.with_value(|k| k.iter().find(|s| s.kind == chosen).cloned()) {
                                draft.choose_kind(&s);
                            }
                        }
                    >
                        {kinds
                            .get_value()
                            .into_iter()
                            .map(|k| view! { <option value=k.kind.clone()>{k.label.clone()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <p class="rule-description muted">{description}</p>
                {fields}
                <label class="rule-check">
                    <input
                        type="checkbox"
                        name="rule-enabled"
                        prop:checked=move || draft.enabled.get()
                        on:change=move |ev| draft.enabled.set(event_target_checked(&ev))
                    />
                    <span>"Enabled"</span>
                </label>
            </div>
            <datalist id="rule-metrics">
                {move || {
                    metrics
                        .get()
                        .into_iter()
                        .map(|m| view! { <option value=m></option> })
                        .collect_view()
                }}
            </datalist>
            {move || {
                error
                    .get()
                    .map(|text| view! { <p class="banner error" role="alert" data-rule-error>{text}</p> })
            }}
            {move || {
                saved.get().map(|text| view! { <p class="form-saved" role="status" data-rule-saved>{text}</p> })
            }}
            <div class="command-actions">
                <button
                    type="submit"
                    class="button primary"
                    disabled=move || busy.get() || fleet.get().is_none()
                    data-rule-save
                >
                    {move || if busy.get() { "Saving…" } else { "Save rule" }}
                </button>
            </div>
        </form>
    }
}
