use crate::domain::{CommandParam, ParamType};
use leptos::prelude::*;

fn bound(x: Option<f64>) -> Option<String> {
    x.map(|x| x.to_string())
}

/// One typed parameter: a number input with min, max, step and unit, a checkbox, a select for
/// enums or a text input. The value is the raw text (`true`/`false` for a checkbox); the form
/// checks it.
#[component]
pub fn ParamInput(
    command: String,
    param: CommandParam,
    value: RwSignal<String>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let id = format!("cmd-{command}-{}", param.name);
    let error_id = format!("{id}-error");
    let invalid = move || error.with(Option::is_some).to_string();
    let on_input = move |ev| {
        value.set(event_target_value(&ev));
        error.set(None);
    };
    let unit = param.unit.clone();
    let hint = match (param.kind, param.min, param.max) {
        (ParamType::Number | ParamType::Integer, Some(min), Some(max)) => Some(format!(
            "{min} to {max}{}",
            unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default()
        )),
        _ => None,
    };
    let label = if param.required {
        param.name.replace('_', " ")
    } else {
        format!("{} (optional)", param.name.replace('_', " "))
    };
    let control = match param.kind {
        ParamType::Number | ParamType::Integer => view! {
            <span class="param-number">
                <input
                    id=id.clone()
                    name=param.name.clone()
                    type="number"
                    inputmode=if param.kind == ParamType::Integer { "numeric" } else { "decimal" }
                    min=bound(param.min)
                    max=bound(param.max)
                    step=param.step()
                    aria-invalid=invalid
                    aria-describedby=error_id.clone()
                    prop:value=move || value.get()
                    on:input=on_input
                />
                {unit.map(|u| view! { <span class="param-unit">{u}</span> })}
            </span>
        }
        .into_any(),
        ParamType::Boolean => view! {
            <input
                id=id.clone()
                name=param.name.clone()
                type="checkbox"
                class="param-checkbox"
                prop:checked=move || value.get() == "true"
                on:change=move |ev| value.set(event_target_checked(&ev).to_string())
            />
        }
        .into_any(),
        ParamType::Enum => {
            let optional = !param.required;
            let options = param
                .values
                .iter()
                .map(|v| view! { <option value=v.clone()>{v.clone()}</option> })
                .collect_view();
            view! {
                <select
                    id=id.clone()
                    name=param.name.clone()
                    aria-invalid=invalid
                    aria-describedby=error_id.clone()
                    prop:value=move || value.get()
                    on:change=on_input
                >
                    {optional.then(|| view! { <option value="">"(default)"</option> })}
                    {options}
                </select>
            }
            .into_any()
        }
        ParamType::String => view! {
            <input
                id=id.clone()
                name=param.name.clone()
                type="text"
                maxlength=param.max_len.map(|n| n.to_string())
                aria-invalid=invalid
                aria-describedby=error_id.clone()
                prop:value=move || value.get()
                on:input=on_input
            />
        }
        .into_any(),
    };
    view! {
        <div class="field param-field" data-param=param.name.clone()>
            <label for=id>{label}</label>
            {control}
            {hint.map(|h| view! { <span class="param-hint muted">{h}</span> })}
            <span id=error_id class="param-error error-text" role="alert" data-param-error>
                {move || error.get()}
            </span>
        </div>
    }
}
