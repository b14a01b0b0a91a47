//! `rail check` as an admin runs it: the built binary on real files, its exit status and
//! what it prints.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DEFAULT_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/files/etc/config/rail");

fn rail_check(file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rail"))
        .arg("-c")
        .arg(file)
        .arg("check")
        .output()
        .expect("run rail")
}

/// A file of our own under the target dir, unique per test (tests run in parallel).
fn write(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("config_check");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_shipped_default_config_passes() {
    let out = rail_check(Path::new(DEFAULT_CONFIG));
    assert_eq!(out.status.code(), Some(0), "{:?}", stderr_lines(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(stderr_lines(&out), vec![format!("{DEFAULT_CONFIG}: ok")]);
}

#[test]
fn unknown_option_bad_number_and_dangling_member_give_three_located_errors() {
    let path = write(
        "three.conf",
        "config interface 'wan'
	list track_ip '198.18.0.1'
	option intervall '1'
	option down 'three'

config member 'wan_m1'
	option interface 'wna'

config policy 'p'
	list use_member 'wan_m1'
",
    );
    let out = rail_check(&path);
    let f = path.display();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr_lines(&out),
        vec![
            format!("{f}:3: interface 'wan' option 'intervall': unknown option (did you mean 'interval'?)"),
            format!("{f}:4: interface 'wan' option 'down': 'three' is not a whole number; allowed: 1..100"),
            format!("{f}:7: member 'wan_m1' option 'interface': interface 'wna' does not exist (did you mean 'wan'?)"),
        ]
    );
}

/// A device name nft cannot quote once broke every `nft -f`, and with it the whole table.
#[test]
fn a_device_name_nft_cannot_quote_is_refused_where_it_is_written() {
    let path = write(
        "quote.conf",
        "config interface 'wan'
	option device 'eth\"1'
	list track_ip '198.18.0.1'

config rule 'r'
	list src_dev 'br-lan'
	list src_dev 'lan*'
	option use_policy 'p'
",
    );
    let out = rail_check(&path);
    let f = path.display();
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    for (line, option, value) in [(2, "device", "eth\"1"), (7, "src_dev", "lan*")] {
        let located = format!("{f}:{line}: ");
        assert!(
            lines.iter().any(|l| l.starts_with(&located)
                && l.contains(&format!("option '{option}'"))
                && l.contains(&format!("'{value}' is not a network device name"))),
            "{located} {option}: {lines:?}"
        );
    }
}

#[test]
fn a_syntax_error_is_located_to_the_column() {
    let path = write(
        "syntax.conf",
        "config interface 'wan'\n\toption interval '1\n",
    );
    let out = rail_check(&path);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let prefix = format!("{}:2:", path.display());
    assert!(lines[0].starts_with(&prefix), "{lines:?}");
}

#[test]
fn an_unreadable_file_is_one_clear_error() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("config_check/does-not-exist");
    let out = rail_check(&path);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with(&format!("{}: cannot read it: ", path.display())),
        "{lines:?}"
    );
}

#[test]
fn the_example_in_docs_config_md_is_what_rail_check_prints() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.md"))
        .expect("docs/config.md");
    let after = doc
        .split("For example:")
        .nth(1)
        .expect("an example in docs/config.md");
    // The first two fenced blocks after it: the file, then the output.
    let blocks: Vec<&str> = after.split("```").skip(1).step_by(2).take(2).collect();
    let (file, expected) = (
        blocks[0].trim_start_matches('\n'),
        blocks[1].trim_start_matches('\n'),
    );
    let path = write("docs-example.conf", file);
    let out = rail_check(&path);
    assert_eq!(out.status.code(), Some(2));
    let printed = String::from_utf8_lossy(&out.stderr)
        .replace(&path.display().to_string(), "/etc/config/rail");
    assert_eq!(printed, expected);
}
