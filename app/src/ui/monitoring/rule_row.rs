use super::rule_json::{is_enabled, member_text, rule_summary, with_enabled};
use crate::domain::RuleKindSpec;
use leptos::prelude::*;
use serde_json::Value;

/// A saved rule: id, kind, thresholds, and (for admins) the enabled switch, edit and delete.
#[component]
pub fn RuleRow(
    rule: Value,
    spec: Option<RuleKindSpec>,
    may_edit: bool,
    #[prop(into)] busy: Signal<bool>,
    on_save: Callback<Value>,
    on_edit: Callback<Value>,
    on_delete: Callback<String>,
) -> impl IntoView {
    let id = member_text(&rule, "id");
    let kind = member_text(&rule, "kind");
    let enabled = is_enabled(&rule);
    let label = spec.as_ref().map_or(kind.clone(), |s| s.label.clone());
    let summary = rule_summary(&rule, spec.as_ref());
    let rule = StoredValue::new(rule);
    let delete_id = id.clone();
    view! {
        <li class="rule-row" class:disabled=!enabled data-rule-row data-rule-id=id.clone() data-enabled=enabled.to_string()>
            <div class="rule-head">
                <span class="rule-id mono">{id.clone()}</span>
                <span class="rule-kind" title=kind>{label}</span>
            </div>
            {(!summary.is_empty()).then(|| view! { <p class="rule-summary mono">{summary}</p> })}
            <div class="rule-actions">
                <label class="switch">
                    <input
                        type="checkbox"
                        role="switch"
                        prop:checked=enabled
                        disabled=move || !may_edit || busy.get()
                        data-rule-toggle
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            on_save.run(rule.with_value(|r| with_enabled(r, on)));
                        }
                    />
                    <span>{if enabled { "Enabled" } else { "Disabled" }}</span>
                </label>
                {may_edit
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="button ghost small"
                                data-rule-edit
                                on:click=move |_| on_edit.run(rule.get_value())
                            >
                                "Edit"
                            </button>
                            <button
                                type="button"
                                class="button ghost small danger-text"
                                disabled=move || busy.get()
                                data-rule-delete
                                on:click=move |_| on_delete.run(delete_id.clone())
                            >
                                "Delete"
                            </button>
                        }
                    })}
            </div>
        </li>
    }
}
