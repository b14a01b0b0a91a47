//! Helpers shared by the integration tests (each tests/*.rs file is its own crate and
//! includes this module with `mod common;`).

// Each test crate uses a different subset of the helpers; the rest would warn there.
#![allow(dead_code)]

pub mod flood;
pub mod lab;
pub mod matrix;
pub mod owrt;
pub mod passive;
pub mod rail;
pub mod scenario;
