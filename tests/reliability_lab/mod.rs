//! The setup the lab reliability tests share: a router with two ISPs (ISP 2 PPPoE-like),
//! and rail balancing LAN connections over both with fast probing.
// Each test file uses a part of it.
#![allow(dead_code)]

use crate::common::lab::Lab;
use crate::common::rail::{interface, Rail, FAST};
use std::time::Duration;

pub const VERDICT: Duration = Duration::from_secs(10);

pub fn lab() -> Option<Lab> {
    Lab::for_rail(2)
}

/// isp1 (weight `w1`) and isp2 (weight 1) in policy `balanced`, used by every destination.
pub fn balanced(lab: &Lab, w1: u16) -> String {
    format!(
        "config globals 'globals'\n\n{}{}\
config member 'm1'\n\toption interface 'isp1'\n\toption weight '{w1}'\n\n\
config member 'm2'\n\toption interface 'isp2'\n\toption weight '1'\n\n\
config policy 'balanced'\n\tlist use_member 'm1'\n\tlist use_member 'm2'\n\n\
config rule 'all'\n\toption dest_ip '0.0.0.0/0'\n\toption use_policy 'balanced'\n",
        interface(lab, 1, FAST),
        interface(lab, 2, FAST)
    )
}

/// rail started on `balanced(lab, 1)`, both uplinks up.
pub fn running(lab: &Lab) -> Rail<'_> {
    let rail = Rail::start(lab, &balanced(lab, 1));
    rail.wait_state("isp1", "up", VERDICT);
    rail.wait_state("isp2", "up", VERDICT);
    rail
}
