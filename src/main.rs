//! The `rail` multi-call binary: everything lives in the library; this only hands over argv.

fn main() {
    std::process::exit(rail::cli::run(std::env::args().skip(1).collect()));
}
