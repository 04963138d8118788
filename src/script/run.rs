//! The runner: plays a parsed script against the server stack of `taplab serve`, in
//! memory and in virtual time.
//!
//! The server side is serve's ([`ServerStack`]), with the tap replaced by the in-memory
//! [`ScriptDevice`] and the site's file times fixed at [`VIRTUAL_EPOCH`]. Time is a
//! [`VirtualClock`] that starts at [`VIRTUAL_EPOCH`] and only moves when the runner moves
//! it: to the time of the next `<` line, or, while waiting for a `>` line, from one of the
//! stack's deadlines to the next (never more than serve's longest sleep at once). Nothing
//! sleeps; a 60 s timeout takes microseconds.
//!
//! Sequence numbers follow packetdrill: the peer's numbers are written as they go on the
//! wire (its ISN is whatever its SYN says, usually 0), and ours are relative to the ISN
//! our stack put in its SYN-ACK on that connection (before any SYN-ACK: relative to 0).
//! So an `ack 1` in a `<` line after the handshake acknowledges our SYN whatever `--isn`
//! chose.
//!
//! Semantics of a line, at its time T (relative times count from the time the previous
//! line actually happened):
//! - `<`: the stack runs up to T; if it sends anything before T that no `>` line
//!   expected, the line fails. Then the peer's segment is delivered at T (for a range
//!   `A~B`, T is A).
//! - `>`: the next segment our stack sends must come within T ± tolerance (a range
//!   `A~B`: from A − tolerance to B + tolerance; `*`: any time within [`ANY_WAIT`]) and
//!   match the line ([`super::check::differences`]).
//!
//! The peer speaks IPv4 or IPv6 ([`RunOptions::ip`]); the in-memory [`ScriptDevice`]
//! answers ARP and neighbor discovery either way.
//!
//! Data leaves as text on `out` (each line `ok` with the segment as it really was on the
//! wire, or the failure with the expected line, the actual segment and what differs)
//! and as an [`Outcome`]. Runs are deterministic: the clock is virtual, the keyed ISN's
//! secret and smoltcp's random seed are fixed, and nothing iterates a hash map.

use super::check::{describe, differences};
use super::device::{ScriptDevice, Wire};
use super::parse::format_secs;
use super::parse::{Dir, Event, Script, SegmentSpec, SeqSpec, TcpOpt, Time, Val, When};
use super::wire::{self, DEFAULT_PEER_PORT, DEFAULT_PORT, Injection, IpVersion, Seen};
use crate::clock::{Clock, VIRTUAL_EPOCH, VirtualClock};
use crate::http::Site;
use crate::knobs::TcpKnobs;
use crate::server_stack::{MAX_SLEEP, ServerSetup, ServerStack};
use crate::stack::admission::Limits;
use crate::tcp::TcpFlags;
use smoltcp::time::{Duration, Instant};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;

/// How long a `>` line with time `*` waits for a segment.
pub const ANY_WAIT: Duration = Duration::from_secs(600);
/// Fixed secrets, so a script gives the same wire (keyed ISNs included) on every run.
const ISN_KEY: (u64, u64) = (0x7461_706c_6162_6b31, 0x7363_7269_7074_6b32);
const RANDOM_SEED: u64 = 0x7461_706c_6162_5345;
/// Steps at one instant before the runner gives up on the stack settling (it always
/// settles: each step either consumes a queued frame or finds nothing to do).
const SETTLE_LIMIT: usize = 10_000;
/// Clock moves within one wait before the runner gives up (600 s at serve's 500 ms
/// wake-ups is 1200; the rest is headroom for stacks that keep asking to be polled).
const RUN_LIMIT: usize = 1_000_000;

/// How to run a script.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub www: PathBuf,
    pub knobs: TcpKnobs,
    /// How far from its time a `>` line's segment may be sent.
    pub tolerance: Duration,
    pub request_timeout: std::time::Duration,
    pub limits: Limits,
    /// The stack's edge guard and repairs (off: `--no-guard`).
    pub guard: bool,
    /// Write every frame (ARP included) to this pcap file.
    pub pcap: Option<PathBuf>,
    /// The IP version the peer speaks (`--ipv6`).
    pub ip: IpVersion,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed {
        lines: usize,
    },
    /// `line`: the script line that failed; `passed`: the events before it.
    Failed {
        line: usize,
        passed: usize,
    },
}

/// What the runner knows of one connection (our port, the peer's port).
#[derive(Debug, Default, Clone, Copy)]
struct ConnState {
    /// Our ISN on the wire, from our latest SYN on this connection.
    base: Option<u32>,
    /// One past the highest sequence number we have sent (for `ack *`).
    snd_nxt: Option<u32>,
    /// Our latest TS value (for `ecr *`).
    tsval: Option<u32>,
}

struct Engine {
    clock: VirtualClock,
    server: ServerStack<ScriptDevice>,
    wire: Rc<RefCell<Wire>>,
    conns: BTreeMap<(u16, u16), ConnState>,
    /// When the previous line happened.
    last: Instant,
    tolerance: Duration,
    mtu: usize,
    ip: IpVersion,
    /// What the server's edge guard did (printed under the line it happened in).
    log: Rc<RefCell<crate::server::StateLog>>,
}

/// Why a line failed, as lines to print under it (the actual segment among them).
struct Failure {
    lines: Vec<String>,
}

/// Script time: seconds since the start (negative for a window's early edge at 0).
fn secs(t: Instant) -> String {
    format_secs(t.total_micros() - VIRTUAL_EPOCH.total_micros())
}

/// Writes a line, ignoring a closed output (a script's result must not panic on EPIPE).
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

impl Engine {
    fn new(opts: &RunOptions) -> Result<Engine, String> {
        let site = Site::open(&opts.www)
            .map_err(|e| {
                format!(
                    "cannot serve site root {}: {e} (run from the repository root, or pass --www DIR)",
                    opts.www.display()
                )
            })?
            .with_fixed_mtime(VIRTUAL_EPOCH);
        let wire = Rc::new(RefCell::new(Wire::default()));
        let mtu = opts.knobs.mtu;
        let clock = VirtualClock::new(VIRTUAL_EPOCH);
        let mut setup = ServerSetup::lab_network(site, opts.knobs.clone());
        setup.limits = opts.limits;
        setup.guard = opts.guard;
        setup.request_timeout = opts.request_timeout;
        setup.pcap = opts.pcap.clone();
        setup.isn_key = ISN_KEY;
        setup.random_seed = RANDOM_SEED;
        let mut server =
            ServerStack::new(ScriptDevice::new(wire.clone(), mtu), setup, clock.now())?;
        let log = Rc::new(RefCell::new(crate::server::StateLog::default()));
        server
            .server()
            .observe_states(log.clone() as Rc<RefCell<dyn crate::server::StateObserver>>);
        Ok(Engine {
            log,
            clock,
            server,
            wire,
            conns: BTreeMap::new(),
            last: VIRTUAL_EPOCH,
            tolerance: opts.tolerance,
            mtu,
            ip: opts.ip,
        })
    }

    /// Steps the server at the current instant until it has taken every queued frame
    /// (an ARP reply queued during a step is taken in the next).
    fn settle(&mut self) {
        for _ in 0..SETTLE_LIMIT {
            self.server.step(&self.clock);
            if !self.wire.borrow().has_rx() {
                return;
            }
        }
    }

    /// Runs the stack until `deadline`, or until it has sent something if `stop_on_tx`.
    fn run_until(&mut self, deadline: Instant, stop_on_tx: bool) -> Result<(), String> {
        let mut zeros = 0u32;
        for _ in 0..RUN_LIMIT {
            self.settle();
            let now = self.clock.now();
            if (stop_on_tx && self.wire.borrow().has_tx()) || now >= deadline {
                return Ok(());
            }
            // serve sleeps at most MAX_SLEEP: some timers (FIN-WAIT-2) are checked on
            // wake-up rather than scheduled, so the virtual run wakes as often.
            let mut delay = self.server.poll_delay(now).min(MAX_SLEEP);
            if delay == Duration::ZERO {
                // Due now, yet the step just made did nothing: move on a little (1 µs,
                // doubling while it lasts) rather than spin at one instant.
                delay = Duration::from_micros(1 << zeros.min(10));
                zeros += 1;
            } else {
                zeros = 0;
            }
            log::trace!("script: {} + {delay}", secs(now));
            self.clock.advance_to((now + delay).min(deadline));
        }
        Err(format!(
            "the stack did not come to rest by {} (internal limit reached)",
            secs(deadline)
        ))
    }

    /// The next TCP segment our stack sends to the peer by `deadline`, with its time.
    /// Other frames (IPv6, ICMP) are not part of scripts and are skipped.
    fn next_segment(&mut self, deadline: Instant) -> Result<Option<(Instant, Seen)>, String> {
        loop {
            loop {
                let Some((t, frame)) = self.wire.borrow_mut().take() else {
                    break;
                };
                match wire::decode(&frame) {
                    Some(seen) => {
                        self.learn(&seen);
                        return Ok(Some((t, seen)));
                    }
                    None => {
                        log::debug!("script: skipping a non-TCP frame of {} bytes", frame.len())
                    }
                }
            }
            let at_deadline = self.clock.now() >= deadline;
            self.run_until(deadline, true)?;
            if at_deadline && !self.wire.borrow().has_tx() {
                return Ok(None);
            }
        }
    }

    /// Notes our ISN, how far we have sent and our TS value, per connection.
    fn learn(&mut self, seen: &Seen) {
        let c = self
            .conns
            .entry((seen.our_port, seen.peer_port))
            .or_default();
        if seen.flags.contains(TcpFlags::SYN) {
            // A new SYN-ACK is a new connection on this pair of ports.
            c.base = Some(seen.seq);
            c.snd_nxt = None;
        }
        if !seen.flags.contains(TcpFlags::RST) {
            let end = seen.seq.wrapping_add(seen.seq_len());
            if c.snd_nxt.is_none_or(|n| (end.wrapping_sub(n) as i32) > 0) {
                c.snd_nxt = Some(end);
            }
        }
        if let Some(ts) = seen.tsval() {
            c.tsval = Some(ts);
        }
    }

    fn conn(&self, seg: &SegmentSpec) -> ConnState {
        let key = (
            seg.port.unwrap_or(DEFAULT_PORT),
            seg.peer_port.unwrap_or(DEFAULT_PEER_PORT),
        );
        self.conns.get(&key).copied().unwrap_or_default()
    }

    /// The instant a time names, given when the previous line happened.
    fn time_of(&self, time: Time) -> Instant {
        match time {
            Time::Relative(us) => self.last + Duration::from_micros(us.max(0) as u64),
            Time::Absolute(us) => VIRTUAL_EPOCH + Duration::from_micros(us.max(0) as u64),
        }
    }

    /// The first and last instants a line's time names (`*`: from the previous line on,
    /// for [`ANY_WAIT`]).
    fn span(&self, when: When) -> (Instant, Instant) {
        match when {
            When::At(t) => (self.time_of(t), self.time_of(t)),
            When::Range(a, b) => (self.time_of(a), self.time_of(b)),
            When::Any => (self.last, self.last + ANY_WAIT),
        }
    }

    /// A `<` line: the peer's segment, every number resolved to what goes on the wire.
    fn injection(&self, seg: &SegmentSpec) -> Result<Injection, String> {
        let c = self.conn(seg);
        let base = c.base.unwrap_or(0);
        let ack = match seg.ack {
            Some(Val::Is(a)) => a.wrapping_add(base),
            Some(Val::Any) => c.snd_nxt.ok_or(
                "`ack *` acknowledges what our stack has sent, but it has sent nothing on this connection yet",
            )?,
            // The parser demands `ack` with `.` in `<` lines: no ACK flag, no number.
            None => 0,
        };
        let mut options = Vec::new();
        for o in seg.options.iter().flat_map(|l| &l.items) {
            options.push(match o {
                TcpOpt::Ts { val, ecr: Val::Any } => TcpOpt::Ts {
                    val: *val,
                    ecr: Val::Is(c.tsval.ok_or(
                        "`ecr *` echoes our stack's TS value, but it has sent none on this connection yet",
                    )?),
                },
                // SACK blocks acknowledge our data: our sequence space.
                TcpOpt::Sack(blocks) => TcpOpt::Sack(
                    blocks
                        .iter()
                        .map(|(a, b)| {
                            let shift = |v: &Val<u32>| Val::Is(v.value().unwrap_or(0).wrapping_add(base));
                            (shift(a), shift(b))
                        })
                        .collect(),
                ),
                other => other.clone(),
            });
        }
        let len = seg.seq.len.value().unwrap_or(0) as usize;
        Ok(Injection {
            ip: self.ip,
            our_port: seg.port.unwrap_or(DEFAULT_PORT),
            peer_port: seg.peer_port.unwrap_or(DEFAULT_PEER_PORT),
            flags: seg.flags.value().unwrap_or_default(),
            seq: seg.seq.start.value().unwrap_or(0),
            ack,
            win: seg.win.and_then(|w| w.value()).unwrap_or(u16::MAX),
            options,
            payload: seg.payload.clone().unwrap_or_else(|| vec![0; len]),
        })
    }

    /// An injection in script syntax (numbers relative, as the line would write them).
    fn describe_injection(&self, inj: &Injection, seg: &SegmentSpec) -> String {
        let base = self.conn(seg).base.unwrap_or(0);
        let len = inj.payload.len() as u32;
        let mut options = inj.options.clone();
        for o in &mut options {
            if let TcpOpt::Sack(blocks) = o {
                for (a, b) in blocks.iter_mut() {
                    *a = Val::Is(a.value().unwrap_or(0).wrapping_sub(base));
                    *b = Val::Is(b.value().unwrap_or(0).wrapping_sub(base));
                }
            }
        }
        let shown = SegmentSpec {
            flags: Val::Is(inj.flags),
            seq: SeqSpec {
                start: Val::Is(inj.seq),
                end: Val::Is(inj.seq.wrapping_add(len)),
                len: Val::Is(len),
            },
            ack: inj
                .flags
                .contains(TcpFlags::ACK)
                .then_some(Val::Is(inj.ack.wrapping_sub(base))),
            win: Some(Val::Is(inj.win)),
            options: seg.options.as_ref().map(|l| super::parse::OptList {
                items: options,
                more: l.more,
            }),
            payload: seg.payload.clone(),
            port: seg.port,
            peer_port: seg.peer_port,
        };
        shown.to_string()
    }

    /// One line. Ok: what to print under "ok"; Err: why it failed.
    fn event(&mut self, e: &Event) -> Result<String, Failure> {
        let fail = |lines: Vec<String>| Failure { lines };
        match e.dir {
            Dir::In => {
                // A range: the peer sends at its start.
                let mut t = self.span(e.when).0;
                let now = self.clock.now();
                if t < now {
                    if now - t > self.tolerance {
                        return Err(fail(vec![format!(
                            "this line's time {} is before the previous line happened ({}): use +N",
                            secs(t),
                            secs(now)
                        )]));
                    }
                    t = now;
                }
                // Whatever our stack sends before T was expected by no line.
                match self.next_segment(t).map_err(|m| fail(vec![m]))? {
                    Some((ts, seen)) if ts <= t => {
                        let base = self.base_for(&seen);
                        return Err(fail(vec![
                            format!(
                                "our stack sent a segment before this line's {} that no `>` line expects (add one before this line):",
                                secs(t)
                            ),
                            format!("actual  {} > {}", secs(ts), describe(&seen, base)),
                        ]));
                    }
                    _ => {}
                }
                let inj = self
                    .injection(&e.seg)
                    .map_err(|m| fail(vec![m.to_string()]))?;
                let Some(frame) = wire::build(&inj) else {
                    return Err(fail(vec!["the options do not fit in a TCP header".into()]));
                };
                if frame.len() - 14 > self.mtu {
                    return Err(fail(vec![format!(
                        "this segment makes an IP packet of {} bytes, more than the MTU ({}): send less per segment",
                        frame.len() - 14,
                        self.mtu
                    )]));
                }
                let shown = self.describe_injection(&inj, &e.seg);
                self.wire.borrow_mut().inject(frame);
                self.settle();
                self.last = t;
                Ok(format!("sent    {} < {shown}", secs(t)))
            }
            Dir::Out => {
                let tol = self.tolerance;
                let (from, to) = self.span(e.when);
                let earliest = if e.when == When::Any {
                    from
                } else {
                    Instant::from_micros(from.total_micros() - tol.total_micros() as i64)
                };
                let deadline = if e.when == When::Any { to } else { to + tol };
                let ms = tol.total_micros() as f64 / 1000.0;
                let window = match e.when {
                    When::Any => format!("any time up to {}", secs(deadline)),
                    When::At(_) => format!("at {} ± {ms} ms", secs(from)),
                    When::Range(..) => {
                        format!("between {} and {} ± {ms} ms", secs(from), secs(to))
                    }
                };
                let found = self.next_segment(deadline).map_err(|m| fail(vec![m]))?;
                let Some((ts, seen)) = found else {
                    let within = match e.when {
                        When::Any => format!("by {}", secs(deadline)),
                        When::At(_) => format!("within {ms} ms of {}", secs(from)),
                        When::Range(..) => {
                            format!("between {} and {}", secs(earliest), secs(deadline))
                        }
                    };
                    return Err(fail(vec![
                        format!("expected {window}"),
                        format!(
                            "actual  nothing {within} (nothing at all since the previous line at {})",
                            secs(self.last)
                        ),
                    ]));
                };
                let base = self.base_for(&seen);
                let mut diffs = differences(&e.seg, &seen, base);
                if ts < earliest {
                    diffs.insert(
                        0,
                        format!("time: expected {window}, sent at {} (too early)", secs(ts)),
                    );
                }
                let actual = format!("{} > {}", secs(ts), describe(&seen, base));
                let isn = if seen.flags.contains(TcpFlags::SYN) {
                    format!("   (our ISN on the wire: {})", seen.seq)
                } else {
                    String::new()
                };
                if !diffs.is_empty() {
                    let mut lines = vec![
                        format!("expected {window}"),
                        format!("actual  {actual}{isn}"),
                    ];
                    lines.extend(diffs.into_iter().map(|d| format!("- {d}")));
                    return Err(fail(lines));
                }
                self.last = ts;
                Ok(format!("got     {actual}{isn}"))
            }
        }
    }

    /// The ISN base for a segment we sent (already learned by `next_segment`).
    fn base_for(&self, seen: &Seen) -> u32 {
        self.conns
            .get(&(seen.our_port, seen.peer_port))
            .and_then(|c| c.base)
            .unwrap_or(0)
    }

    /// Segments our stack had already sent when the script ended, unexpected by any line.
    fn leftovers(&mut self) -> Vec<String> {
        let mut shown = Vec::new();
        loop {
            let Some((t, frame)) = self.wire.borrow_mut().take() else {
                break;
            };
            if let Some(seen) = wire::decode(&frame) {
                self.learn(&seen);
                let base = self.base_for(&seen);
                shown.push(format!("{} > {}", secs(t), describe(&seen, base)));
            }
        }
        shown
    }
}

impl Engine {
    /// Prints what the edge guard did since the last call: `guard   0.101 RST in window …`.
    fn guard_lines(&self, out: &mut dyn Write) {
        for a in self.log.borrow_mut().take_actions() {
            say!(out, "    guard   {} {}", secs(a.time), a.why.text());
        }
        self.log.borrow_mut().take();
    }
}

/// Runs `script`, writing the report to `out`. Err: the stack could not be set up (site
/// root, pcap file).
pub fn run(script: &Script, opts: &RunOptions, out: &mut dyn Write) -> Result<Outcome, String> {
    let mut engine = Engine::new(opts)?;
    say!(out, "knobs: {}", opts.knobs);
    for (i, e) in script.events.iter().enumerate() {
        match engine.event(e) {
            Ok(detail) => {
                say!(out, "line {} ok: {}", e.line, e.text);
                say!(out, "    {detail}");
                engine.guard_lines(out);
            }
            Err(f) => {
                engine.guard_lines(out);
                say!(out, "line {} FAILED: {}", e.line, e.text);
                for l in f.lines {
                    say!(out, "    {l}");
                }
                return Ok(Outcome::Failed {
                    line: e.line,
                    passed: i,
                });
            }
        }
    }
    for l in engine.leftovers() {
        say!(
            out,
            "note: our stack also sent, unchecked after the last line: {l}"
        );
    }
    say!(out, "{} lines passed", script.events.len());
    Ok(Outcome::Passed {
        lines: script.events.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knobs::{ClosePolicy, IsnMode};
    use crate::script::parse::parse_script;

    const GET: &str = include_str!("../../scripts/examples/get-200.pkt");

    fn opts(knobs: TcpKnobs) -> RunOptions {
        RunOptions {
            // The fixture copy of www/ (tests/site/README.md): get-200.pkt counts its bytes.
            www: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/site")),
            knobs,
            tolerance: Duration::from_millis(10),
            request_timeout: std::time::Duration::from_secs(10),
            limits: Limits {
                max_conns: 2,
                backlog: 2,
            },
            guard: true,
            pcap: None,
            ip: IpVersion::V4,
        }
    }

    fn isn1000() -> TcpKnobs {
        TcpKnobs {
            isn: IsnMode::Fixed(1000),
            ..TcpKnobs::default()
        }
    }

    fn run_text(text: &str, knobs: TcpKnobs) -> (Outcome, String) {
        let script = parse_script(text).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        let outcome = run(&script, &opts(knobs), &mut out).unwrap();
        (outcome, String::from_utf8(out).unwrap())
    }

    /// The first `n` event lines of the GET example, then `extra`.
    fn get_then(n: usize, extra: &str) -> String {
        let events: Vec<&str> = GET
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("//"))
            .take(n)
            .collect();
        format!("{}\n{extra}\n", events.join("\n"))
    }

    #[test]
    fn a_get_passes_and_reports_every_line() {
        let (outcome, out) = run_text(GET, isn1000());
        assert_eq!(outcome, Outcome::Passed { lines: 9 }, "{out}");
        assert!(out.contains("(our ISN on the wire: 1000)"), "{out}");
        assert!(
            out.contains("got     0.002 > P. 2049:2261(212) ack 39 win 16384\n"),
            "{out}"
        );
        assert!(out.ends_with("9 lines passed\n"), "{out}");
        // Same script, same report.
        assert_eq!(run_text(GET, isn1000()).1, out);
    }

    #[test]
    fn relative_numbers_hold_for_any_isn() {
        for isn in [
            IsnMode::Fixed(0),
            IsnMode::Fixed(u32::MAX - 100), // our numbers wrap past 2^32 mid-response
            IsnMode::Keyed,
            IsnMode::Random,
        ] {
            let knobs = TcpKnobs {
                isn,
                ..TcpKnobs::default()
            };
            let (outcome, out) = run_text(GET, knobs);
            assert_eq!(outcome, Outcome::Passed { lines: 9 }, "{isn:?}: {out}");
        }
    }

    #[test]
    fn a_wrong_window_fails_showing_the_actual_segment() {
        let text = get_then(1, "+0 > S. 0:0(0) ack 1 win 1234");
        let (outcome, out) = run_text(&text, isn1000());
        assert_eq!(outcome, Outcome::Failed { line: 2, passed: 1 }, "{out}");
        assert!(
            out.contains("line 2 FAILED: +0 > S. 0:0(0) ack 1 win 1234\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "actual  0.000 > S. 0:0(0) ack 1 win 16384 <mss 1460,wscale 0,sackOK,eol>"
            ),
            "{out}"
        );
        assert!(out.contains("- win: expected 1234, got 16384"), "{out}");
    }

    #[test]
    fn silence_is_reported_as_nothing_within_the_tolerance() {
        // Keep-alive: after the response nothing comes for 5 s.
        let (outcome, out) = run_text(&get_then(9, "+0.5 > F. 2261:2261(0) ack 39"), isn1000());
        assert_eq!(
            outcome,
            Outcome::Failed {
                line: 10,
                passed: 9
            },
            "{out}"
        );
        assert!(out.contains("expected at 0.503 ± 10 ms"), "{out}");
        assert!(
            out.contains(
                "actual  nothing within 10 ms of 0.503 (nothing at all since the previous line at 0.003)"
            ),
            "{out}"
        );
    }

    #[test]
    fn a_segment_sent_too_early_fails() {
        let knobs = TcpKnobs {
            close: ClosePolicy::Idle(std::time::Duration::from_secs(1)),
            ..isn1000()
        };
        let (outcome, out) = run_text(&get_then(9, "+5 > F. 2261:2261(0) ack 39"), knobs);
        assert_eq!(
            outcome,
            Outcome::Failed {
                line: 10,
                passed: 9
            },
            "{out}"
        );
        assert!(
            out.contains("- time: expected at 5.003 ± 10 ms, sent at 1.003 (too early)"),
            "{out}"
        );
    }

    #[test]
    fn a_segment_no_line_expected_fails_the_next_peer_line() {
        // The SYN-ACK is never expected: injecting the ACK is then out of order.
        let (outcome, out) = run_text(
            "0 < S 0:0(0) win 1000\n+0.1 < . 1:1(0) ack 1 win 1000\n",
            isn1000(),
        );
        assert_eq!(outcome, Outcome::Failed { line: 2, passed: 1 }, "{out}");
        assert!(out.contains("that no `>` line expects"), "{out}");
        assert!(
            out.contains("    actual  0.000 > S. 0:0(0) ack 1 win 16384 <mss 1460>\n"),
            "{out}"
        );
    }

    #[test]
    fn wildcards_need_something_to_stand_for() {
        let (outcome, out) = run_text("0 < . 1:1(0) ack * win 1000\n", isn1000());
        assert_eq!(outcome, Outcome::Failed { line: 1, passed: 0 }, "{out}");
        assert!(
            out.contains("`ack *` acknowledges what our stack has sent"),
            "{out}"
        );
        let (outcome, out) = run_text(
            "0 < S 0:0(0) win 1000\n+0 > S. 0:0(0) ack 1\n+0 < . 1:1(0) ack 1 <TS val 1 ecr *>\n",
            isn1000(),
        );
        assert_eq!(outcome, Outcome::Failed { line: 3, passed: 2 }, "{out}");
        assert!(out.contains("`ecr *` echoes"), "{out}");
    }

    #[test]
    fn time_cannot_go_back_for_the_peer() {
        let (outcome, out) = run_text(
            "1 < S 0:0(0) win 1000\n+0 > S. 0:0(0) ack 1\n0.5 < . 1:1(0) ack 1\n",
            isn1000(),
        );
        assert_eq!(outcome, Outcome::Failed { line: 3, passed: 2 }, "{out}");
        assert!(out.contains("before the previous line happened"), "{out}");
    }

    #[test]
    fn oversized_segments_are_refused_not_sent() {
        let (outcome, out) = run_text("0 < P. 1:2001(2000) ack 1\n", isn1000());
        assert_eq!(outcome, Outcome::Failed { line: 1, passed: 0 }, "{out}");
        assert!(out.contains("more than the MTU (1500)"), "{out}");
    }

    #[test]
    fn the_stacks_own_arp_request_is_answered_and_hidden() {
        // Had the peer not asked for our MAC first, smoltcp would ask for the peer's
        // before its SYN-ACK: answered at once, invisible to the script.
        let script = parse_script(GET).unwrap();
        let mut engine = Engine::new(&opts(isn1000())).unwrap();
        engine.wire.borrow_mut().assume_peer_asked();
        for e in &script.events {
            if let Err(f) = engine.event(e) {
                panic!("line {}: {:?}", e.line, f.lines);
            }
        }
        assert_eq!(engine.wire.borrow().arp_replies, 1);
    }

    #[test]
    fn over_ipv6_the_stacks_own_solicitation_is_answered_and_hidden() {
        let script = parse_script(include_str!("../../scripts/examples/ipv6-get.pkt")).unwrap();
        let mut o = opts(isn1000());
        o.ip = IpVersion::V6;
        let mut engine = Engine::new(&o).unwrap();
        engine.wire.borrow_mut().assume_peer_asked();
        for e in &script.events {
            if let Err(f) = engine.event(e) {
                panic!("line {}: {:?}", e.line, f.lines);
            }
        }
        assert_eq!(engine.wire.borrow().ndp_replies, 1);
        assert_eq!(engine.wire.borrow().arp_replies, 0);
    }

    #[test]
    fn the_pcap_has_every_frame_arp_included() {
        let path = std::env::temp_dir().join(format!("taplab-script-{}.pcap", std::process::id()));
        let mut o = opts(isn1000());
        o.pcap = Some(path.clone());
        let script = parse_script(GET).unwrap();
        let outcome = run(&script, &o, &mut Vec::new()).unwrap();
        assert_eq!(outcome, Outcome::Passed { lines: 9 });
        let pcap = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        // Global header, then records: count them and their ethertypes.
        let mut i = 24;
        let (mut arp, mut ip) = (0, 0);
        while i + 16 <= pcap.len() {
            let len =
                u32::from_le_bytes([pcap[i + 8], pcap[i + 9], pcap[i + 10], pcap[i + 11]]) as usize;
            let frame = &pcap[i + 16..i + 16 + len];
            match (frame[12], frame[13]) {
                (0x08, 0x06) => arp += 1,
                (0x08, 0x00) => ip += 1,
                _ => {}
            }
            i += 16 + len;
        }
        assert_eq!(
            (arp, ip),
            (2, 9),
            "the peer's who-has and our reply; 9 segments"
        );
    }

    /// xorshift: the same inputs every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn mutated_scripts_run_without_panicking() {
        let examples = [
            GET,
            include_str!("../../scripts/examples/handshake.pkt"),
            include_str!("../../scripts/examples/close-server-first.pkt"),
            include_str!("../../scripts/examples/rst-closed-port.pkt"),
            include_str!("../../scripts/examples/time-ranges.pkt"),
            include_str!("../../scripts/examples/tfo-cookie.pkt"),
        ];
        let words = [
            "S",
            "S.",
            ".",
            "P.",
            "F.",
            "R",
            "R.",
            "SF",
            "FP.",
            "SR.",
            "none",
            "0",
            "1",
            "39",
            "4294967295",
            "65535",
            "*",
            "+0",
            "+0.3",
            "+2",
            "<mss 1>",
            "<wscale 200>",
            "<sack 1:5>",
            "<TS val 1 ecr *>",
            "ack *",
            "port 81",
            "win 0",
            "\"GET /\"",
            "+.1~+.3",
            "0~9",
            "*:*(0)",
            "...",
            "<FO>",
            "<FO 0102030405060708,md5>",
            "<FOEXP 0a0b,nop,nop>",
        ];
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        let mut ran = 0;
        for _ in 0..1000 {
            let base = examples[(rng.next() % examples.len() as u64) as usize];
            let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
            for _ in 0..1 + rng.next() % 4 {
                let i = (rng.next() % lines.len() as u64) as usize;
                let mut toks: Vec<String> = lines[i].split(' ').map(str::to_string).collect();
                let j = (rng.next() % toks.len() as u64) as usize;
                toks[j] = words[(rng.next() % words.len() as u64) as usize].to_string();
                lines[i] = toks.join(" ");
                if rng.next().is_multiple_of(5) {
                    let k = (rng.next() % lines.len() as u64) as usize;
                    let dup = lines[k].clone();
                    lines.insert(k, dup);
                }
            }
            let Ok(script) = parse_script(&lines.join("\n")) else {
                continue;
            };
            let mut o = opts(TcpKnobs::default());
            o.ip = IpVersion::from_ipv6_flag(rng.next().is_multiple_of(2));
            let outcome = run(&script, &o, &mut Vec::new());
            assert!(outcome.is_ok());
            ran += 1;
        }
        assert!(ran > 200, "only {ran} mutants parsed");
    }
}
