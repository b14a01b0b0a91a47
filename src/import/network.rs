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

#[cfg(test)]
mod tests {
    use super::device;

    fn net(text: &str) -> crate::uci::Package {
        crate::uci::parse("network", text).expect("valid")
    }

    #[test]
    fn devices_as_netifd_names_them() {
        let n = net(
            "config interface 'wan'\n option device 'eth1'\n option proto 'pppoe'\n\
                     config interface 'lan'\n option device 'br-lan'\n\
                     config interface 'old'\n option ifname 'eth0.2'\n\
                     config interface 'alias'\n option device '@lan'\n\
                     config interface 'two'\n option ifname 'eth2 eth3'\n\
                     config interface 'long'\n option device 'a_very_long_device'\n",
        );
        assert_eq!(device(&n, "wan").as_deref(), Ok("pppoe-wan"));
        assert_eq!(device(&n, "lan").as_deref(), Ok("br-lan"));
        assert_eq!(device(&n, "old").as_deref(), Ok("eth0.2"));
        for bad in ["alias", "two", "long", "missing"] {
            assert!(device(&n, bad).is_err(), "{bad}");
        }
    }
}
