//! Malformed UCI files: each is rejected (as OpenWrt's own `uci show` rejects it; checked
//! against a locally built uci) with the line and column an admin should look at.

/// (file contents, line, column, part of the message)
const CASES: &[(&str, u32, u32, &str)] = &[
    ("config\n", 1, 1, "'config' needs its arguments"),
    ("option a b\n", 1, 1, "before the first 'config'"),
    ("config t x\n\toption a b c\n", 2, 13, "too many arguments"),
    (
        "config t x\n\toption 'a-b' c\n",
        2,
        9,
        "invalid option name 'a-b'",
    ),
    (
        "config t 'bad name'\n",
        1,
        10,
        "invalid section name 'bad name'",
    ),
    (
        "config t x\n\toption a 'unterminated\n",
        2,
        11,
        "' quote opened here is never closed",
    ),
    (
        "config t x\n\toption a \"unterminated\n\n",
        2,
        11,
        "\" quote opened here is never closed",
    ),
    ("config t x\nconfig u x\n", 2, 10, "declared as type 't'"),
    ("config t x\n\tfoo a b\n", 2, 2, "unknown statement 'foo'"),
    ("config t x\n\toption a b ;\n", 2, 14, "after ';'"),
    ("config 'a b' x\n", 1, 8, "invalid section type 'a b'"),
    ("config t x\n\tlist\n", 2, 2, "'list' needs its arguments"),
    (
        "package 'my.pkg'\nconfig t x\n",
        1,
        9,
        "invalid package name 'my.pkg'",
    ),
    ("; config t x\n", 1, 1, "unknown statement ';'"),
    (
        "config t x\n\toption é b\n",
        2,
        9,
        "invalid option name 'é'",
    ),
    ("config t x\n\toption ab 'é' c\n", 2, 16, "unexpected 'c'"),
    ("config t x\n\toption a 'x\ny' z\n", 3, 4, "unexpected 'z'"),
    ("config t x\n\toption a b\\\n c\n", 3, 2, "unexpected 'c'"),
    (
        "config t x\n\toptions a b\n",
        2,
        2,
        "unknown statement 'options'",
    ),
    ("config t x\n\to '' b\n", 2, 4, "missing option name"),
    ("config", 1, 1, "'config' needs a section type"),
    ("config t x\n\t\"option\" a b\n", 2, 2, "unknown statement"),
];

#[test]
fn malformed_files_are_located() {
    let mut failures = Vec::new();
    for &(text, line, column, message) in CASES {
        match rail::uci::parse("/etc/config/rail", text) {
            Ok(pkg) => failures.push(format!("{text:?} parsed: {pkg:?}")),
            Err(e) => {
                let shown = e.to_string();
                let prefix = format!("/etc/config/rail:{line}:{column}: ");
                if (e.line, e.column) != (line, column)
                    || !shown.starts_with(&prefix)
                    || !e.message.contains(message)
                {
                    failures.push(format!(
                        "{text:?}: got {shown:?}, want {prefix}...{message}..."
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bytes_that_are_not_text_are_located() {
    let e = rail::uci::parse_bytes("f", b"config t x\n\toption a '\xff'\n").unwrap_err();
    assert_eq!((e.line, e.column), (2, 12), "{e}");
    let e = rail::uci::parse_bytes("f", b"config t\0").unwrap_err();
    assert_eq!((e.line, e.column), (1, 9), "{e}");
    assert!(e.message.contains("NUL"), "{e}");
}
