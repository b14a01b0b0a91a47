//! A located configuration problem, printed the way an admin fixes it:
//! `FILE:LINE: interface 'wan' option 'interval': <what is wrong and what is allowed>`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// 1-based; `None` when the file as a whole is the problem (unreadable).
    pub line: Option<u32>,
    /// Set for syntax errors, which the UCI parser locates to the column.
    pub column: Option<u32>,
    pub section: Option<SectionName>,
    pub option: Option<String>,
    pub message: String,
}

/// How a section is named in messages: `interface 'wan'`, `rule '@rule[0]'` when anonymous
/// (the name `uci show rail.@rule[0]` accepts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionName {
    pub stype: String,
    pub name: String,
}

impl Problem {
    /// A problem with the whole file (unreadable, or a syntax error located by the parser).
    pub fn file(file: &str, message: impl Into<String>) -> Problem {
        Problem {
            file: file.to_string(),
            line: None,
            column: None,
            section: None,
            option: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(column) = self.column {
            write!(f, ":{column}")?;
        }
        if let Some(s) = &self.section {
            write!(f, ": {} '{}'", s.stype, s.name)?;
        }
        match (&self.option, &self.section) {
            (Some(o), Some(_)) => write!(f, " option '{o}'")?,
            (Some(o), None) => write!(f, ": option '{o}'")?,
            (None, _) => {}
        }
        write!(f, ": {}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(section: bool, option: bool) -> Problem {
        Problem {
            line: Some(12),
            section: section.then(|| SectionName {
                stype: "interface".into(),
                name: "wan".into(),
            }),
            option: option.then(|| "interval".into()),
            ..Problem::file("/etc/config/rail", "'x' is not a duration")
        }
    }

    #[test]
    fn prints_file_line_section_option_message() {
        assert_eq!(
            located(true, true).to_string(),
            "/etc/config/rail:12: interface 'wan' option 'interval': 'x' is not a duration"
        );
        assert_eq!(
            located(true, false).to_string(),
            "/etc/config/rail:12: interface 'wan': 'x' is not a duration"
        );
        assert_eq!(
            located(false, false).to_string(),
            "/etc/config/rail:12: 'x' is not a duration"
        );
        assert_eq!(
            Problem::file("/etc/config/rail", "cannot read it: permission denied").to_string(),
            "/etc/config/rail: cannot read it: permission denied"
        );
        let syntax = Problem {
            line: Some(3),
            column: Some(7),
            ..Problem::file("f", "unterminated quote")
        };
        assert_eq!(syntax.to_string(), "f:3:7: unterminated quote");
    }
}
