//! The one place where the server's command types become the console's shared view types.
use super::{Catalogue, CommandRecord, CommandSpec, ParamKind, ParamSpec};
use app::domain::{CatalogueCommand, CommandCatalogue, CommandParam, CommandView, ParamType};

pub fn command_view(c: CommandRecord) -> CommandView {
    CommandView {
        id: c.id,
        device: c.device,
        name: c.name,
        params: c.params,
        issuer: c.issuer,
        issued_at: c.issued_at,
        expires_at: c.expires_at,
        state: c.state,
        history: c.history,
    }
}

fn param_view(p: &ParamSpec) -> CommandParam {
    let (kind, min, max, values, max_len) = match &p.kind {
        ParamKind::Number { min, max } => (ParamType::Number, *min, *max, vec![], None),
        ParamKind::Integer { min, max } => (
            ParamType::Integer,
            min.map(|x| x as f64),
            max.map(|x| x as f64),
            vec![],
            None,
        ),
        ParamKind::Boolean => (ParamType::Boolean, None, None, vec![], None),
        ParamKind::String { max_len } => (ParamType::String, None, None, vec![], Some(*max_len)),
        ParamKind::Enum { values } => (ParamType::Enum, None, None, values.clone(), None),
    };
    CommandParam {
        name: p.name.clone(),
        kind,
        min,
        max,
        unit: p.unit.clone(),
        values,
        max_len,
        required: p.required,
        description: p.description.clone(),
    }
}

fn spec_view(c: &CommandSpec) -> CatalogueCommand {
    CatalogueCommand {
        name: c.name.clone(),
        description: c.description.clone(),
        params: c.params.iter().map(param_view).collect(),
        dangerous: c.dangerous,
        min_role: c.min_role,
    }
}

pub fn catalogue_view(c: &Catalogue) -> CommandCatalogue {
    CommandCatalogue {
        model: c.model.clone(),
        commands: c.commands.iter().map(spec_view).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::Role;

    #[test]
    fn the_catalogue_keeps_types_ranges_units_and_roles() {
        let view = catalogue_view(&Catalogue::builtin());
        let setpoint = view
            .commands
            .iter()
            .find(|c| c.name == "set_setpoint")
            .unwrap();
        let value = &setpoint.params[0];
        assert_eq!(value.kind, ParamType::Number);
        assert_eq!((value.min, value.max), (Some(-30.0), Some(30.0)));
        assert_eq!(value.unit.as_deref(), Some("°C"));
        let interval = view
            .commands
            .iter()
            .find(|c| c.name == "set_interval")
            .unwrap();
        assert_eq!(interval.params[0].kind, ParamType::Integer);
        assert!(
            view.commands
                .iter()
                .find(|c| c.name == "reboot")
                .unwrap()
                .dangerous
        );
        let diag = view
            .commands
            .iter()
            .find(|c| c.name == "diagnostics")
            .unwrap();
        assert_eq!(diag.min_role, Role::Support);
        assert_eq!(diag.params[0].values, vec!["basic", "full"]);
        assert_eq!(diag.params[1].max_len, Some(200));
    }
}
