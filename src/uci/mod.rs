//! The UCI file format, as OpenWrt's libuci reads and `uci show` prints it.
//!
//! Owns the syntax only: what a section, option and list are, where each came from (file,
//! line) for error messages, and the exact `uci show` rendering. What the options mean is
//! `config`'s business.
//!
//! The model holds what libuci can hold after reading a file: section names and option names
//! are `[A-Za-z0-9_]`, types printable ASCII without blanks, an option's value is never empty
//! (libuci ignores `option x ''`), and a list has at least one item (items may be empty).

mod parse;
mod show;

pub use parse::{parse, parse_bytes, ParseError};
pub use show::{export, show};

/// One parsed UCI file (a "package").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Package {
    /// Sections in file order, after uci's merging of sections that share a name.
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The section type: `config <type>`.
    pub stype: String,
    /// `None` for an anonymous section (shown as `@type[N]`).
    pub name: Option<String>,
    /// Line of the `config` statement (1-based).
    pub line: u32,
    /// Options in the order uci keeps them.
    pub options: Vec<UciOption>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UciOption {
    pub name: String,
    pub value: Value,
    /// Line of the statement that last set it (1-based).
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Single(String),
    List(Vec<String>),
}
