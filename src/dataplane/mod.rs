//! The dataplane: rail's kernel state. `desired` and `nft` compute it (pure), `layout`
//! numbers it, `kernel`, `conntrack`, `watch` and `nftwatch` apply it and listen to the kernel.

pub mod desired;
pub mod layout;
pub mod nfnl;
pub mod nft;
pub mod plan;
pub mod rtmsg;
mod shell;
pub mod vocab;
pub use shell::{conntrack, kernel, learn, nftwatch, watch};
