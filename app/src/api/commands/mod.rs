mod catalogue;
mod issue;
mod list;

pub use catalogue::*;
pub use issue::*;
pub use list::*;
