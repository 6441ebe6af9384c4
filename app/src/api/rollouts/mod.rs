mod cancel;
mod get;
mod list;
mod start;

pub use cancel::*;
pub use get::*;
pub use list::*;
pub use start::*;
