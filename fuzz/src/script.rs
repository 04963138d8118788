//! Target `script`: scripted-peer text into its parser and, when it parses and is short,
//! a run of it against the server chain, as `taplab lab --script FILE` runs it.
//!
//! Input: the script's text (bytes that are not UTF-8 are replaced, so the parser always
//! gets text; the command line refuses such a file before parsing). Then:
//! 1. [`parse_script`]; an error is rendered as the command line shows it (line, column,
//!    the line and a caret: [`show_parse_error`]);
//! 2. a script that parses, has at most [`MAX_EVENTS`] lines and whose times reach at
//!    most [`MAX_HORIZON_US`] of virtual time ([`horizon`]) is run with the knobs its
//!    `// flags:` line asks for, parsed as the command line parses them (flags that do
//!    not parse: the defaults), over the repository's `www/` (what the examples expect,
//!    as `lab --script` serves by default), with no pcap file, the stack's limits and
//!    edge guard as its flags say (`--max-conns`, `--backlog`, `--no-guard`), and receive
//!    buffers of at most [`MAX_WINDOW`] (larger windows only cost memory per connection,
//!    not new code paths).
//!
//! Why the bounds: a run costs one step of the stack per 500 ms of virtual time it
//! covers (the runner wakes the stack as `serve` would), and times may be up to a day.
//! Long scripts are run by the repository's own tests (keepalive.pkt covers 150 s).
//!
//! Oracle: no panic; a parse error has a message; the run itself reports (a failing line
//! is an outcome, not an error) — it may fail only if the stack could not be set up,
//! which cannot happen here.

use clap::Parser;
use smoltcp::time::Duration;
use std::path::Path;
use taplab::script::parse::{Dir, Time, When};
use taplab::script::run::ANY_WAIT;
use taplab::script::{
    IpVersion, Outcome, RunOptions, Script, ScriptArgs, parse_script, show_parse_error,
};
use taplab::server_stack::{DEFAULT_BACKLOG, DEFAULT_MAX_CONNS};
use taplab::stack::admission::Limits;

pub const MAX_EVENTS: usize = 40;
/// 15 minutes: past the keep-alive (60 s), peer-silence (150 s) and `*` (600 s) waits.
pub const MAX_HORIZON_US: i64 = 900_000_000;
pub const MAX_WINDOW: usize = 4 << 20;

pub fn run(data: &[u8]) {
    outcome(data);
}

/// [`run`], returning how the run ended (None: not run).
pub fn outcome(data: &[u8]) -> Option<Outcome> {
    let text = String::from_utf8_lossy(data);
    let script = match parse_script(&text) {
        Ok(s) => s,
        Err(e) => {
            assert!(!e.msg.is_empty(), "a parse error without a message: {e:?}");
            let shown = show_parse_error("fuzz.pkt", &text, &e);
            assert!(shown.starts_with("fuzz.pkt:"), "{shown}");
            return None;
        }
    };
    if script.events.len() > MAX_EVENTS || horizon(&script) > MAX_HORIZON_US {
        return None;
    }
    let opts = options(&script);
    match taplab::script::run::run(&script, &opts, &mut std::io::sink()) {
        Ok(o) => Some(o),
        Err(e) => panic!("the scripted run could not start: {e}"),
    }
}

/// How far (µs from the start) the script's times can take the run: every relative
/// time added up, absolute times as they are, a range to its end, and `*` as the
/// longest wait it may be.
pub fn horizon(script: &Script) -> i64 {
    let time = |now: i64, t: Time| match t {
        Time::Relative(us) => now.saturating_add(us.max(0)),
        Time::Absolute(us) => now.max(us),
    };
    script.events.iter().fold(0i64, |now, e| match e.when {
        When::At(t) => time(now, t),
        When::Range(_, b) => time(now, b),
        // `*` is allowed in `>` lines only; the parser enforces it.
        When::Any => {
            debug_assert_eq!(e.dir, Dir::Out);
            now.saturating_add(ANY_WAIT.total_micros() as i64)
        }
    })
}

/// The run's options: the script's `// flags:`, as the command line would take them,
/// bounded for the fuzzer.
fn options(script: &Script) -> RunOptions {
    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        args: ScriptArgs,
    }
    let argv = ["taplab-script", "FILE"]
        .into_iter()
        .chain(script.flags.as_deref().unwrap_or("").split_whitespace());
    let parsed = Flags::try_parse_from(argv).ok().map(|f| f.args);
    let knobs = parsed
        .clone()
        .and_then(|a| a.knobs.into_knobs().ok())
        .filter(|k| k.rx_buffer() <= MAX_WINDOW)
        .unwrap_or_default();
    RunOptions {
        www: Path::new(env!("CARGO_MANIFEST_DIR")).join("../www"),
        knobs,
        tolerance: Duration::from_millis(parsed.as_ref().map_or(10, |a| a.tolerance)),
        request_timeout: parsed
            .as_ref()
            .map_or(std::time::Duration::from_secs(10), |a| a.request_timeout),
        limits: parsed.as_ref().map_or(
            Limits {
                max_conns: DEFAULT_MAX_CONNS,
                backlog: DEFAULT_BACKLOG,
            },
            |a| a.limits.limits(),
        ),
        guard: !parsed.as_ref().is_some_and(|a| a.limits.no_guard),
        pcap: None,
        ip: IpVersion::from_ipv6_flag(parsed.is_some_and(|a| a.ipv6)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples pass as the command line runs them: the flags are honoured.
    #[test]
    fn every_example_passes() {
        for (name, text) in crate::seeds::script::seeds() {
            let o = outcome(&text);
            if name == "syntax-error" {
                assert_eq!(o, None);
            } else {
                assert!(matches!(o, Some(Outcome::Passed { .. })), "{name}: {o:?}");
            }
        }
    }

    #[test]
    fn the_horizon_adds_relative_times_and_counts_any_as_its_longest_wait() {
        let s = parse_script(
            "0 < S 0:0(0) win 65535\n+0.5 > S. 0:0(0) ack 1\n2 < . 1:1(0) ack 1\n+0~+1 > . 1:1(0)\n* > F. 1:1(0)\n",
        )
        .unwrap();
        assert_eq!(horizon(&s), 3_000_000 + 600_000_000);
    }

    #[test]
    fn flags_lines_choose_the_knobs_limits_guard_and_ip_version_within_the_bounds() {
        let s = parse_script(
            "// flags: --isn 1000 --ipv6 --max-conns 200 --backlog 3 --no-guard\n0 < S 0:0(0)\n",
        )
        .unwrap();
        let o = options(&s);
        assert_eq!(o.knobs.isn, taplab::knobs::IsnMode::Fixed(1000));
        assert_eq!(o.ip, IpVersion::V6);
        assert_eq!(
            o.limits,
            Limits {
                max_conns: 200,
                backlog: 3
            }
        );
        assert!(!o.guard);
        let s = parse_script("// flags: --bogus\n0 < S 0:0(0)\n").unwrap();
        let o = options(&s);
        assert_eq!(o.knobs, taplab::knobs::TcpKnobs::default());
        assert_eq!(o.limits.max_conns, DEFAULT_MAX_CONNS);
        assert!(o.guard);
        // A window past the bound: the defaults.
        let s = parse_script("// flags: --wscale 14\n0 < S 0:0(0)\n").unwrap();
        assert_eq!(options(&s).knobs, taplab::knobs::TcpKnobs::default());
    }
}
