//! Each section's options as typed fields, in the manner of ripgrep's low-level arguments:
//! every option of the spec writes its own field, once, from its values (as given, else the
//! spec's default); the builder (`build`) reads the fields and does the cross-field checks.
//! A test checks that each struct has one field per option of its section in the spec.

use std::net::IpAddr;
use std::time::Duration;

use super::model::{InitialState, LastResort, PortRange, Prefix, Proto, Rate, TrackMethod};
use super::section::Read;
use super::spec::Val;
use crate::family::{Af, Family, RuleFamily};
use crate::words::Word;

/// A struct of one section's options, each field with the option it is read from and the
/// conversion of that option's values.
macro_rules! options {
    (
        $(#[$meta:meta])*
        pub struct $name:ident for $stype:literal {
            $( $(#[$fmeta:meta])* $field:ident: $ty:ty = $option:literal => $convert:expr, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )+
        }

        impl $name {
            pub const STYPE: &'static str = $stype;
            /// The options read, in field order.
            #[cfg(test)]
            pub const OPTIONS: &'static [&'static str] = &[$($option),+];

            pub fn read(r: &Read) -> $name {
                $name {
                    $( $field: $convert(r.values($option)), )+
                }
            }
        }
    };
}

options! {
    pub struct GlobalsOptions for "globals" {
        enabled: bool = "enabled" => flag,
        mark_mask: u32 = "mark_mask" => int,
        hook: Vec<String> = "hook" => many,
        hook_timeout: Option<Duration> = "hook_timeout" => one,
        log_level: Option<String> = "log_level" => one,
    }
}

options! {
    pub struct InterfaceOptions for "interface" {
        enabled: bool = "enabled" => flag,
        device: Option<String> = "device" => one,
        gateway: Option<IpAddr> = "gateway" => one,
        family: Option<Family> = "family" => word,
        track_method: Option<TrackMethod> = "track_method" => word,
        track_ip: Vec<IpAddr> = "track_ip" => many,
        track_port: u16 = "track_port" => int,
        track_dns_name: Option<String> = "track_dns_name" => one,
        reliability: u32 = "reliability" => int,
        count: u32 = "count" => int,
        timeout: Option<Duration> = "timeout" => one,
        interval: Option<Duration> = "interval" => one,
        failure_interval: Option<Duration> = "failure_interval" => one,
        recovery_interval: Option<Duration> = "recovery_interval" => one,
        down: u32 = "down" => int,
        up: u32 = "up" => int,
        hold: Option<Duration> = "hold" => one,
        initial_state: Option<InitialState> = "initial_state" => word,
        check_quality: bool = "check_quality" => flag,
        failure_latency: Option<Duration> = "failure_latency" => one,
        recovery_latency: Option<Duration> = "recovery_latency" => one,
        failure_loss: u8 = "failure_loss" => int,
        recovery_loss: u8 = "recovery_loss" => int,
        ttl: u8 = "ttl" => int,
        size: u16 = "size" => int,
        flush_conntrack: bool = "flush_conntrack" => flag,
        masquerade: bool = "masquerade" => flag,
        passive: bool = "passive" => flag,
        ip6prefix: Option<Prefix> = "ip6prefix" => one,
        npt_internal: Option<Prefix> = "npt_internal" => one,
        npt_external: Option<Prefix> = "npt_external" => one,
        rate: Option<Rate> = "rate" => rate,
    }
}

options! {
    pub struct MemberOptions for "member" {
        interface: Option<String> = "interface" => one,
        metric: u16 = "metric" => int,
        weight: u16 = "weight" => int,
    }
}

options! {
    pub struct PolicyOptions for "policy" {
        use_member: Vec<String> = "use_member" => many,
        last_resort: Option<LastResort> = "last_resort" => word,
    }
}

options! {
    pub struct RuleOptions for "rule" {
        src_ip: Vec<Prefix> = "src_ip" => many,
        dest_ip: Vec<Prefix> = "dest_ip" => many,
        src_port: Vec<PortRange> = "src_port" => many,
        dest_port: Vec<PortRange> = "dest_port" => many,
        proto: Proto = "proto" => proto,
        src_dev: Vec<String> = "src_dev" => many,
        ipset: Option<String> = "ipset" => one,
        /// `None` for `any`: the rule matches both families.
        family: Option<Af> = "family" => rule_family,
        sticky: bool = "sticky" => flag,
        timeout: Option<Duration> = "timeout" => one,
        use_policy: Option<String> = "use_policy" => one,
    }
}

// The conversions: the spec's kind of each option fixes the variant of its values, so a
// conversion only picks that variant.

fn many<T: TryFrom<Val>>(vals: Vec<Val>) -> Vec<T> {
    vals.into_iter()
        .filter_map(|v| T::try_from(v).ok())
        .collect()
}

fn one<T: TryFrom<Val>>(vals: Vec<Val>) -> Option<T> {
    vals.into_iter().find_map(|v| T::try_from(v).ok())
}

/// A boolean, or any of several (flush_conntrack's list form): true if one says so.
fn flag(vals: Vec<Val>) -> bool {
    vals.contains(&Val::Bool(true))
}

/// An integer within the spec's range (which fits the field); 0 when invalid.
fn int<T: TryFrom<u64> + Default>(vals: Vec<Val>) -> T {
    one::<u64>(vals)
        .and_then(|n| T::try_from(n).ok())
        .unwrap_or_default()
}

/// A choice, as the enum its words are declared with.
fn word<T: Word>(vals: Vec<Val>) -> Option<T> {
    one::<String>(vals).and_then(|w| T::from_word(&w))
}

fn rule_family(vals: Vec<Val>) -> Option<Af> {
    word::<RuleFamily>(vals).and_then(RuleFamily::af)
}

fn proto(vals: Vec<Val>) -> Proto {
    one(vals).unwrap_or(Proto::All)
}

/// A rate, given in kbit as an integer.
fn rate(vals: Vec<Val>) -> Option<Rate> {
    Rate::from_kbit(int(vals))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::spec::section;

    #[test]
    fn every_option_of_the_spec_has_its_field() {
        for (stype, fields) in [
            (GlobalsOptions::STYPE, GlobalsOptions::OPTIONS),
            (InterfaceOptions::STYPE, InterfaceOptions::OPTIONS),
            (MemberOptions::STYPE, MemberOptions::OPTIONS),
            (PolicyOptions::STYPE, PolicyOptions::OPTIONS),
            (RuleOptions::STYPE, RuleOptions::OPTIONS),
        ] {
            let spec: Vec<&str> = section(stype)
                .unwrap()
                .options
                .iter()
                .map(|o| o.name)
                .collect();
            assert_eq!(spec, fields, "{stype}");
        }
    }
}
