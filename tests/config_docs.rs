//! docs/config.md's option tables are the ones the option specs produce, so the reference
//! cannot drift from what `rail check` accepts. `RAIL_BLESS=1 cargo test --test config_docs`
//! rewrites them after a spec change.

use rail::config::spec::{reference_table, SECTIONS};

const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.md");

/// The text between `<!-- options: TYPE -->` and the next `<!-- end -->`.
fn block(doc: &str, stype: &str) -> Option<(usize, usize)> {
    let open = format!("<!-- options: {stype} -->\n");
    let start = doc.find(&open)? + open.len();
    let end = start + doc[start..].find("<!-- end -->")?;
    Some((start, end))
}

#[test]
fn docs_tables_match_the_option_specs() {
    let mut doc = std::fs::read_to_string(DOCS).expect("docs/config.md");
    let bless = std::env::var_os("RAIL_BLESS").is_some();
    let mut stale = Vec::new();
    for spec in SECTIONS {
        let (start, end) = block(&doc, spec.stype).unwrap_or_else(|| {
            panic!(
                "docs/config.md has no `<!-- options: {} -->` block",
                spec.stype
            )
        });
        let want = reference_table(spec);
        if doc[start..end] != want {
            stale.push(spec.stype);
            doc.replace_range(start..end, &want);
        }
    }
    if bless {
        std::fs::write(DOCS, doc).expect("write docs/config.md");
    } else {
        assert!(
            stale.is_empty(),
            "docs/config.md is stale for {stale:?}; run RAIL_BLESS=1 cargo test --test config_docs"
        );
    }
}
