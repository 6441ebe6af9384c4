use crate::domain::{CommandParam, ParamType};
use leptos::prelude::*;

/// One parameter's raw text and its error message, as the form shows them.
pub type ParamField = (RwSignal<String>, RwSignal<Option<String>>);

/// Empty fields for a command's parameters (`false` for a checkbox).
pub fn param_fields(params: &[CommandParam]) -> Vec<ParamField> {
    params
        .iter()
        .map(|p| {
            let initial = if p.kind == ParamType::Boolean {
                "false"
            } else {
                ""
            };
            (RwSignal::new(initial.to_owned()), RwSignal::new(None))
        })
        .collect()
}

/// Checks every field, setting or clearing its error; the JSON parameters when all are valid.
/// Used by the single-box command form and the rollout form alike.
pub fn collect_params(params: &[CommandParam], fields: &[ParamField]) -> Option<serde_json::Value> {
    let mut out = serde_json::Map::new();
    let mut ok = true;
    for (param, (value, error)) in params.iter().zip(fields) {
        match param.parse_input(&value.get_untracked()) {
            Ok(Some(v)) => {
                out.insert(param.name.clone(), v);
                error.set(None);
            }
            Ok(None) => error.set(None),
            Err(message) => {
                error.set(Some(message));
                ok = false;
            }
        }
    }
    ok.then_some(serde_json::Value::Object(out))
}
