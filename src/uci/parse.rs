//! The UCI file reader: turns the text of one `/etc/config` file into a [`Package`] exactly
//! as libuci's `uci_import` does (openwrt/uci file.c), or a located [`ParseError`].
//!
//! libuci tokenizes in place: it reads a physical line into a buffer, unescapes each argument
//! over the buffer, writes NUL terminators into it and appends continuation lines at the
//! current position. Several of its odd but observable behaviours follow from that (an
//! unquoted value directly followed by `;` swallows the rest of the line; a continuation line
//! that starts with a blank ends the argument). To be diffable against the real tool this
//! module replays the same algorithm on a byte buffer, and keeps beside it where every byte
//! came from so errors point at the file's own line and column. Section, option and list
//! semantics (merging, option/list conversion) live in [`Builder`].

use super::{Package, Section, UciOption, Value};
use std::fmt;

/// A syntax error, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses the text of a UCI file. `file` is only used in error messages.
pub fn parse(file: &str, text: &str) -> Result<Package, ParseError> {
    parse_bytes(file, text.as_bytes())
}

/// Parses raw file contents (the entry point for fuzzing: any input, never panics).
///
/// libuci reads bytes; rail keeps strings, so input that is not UTF-8 is rejected, as are NUL
/// bytes, which libuci's `fgets`-based reader cannot represent either.
pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<Package, ParseError> {
    let fail = |at: usize, message: String| {
        let loc = locate(bytes, at);
        Err(ParseError {
            file: file.to_string(),
            line: loc.line,
            column: loc.column,
            message,
        })
    };
    if let Err(e) = std::str::from_utf8(bytes) {
        return fail(
            e.valid_up_to(),
            "the file is not valid UTF-8 text".to_string(),
        );
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return fail(at, "NUL byte in the file".to_string());
    }
    let mut p = Parser {
        src: bytes,
        next: 0,
        line_no: 0,
        buf: Vec::new(),
        locs: Vec::new(),
        filled: 0,
        pos: 0,
        builder: Builder::default(),
    };
    p.run().map_err(|Failure { at, message }| ParseError {
        file: file.to_string(),
        line: at.line,
        column: at.column,
        message,
    })?;
    Ok(p.builder.finish())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Loc {
    line: u32,
    column: u32,
}

/// Line and column of byte offset `at` in `bytes` (used only on the error path).
fn locate(bytes: &[u8], at: usize) -> Loc {
    let before = &bytes[..at.min(bytes.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Loc {
        line: saturate(before.iter().filter(|&&b| b == b'\n').count() + 1),
        column: saturate(column),
    }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct Failure {
    at: Loc,
    message: String,
}

type Step<T> = Result<T, Failure>;

/// C's `isspace` in the "C" locale, which is what libuci's reader runs under.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// uci_validate_str (util.c): names are `[A-Za-z0-9_]`; types (name = false) may also use
/// any printable ASCII except space; package names may also use `-`.
fn valid_str(s: &[u8], name: bool, package: bool) -> bool {
    !s.is_empty()
        && s.iter().all(|&c| {
            c.is_ascii_alphanumeric()
                || c == b'_'
                || (c == b'-' && package)
                || (!name && (33..=126).contains(&c))
        })
}

struct Parser<'a> {
    src: &'a [u8],
    /// Offset in `src` of the next physical line to read.
    next: usize,
    /// Number of physical lines read so far.
    line_no: u32,
    /// libuci's `pctx->buf`; bytes past its end read as NUL.
    buf: Vec<u8>,
    /// Where each byte of `buf` was read from (never rewritten by in-place unescaping).
    locs: Vec<Loc>,
    /// libuci's `pctx->buf_filled`: the end of the last line read.
    filled: usize,
    pos: usize,
    builder: Builder,
}

impl Parser<'_> {
    fn run(&mut self) -> Step<()> {
        while self.next < self.src.len() {
            self.pos = 0;
            self.getln(0);
            if self.at(0) != 0 {
                self.parse_line()?;
            }
        }
        Ok(())
    }

    fn at(&self, i: usize) -> u8 {
        self.buf.get(i).copied().unwrap_or(0)
    }

    fn cur(&self) -> u8 {
        self.at(self.pos)
    }

    fn set(&mut self, i: usize, c: u8) {
        if let Some(b) = self.buf.get_mut(i) {
            *b = c;
        }
    }

    /// Where buffer offset `i` came from; the end of the buffer maps to just past its last byte.
    fn loc(&self, i: usize) -> Loc {
        match self.locs.get(i) {
            Some(l) => *l,
            None => self.end_loc(),
        }
    }

    fn end_loc(&self) -> Loc {
        let end = self.buf.len().min(self.locs.len());
        match end.checked_sub(1).and_then(|i| self.locs.get(i)) {
            Some(l) if self.buf.get(end - 1) == Some(&b'\n') => Loc {
                line: l.line,
                column: l.column,
            },
            Some(l) => Loc {
                line: l.line,
                column: l.column.saturating_add(1),
            },
            None => locate(self.src, self.next),
        }
    }

    fn fail<T>(&self, i: usize, message: impl Into<String>) -> Step<T> {
        Err(Failure {
            at: self.loc(i),
            message: message.into(),
        })
    }

    /// uci_getln: read the next physical line (with its '\n') into the buffer at `offset`.
    fn getln(&mut self, offset: usize) {
        if self.buf.len() < offset {
            let pad = self.end_loc();
            self.locs.resize(offset, pad);
        }
        self.buf.resize(offset, 0);
        self.locs.truncate(offset);
        if self.next >= self.src.len() {
            return;
        }
        self.line_no = self.line_no.saturating_add(1);
        let first = Loc {
            line: self.line_no,
            column: 1,
        };
        let rest = &self.src[self.next..];
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = &rest[..len];
        let mut column = first.column;
        for (i, &b) in line.iter().enumerate() {
            self.buf.push(b);
            self.locs.push(Loc {
                line: first.line,
                column,
            });
            // Count characters, not bytes: a UTF-8 lead byte starts a new column.
            if line.get(i + 1).is_some_and(|&n| n & 0xC0 != 0x80) {
                column = column.saturating_add(1);
            }
        }
        self.next += len;
        self.filled = self.buf.len();
    }

    /// A NUL-terminated string of the buffer, as C code would see it at offset `i`.
    fn cstr(&self, i: usize) -> &[u8] {
        let tail = self.buf.get(i..).unwrap_or(&[]);
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        &tail[..end]
    }

    fn text(&self, i: usize) -> String {
        String::from_utf8_lossy(self.cstr(i)).into_owned()
    }

    /// parse_backslash: true when the escaped character is to be kept; a backslash at the end
    /// of a line joins the next line instead.
    fn backslash(&mut self) -> bool {
        self.pos += 1;
        let c = self.cur();
        if c == 0
            || c == b'\n'
            || (c == b'\r' && self.at(self.pos + 1) == b'\n' && self.at(self.pos + 2) == 0)
        {
            self.getln(self.pos);
            return false;
        }
        true
    }

    fn skip_whitespace(&mut self) {
        while self.cur() != 0 && is_space(self.cur()) {
            self.pos += 1;
        }
    }

    fn addc(&mut self, target: &mut usize) {
        let c = self.cur();
        self.set(*target, c);
        *target += 1;
        self.pos += 1;
    }

    /// Reads more lines for a quoted string that continues past the end of the buffer.
    fn continue_quote(&mut self, open: usize, quote: char) -> Step<()> {
        self.getln(self.pos);
        if self.cur() == 0 {
            return self.fail(
                open,
                format!("the {quote} quote opened here is never closed before the end of the file"),
            );
        }
        Ok(())
    }

    fn double_quote(&mut self, target: &mut usize) -> Step<()> {
        let open = self.pos;
        self.pos += 1;
        loop {
            match self.cur() {
                b'"' => {
                    self.pos += 1;
                    return Ok(());
                }
                0 => self.continue_quote(open, '"')?,
                b'\\' => {
                    if self.backslash() {
                        self.addc(target);
                    }
                }
                _ => self.addc(target),
            }
        }
    }

    fn single_quote(&mut self, target: &mut usize) -> Step<()> {
        let open = self.pos;
        self.pos += 1;
        loop {
            match self.cur() {
                b'\'' => {
                    self.pos += 1;
                    return Ok(());
                }
                0 => self.continue_quote(open, '\'')?,
                _ => self.addc(target),
            }
        }
    }

    /// parse_str: one argument made of adjacent unquoted, '...' and "..." pieces.
    fn parse_str(&mut self, target: &mut usize) -> Step<()> {
        let mut next = true;
        loop {
            match self.cur() {
                b'\'' => self.single_quote(target)?,
                b'"' => self.double_quote(target)?,
                b'#' => {
                    self.set(self.pos, 0);
                    break;
                }
                0 => break,
                b';' => {
                    next = false;
                    break;
                }
                b'\\' => {
                    if self.backslash() {
                        self.addc(target);
                    }
                }
                _ => self.addc(target),
            }
            if self.cur() == 0 || is_space(self.cur()) {
                break;
            }
        }
        // The terminator below overwrites the blank that ended an unquoted argument.
        if self.cur() != 0 && next {
            self.pos += 1;
        }
        self.set(*target, 0);
        Ok(())
    }

    /// next_arg: the buffer offset of the next argument (empty when there is none).
    fn next_arg(&mut self, required: Option<&str>) -> Step<usize> {
        self.skip_whitespace();
        let val = self.pos;
        let mut target = val;
        if self.cur() == b';' {
            self.set(self.pos, 0);
            self.pos += 1;
        } else {
            self.parse_str(&mut target)?;
        }
        if self.at(val) == 0 {
            if let Some(what) = required {
                return self.fail(val, format!("missing {what}"));
            }
        }
        Ok(val)
    }

    /// next_arg for a section or option name, which libuci validates as it reads it.
    fn next_name(&mut self, what: &str, required: bool) -> Step<usize> {
        let val = self.next_arg(required.then_some(what))?;
        let name = self.cstr(val);
        if !name.is_empty() && !valid_str(name, true, false) {
            return self.fail(
                val,
                format!(
                    "invalid {what} '{}': only letters, digits and '_' are allowed",
                    self.text(val)
                ),
            );
        }
        Ok(val)
    }

    /// assert_eol (libuci runs strict by default, as `uci show` does).
    fn assert_eol(&mut self, statement: &str) -> Step<()> {
        self.skip_whitespace();
        let extra = self.next_arg(None)?;
        if self.at(extra) != 0 {
            return self.fail(
                extra,
                format!(
                    "too many arguments to '{statement}': unexpected '{}' (quote values that contain blanks)",
                    self.text(extra)
                ),
            );
        }
        Ok(())
    }

    /// Steps over the command word that strtok terminated (uci_increase_pos).
    fn skip_command(&mut self, word_at: usize, what: &str) -> Step<()> {
        let add = self.cstr(self.pos).len() + 1;
        if self.pos + add > self.filled {
            return self.fail(word_at, what.to_string());
        }
        self.pos += add;
        Ok(())
    }

    /// uci_parse_line: the statements of one line, separated by ';'.
    fn parse_line(&mut self) -> Step<()> {
        self.skip_whitespace();
        loop {
            // strtok(cur, " \t"): only blanks and tabs delimit the command word.
            let mut start = self.pos;
            while matches!(self.at(start), b' ' | b'\t') {
                start += 1;
            }
            if self.at(start) == 0 {
                return Ok(());
            }
            let mut end = start;
            while !matches!(self.at(end), 0 | b' ' | b'\t') {
                end += 1;
            }
            self.set(end, 0);
            let word = self.buf.get(start..end).unwrap_or(&[]).to_vec();
            let is = |long: &[u8]| word.len() == 1 || word.as_slice() == long;
            match word.first() {
                Some(b'#') => return Ok(()),
                Some(b'p') if is(b"package") => self.parse_package(start)?,
                Some(b'c') if is(b"config") => self.parse_config(start)?,
                Some(b'o') if is(b"option") => self.parse_option(start, false)?,
                Some(b'l') if is(b"list") => self.parse_option(start, true)?,
                _ => {
                    let trimmed = String::from_utf8_lossy(&word).trim_end().to_string();
                    if trimmed.is_empty() {
                        // Only reachable after a ';' (strtok splits on blanks, not newlines).
                        return self.fail(
                            start,
                            "empty statement after ';': libuci rejects a ';' at the end of a line",
                        );
                    }
                    if ["package", "config", "option", "list", "p", "c", "o", "l"]
                        .contains(&trimmed.as_str())
                    {
                        return self.fail(
                            start,
                            format!("'{trimmed}' needs its arguments on the same line"),
                        );
                    }
                    return self.fail(
                        start,
                        format!(
                            "unknown statement '{}': expected package, config, option or list \
                             (or their first letters p, c, o, l)",
                            String::from_utf8_lossy(&word).escape_debug()
                        ),
                    );
                }
            }
        }
    }

    /// `package NAME`: in a file loaded by name (as /etc/config files are) libuci checks the
    /// name and otherwise ignores it.
    fn parse_package(&mut self, word_at: usize) -> Step<()> {
        self.skip_command(word_at, "'package' needs a name")?;
        let val = self.next_arg(Some("package name"))?;
        if !valid_str(self.cstr(val), true, true) {
            return self.fail(
                val,
                format!(
                    "invalid package name '{}': only letters, digits, '_' and '-' are allowed",
                    self.text(val)
                ),
            );
        }
        self.assert_eol("package")
    }

    fn parse_config(&mut self, word_at: usize) -> Step<()> {
        let line = self.loc(word_at).line;
        self.skip_command(word_at, "'config' needs a section type")?;
        let type_at = self.next_arg(Some("section type after 'config'"))?;
        if !valid_str(self.cstr(type_at), false, false) {
            return self.fail(
                type_at,
                format!(
                    "invalid section type '{}': only printable characters without blanks are allowed",
                    self.text(type_at).escape_debug()
                ),
            );
        }
        let name_at = self.next_name("section name", false)?;
        self.assert_eol("config")?;
        let stype = self.text(type_at);
        let name = self.text(name_at);
        if let Err(other) = self.builder.open_section(stype.clone(), name.clone(), line) {
            return self.fail(
                name_at,
                format!(
                    "section '{name}' was declared as type '{other}' before; \
                     a section name can only be reused with the same type, not '{stype}'"
                ),
            );
        }
        Ok(())
    }

    fn parse_option(&mut self, word_at: usize, list: bool) -> Step<()> {
        let statement = if list { "list" } else { "option" };
        let line = self.loc(word_at).line;
        let Some(section) = self.builder.current else {
            return self.fail(
                word_at,
                format!("'{statement}' before the first 'config' section"),
            );
        };
        self.skip_command(word_at, &format!("'{statement}' needs a name"))?;
        let name_at = self.next_name(&format!("{statement} name"), true)?;
        let value_at = self.next_arg(None)?;
        self.assert_eol(statement)?;
        let name = self.text(name_at);
        let value = self.text(value_at);
        let options = &mut self.builder.sections[section].options;
        if list {
            add_list(options, name, value, line);
        } else {
            set_option(options, name, value, line);
        }
        Ok(())
    }
}

/// The package under construction, with libuci's semantics for repeated names (list.c).
#[derive(Default)]
struct Builder {
    sections: Vec<Section>,
    /// libuci's name for each section: anonymous ones get `cfgNNHHHH`, which a later
    /// `config TYPE 'cfgNNHHHH'` re-opens like any other name.
    keys: Vec<String>,
    /// libuci's `n_section`: sections allocated so far (numbers the generated names).
    allocated: usize,
    current: Option<usize>,
}

impl Builder {
    /// `config TYPE [NAME]`; an error carries the type the name already has.
    fn open_section(&mut self, stype: String, name: String, line: u32) -> Result<(), String> {
        if !name.is_empty() {
            if let Some(i) = self.keys.iter().position(|k| *k == name) {
                // uci_set on an existing section of the same type changes nothing; a different
                // type is a parse error in strict mode (uci_parse_config).
                if self.sections[i].stype != stype {
                    return Err(self.sections[i].stype.clone());
                }
                self.current = Some(i);
                return Ok(());
            }
        }
        self.allocated += 1;
        let key = if name.is_empty() {
            // uci_fixup_section: counter and a djb hash of the type (no options yet).
            let hash = stype.bytes().fold(5381u32, |h, b| {
                h.wrapping_mul(33).wrapping_add(u32::from(b))
            }) & 0x7FFF_FFFF;
            format!("cfg{:02x}{:04x}", self.allocated, hash % (1 << 16))
        } else {
            name.clone()
        };
        self.sections.push(Section {
            stype,
            name: (!name.is_empty()).then_some(name),
            line,
            options: Vec::new(),
        });
        self.keys.push(key);
        self.current = Some(self.sections.len() - 1);
        Ok(())
    }

    fn finish(self) -> Package {
        Package {
            sections: self.sections,
        }
    }
}

/// `option NAME VALUE`: replaces a value or a whole list in place. An empty value does
/// nothing at all (uci_set returns early: the parser's lookup is never "complete").
fn set_option(options: &mut Vec<UciOption>, name: String, value: String, line: u32) {
    if value.is_empty() {
        return;
    }
    let value = Value::Single(value);
    match options.iter_mut().find(|o| o.name == name) {
        Some(o) => {
            o.value = value;
            o.line = line;
        }
        None => options.push(UciOption { name, value, line }),
    }
}

/// `list NAME VALUE`: appends; an option of that name becomes the list's first item.
fn add_list(options: &mut Vec<UciOption>, name: String, value: String, line: u32) {
    match options.iter_mut().find(|o| o.name == name) {
        Some(o) => {
            o.line = line;
            match &mut o.value {
                Value::List(items) => items.push(value),
                Value::Single(old) => o.value = Value::List(vec![std::mem::take(old), value]),
            }
        }
        None => options.push(UciOption {
            name,
            value: Value::List(vec![value]),
            line,
        }),
    }
}
