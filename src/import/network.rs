//! The device of a netifd interface, read from /etc/config/network the way netifd derives
//! it: `option device` (OpenWrt 21.02 and later), or the older `option ifname` with
//! `option type 'bridge'` making `br-<name>`; PPP protocols get `<proto>-<name>`.

use crate::uci::{Package, Value};

/// Longest Linux device name (IFNAMSIZ - 1).
const IFNAMSIZ: usize = 15;

pub fn device(network: &Package, iface: &str) -> Result<String, String> {
    let section = network
        .sections
        .iter()
        .find(|s| s.stype == "interface" && s.name.as_deref() == Some(iface))
        .ok_or_else(|| format!("the network file has no interface '{iface}'"))?;
    let get = |name: &str| {
        section
            .options
            .iter()
            .find(|o| o.name == name)
            .map(|o| match &o.value {
                Value::Single(v) => v.clone(),
                Value::List(items) => items.join(" "),
            })
    };
    let dev = match (get("proto").as_deref(), get("type").as_deref()) {
        (Some(p @ ("pppoe" | "pppoa" | "pptp" | "l2tp" | "3g")), _) => format!("{p}-{iface}"),
        (_, Some("bridge")) => format!("br-{iface}"),
        _ => {
            let words = get("device").or_else(|| get("ifname")).unwrap_or_default();
            let mut words = words.split_whitespace();
            match (words.next(), words.next()) {
                (Some(d), None) if !d.starts_with('@') => d.to_string(),
                (Some(d), None) => {
                    return Err(format!(
                        "interface '{iface}' is an alias of '{}'; give the device with src_dev",
                        &d[1..]
                    ))
                }
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "interface '{iface}' names several devices without being a bridge"
                    ))
                }
                (None, _) => {
                    return Err(format!(
                        "interface '{iface}' has no device in the network file"
                    ))
                }
            }
        }
    };
    if dev.len() > IFNAMSIZ {
        return Err(format!(
            "'{dev}' is longer than a device name can be ({IFNAMSIZ} characters)"
        ));
    }
    Ok(dev)
}
