//! Configuration: turning a UCI package into a checked, typed `Config`, and every problem
//! found on the way into a located, actionable message.

mod build;
mod load;
pub mod marks;
pub mod model;
mod problem;
mod section;
pub mod spec;
mod suggest;
pub mod value;

pub use crate::family::Family;
pub use build::from_package;
pub use load::{check, load};
pub use model::*;
pub use problem::{Problem, SectionName};
