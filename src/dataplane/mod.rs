//! The dataplane: rail's kernel state. `desired` and `nft` compute it (pure), `layout`
//! numbers it, `kernel`, `conntrack` and `watch` apply it and listen to the kernel.

pub mod conntrack;
pub mod desired;
pub mod kernel;
pub mod layout;
pub mod learn;
pub mod nfnl;
pub mod nft;
pub mod plan;
pub mod rtmsg;
pub mod vocab;
pub mod watch;
