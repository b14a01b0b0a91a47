//! The option tables in docs/config.md and README.md are the ones the option specs
//! produce, so the reference cannot drift from what `rail check` accepts.
//! `RAIL_BLESS=1 cargo test --test config_docs` rewrites them after a spec change.

use rail::config::spec::{reference_table, SECTIONS};

const DOCS: [&str; 2] = [
    concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.md"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"),
];

/// The text between `<!-- options: TYPE -->` and the next `<!-- end -->`.
fn block(doc: &str, stype: &str) -> Option<(usize, usize)> {
    let open = format!("<!-- options: {stype} -->\n");
    let start = doc.find(&open)? + open.len();
    let end = start + doc[start..].find("<!-- end -->")?;
    Some((start, end))
}

#[test]
fn docs_tables_match_the_option_specs() {
    for path in DOCS {
        check(path);
    }
}

fn check(path: &str) {
    let mut doc = std::fs::read_to_string(path).expect(path);
    let bless = std::env::var_os("RAIL_BLESS").is_some();
    let mut stale = Vec::new();
    for spec in SECTIONS {
        let (start, end) = block(&doc, spec.stype)
            .unwrap_or_else(|| panic!("{path} has no `<!-- options: {} -->` block", spec.stype));
        let want = reference_table(spec);
        if doc[start..end] != want {
            stale.push(spec.stype);
            doc.replace_range(start..end, &want);
        }
    }
    if bless {
        std::fs::write(path, doc).expect(path);
    } else {
        assert!(
            stale.is_empty(),
            "{path} is stale for {stale:?}; run RAIL_BLESS=1 cargo test --test config_docs"
        );
    }
}
