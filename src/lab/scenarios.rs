//! The lab's scenarios: one per phenomenon the seeds' reports observed (rows 1–14 of
//! `shared/docs/SEEDS.md`) plus simultaneous close, a retransmission, a zero window,
//! TIME-WAIT, and flow and congestion control (their checks live in [`super::congestion`]).
//!
//! A scenario is data: a name, a one-line description, a preset of flags (always in the
//! `--flag=value` form, so the command line can override each one), and a check. The check
//! reads the run's [`Evidence`] — the analyzed frames, both sides' real state changes and
//! the client's fetch results — and says whether the phenomenon really happened, quoting
//! what it found.

use super::client::FetchResult;
use super::congestion;
use super::frames::{Frame, Seg};
use super::world::{Outcome, RunConfig};
use crate::tcp::{Side, StateChange, TcpState};
use crate::trace::Mark;
use std::fmt::Write as _;

/// What a check can look at.
pub struct Evidence<'a> {
    pub frames: &'a [Frame],
    pub changes: &'a [StateChange],
    pub results: &'a [FetchResult],
    pub outcome: &'a Outcome,
    /// What the run was set up with (knobs, wire, client).
    pub config: &'a RunConfig,
}

/// A check's answer: passed or not, and what it found (one line).
pub struct Verdict {
    pub pass: bool,
    pub says: String,
}

pub(super) fn verdict(pass: bool, says: impl Into<String>) -> Verdict {
    Verdict {
        pass,
        says: says.into(),
    }
}

pub struct Scenario {
    pub name: &'static str,
    /// Which row of SEEDS.md it reproduces, or "extra".
    pub row: &'static str,
    pub about: &'static str,
    pub preset: &'static [&'static str],
    /// What the check looks for, in words.
    pub checks: &'static str,
    pub check: fn(&Evidence) -> Verdict,
    /// Every request must have been answered byte-equal for a PASS.
    pub expects_bodies: bool,
    /// The run must end with every socket closed again for a PASS.
    pub must_settle: bool,
}

impl Evidence<'_> {
    /// Every TCP segment with its frame number.
    pub(super) fn segs(&self) -> impl Iterator<Item = (usize, &Seg)> + '_ {
        self.frames
            .iter()
            .filter_map(|f| f.tcp().map(|s| (f.no, s)))
    }

    fn count(&self, p: impl Fn(&Seg) -> bool) -> usize {
        self.segs().filter(|(_, s)| p(s)).count()
    }

    fn first(&self, p: impl Fn(&Seg) -> bool) -> Option<(usize, &Seg)> {
        self.segs().find(|(_, s)| p(s))
    }

    /// The state names one side's sockets went through.
    fn states(&self, side: Side) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        for c in self.changes.iter().filter(|c| c.side == side) {
            for s in [c.from, c.to] {
                let n = s.name();
                if !v.contains(&n) {
                    v.push(n);
                }
            }
        }
        v
    }

    fn result(&self, path: &str, load: u8) -> Option<&FetchResult> {
        self.results
            .iter()
            .find(|r| r.path == path && r.load == load)
    }

    fn changes_of(&self, side: Side) -> impl Iterator<Item = &StateChange> + '_ {
        self.changes.iter().filter(move |c| c.side == side)
    }
}

/// `a` milliseconds after `b` in the capture.
fn ms_between(a: &Frame, b: &Frame) -> f64 {
    (a.time - b.time).total_micros() as f64 / 1000.0
}

/// The TCP segments of one stream's teardown: from the first FIN on.
fn teardown(e: &Evidence, stream: usize) -> Vec<(usize, Seg)> {
    let segs: Vec<(usize, Seg)> = e
        .segs()
        .filter(|(_, s)| s.stream == stream)
        .map(|(n, s)| (n, s.clone()))
        .collect();
    match segs.iter().position(|(_, s)| s.fin) {
        Some(i) => segs[i..].to_vec(),
        None => Vec::new(),
    }
}

fn who(s: &Seg) -> &'static str {
    if s.from_client { "client" } else { "server" }
}

/// `client [FIN, ACK], server [ACK], …` for a list of segments.
fn sequence(segs: &[(usize, Seg)]) -> String {
    segs.iter()
        .map(|(n, s)| format!("#{n} {} [{}]", who(s), s.flags()))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------
// The checks

fn check_handshake(e: &Evidence) -> Verdict {
    let segs: Vec<(usize, &Seg)> = e.segs().filter(|(_, s)| s.stream == 0).take(3).collect();
    let [(a, syn), (b, synack), (c, ack)] = segs[..] else {
        return verdict(false, "fewer than three segments on the first connection");
    };
    let ok = syn.syn
        && !syn.ack
        && syn.from_client
        && synack.syn
        && synack.ack
        && !synack.from_client
        && synack.ack_no == syn.seq.wrapping_add(1)
        && !ack.syn
        && ack.ack
        && ack.from_client
        && ack.ack_no == synack.seq.wrapping_add(1)
        && ack.len == 0
        && (
            syn.rel_seq,
            synack.rel_seq,
            synack.rel_ack,
            ack.rel_seq,
            ack.rel_ack,
        ) == (0, 0, 1, 1, 1);
    verdict(
        ok,
        format!(
            "#{a} [SYN] raw Seq={} (relative 0), #{b} [SYN, ACK] raw Seq={} Ack={} (relative 0, 1), \
             #{c} [ACK] raw Seq={} Ack={} (relative 1, 1)",
            syn.seq, synack.seq, synack.ack_no, ack.seq, ack.ack_no
        ),
    )
}

fn check_options(e: &Evidence) -> Verdict {
    let (Some((_, syn)), Some((_, synack))) =
        (e.first(|s| s.syn && !s.ack), e.first(|s| s.syn && s.ack))
    else {
        return verdict(false, "no SYN and SYN-ACK");
    };
    let full = |s: &Seg| s.mss.is_some() && s.ws.is_some() && s.sack_perm && s.ts.is_some();
    // A later server segment's window field times 256 is its window.
    let scaled = e
        .segs()
        .find(|(_, s)| !s.from_client && !s.syn && s.stream == synack.stream)
        .map(|(n, s)| (n, s.win_field, s.win));
    let ok = full(syn)
        && full(synack)
        && synack.ws == Some(8)
        && syn.mss == Some(1460)
        && synack.mss == Some(1460)
        && scaled.is_some_and(|(_, f, w)| w == (f as u64) * 256);
    verdict(
        ok,
        format!(
            "SYN: MSS={} WS={} SACK_PERM={} TS={}; SYN-ACK: MSS={} WS={} SACK_PERM={} TS={}; then {}",
            syn.mss.map_or("none".into(), |m| m.to_string()),
            syn.ws.map_or("none".into(), |w| (1u32 << w).to_string()),
            syn.sack_perm,
            syn.ts.is_some(),
            synack.mss.map_or("none".into(), |m| m.to_string()),
            synack
                .ws
                .map_or("none".into(), |w| format!("{} (shift {w})", 1u32 << w)),
            synack.sack_perm,
            synack.ts.is_some(),
            scaled.map_or("no server segment".into(), |(n, f, w)| format!(
                "#{n}: window field {f} × 256 = Win={w}"
            ))
        ),
    )
}

fn check_request(e: &Evidence) -> Verdict {
    let Some((n, get)) = e.first(|s| s.http.as_deref() == Some("GET / HTTP/1.1")) else {
        return verdict(false, "no `GET / HTTP/1.1` segment");
    };
    let end = get.seq.wrapping_add(get.len as u32);
    let acked = e
        .segs()
        .find(|(m, s)| *m > n && !s.from_client && s.ack && s.ack_no == end);
    let resp = e.segs().find(|(m, s)| {
        *m > n
            && !s.from_client
            && s.http
                .as_deref()
                .is_some_and(|h| h.starts_with("HTTP/1.1 200 OK") && h.contains("text/html"))
    });
    let ok = get.psh && get.ack && acked.is_some() && resp.is_some();
    verdict(
        ok,
        format!(
            "#{n} [{}] Len={} carries the whole request; {}; {}",
            get.flags(),
            get.len,
            acked.map_or("no ACK of it".into(), |(m, _)| format!(
                "#{m} acknowledges it"
            )),
            resp.map_or("no 200 response".into(), |(m, s)| format!(
                "#{m} starts the response `{}`",
                s.http.as_deref().unwrap_or("")
            ))
        ),
    )
}

fn check_page_load(e: &Evidence) -> Verdict {
    let paths: Vec<String> = e
        .results
        .iter()
        .map(|r| format!("{} {}", r.path, r.status))
        .collect();
    let want = [
        "/ 200",
        "/logo.svg 200",
        "/intro.wav 206",
        "/favicon.ico 404",
    ];
    let has_all = want.iter().all(|w| paths.iter().any(|p| p == w));
    let updates = e.count(|s| s.has(Mark::WindowUpdate));
    let first_fin = e.first(|s| s.fin);
    let four = first_fin.map(|(_, f)| teardown(e, f.stream));
    let four_ok = four.as_ref().is_some_and(|t| {
        t.len() == 4
            && t[0].1.from_client
            && t[0].1.fin
            && !t[1].1.from_client
            && !t[1].1.fin
            && !t[2].1.from_client
            && t[2].1.fin
            && t[3].1.from_client
            && !t[3].1.fin
    });
    verdict(
        has_all && updates > 0 && four_ok && first_fin.is_some_and(|(_, s)| s.from_client),
        format!(
            "fetched {}; {updates} window update(s); close: {}",
            paths.join(", "),
            four.map_or("no FIN".into(), |t| sequence(&t))
        ),
    )
}

fn check_parallel(e: &Evidence) -> Verdict {
    let mut ports: Vec<u16> = e.results.iter().map(|r| r.port).collect();
    ports.sort();
    ports.dedup();
    let syns = e.segs().filter(|(_, s)| s.syn && !s.ack).count();
    let per: Vec<String> = ports
        .iter()
        .map(|p| {
            let paths: Vec<&str> = e
                .results
                .iter()
                .filter(|r| r.port == *p)
                .map(|r| r.path.as_str())
                .collect();
            format!(":{p} {}", paths.join(" "))
        })
        .collect();
    verdict(
        ports.len() == 2 && syns == 2,
        format!("{syns} connections; {}", per.join("; ")),
    )
}

fn check_segmentation(e: &Evidence) -> Verdict {
    let data: Vec<&Seg> = e
        .segs()
        .map(|(_, s)| s)
        .filter(|s| !s.from_client && s.len > 0)
        .collect();
    let full = data.iter().filter(|s| s.len == 1448).count();
    let psh = data.iter().filter(|s| s.psh).count();
    let acks = e
        .segs()
        .filter(|(_, s)| s.from_client && s.len == 0 && s.ack && !s.syn && !s.fin)
        .count();
    let ratio = data.len() as f64 / acks.max(1) as f64;
    verdict(
        full > 200 && psh > 0 && psh < data.len() / 4 && (1.5..=3.5).contains(&ratio),
        format!(
            "{} data segments from the server, {full} of them full (1448 bytes = 1460 − 12 for timestamps), \
             PSH on {psh}; the client sent {acks} pure ACKs: one per {ratio:.1} segments",
            data.len()
        ),
    )
}

fn check_range(e: &Evidence) -> Verdict {
    match e.result("/intro.wav", 1) {
        Some(r) => verdict(
            r.status == 206
                && r.asked.contains("Range: bytes=0-")
                && r.content_range
                    .as_deref()
                    .is_some_and(|c| c.starts_with("bytes 0-")),
            format!(
                "GET /intro.wav with {} → {} Content-Range: {}",
                r.asked,
                r.status,
                r.content_range.as_deref().unwrap_or("-")
            ),
        ),
        None => verdict(false, "no request for /intro.wav"),
    }
}

fn check_revalidate(e: &Evidence) -> Verdict {
    let logo = e.result("/logo.svg", 2);
    let page = e.result("/", 2);
    let fav = e.result("/favicon.ico", 1);
    let ok = logo.is_some_and(|r| r.status == 304)
        && page.is_some_and(|r| r.status == 304)
        && fav.is_some_and(|r| r.status == 404);
    let s = |r: Option<&FetchResult>| r.map_or("-".to_string(), |r| r.status.to_string());
    verdict(
        ok,
        format!(
            "reload: / → {}, /logo.svg → {} (If-None-Match/If-Modified-Since); /favicon.ico → {}",
            s(page),
            s(logo),
            s(fav)
        ),
    )
}

fn check_headers(e: &Evidence) -> Verdict {
    let Some(r) = e.result("/", 1) else {
        return verdict(false, "no response for /");
    };
    let want = [
        "Date",
        "Server",
        "Last-Modified",
        "ETag",
        "Accept-Ranges",
        "Content-Length",
        "Content-Type",
    ];
    let missing: Vec<&str> = want
        .iter()
        .copied()
        .filter(|w| !r.header_names.iter().any(|h| h.eq_ignore_ascii_case(w)))
        .collect();
    let charset = r
        .content_type
        .as_deref()
        .is_some_and(|c| c.contains("charset="));
    verdict(
        missing.is_empty() && charset,
        format!(
            "200 for / carries {}; Content-Type: {}{}",
            r.header_names.join(", "),
            r.content_type.as_deref().unwrap_or("-"),
            if missing.is_empty() {
                String::new()
            } else {
                format!("; missing {}", missing.join(", "))
            }
        ),
    )
}

fn check_window_update(e: &Evidence) -> Verdict {
    let updates: Vec<(usize, &Seg)> = e
        .segs()
        .filter(|(_, s)| s.from_client && s.has(Mark::WindowUpdate))
        .collect();
    verdict(
        !updates.is_empty(),
        match updates.first() {
            Some((n, s)) => format!(
                "{} window update(s) from the client, the first #{n} (Ack={} unchanged, Win={})",
                updates.len(),
                s.rel_ack,
                s.win
            ),
            None => "no window update".into(),
        },
    )
}

/// The first connection's close: who sent what.
fn check_close_by(e: &Evidence, client_first: bool, segments: usize) -> Verdict {
    let Some((_, fin)) = e.first(|s| s.fin) else {
        return verdict(false, "no FIN at all");
    };
    let t = teardown(e, fin.stream);
    let ok = fin.from_client == client_first && t.len() == segments;
    verdict(
        ok,
        format!(
            "the {} sent the first FIN; the close took {} segments: {}",
            who(fin),
            t.len(),
            sequence(&t)
        ),
    )
}

fn check_client_close(e: &Evidence) -> Verdict {
    check_close_by(e, true, 4)
}

fn check_idle_close(e: &Evidence) -> Verdict {
    let Some((n, fin)) = e.first(|s| s.fin) else {
        return verdict(false, "no FIN at all");
    };
    let last_data = e.frames.iter().rfind(|f| {
        f.tcp()
            .is_some_and(|s| !s.from_client && s.len > 0 && f.no < n)
    });
    let gap = last_data.map(|d| ms_between(&e.frames[n - 1], d));
    let ok = !fin.from_client && gap.is_some_and(|g| (4900.0..=5200.0).contains(&g));
    verdict(
        ok,
        format!(
            "the {} sent the first FIN (#{n}), {} after its last data",
            who(fin),
            gap.map_or("-".into(), |g| format!("{:.3} s", g / 1000.0))
        ),
    )
}

fn check_server_close(e: &Evidence) -> Verdict {
    let Some((n, fin)) = e.first(|s| s.fin) else {
        return verdict(false, "no FIN at all");
    };
    let ok = !fin.from_client && fin.len > 0;
    verdict(
        ok,
        format!(
            "the {} sent the first FIN, on its last data segment: #{n} [{}] Len={}",
            who(fin),
            fin.flags(),
            fin.len
        ),
    )
}

fn check_rst(e: &Evidence) -> Verdict {
    let rst = e.first(|s| s.rst && !s.from_client);
    let server_fin = e.first(|s| s.fin && !s.from_client);
    verdict(
        rst.is_some() && server_fin.is_none(),
        match rst {
            Some((n, s)) => format!(
                "#{n} server [{}] ends the connection{}",
                s.flags(),
                if server_fin.is_some() {
                    ", but the server also sent a FIN"
                } else {
                    "; no FIN from the server"
                }
            ),
            None => "no RST from the server".into(),
        },
    )
}

fn check_closed_port(e: &Evidence) -> Verdict {
    let syn = e.first(|s| s.syn && !s.ack);
    let rst = e.first(|s| s.rst && s.ack && !s.from_client);
    let client_closed = e
        .changes_of(Side::Client)
        .any(|c| c.from == TcpState::SynSent && c.to == TcpState::Closed);
    verdict(
        syn.is_some() && rst.is_some() && client_closed,
        format!(
            "{}; {}; the client's socket {} SYN_SENT → CLOSED",
            syn.map_or("no SYN".into(), |(n, s)| format!(
                "#{n} [SYN] to port {}",
                s.dst.port
            )),
            rst.map_or("no RST".into(), |(n, s)| format!(
                "#{n} [{}] from port {}",
                s.flags(),
                s.src.port
            )),
            if client_closed { "went" } else { "did not go" }
        ),
    )
}

fn check_states(e: &Evidence) -> Verdict {
    let client_want = [
        "SYN_SENT",
        "ESTABLISHED",
        "FIN_WAIT_1",
        "FIN_WAIT_2",
        "TIME_WAIT",
        "CLOSED",
    ];
    let server_want = [
        "SYN_RCVD",
        "ESTABLISHED",
        "CLOSE_WAIT",
        "LAST_ACK",
        "CLOSED",
    ];
    let (c, s) = (e.states(Side::Client), e.states(Side::Server));
    let ok = client_want.iter().all(|w| c.contains(w)) && server_want.iter().all(|w| s.contains(w));
    verdict(
        ok,
        format!("client: {}; server: {}", c.join(" "), s.join(" ")),
    )
}

fn check_listing(e: &Evidence) -> Verdict {
    // The listing's lines as printed (made here, not for every run: sweeps skip them).
    let header = crate::trace::Row::header();
    let cols = [
        "No.",
        "Time",
        "Source",
        "Destination",
        "Protocol",
        "Length",
        "Info",
    ];
    let header_ok = cols.iter().all(|c| header.contains(c));
    let line = e.frames.iter().map(|f| f.row.line()).find(|l| {
        l.contains("51997 → 80 [ACK] Seq=")
            && l.contains(" Ack=")
            && l.contains(" Win=")
            && l.contains(" Len=0")
    });
    verdict(
        header_ok && line.is_some(),
        match line {
            Some(l) => format!("`{}`", l.split_whitespace().collect::<Vec<_>>().join(" ")),
            None => "no `51997 → 80 [ACK] Seq=… Ack=… Win=… Len=0` line".into(),
        },
    )
}

fn check_simultaneous(e: &Evidence) -> Verdict {
    let closing = |side| {
        e.changes_of(side)
            .any(|c| c.from == TcpState::FinWait1 && c.to == TcpState::Closing)
    };
    let time_wait = |side| e.changes_of(side).any(|c| c.to == TcpState::TimeWait);
    let ok = closing(Side::Client)
        && closing(Side::Server)
        && time_wait(Side::Client)
        && time_wait(Side::Server);
    let fins: Vec<String> = e
        .segs()
        .filter(|(_, s)| s.fin)
        .map(|(n, s)| format!("#{n} {} [{}]", who(s), s.flags()))
        .collect();
    verdict(
        ok,
        format!(
            "FINs crossed: {}; client {}; server {}",
            fins.join(", "),
            e.states(Side::Client).join(" "),
            e.states(Side::Server).join(" ")
        ),
    )
}

fn check_retransmission(e: &Evidence) -> Verdict {
    let r = e.first(|s| s.retransmitted());
    let dropped = e.outcome.faults.first();
    verdict(
        r.is_some(),
        match (r, dropped) {
            (Some((n, s)), Some(d)) => format!(
                "the wire dropped {} frame {}; #{n} [TCP Retransmission] {} Seq={} Len={}",
                d.side,
                d.n,
                who(s),
                s.rel_seq,
                s.len
            ),
            (Some((n, s)), None) => {
                format!("#{n} [TCP Retransmission] {} Seq={}", who(s), s.rel_seq)
            }
            (None, _) => "no retransmission".into(),
        },
    )
}

fn check_zero_window(e: &Evidence) -> Verdict {
    let zero = e.first(|s| s.from_client && s.has(Mark::ZeroWindow));
    let update = zero.and_then(|(n, _)| {
        e.segs().find(|(m, s)| {
            *m > n && s.from_client && s.win > 0 && (s.has(Mark::WindowUpdate) || s.len == 0)
        })
    });
    let probes = e.count(|s| s.has(Mark::ZeroWindowProbe));
    verdict(
        zero.is_some() && update.is_some(),
        format!(
            "{} zero-window segment(s) from the slow reader{}; {probes} zero-window probe(s) from the server; {}",
            e.segs()
                .filter(|(_, s)| s.from_client && s.has(Mark::ZeroWindow))
                .count(),
            zero.map_or(String::new(), |(n, _)| format!(", the first #{n}")),
            update.map_or("the window never reopened".into(), |(m, s)| format!(
                "#{m} reopens it to Win={}",
                s.win
            ))
        ),
    )
}

fn check_time_wait(e: &Evidence) -> Verdict {
    let entered = e
        .changes_of(Side::Client)
        .find(|c| c.to == TcpState::TimeWait)
        .map(|c| c.time);
    let left = e
        .changes_of(Side::Client)
        .find(|c| c.from == TcpState::TimeWait && c.to == TcpState::Closed)
        .map(|c| c.time);
    let held = match (entered, left) {
        (Some(a), Some(b)) => Some((b - a).total_millis()),
        _ => None,
    };
    let server_fins: Vec<usize> = e
        .segs()
        .filter(|(_, s)| s.fin && !s.from_client)
        .map(|(n, _)| n)
        .collect();
    let reacked = server_fins.len() >= 2
        && e.segs()
            .any(|(n, s)| n > server_fins[1] && s.from_client && s.ack && !s.fin);
    verdict(
        held.is_some_and(|h| h >= 10_000) && reacked,
        format!(
            "the client held TIME_WAIT {} (10 s, restarted by the repeated FIN); the server sent its FIN {} time(s) ({}), and the client in TIME_WAIT {} it again",
            held.map_or("not at all".into(), |h| format!(
                "{:.3} s",
                h as f64 / 1000.0
            )),
            server_fins.len(),
            server_fins
                .iter()
                .map(|n| format!("#{n}"))
                .collect::<Vec<_>>()
                .join(", "),
            if reacked { "ACKed" } else { "did not ACK" }
        ),
    )
}

fn check_lossy(e: &Evidence) -> Verdict {
    let retrans = e.count(Seg::retransmitted);
    let lost = e.outcome.fault_count;
    verdict(
        retrans > 0 && lost > 0,
        format!(
            "the wire lost {lost} frame(s); the listing shows {retrans} retransmission(s); {} request(s) answered",
            e.results.len()
        ),
    )
}

// ---------------------------------------------------------------------------------------
// The table

pub static SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "handshake",
        row: "1",
        about: "the three-way handshake, raw vs relative sequence numbers (client ISN 2162170318 as in the seeds, server ISN 1000)",
        preset: &["--get=/", "--isn=1000", "--client-isn=2162170318"],
        checks: "SYN, SYN-ACK, ACK open the connection; each ACK is the other's ISN + 1; relative numbers are raw − ISN",
        check: check_handshake,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "options",
        row: "2",
        about: "the SYN options: MSS 1460 on Ethernet, window scale (server shift 8: \"multiply by 256\"), SACK_PERM, timestamps",
        preset: &["--get=/", "--wscale=8"],
        checks: "both SYNs carry MSS=1460, WS, SACK_PERM and TSval/TSecr; the server's WS=256 scales its window field by 256",
        check: check_options,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "request",
        row: "3",
        about: "`GET / HTTP/1.1` in one [PSH, ACK] segment; the server acknowledges it and answers `200 OK (text/html)`",
        preset: &["--get=/"],
        checks: "the request is one [PSH, ACK] segment, acknowledged by the server, answered by HTTP/1.1 200 OK (text/html)",
        check: check_request,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "page-load",
        row: "4, 6, 9, 10",
        about: "the seeds' whole exchange: handshake, HTML, style, logo, audio (206), window updates, favicon (404), client-first four-segment close",
        preset: &[
            "--client-window=131072",
            "--client-read-rate=10000000",
            "--bandwidth=100mbit",
            "--close-wait=50",
        ],
        checks: "/, /logo.svg, /intro.wav (206) and /favicon.ico (404) arrive; the client sends window updates; the client's FIN starts a four-segment close",
        check: check_page_load,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "parallel",
        row: "4",
        about: "a browser's two parallel keep-alive connections share the page's objects",
        preset: &["--parallel=2", "--bandwidth=100mbit"],
        checks: "two connections are opened and both carry requests",
        check: check_parallel,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "segmentation",
        row: "5",
        about: "the 370 KB audio as full-MSS segments of 1448 bytes (1460 − 12 for timestamps), ACKed every second segment",
        preset: &["--get=/intro.wav", "--bandwidth=100mbit"],
        checks: "over 200 full 1448-byte segments, PSH on only a few, about one client ACK per two segments",
        check: check_segmentation,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "range",
        row: "6",
        about: "the audio fetched with `Range: bytes=0-` as browsers do, answered `206 Partial Content`",
        preset: &["--bandwidth=100mbit"],
        checks: "GET /intro.wav with Range: bytes=0- is answered 206 with Content-Range: bytes 0-…",
        check: check_range,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "revalidate",
        row: "7",
        about: "a second load revalidates: `304 Not Modified` for the page and logo; `404` for /favicon.ico",
        preset: &["--reload"],
        checks: "on reload / and /logo.svg get 304; /favicon.ico got 404",
        check: check_revalidate,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "headers",
        row: "8",
        about: "the response headers the seeds list: Date, Server, Last-Modified, ETag, Accept-Ranges, Content-Length, Content-Type with charset",
        preset: &["--get=/"],
        checks: "the 200 for / has every one of those headers and a charset",
        check: check_headers,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "window-update",
        row: "9",
        about: "TCP Window Update segments from a client that drains a small receive buffer slowly",
        preset: &[
            "--get=/intro.wav",
            "--client-window=32768",
            "--client-read-rate=1000000",
        ],
        checks: "the client sends [TCP Window Update] segments (same Ack, larger Win)",
        check: check_window_update,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "client-close",
        row: "10",
        about: "the client closes first: [FIN, ACK], [ACK], [FIN, ACK], [ACK] (server lingers 50 ms in CLOSE_WAIT)",
        preset: &["--get=/", "--close=client-first", "--close-wait=50"],
        checks: "the client sends the first FIN and the close takes four segments",
        check: check_client_close,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "idle-close",
        row: "11",
        about: "the server closes an idle keep-alive connection after 5 s (Apache's KeepAliveTimeout); the client would have waited 60 s",
        preset: &["--get=/", "--close=idle:5", "--client-keep-alive=60"],
        checks: "the server sends the first FIN, 5 s after its last data",
        check: check_idle_close,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "server-close",
        row: "11",
        about: "the server closes right after the response (HTTP/1.0 style): its FIN rides on the last data segment",
        preset: &["--get=/", "--close=server-first"],
        checks: "the server's first FIN is on its last data segment ([FIN, ACK] with Len > 0)",
        check: check_server_close,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "rst-close",
        row: "12",
        about: "the server ends the connection with [RST, ACK] instead of a FIN (--abort)",
        preset: &["--get=/", "--abort"],
        checks: "the server sends [RST, ACK] and no FIN",
        check: check_rst,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "closed-port",
        row: "12",
        about: "a SYN to a port nobody serves (81) is answered [RST, ACK] at once",
        preset: &["--get=/", "--connect-port=81"],
        checks: "the SYN to port 81 gets [RST, ACK]; the client's socket goes SYN_SENT → CLOSED",
        check: check_closed_port,
        expects_bodies: false,
        must_settle: true,
    },
    Scenario {
        name: "states",
        row: "13",
        about: "every state the reports name, on both ends: SYN_SENT, SYN_RCVD, ESTABLISHED, FIN_WAIT_1/2, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSED",
        preset: &["--get=/", "--close=client-first", "--close-wait=50"],
        checks: "the client goes through SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT CLOSED, the server through SYN_RCVD ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED",
        check: check_states,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "listing",
        row: "14",
        about: "Wireshark's listing format, with the seeds' client port 51997: `51997 → 80 [ACK] Seq=… Ack=… Win=… Len=0`",
        preset: &["--client-port=51997"],
        checks: "the listing has the columns No. Time Source Destination Protocol Length Info and a `51997 → 80 [ACK] … Len=0` line",
        check: check_listing,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "simultaneous-close",
        row: "extra",
        about: "both ends send their FIN at the same time: FIN_WAIT_1 → CLOSING → TIME_WAIT on both sides",
        preset: &[
            "--get=/",
            "--close=idle:1",
            "--client-keep-alive=1.07",
            "--delay=20",
        ],
        checks: "both sides went FIN_WAIT_1 → CLOSING and then TIME_WAIT",
        check: check_simultaneous,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "retransmission",
        row: "extra",
        about: "a data segment of the audio is dropped on the wire; the server retransmits it",
        preset: &["--get=/intro.wav", "--drop=server:20"],
        checks: "a [TCP Retransmission] appears and the audio still arrives byte-equal",
        check: check_retransmission,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "zero-window",
        row: "extra",
        about: "a slow reader (300 B/s) with a 1 KiB buffer: the client advertises a zero window, the server probes it, the window reopens",
        preset: &[
            "--get=/style.css",
            "--client-window=1024",
            "--client-read-rate=300",
        ],
        checks: "the client advertises Win=0 ([TCP ZeroWindow]) and later reopens the window",
        check: check_zero_window,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "time-wait",
        row: "13, extra",
        about: "why TIME_WAIT: the client's last ACK is lost, the server retransmits its FIN, the client (in TIME_WAIT for 10 s) ACKs it again",
        preset: &[
            "--get=/",
            "--close=client-first",
            "--close-wait=50",
            "--drop=client:7",
        ],
        checks: "the client holds TIME_WAIT 10 s, and ACKs the server's retransmitted FIN from it",
        check: check_time_wait,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "slow-start",
        row: "extra",
        about: "slow start over a 40 ms round trip: the server's flights of 2048, 4096, 8192… bytes, twice as much each RTT, until the client's 64 KiB window caps them",
        preset: &[
            "--get=/intro.wav",
            "--latency=20",
            "--bandwidth=100mbit",
            "--client-window=65536",
            "--client-ack-delay=0",
        ],
        checks: "the bytes sent per round trip double at least four times in a row (the client ACKs every segment, and smoltcp adds one MSS per ACK), until a loss or the client's window stops them",
        check: congestion::check_slow_start,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "fast-retransmit",
        row: "extra",
        about: "one data segment of the audio is lost; the segments after it draw duplicate ACKs, and the third makes the server resend it one RTT later, not after a 1 s timeout",
        preset: &[
            "--get=/intro.wav",
            "--latency=20",
            "--bandwidth=100mbit",
            "--drop=server:12",
        ],
        checks: "three duplicate ACKs of the lost segment, then its [TCP Fast Retransmission], sooner than the 1 s minimum timeout",
        check: congestion::check_fast_retransmit,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "rto-backoff",
        row: "extra",
        about: "the page's first flight is lost, and so is every resend of it until the fourth: the server waits 1, 2, 4, then 8 s (the wire drops the server's data frames 3–4, 6–11, but not its ACK in frame 5 of the request the client resent)",
        preset: &[
            "--get=/",
            "--latency=20",
            "--drop=server:3",
            "--drop=server:4",
            "--drop=server:6",
            "--drop=server:7",
            "--drop=server:8",
            "--drop=server:9",
            "--drop=server:10",
            "--drop=server:11",
        ],
        checks: "the lost segment is resent after 1, 2, 4 and 8 s: the retransmission timeout doubles after every expiry",
        check: congestion::check_rto_backoff,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "congestion-avoidance",
        row: "extra",
        about: "2 MiB through a 10 Mbit/s bottleneck with an 8-frame queue (Reno): after slow start overshoots, the sawtooth: the flight grows one segment per RTT until the queue overflows, fast retransmit, the flight halved (compare --cc cubic)",
        preset: &[
            "--www=tests/site",
            "--get=/bulk-2m.txt",
            "--latency=5",
            "--bandwidth=10mbit",
            "--queue=8",
            "--cc=reno",
            "--nagle=on",
        ],
        checks: "at least two losses at the queue recovered by fast retransmit, each cutting the flight as the congestion control says (Reno: to about half; with --cc cubic: to about 0.7)",
        check: congestion::check_congestion_avoidance,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "window-limited",
        row: "extra",
        about: "1 MiB over a long fat pipe (50 Mbit/s, 100 ms round trip) without window scaling (--wscale off): at most 64 KiB in flight, so one window per RTT (compare --wscale 7)",
        preset: &[
            "--www=tests/site",
            "--get=/bulk-1m.txt",
            "--latency=50",
            "--bandwidth=50mbit",
            "--wscale=off",
        ],
        checks: "the client's unscaled window (≤ 65535 bytes) caps the bytes in flight; [TCP Window Full] segments; throughput one window per round trip, below the link's",
        check: congestion::check_window_limited,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "nagle-delayed-ack",
        row: "extra",
        about: "Nagle on the server (--nagle on) holds the page's last, small segment until its first is ACKed, and the client delays that ACK 40 ms: a 40 ms stall (gone with --nagle off or --client-ack-delay 0)",
        preset: &["--get=/", "--latency=10", "--nagle=on"],
        checks: "the response's small last segment leaves only when the client's delayed ACK arrives, one RTT + the 40 ms ACK delay after the segment before it",
        check: congestion::check_nagle_delayed_ack,
        expects_bodies: true,
        must_settle: true,
    },
    Scenario {
        name: "lossy",
        row: "extra",
        about: "a page load over a wire that loses 10 % of frames each way: retransmissions, and still every byte arrives",
        preset: &["--loss=0.1", "--bandwidth=100mbit"],
        checks: "the listing shows retransmissions and every body arrives byte-equal",
        check: check_lossy,
        expects_bodies: true,
        must_settle: true,
    },
];

pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// "a, b, c".
pub fn names() -> String {
    SCENARIOS
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `taplab lab --list`: one line per scenario.
pub fn list() -> String {
    let w = SCENARIOS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for s in SCENARIOS {
        let row = if s.row == "extra" {
            String::new()
        } else {
            format!(" [seeds row {}]", s.row.trim_end_matches(", extra"))
        };
        let _ = writeln!(out, "{:<w$}  {}{row}", s.name, s.about);
    }
    out
}
