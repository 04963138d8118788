//! The seed corpus: for each target, a few inputs that already pass its first checks, so
//! the fuzzer starts from real traffic instead of discovering Ethernet, TCP's handshake,
//! HTTP or the capture formats byte by byte.
//!
//! Everything is built here from scratch: frames with `smoltcp::wire` ([`frames`]),
//! captures of those frames written as pcap and pcapng ([`trace`]), requests ([`http`]),
//! and the repository's own example scripts ([`script`]).
//! `cargo run --example make-seeds` writes them to `corpus/<target>/seed-<name>`, the only
//! corpus files that are committed.

pub mod frames;
pub mod http;
pub mod script;
pub mod trace;

/// Every seed: (target, name, input).
pub fn all() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    for (target, seeds) in [
        ("frames", frames::seeds()),
        ("http", http::seeds()),
        ("trace", trace::seeds()),
        ("script", script::seeds()),
    ] {
        out.extend(seeds.into_iter().map(|(n, s)| (target, n, s)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every seed runs through its target without a finding (a seed that fails its
    /// own oracle would stop the fuzzer at once).
    #[test]
    fn every_seed_passes_its_target() {
        let all = all();
        assert!(all.len() >= 40, "{} seeds", all.len());
        for (target, name, input) in &all {
            let run = match *target {
                "frames" => crate::frames::run,
                "http" => crate::http::run,
                "trace" => crate::trace::run,
                "script" => crate::script::run,
                other => panic!("unknown target {other}"),
            };
            eprintln!("{target}/{name}");
            run(input);
        }
    }
}
