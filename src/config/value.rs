//! Reading one option value's text: booleans the way uci does, durations with fractions of
//! a second, addresses, prefixes, port ranges, protocols, names. Pure functions; each error
//! says what was wrong, and the caller adds what is allowed.

use super::model::{clear_host_bits, PortRange, Prefix, Proto, Rate};
use crate::family::Af;
use std::net::IpAddr;
use std::time::Duration;

/// uci's boolean words (libuci `uci_parse_bool` / shell `config_get_bool`).
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "yes" | "on" | "true" | "enabled" => Ok(true),
        "0" | "no" | "off" | "false" | "disabled" => Ok(false),
        _ => Err(format!("'{s}' is not a boolean")),
    }
}

/// A non-negative decimal integer, or hexadecimal with `0x` when `hex` is allowed.
pub fn parse_uint(s: &str, hex: bool) -> Result<u64, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(digits) if hex => u64::from_str_radix(digits, 16),
        _ if s.starts_with(|c: char| c.is_ascii_digit()) => s.parse::<u64>(),
        _ => return Err(format!("'{s}' is not a whole number")),
    };
    parsed.map_err(|_| format!("'{s}' is not a whole number"))
}

/// `1`, `0.2` (seconds), `200ms`, `1.5s`, `2m`, `1h`. Never negative; at most nanosecond
/// precision.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("'{s}' is not a duration");
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let nanos_per_unit: u128 = match unit {
        "ms" => 1_000_000,
        "" | "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(bad()),
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits_ok(whole) || !digits_ok(frac) {
        return Err(bad());
    }
    if frac.len() > 9 {
        return Err(format!("'{s}' is more precise than a nanosecond"));
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let frac_nanos: u128 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
    let nanos = whole
        .checked_mul(nanos_per_unit)
        .and_then(|n| n.checked_add(frac_nanos * nanos_per_unit / 1_000_000_000))
        .ok_or_else(bad)?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| format!("'{s}' is too long"))
}

/// `512kbit`, `20mbit`, `1.5gbit` (tc's bit units; tc's `kbps` means kilobytes, so byte
/// units are refused rather than guessed), within `min..=max` kbit/s.
pub fn parse_rate(s: &str, min: u32, max: u32) -> Result<Rate, String> {
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let scale = match unit {
        "kbit" => 0,
        "mbit" => 3,
        "gbit" => 6,
        "" => {
            return Err(format!(
                "'{s}' has no unit (write e.g. '20mbit' or '512kbit')"
            ))
        }
        _ => return Err(format!("'{s}' is not a rate in kbit, mbit or gbit")),
    };
    let kbit = decimal(number, scale).ok_or_else(|| format!("'{s}' is not a rate"))?;
    match u32::try_from(kbit) {
        Ok(kbit) if (min..=max).contains(&kbit) => Rate::from_kbit(kbit),
        _ => None,
    }
    .ok_or_else(|| format!("{s} is out of range"))
}

/// A decimal number of digits with at most one point (`20`, `1.5`, `.5`, `2.`) times
/// `10^scale`, rounded half up; saturates at `u64::MAX`. None when it is no such number.
/// Exact, and without float parsing, which costs 14 KB of the mips binary.
pub fn decimal(number: &str, scale: u32) -> Option<u64> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !all_digits(whole) || !all_digits(frac) {
        return None;
    }
    let mut value: u64 = 0;
    let mut push = |digit: u8| value = value.saturating_mul(10).saturating_add(u64::from(digit));
    whole.bytes().for_each(|b| push(b - b'0'));
    let mut frac = frac.bytes().map(|b| b - b'0');
    (0..scale).for_each(|_| push(frac.next().unwrap_or(0)));
    Some(value.saturating_add(u64::from(frac.next().is_some_and(|d| d >= 5))))
}

/// The shortest exact way to write a duration: `500ms`, `1s`, `1.5s`, `2m`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_nanos() as f64 / 1e6;
    if d.as_nanos() % 3_600_000_000_000 == 0 && !d.is_zero() {
        format!("{}h", d.as_secs() / 3600)
    } else if d.as_nanos() % 60_000_000_000 == 0 && !d.is_zero() {
        format!("{}m", d.as_secs() / 60)
    } else if ms < 1000.0 {
        format!("{ms}ms")
    } else {
        format!("{}s", ms / 1000.0)
    }
}

pub fn parse_addr(s: &str) -> Result<IpAddr, String> {
    s.parse()
        .map_err(|_| format!("'{s}' is not an IPv4 or IPv6 address"))
}

/// An address or a CIDR prefix; the address must have no bits set past the prefix length.
pub fn parse_prefix(s: &str) -> Result<Prefix, String> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr = parse_addr(addr).map_err(|_| format!("'{s}' is not an address or CIDR prefix"))?;
    let max = Af::of(&addr).max_len();
    let len = match len {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max && l.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(format!("'{s}' has a prefix length that is not 0..{max}")),
        },
    };
    let net = clear_host_bits(addr, len);
    if net != addr {
        return Err(format!(
            "'{s}' has host bits set past /{len} (did you mean '{net}/{len}'?)"
        ));
    }
    Ok(Prefix { addr, len })
}

/// `80` or `1000-2000` (mwan3 and iptables also write `1000:2000`).
pub fn parse_port_range(s: &str) -> Result<PortRange, String> {
    let port = |p: &str| match p.parse::<u16>() {
        Ok(n) if n >= 1 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!("'{s}' is not a port or port range")),
    };
    let (first, last) = match s.split_once(['-', ':']) {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(s)?, port(s)?),
    };
    if first > last {
        return Err(format!("'{s}' is a range that ends before it starts"));
    }
    Ok(PortRange { first, last })
}

/// Protocol names as /etc/protocols spells them, or a number 0..255 (`all` matches any).
pub fn parse_proto(s: &str) -> Result<Proto, String> {
    const NAMED: &[(&str, u8)] = &[
        ("icmpv6", 58),
        ("ipv6-icmp", 58),
        ("gre", 47),
        ("esp", 50),
        ("ah", 51),
        ("sctp", 132),
        ("udplite", 136),
    ];
    let lower = s.to_ascii_lowercase();
    let number = match lower.as_str() {
        "all" | "any" => return Ok(Proto::All),
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        other => match NAMED.iter().find(|(name, _)| *name == other) {
            Some(&(_, n)) => n,
            None => match other.parse::<u8>() {
                Ok(n) if other.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err(format!("'{s}' is not a protocol")),
            },
        },
    };
    Ok(match number {
        6 => Proto::Tcp,
        17 => Proto::Udp,
        1 => Proto::Icmp,
        n => Proto::Number(n),
    })
}

/// A Linux network device name: 1..15 bytes, no `/`, `:` or whitespace, not `.` or `..`
/// (the kernel's rules), and none of `"`, `\` or `*`, which nft cannot put in a quoted
/// name or reads as its escape and wildcard.
pub fn parse_device(s: &str) -> Result<String, String> {
    let ok = (1..=15).contains(&s.len())
        && s != "."
        && s != ".."
        && !s.contains(|c: char| {
            matches!(c, '/' | ':' | '"' | '\\' | '*') || c.is_whitespace() || c.is_control()
        });
    ok.then(|| s.to_string())
        .ok_or_else(|| format!("'{s}' is not a network device name"))
}

/// A name made of letters, digits and `_` (uci section names, nft set names), 1..63 bytes.
pub fn parse_name(s: &str) -> Result<String, String> {
    let ok =
        (1..=63).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then(|| s.to_string())
        .ok_or_else(|| format!("'{s}' is not a name"))
}

/// An absolute path to an executable (run without a shell, so no arguments or `~`).
pub fn parse_path(s: &str) -> Result<String, String> {
    let ok = s.starts_with('/') && !s.contains(|c: char| c.is_whitespace() || c.is_control());
    ok.then(|| s.to_string())
        .ok_or_else(|| format!("'{s}' is not an absolute path without spaces"))
}

/// A DNS name to query: `.` (the root) or dot-separated labels of 1..63 letters, digits,
/// `-` and `_`, 253 bytes in all.
pub fn parse_dns_name(s: &str) -> Result<String, String> {
    let body = s.strip_suffix('.').unwrap_or(s);
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let ok = s == "." || (s.len() <= 253 && !body.is_empty() && body.split('.').all(label_ok));
    ok.then(|| s.to_string())
        .ok_or_else(|| format!("'{s}' is not a DNS name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_in_bit_units_only() {
        let kbit = |s: &str| parse_rate(s, 8, 100_000_000).map(Rate::kbit);
        assert_eq!(kbit("20mbit"), Ok(20_000));
        assert_eq!(kbit("512kbit"), Ok(512));
        assert_eq!(kbit("1gbit"), Ok(1_000_000));
        assert_eq!(kbit("1.5Mbit"), Ok(1_500));
        for bad in [
            "20",
            "20mbps",
            "kbit",
            "-1mbit",
            "1kbit",
            "200gbit",
            "1.2.3mbit",
        ] {
            assert!(kbit(bad).is_err(), "{bad}");
        }
        let r = Rate::from_kbit(20_000).unwrap();
        assert_eq!(
            (r.to_string(), r.bytes_per_second()),
            ("20mbit".into(), 2_500_000)
        );
        assert_eq!(Rate::from_kbit(1500).unwrap().to_string(), "1500kbit");
        assert!(Rate::from_kbit(0).is_none());
    }

    #[test]
    fn decimals_scaled_exactly() {
        assert_eq!(decimal("20", 0), Some(20));
        assert_eq!(decimal("1.5", 3), Some(1_500));
        assert_eq!(decimal(".5", 0), Some(1));
        assert_eq!(decimal("2.", 3), Some(2_000));
        assert_eq!(decimal("0.0004", 3), Some(0));
        assert_eq!(decimal("0.0005", 3), Some(1));
        assert_eq!(decimal("1.23456", 3), Some(1_235));
        assert_eq!(decimal("99999999999999999999", 0), Some(u64::MAX));
        for bad in ["", ".", "1.2.3", "-1", "+1", "1e3", "inf", "nan", " 1"] {
            assert_eq!(decimal(bad, 3), None, "{bad}");
        }
    }

    #[test]
    fn booleans_as_uci_reads_them() {
        for t in ["1", "yes", "on", "true", "enabled", "TRUE", "Yes"] {
            assert_eq!(parse_bool(t), Ok(true), "{t}");
        }
        for f in ["0", "no", "off", "false", "disabled"] {
            assert_eq!(parse_bool(f), Ok(false), "{f}");
        }
        for bad in ["", "2", "y", "enable", "nope"] {
            assert!(parse_bool(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn whole_numbers() {
        assert_eq!(parse_uint("42", false), Ok(42));
        assert_eq!(parse_uint("0x3F00", true), Ok(0x3F00));
        assert!(parse_uint("0x3F00", false).is_err());
        for bad in ["", "-1", "+1", "1.5", "ten", "1e3", "0x"] {
            assert!(parse_uint(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_with_fractions_and_units() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("0.2"), Ok(ms(200)));
        assert_eq!(parse_duration("1"), Ok(ms(1000)));
        assert_eq!(parse_duration("200ms"), Ok(ms(200)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
        assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse_duration(".5"), Ok(ms(500)));
        assert_eq!(parse_duration("0.5ms"), Ok(Duration::from_micros(500)));
        for bad in [
            "", "-1", "-0.5s", "1.2.3", "s", "1 s", "1sec", "abc", "1e3", ".", "1..", "5x",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("99999999999999999999h").is_err());
    }

    #[test]
    fn durations_print_back_the_way_people_write_them() {
        let ms = Duration::from_millis;
        assert_eq!(format_duration(ms(500)), "500ms");
        assert_eq!(format_duration(ms(1000)), "1s");
        assert_eq!(format_duration(ms(1500)), "1.5s");
        assert_eq!(format_duration(ms(120_000)), "2m");
        assert_eq!(format_duration(ms(600_000)), "10m");
        assert_eq!(format_duration(ms(0)), "0ms");
        assert_eq!(format_duration(ms(3_600_000)), "1h");
        for d in [ms(200), ms(1500), ms(120_000), ms(90_000)] {
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }

    #[test]
    fn prefixes_and_hosts() {
        let p = parse_prefix("192.168.1.0/24").unwrap();
        assert_eq!((p.addr.to_string(), p.len), ("192.168.1.0".into(), 24));
        assert_eq!(parse_prefix("10.0.0.1").unwrap().len, 32);
        assert_eq!(parse_prefix("2001:db8::/32").unwrap().len, 32);
        assert_eq!(parse_prefix("2001:db8::1").unwrap().len, 128);
        assert_eq!(parse_prefix("0.0.0.0/0").unwrap().len, 0);
        let err = parse_prefix("192.168.1.5/24").unwrap_err();
        assert!(err.contains("did you mean '192.168.1.0/24'"), "{err}");
        for bad in [
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0/8",
            "host",
            "10.0.0.0/",
            "1.2.3.4/+8",
        ] {
            assert!(parse_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn port_ranges() {
        let r = |a, b| Ok(PortRange { first: a, last: b });
        assert_eq!(parse_port_range("80"), r(80, 80));
        assert_eq!(parse_port_range("1000-2000"), r(1000, 2000));
        assert_eq!(parse_port_range("1000:2000"), r(1000, 2000));
        for bad in ["0", "65536", "2000-1000", "http", "80-", "-80", "+80", ""] {
            assert!(parse_port_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn protocols_by_name_and_number() {
        assert_eq!(parse_proto("all"), Ok(Proto::All));
        assert_eq!(parse_proto("TCP"), Ok(Proto::Tcp));
        assert_eq!(parse_proto("6"), Ok(Proto::Tcp));
        assert_eq!(parse_proto("udp"), Ok(Proto::Udp));
        assert_eq!(parse_proto("icmp"), Ok(Proto::Icmp));
        assert_eq!(parse_proto("gre"), Ok(Proto::Number(47)));
        assert_eq!(parse_proto("58"), Ok(Proto::Number(58)));
        for bad in ["256", "-1", "tcpp", ""] {
            assert!(parse_proto(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_devices_paths_dns() {
        assert!(parse_device("pppoe-wan").is_ok());
        assert!(parse_device("eth0.2").is_ok());
        for bad in [
            "",
            "a/b",
            "eth 0",
            "averyveryverylongname",
            "..",
            "eth\"1",
            "eth\\1",
            "eth*",
        ] {
            assert!(parse_device(bad).is_err(), "{bad}");
        }
        assert!(parse_name("wan_m1_w3").is_ok());
        assert!(parse_name("wan-b").is_err());
        assert!(parse_path("/etc/rail.user").is_ok());
        assert!(parse_path("rail.user").is_err());
        assert!(parse_path("/bin/echo hi").is_err());
        for ok in [".", "openwrt.org", "openwrt.org."] {
            assert!(parse_dns_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a..b", "bad name.org", ".."] {
            assert!(parse_dns_name(bad).is_err(), "{bad}");
        }
    }
}
