//! The UCI file format, as OpenWrt's libuci reads and `uci show` prints it.
//!
//! Owns the syntax only: what a section, option and list are, where each came from (file,
//! line) for error messages, and the exact `uci show` rendering. What the options mean is
//! `config`'s business.

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
