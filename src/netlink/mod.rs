//! rail's own netlink codec and socket: exactly the rtnetlink messages rail sends and reads
//! (links, addresses, routes with multipath, rules, root qdiscs, the events it watches) and
//! the framing nfnetlink shares, and nothing more, so the router binary stays small
//! (docs/packaging.md, "Sizes measured", says what the generic crates cost).
//!
//! `wire` frames messages and attributes (host byte order, as the kernel wants),
//! `route` types the rtnetlink messages, `socket` sends a request and collects its answer
//! on the smol reactor. Decoding never fails on what it does not know: unknown attributes
//! are listed, damaged ones skipped.

pub mod route;
mod shell;
pub mod wire;
pub use shell::socket;

pub use socket::{Reply, Socket};
