//! The command panel of the box view: the catalogue's commands as typed forms, and the box's
//! recent commands with their state, kept live.
mod command_form;
mod command_list;
mod command_row;
mod commands_card;
mod confirm_dialog;
mod param_fields;
mod param_input;
mod state_badge;

pub use command_form::CommandForm;
pub use command_list::CommandList;
pub use command_row::CommandRow;
pub use commands_card::CommandsCard;
pub use confirm_dialog::ConfirmDialog;
pub use param_fields::{collect_params, param_fields, ParamField};
pub use param_input::ParamInput;
pub use state_badge::CommandStateBadge;
