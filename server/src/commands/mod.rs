//! Remote control of boxes (issue 3): the command catalogue of a box model, the command lifecycle
//! (`created -> sent -> accepted -> succeeded | failed | rejected | timed_out | expired`) and the
//! service that issues commands, records box replies and sweeps expired ones.
pub mod catalogue;
mod record;
mod service;
mod view;

pub use catalogue::{Catalogue, CommandSpec, ParamKind, ParamSpec};
pub use record::{BadTransition, CommandRecord, CommandSource, CommandState, StateChange};
pub use service::{
    CommandService, IssueRequest, AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, AUDIT_SCAN_LIMIT,
    SWEEP_EVERY,
};
pub use view::{catalogue_view, command_view};

/// Lifetime of a command when the caller names none.
pub const DEFAULT_TTL_SECS: i64 = 60;
/// The longest lifetime of a command.
pub const MAX_TTL_SECS: i64 = 3600;
