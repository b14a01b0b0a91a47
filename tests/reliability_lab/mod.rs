//! The setup the lab reliability tests share: a router with two ISPs (ISP 2 PPPoE-like),
//! and rail balancing LAN connections over both with fast probing.
// Each test file uses a part of it.
#![allow(dead_code)]

use crate::common::lab::Lab;
use crate::common::rail::Rail;
use crate::common::scenario::balanced_all;
use std::time::Duration;

pub const VERDICT: Duration = Duration::from_secs(10);

pub fn lab() -> Lab {
    Lab::for_rail(2)
}

/// isp1 (weight `w1`) and isp2 (weight 1) in policy `balanced`, used by every destination.
pub fn balanced(lab: &Lab, w1: u16) -> String {
    balanced_all(lab, &[w1, 1])
}

/// rail started on `balanced(lab, 1)`, both uplinks up.
pub fn running(lab: &Lab) -> Rail<'_> {
    let rail = Rail::start(lab, &balanced(lab, 1));
    rail.wait_state("isp1", "up", VERDICT);
    rail.wait_state("isp2", "up", VERDICT);
    rail
}
