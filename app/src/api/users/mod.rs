mod add;
mod list;
mod set_enabled;
mod set_groups;

pub use add::*;
pub use list::*;
pub use set_enabled::*;
pub use set_groups::*;
