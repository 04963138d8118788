//! The `taplab` binary: everything lives in the library; see `taplab::cli`.

fn main() {
    std::process::exit(taplab::cli::main());
}
