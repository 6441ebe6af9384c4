//! The audit page: who sent what to which box, when, with what outcome; filters and CSV export.
mod audit_filters;
mod audit_page;
mod audit_row;
mod audit_table;

pub use audit_filters::{AuditFilters, FilterState, AUDIT_WINDOWS};
pub use audit_page::AuditPage;
pub use audit_row::AuditRow;
pub use audit_table::AuditTable;
