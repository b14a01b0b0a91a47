//! Property tests of the UCI reader and writers: no input makes the parser panic, and
//! whatever it accepts survives export -> parse unchanged (parse -> show -> parse is stable).

use proptest::prelude::*;
use rail::uci::{export, parse, parse_bytes, show, Package, Section, UciOption, Value};

/// Line numbers depend on the layout of the file, not on its meaning.
fn without_lines(mut p: Package) -> Package {
    for s in &mut p.sections {
        s.line = 0;
        for o in &mut s.options {
            o.line = 0;
        }
    }
    p
}

/// Values rich in the characters the reader treats specially.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 '\"\\\\#;\t\n\r]{0,10}",
        "[^\u{0}]{0,10}",
        Just(String::new()),
    ]
}

fn option() -> impl Strategy<Value = UciOption> {
    let single = value()
        .prop_filter("libuci ignores empty options", |v| !v.is_empty())
        .prop_map(Value::Single);
    let list = prop::collection::vec(value(), 1..4).prop_map(Value::List);
    ("[A-Za-z0-9_]{1,6}", prop_oneof![single, list]).prop_map(|(name, value)| UciOption {
        name,
        value,
        line: 0,
    })
}

fn section() -> impl Strategy<Value = Section> {
    (
        prop_oneof!["[a-z_]{1,6}", "[!-~]{1,6}"],
        // At most 8 characters, so never libuci's 9-character anonymous names (cfgNNHHHH).
        prop::option::of("[A-Za-z0-9_]{1,8}"),
        prop::collection::vec(option(), 0..5),
    )
        .prop_map(|(stype, name, mut options)| {
            let mut seen = std::collections::HashSet::new();
            options.retain(|o| seen.insert(o.name.clone()));
            Section {
                stype,
                name,
                line: 0,
                options,
            }
        })
}

fn package() -> impl Strategy<Value = Package> {
    prop::collection::vec(section(), 0..6).prop_map(|mut sections| {
        let mut seen = std::collections::HashSet::new();
        sections.retain(|s| s.name.as_ref().is_none_or(|n| seen.insert(n.clone())));
        Package { sections }
    })
}

/// One argument: adjacent unquoted, '...', "..." and backslash-escaped pieces.
fn argument() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z0-9_]{1,4}",
        "[^'\u{0}]{0,5}".prop_map(|s| format!("'{s}'")),
        "[^\u{0}]{0,5}"
            .prop_map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))),
        "[^\u{0}\n]".prop_map(|c| format!("\\{c}")),
        Just("\\\n".to_string()),
    ];
    prop::collection::vec(piece, 1..4).prop_map(|p| p.concat())
}

/// UCI-looking text: mostly well-formed statements, with quotes, escapes, comments,
/// separators, continuations and some noise.
fn uci_text() -> impl Strategy<Value = String> {
    let name = prop_oneof![6 => "[a-z_]{1,3}", 1 => argument()];
    let statement = prop_oneof![
        2 => (prop_oneof![Just("config"), Just("c")], "[a-z]{1,2}", prop::option::of(name.clone()))
            .prop_map(|(c, t, n)| format!("{c} {t} {}", n.unwrap_or_default())),
        6 => (
            prop_oneof![Just("\toption"), Just("\tlist"), Just("o"), Just("l")],
            name,
            argument()
        )
            .prop_map(|(c, n, v)| format!("{c} {n} {v}")),
        1 => "[^\u{0}]{0,8}",
    ];
    let ending = prop_oneof![
        8 => Just("\n"),
        1 => Just("\r\n"),
        1 => Just(" # note\n"),
        1 => Just(" ; "),
        1 => Just(";"),
        1 => Just("\\\n"),
    ];
    prop::collection::vec((statement, ending), 0..12).prop_map(|v| {
        let body: String = v.into_iter().map(|(s, e)| s + e).collect();
        format!("config t\n{body}")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_bytes("fuzz", &bytes);
    }

    #[test]
    fn accepted_text_round_trips(text in uci_text()) {
        if let Ok(pkg) = parse("fuzz", &text) {
            if std::env::var_os("RAIL_PROP_STATS").is_some() {
                eprintln!("accepted {} sections", pkg.sections.len());
            }
            let written = export(&pkg);
            let again = parse("export", &written);
            prop_assert!(again.is_ok(), "{:?} -> {:?}: {:?}", text, written, again);
            let again = again.unwrap();
            prop_assert_eq!(show("p", &again), show("p", &pkg));
            prop_assert_eq!(without_lines(again), without_lines(pkg));
        }
    }

    #[test]
    fn generated_packages_round_trip(pkg in package()) {
        let written = export(&pkg);
        let again = parse("export", &written);
        prop_assert!(again.is_ok(), "{:?}: {:?}", written, again);
        let again = again.unwrap();
        prop_assert_eq!(show("p", &again), show("p", &pkg));
        prop_assert_eq!(export(&again), written);
        prop_assert_eq!(without_lines(again), pkg);
    }
}
