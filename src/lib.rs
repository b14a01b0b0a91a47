//! rail: a Redundant Array of Inexpensive Links.
//!
//! Functional core, imperative shell, as the tree shows it: a subsystem's I/O lives in its
//! `shell/` folder (`health::shell`, `dataplane::shell`, `netlink::shell`, `openwrt::shell`,
//! `config::shell`, `import::shell`), re-exported under the module's name; `daemon` (but
//! for its pure `decide`, `retry` and `report`), `shaping` and `cli` are shell. The rest is
//! the pure core (`family`, `uci`, `config`, `policy`, `health::machine`,
//! `dataplane::desired` and `plan`, the codecs): no I/O, tested with a simulated clock and
//! captured kernel messages. The README's module table lists the same tree.

pub mod blob;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod dataplane;
pub mod family;
#[cfg(any(test, feature = "fixtures"))]
#[doc(hidden)]
pub mod fixtures;
pub mod health;
pub mod history;
pub mod import;
pub mod netlink;
pub mod openwrt;
pub mod policy;
pub mod shaping;
pub mod uci;
mod words;
