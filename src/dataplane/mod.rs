//! The dataplane: rail's kernel state. `desired` and `nft` compute it (pure), `layout`
//! numbers it, `kernel`, `conntrack` and `watch` apply it and listen to the kernel.

pub mod desired;
pub mod layout;
pub mod nft;
