//! The bounded random-input run `make test` does instead of cargo-fuzz (which needs a
//! nightly compiler and minutes to install): for each fuzz target, the seed corpus in
//! fuzz/corpus/<target> plus mutations of it (bit flips, byte changes, insertions,
//! deletions, truncations, splices) go through the same functions the cargo-fuzz targets
//! call (tests/reliability_support). A panic fails the test and prints the input.
//! RAIL_FUZZ_SECS sets the time per target (default 4 s); RAIL_FUZZ_SEED the seed.

mod reliability_support;

use reliability_support as inputs;
use std::path::Path;
use std::time::{Duration, Instant};

/// xorshift64*: deterministic from a seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to the formats under test: lengths, type codes, UCI syntax.
const INTERESTING: &[u8] = &[
    0, 1, 2, 3, 4, 8, 0x0f, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x22, 0x27, 0x3d, 0x45, 0x5c, 0x7f, 0x80,
    0xff, b'\n', b'\t', b'\'', b'"', b'\\', b' ', b'#',
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                input.insert(i, rng.next() as u8);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(len - i + 1);
                input.drain(i..i + n);
            }
            4 => input.truncate(rng.below(len + 1)),
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                let at = rng.below(len + 1);
                let piece: Vec<u8> = other[from..].iter().take(rng.below(64)).copied().collect();
                input.splice(at..at, piece);
            }
            _ if len > 1 => {
                // A 16-bit length field set to something surprising.
                let i = rng.below(len - 1);
                let v = [0u16, 1, 4, 0x7fff, 0xffff][rng.below(5)].to_be_bytes();
                input[i..i + 2].copy_from_slice(&v);
            }
            _ => input.push(rng.next() as u8),
        }
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(!seeds.is_empty(), "{}: no seeds", dir.display());
    seeds.push(Vec::new());
    seeds
}

fn run(target: &str, f: fn(&[u8])) {
    let secs = std::env::var("RAIL_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4.0);
    let seed = std::env::var("RAIL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0000_0000_0001u64 ^ target.len() as u64);
    let seeds = corpus(target);
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut runs = 0u64;
    for s in &seeds {
        f(s);
    }
    while Instant::now() < deadline {
        let mut input = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &seeds, &mut input);
        let caught = std::panic::catch_unwind(|| f(&input));
        if caught.is_err() {
            panic!("{target}: panic on input {input:02x?} (seed {seed}, run {runs})");
        }
        runs += 1;
    }
    eprintln!("{target}: {runs} inputs in {secs} s, no panic");
}

#[test]
fn uci_parser_and_config_survive_random_input() {
    run("uci", inputs::uci);
}

#[test]
fn ubus_decoder_survives_random_input() {
    run("ubus", inputs::ubus);
}

#[test]
fn probe_reply_parsers_survive_random_input() {
    run("probe_reply", inputs::probe_reply);
}

#[test]
fn netlink_readers_survive_random_input() {
    run("netlink", inputs::netlink);
}
