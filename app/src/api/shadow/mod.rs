mod get;
mod update;

pub use get::*;
pub use update::*;
