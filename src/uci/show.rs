//! Writing a [`Package`] back out: the `uci show` listing (cli.c uci_show_package) and the
//! file format libuci writes on commit (file.c uci_export_package).

use super::{Package, Value};
use std::collections::HashMap;
use std::fmt::Write;

/// Exactly what `uci show <package>` prints for this package.
///
/// Anonymous sections are `@type[N]`, where N counts every earlier section of that type,
/// named ones included (cli.c uci_lookup_section_ref bumps the index for both).
pub fn show(package: &str, pkg: &Package) -> String {
    let mut out = String::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for s in &pkg.sections {
        let index = seen.entry(s.stype.as_str()).or_default();
        let reference = match &s.name {
            Some(name) => name.clone(),
            None => format!("@{}[{}]", s.stype, index),
        };
        *index += 1;
        let _ = writeln!(out, "{package}.{reference}={}", s.stype);
        for o in &s.options {
            let _ = write!(out, "{package}.{reference}.{}=", o.name);
            match &o.value {
                Value::Single(v) => quote_into(&mut out, v),
                Value::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(' ');
                        }
                        quote_into(&mut out, item);
                    }
                }
            }
            out.push('\n');
        }
    }
    out
}

/// A file libuci (and [`super::parse`]) reads back as the same package, in the layout
/// `uci commit` writes: a blank line before each section, one tab-indented line per option
/// and list item, every value single-quoted.
///
/// libuci writes section types unquoted, which breaks for types containing characters the
/// reader treats specially; those (and only those) are quoted here.
pub fn export(pkg: &Package) -> String {
    let mut out = String::new();
    for s in &pkg.sections {
        out.push_str("\nconfig ");
        if s.stype
            .bytes()
            .any(|b| matches!(b, b'\'' | b'"' | b'#' | b';' | b'\\'))
        {
            quote_into(&mut out, &s.stype);
        } else {
            out.push_str(&s.stype);
        }
        if let Some(name) = &s.name {
            out.push(' ');
            quote_into(&mut out, name);
        }
        out.push('\n');
        for o in &s.options {
            let items = match &o.value {
                Value::Single(v) => std::slice::from_ref(v),
                Value::List(items) => items.as_slice(),
            };
            let keyword = match o.value {
                Value::Single(_) => "option",
                Value::List(_) => "list",
            };
            for item in items {
                let _ = write!(out, "\t{keyword} {} ", o.name);
                quote_into(&mut out, item);
                out.push('\n');
            }
        }
    }
    out.push('\n');
    out
}

/// `'value'`, with each `'` written as `'\''` (uci_print_value / uci_escape).
fn quote_into(out: &mut String, value: &str) {
    out.push('\'');
    out.push_str(&value.replace('\'', "'\\''"));
    out.push('\'');
}
