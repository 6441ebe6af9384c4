mod alerts;
mod costs;
mod dead_letters;
mod delete_rule;
mod pipeline;
mod save_rule;

pub use alerts::*;
pub use costs::*;
pub use dead_letters::*;
pub use delete_rule::*;
pub use pipeline::*;
pub use save_rule::*;
