//! Configuration: turning a UCI package into a checked, typed `Config`, and every problem
//! found on the way into a located, actionable message. `spec` describes every option;
//! `section` reads a section against it; `options` turns each option into its own typed
//! field; `build` checks across fields and sections and assembles the `Config`.

mod build;
pub mod marks;
pub mod model;
mod options;
mod problem;
mod section;
mod shell;
pub mod spec;
mod suggest;
pub mod value;
use shell::load;

pub use build::from_package;
pub use load::{check, load};
pub use model::*;
pub use problem::{Problem, SectionName};
