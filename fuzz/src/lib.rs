//! The fuzz harnesses of taplab: what each libFuzzer target does with its bytes.
//!
//! libFuzzer hands a target a byte string; the thin files in `fuzz_targets/` pass it to
//! one function here, which turns it into input for the real code and runs that code
//! with every loop bounded. A target finds a bug by panicking (an oracle's `assert!`, or
//! a panic inside taplab), by running past libFuzzer's `-timeout`, or by growing past
//! `-rss_limit_mb` (scripts/fuzz.sh sets both).
//!
//! | target | entry | bytes become |
//! |---|---|---|
//! | `frames` | [`frames::run`] | a few configuration choices ([`knobs`]: TCP knobs, limits, edge guard), then Ethernet frames delivered to the server side of `taplab serve` at virtual times ([`records`], [`fixup`], [`server`]) |
//! | `http` | [`http::run`] | request bytes into one [`taplab::http::HttpConnection`], cut where the input says, over a temporary [`site`] |
//! | `trace` | [`trace::run`] | a capture file (pcap or pcapng) listed as `taplab trace` lists it, read from memory |
//! | `script` | [`script::run`] | scripted-peer text: parsed, and when it parses and is short, run against the server chain |
//!
//! [`seeds`] makes the committed seed corpus (`cargo run --example make-seeds`): real
//! frames built with `smoltcp::wire`, requests, captures and scripts, so the fuzzer
//! starts past the first checks.

pub mod fixup;
pub mod frames;
pub mod http;
pub mod knobs;
pub mod records;
pub mod script;
pub mod seeds;
pub mod server;
pub mod site;
pub mod trace;
