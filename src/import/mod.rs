//! `rail import-mwan3`: translating an mwan3 configuration (openwrt/packages net/mwan3,
//! 2.12) into an equivalent rail configuration, and saying line by line what could not be
//! carried over and why.
//!
//! Pure: a parsed mwan3 package (and optionally the network package, to find the devices of
//! netifd interfaces) in, a rail package and notes out. Options mwan3 leaves out are written
//! with mwan3's defaults, not rail's, so the imported uplinks behave as they did. Values
//! rail's checks would refuse are brought into range, each with a note.

mod interface;
mod network;
mod read;
mod routing;
mod shell;
use shell::cli;

pub use cli::run;

use crate::uci::{Package, Section, UciOption, Value};
use std::fmt;

/// The result of an import: the rail package and what did not carry over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub package: Package,
    /// In mwan3 file order.
    pub notes: Vec<Note>,
}

/// Something of the mwan3 file that rail does not do the same way, located in that file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub file: String,
    pub line: u32,
    /// `rule 'https'`, as `uci show` names the section.
    pub section: String,
    pub option: Option<String>,
    pub message: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.section)?;
        if let Some(o) = &self.option {
            write!(f, " option '{o}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Translate mwan3's package. `network` is /etc/config/network, used to turn a rule's
/// `src_iface` (a netifd interface) into the device rail matches.
pub fn mwan3(file: &str, mwan3: &Package, network: Option<&Package>) -> Import {
    let mut notes = read::Notes::new(file);
    let of = |stype: &'static str| {
        read::sections(mwan3)
            .filter(move |(s, _)| s.stype == stype)
            .collect::<Vec<_>>()
    };
    let mut out = Package::default();

    for (s, label) in read::sections(mwan3) {
        if !["globals", "interface", "member", "policy", "rule"].contains(&s.stype.as_str()) {
            notes.add(
                s.line,
                &label,
                None,
                "not a section type mwan3 reads; left out".into(),
            );
        }
    }
    for (s, label) in of("globals").into_iter().take(1) {
        out.sections.push(interface::globals(s, label, &mut notes));
    }
    let mut interfaces = Vec::new();
    for (s, label) in of("interface") {
        let Some(name) = named(s, &label, &mut notes) else {
            continue;
        };
        out.sections
            .push(interface::interface(s, label, name, &mut notes));
        interfaces.push(s);
    }
    let members = routing::members(&of("member"), &interfaces, &mut notes);
    let policies = routing::policies(&of("policy"), &members, &mut notes);
    let rules = routing::rules(&of("rule"), &policies, network, &mut notes);
    out.sections.extend(members.into_iter().map(|m| m.section));
    out.sections.extend(policies.into_iter().map(|p| p.section));
    out.sections.extend(rules);
    fit_mark_mask(&mut out, mwan3, &mut notes);

    let mut notes = notes.into_vec();
    notes.sort_by_key(|n| n.line);
    Import {
        package: out,
        notes,
    }
}

/// The rail file: a header naming the source, then the package as `uci commit` writes it.
pub fn render(import: &Import, source: &str) -> String {
    format!(
        "# rail configuration imported from mwan3's {source} by `rail import-mwan3`.\n\
         # Options mwan3 left out are written with mwan3's defaults, so the uplinks behave as\n\
         # they did; see docs/mwan3.md for what differs.\n{}",
        crate::uci::export(&import.package)
    )
}

/// A carried-over mask too small for rail's mark layout (one mark per interface, policy and
/// sticky rule, plus two) is dropped in favour of rail's default, with a note saying why.
fn fit_mark_mask(out: &mut Package, mwan3: &Package, notes: &mut read::Notes) {
    let single = |s: &Section, name: &str| {
        s.options
            .iter()
            .find(|o| o.name == name)
            .and_then(|o| match &o.value {
                Value::Single(v) => Some(v.clone()),
                Value::List(_) => None,
            })
    };
    let count = |t: &str| out.sections.iter().filter(|s| s.stype == t).count();
    let sticky = out
        .sections
        .iter()
        .filter(|s| s.stype == "rule" && single(s, "sticky").as_deref() == Some("1"))
        .filter(|s| {
            single(s, "use_policy").is_some_and(|p| crate::config::Target::special(&p).is_none())
        })
        .count();
    let needed = crate::config::marks::marks_needed(count("interface"), count("policy"), sticky);
    let Some(g) = out.sections.iter_mut().find(|s| s.stype == "globals") else {
        return;
    };
    let Some(at) = g.options.iter().position(|o| o.name == "mark_mask") else {
        return;
    };
    let room = single(g, "mark_mask")
        .and_then(|v| u32::from_str_radix(v.trim_start_matches("0x"), 16).ok())
        .and_then(crate::config::MarkMask::new)
        .map_or(0, |m| m.capacity() as usize);
    if room >= needed {
        return;
    }
    g.options.remove(at);
    if let Some((src, label)) = read::sections(mwan3).find(|(s, _)| s.stype == "globals") {
        let line = src
            .options
            .iter()
            .find(|o| o.name == "mmx_mask")
            .map_or(src.line, |o| o.line);
        notes.add(
            line,
            &label,
            Some("mmx_mask"),
            format!("dropped after all: it holds {room} marks and rail needs {needed} (one per interface, policy and sticky rule, plus two); rail's default mark_mask 0x3F000000 is used"),
        );
    }
}

/// mwan3 refers to interfaces, members and policies by section name.
fn named<'a>(s: &'a Section, label: &str, notes: &mut read::Notes) -> Option<&'a str> {
    if s.name.is_none() {
        notes.add(
            s.line,
            label,
            None,
            format!("an anonymous {} cannot be referred to; left out", s.stype),
        );
    }
    s.name.as_deref()
}

/// A rail section under construction.
struct Out(Section);

impl Out {
    fn new(stype: &str, name: Option<&str>) -> Out {
        Out(Section {
            stype: stype.into(),
            name: name.map(Into::into),
            line: 0,
            options: Vec::new(),
        })
    }

    fn set(&mut self, name: &str, value: impl Into<String>) {
        self.push(name, Value::Single(value.into()));
    }

    fn list(&mut self, name: &str, items: Vec<String>) {
        if !items.is_empty() {
            self.push(name, Value::List(items));
        }
    }

    fn push(&mut self, name: &str, value: Value) {
        self.0.options.push(UciOption {
            name: name.into(),
            value,
            line: 0,
        });
    }
}
