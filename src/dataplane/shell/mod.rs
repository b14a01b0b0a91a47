//! The dataplane's shell: rtnetlink, nft and conntrack requests that apply the pure plans,
//! device learning, and the kernel's events.

pub mod conntrack;
pub mod kernel;
pub mod learn;
pub mod nftwatch;
pub mod watch;
