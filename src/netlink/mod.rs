//! rail's own netlink codec and socket: exactly the rtnetlink messages rail sends and reads
//! (links, addresses, routes with multipath, rules, root qdiscs, the events it watches) and
//! the framing nfnetlink shares, written by hand instead of through rtnetlink and
//! netlink-packet-route, whose generic parse, emit and Debug code for every link, route and
//! tc attribute was the largest part of the router binary (docs/packaging.md has the
//! measurements).
//!
//! `wire` frames messages and attributes (host byte order, as the kernel wants),
//! `route` types the rtnetlink messages, `socket` sends a request and collects its answer
//! on the smol reactor. Decoding never fails on what it does not know: unknown attributes
//! are listed, damaged ones skipped.

pub mod route;
pub mod socket;
pub mod wire;

pub use socket::{Reply, Socket};
