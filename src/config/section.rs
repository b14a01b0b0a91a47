//! Reading one UCI section against its spec: unknown options (with a did-you-mean), `option`
//! where a `list` is expected and back, values that do not parse, duplicates within a list,
//! required options. What is left is typed values (or the spec's defaults) for the builder.

use super::problem::{Problem, SectionName};
use super::spec::{Default, OptSpec, SectionSpec, Shape, Val};
use super::suggest;
use crate::uci::{Section, Value};

/// Problems found so far, all for one file.
pub struct Report {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn add(&mut self, line: u32, section: &SectionName, option: Option<&str>, message: String) {
        self.problems.push(Problem {
            line: Some(line),
            section: Some(section.clone()),
            option: option.map(str::to_string),
            ..Problem::file(&self.file, message)
        });
    }
}

/// An option as given in the file.
struct Given {
    line: u32,
    /// `None` when any item failed to parse (already reported).
    items: Option<Vec<Val>>,
}

/// One section, read and checked option by option.
pub struct Read {
    pub spec: &'static SectionSpec,
    pub name: SectionName,
    /// The user's name; `None` for an anonymous section.
    pub given_name: Option<String>,
    pub line: u32,
    /// Indexed like `spec.options`.
    given: Vec<Option<Given>>,
}

impl Read {
    pub fn new(
        spec: &'static SectionSpec,
        name: SectionName,
        section: &Section,
        report: &mut Report,
    ) -> Read {
        let mut read = Read {
            spec,
            name,
            given_name: section.name.clone(),
            line: section.line,
            given: spec.options.iter().map(|_| None).collect(),
        };
        if spec.named && section.name.is_none() {
            report.add(
                section.line,
                &read.name,
                None,
                format!(
                    "needs a name (`config {} 'NAME'`): other sections refer to it by name",
                    spec.stype
                ),
            );
        }
        for o in &section.options {
            read.take(o.name.as_str(), &o.value, o.line, report);
        }
        for (o, given) in spec.options.iter().zip(&read.given) {
            if o.default == Default::Required && given.is_none() {
                report.add(
                    section.line,
                    &read.name,
                    Some(o.name),
                    format!("is required; allowed: {}", o.kind.allowed()),
                );
            }
        }
        read
    }

    fn take(&mut self, name: &str, value: &Value, line: u32, report: &mut Report) {
        let Some(index) = self
            .spec
            .options
            .iter()
            .position(|o| o.spellings().any(|s| s == name))
        else {
            let spellings = self.spec.options.iter().flat_map(OptSpec::spellings);
            let known: Vec<&str> = self.spec.options.iter().map(|o| o.name).collect();
            let elsewhere = super::spec::SECTIONS
                .iter()
                .find(|other| other.option(name).is_some());
            let message = match (suggest::did_you_mean(name, spellings), elsewhere) {
                (Some(s), _) => format!("unknown option (did you mean '{s}'?)"),
                (None, Some(other)) => format!(
                    "unknown option for {}: it belongs in a {} section",
                    self.spec.stype, other.stype
                ),
                (None, None) => format!(
                    "unknown option; {} options are: {}",
                    self.spec.stype,
                    known.join(", ")
                ),
            };
            report.add(line, &self.name, Some(name), message);
            return;
        };
        let all: &'static [OptSpec] = self.spec.options;
        let spec = &all[index];
        let mut say = |message: String| report.add(line, &self.name, Some(spec.name), message);
        if let Some(earlier) = &self.given[index] {
            say(format!(
                "given twice (also at line {}, under another spelling)",
                earlier.line
            ));
            return;
        }
        let wrong_shape = match (value, spec.shape) {
            (Value::List(_), Shape::One) => Some("takes one value, not a list: write `option"),
            (Value::Single(_), Shape::List) => Some("is a list: write one `list"),
            _ => None,
        };
        if let Some(wrong) = wrong_shape {
            let per_value = if spec.shape == Shape::List {
                " line per value"
            } else {
                ""
            };
            say(format!("{wrong} {} '...'`{per_value}", spec.name));
            self.given[index] = Some(Given { line, items: None });
            return;
        }
        let texts: Vec<&str> = match value {
            Value::Single(s) if spec.shape == Shape::Many => spec.kind.items(s),
            Value::Single(s) => vec![s.as_str()],
            Value::List(items) => items.iter().map(String::as_str).collect(),
        };
        let mut items = Vec::new();
        let mut ok = true;
        for text in texts {
            match spec.kind.parse(text) {
                Ok(v) if spec.kind.unique_items() && items.contains(&v) => {
                    say(format!("'{text}' is listed twice"));
                    ok = false;
                }
                Ok(v) => items.push(v),
                Err(e) => {
                    say(e);
                    ok = false;
                }
            }
        }
        self.given[index] = Some(Given {
            line,
            items: ok.then_some(items),
        });
    }

    /// The position of an option in the spec; `None` for a name the section does not have.
    fn index(&self, name: &str) -> Option<usize> {
        self.spec.options.iter().position(|o| o.name == name)
    }

    fn given(&self, name: &str) -> Option<&Given> {
        self.given[self.index(name)?].as_ref()
    }

    /// Whether the file sets the option (validly or not).
    pub fn is_given(&self, name: &str) -> bool {
        self.given(name).is_some()
    }

    /// The line to blame for the option: its own, or the section's when it is not given.
    pub fn line_of(&self, name: &str) -> u32 {
        self.given(name).map_or(self.line, |g| g.line)
    }

    /// The option's valid values, else its default's (empty for none, derived or required).
    /// Read once per option, into its typed field (`options`).
    pub fn values(&self, name: &str) -> Vec<Val> {
        let Some(i) = self.index(name) else {
            return Vec::new();
        };
        if let Some(Given {
            items: Some(items), ..
        }) = &self.given[i]
        {
            return items.clone();
        }
        let spec = &self.spec.options[i];
        match spec.default {
            Default::Value(text) => spec
                .kind
                .items(text)
                .into_iter()
                .filter_map(|t| spec.kind.parse(t).ok())
                .collect(),
            _ => Vec::new(),
        }
    }
}
