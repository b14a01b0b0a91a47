//! Reading mwan3's sections the way its shell scripts do (`config_get`, `config_get_bool`,
//! `config_list_foreach`), keeping track of which options were looked at so that the rest
//! can be reported, and collecting the notes.

use super::Note;
use crate::uci::{Package, Section, Value};
use std::cell::Cell;

/// Every section with its `uci show` label (`rule 'https'`, `rule '@rule[2]'`).
pub fn sections(pkg: &Package) -> impl Iterator<Item = (&Section, String)> {
    pkg.sections.iter().enumerate().map(|(i, s)| {
        let name = match &s.name {
            Some(n) => n.clone(),
            None => {
                let n = pkg.sections[..i]
                    .iter()
                    .filter(|o| o.stype == s.stype)
                    .count();
                format!("@{}[{n}]", s.stype)
            }
        };
        (s, format!("{} '{name}'", s.stype))
    })
}

pub struct Notes {
    file: String,
    notes: Vec<Note>,
}

impl Notes {
    pub fn new(file: &str) -> Notes {
        Notes {
            file: file.into(),
            notes: Vec::new(),
        }
    }

    pub fn add(&mut self, line: u32, section: &str, option: Option<&str>, message: String) {
        self.notes.push(Note {
            file: self.file.clone(),
            line,
            section: section.into(),
            option: option.map(Into::into),
            message,
        });
    }

    pub fn into_vec(self) -> Vec<Note> {
        self.notes
    }
}

/// One mwan3 section being read. Every option read is marked; `finish` reports the others.
pub struct Reader<'a> {
    pub section: &'a Section,
    pub label: String,
    used: Vec<Cell<bool>>,
}

impl<'a> Reader<'a> {
    pub fn new(section: &'a Section, label: String) -> Reader<'a> {
        Reader {
            used: vec![Cell::new(false); section.options.len()],
            section,
            label,
        }
    }

    fn find(&self, name: &str) -> Option<(usize, &'a crate::uci::UciOption)> {
        let found = self
            .section
            .options
            .iter()
            .enumerate()
            .find(|(_, o)| o.name == name);
        if let Some((i, _)) = found {
            self.used[i].set(true);
        }
        found
    }

    /// The line an option was set on, or the section's line when it is absent.
    pub fn line(&self, name: &str) -> u32 {
        self.find(name).map_or(self.section.line, |(_, o)| o.line)
    }

    /// `config_get`: a list reads as its items joined by spaces.
    pub fn get(&self, name: &str) -> Option<String> {
        self.find(name).map(|(_, o)| match &o.value {
            Value::Single(v) => v.clone(),
            Value::List(items) => items.join(" "),
        })
    }

    /// `config_list_foreach`: the items of a `list`. mwan3 ignores an `option` where it
    /// expects a list; rail takes it as what the user meant, and says so.
    pub fn list(&self, name: &str, notes: &mut Notes) -> Vec<String> {
        match self.find(name).map(|(_, o)| (o.line, &o.value)) {
            None => Vec::new(),
            Some((_, Value::List(items))) => items.clone(),
            Some((line, Value::Single(v))) => {
                notes.add(
                    line,
                    &self.label,
                    Some(name),
                    format!("written as 'option', which mwan3 ignores (it reads only 'list' lines); carried over as 'list {name}'"),
                );
                v.split_whitespace().map(Into::into).collect()
            }
        }
    }

    /// `config_get_bool`: uci's words for true and false; anything else is the default.
    pub fn bool(&self, name: &str, default: bool) -> bool {
        match self.get(name).as_deref() {
            Some("1" | "on" | "true" | "yes" | "enabled") => true,
            Some("0" | "off" | "false" | "no" | "disabled") => false,
            _ => default,
        }
    }

    /// Report every option nobody looked at.
    pub fn finish(self, notes: &mut Notes) {
        for (o, used) in self.section.options.iter().zip(&self.used) {
            if !used.get() {
                notes.add(
                    o.line,
                    &self.label,
                    Some(&o.name),
                    format!(
                        "not an option of mwan3's {} section; left out",
                        self.section.stype
                    ),
                );
            }
        }
    }
}
