//! The dataplane: rail's kernel state. `desired` and `nft` compute it (pure), `layout`
//! numbers it, `kernel`, `conntrack`, `watch` and `nftwatch` apply it and listen to the kernel.

pub mod conntrack;
pub mod desired;
pub mod kernel;
pub mod layout;
pub mod learn;
pub mod nfnl;
pub mod nft;
pub mod nftwatch;
pub mod plan;
pub mod rtmsg;
pub mod vocab;
pub mod watch;
