mod audit;
mod catalogue;
mod issue;
mod list;

pub use audit::*;
pub use catalogue::*;
pub use issue::*;
pub use list::*;
