//! The `frames` target's first bytes: how the server is configured — its TCP knobs, the
//! stack's limits and its edge guard — so that the knobs layer's rewriting (ISN
//! translation, MSS clamping, option stripping), each close policy, window scaling,
//! admission (the backlog's eviction, a full server) and smoltcp without the guard are
//! fuzzed too, not only the defaults.
//!
//! Four bytes, read as bit fields (bit 0 is the lowest); all zero is `taplab serve`'s
//! defaults (16 KiB window, 1024 connections, a backlog of 256, the guard on).
//!
//! | byte | bits | choice |
//! |---|---|---|
//! | 0 | 0–1 | `--isn`: keyed, 1000, 4294967000 (wraps during a transfer), random |
//! | 0 | 2–3 | `--close`: idle:5, server-first, client-first, idle:1 |
//! | 0 | 4 | `--fin separate` |
//! | 0 | 5 | `--abort` |
//! | 0 | 6 | `--nagle on` |
//! | 0 | 7 | `--timestamps off` |
//! | 1 | 0 | `--sack off` |
//! | 1 | 1–2 | `--wscale`: from the window, off, 0, 7 |
//! | 1 | 3–4 | `--mss`: from the MTU, 536, 64, 1220 |
//! | 1 | 5–6 | `--cc`: cubic, reno, none, cubic |
//! | 1 | 7 | `--ack-delay 0` |
//! | 2 | 0–1 | `--max-conns`: 1024, 1, 2, 4 |
//! | 2 | 2–3 | `--close-wait`: 0, 50, 250, 1000 ms |
//! | 2 | 4 | `--mtu 1280` (else 1500) |
//! | 2 | 5–6 | `--backlog`: 256, 1, 2, 4 |
//! | 2 | 7 | `--no-guard` |
//! | 3 | 0–1 | `--window`: from `--wscale` (16 KiB without it), 65536 (shift 1), 1024, 200000 (shift 2) |
//! | 3 | 2–7 | unused (a mutation of them changes nothing) |
//!
//! Window scaling is reached three ways: `--wscale 7` (a 4 MiB window), `--window 65536`
//! and `--window 200000`; the default 16 KiB window and `--wscale 0` advertise shift 0,
//! `--wscale off` none, and a 1024-byte window fills at once (zero windows, probes).
//! Small limits make the backlog's eviction and a full server easy to reach; the
//! defaults cost nothing until used (sockets are made per admitted SYN).
//!
//! A `--window` that the chosen `--wscale` contradicts (taplab refuses the pair) is left
//! out, so the `--wscale` choice stands; every other combination is valid.

use std::time::Duration;
use taplab::knobs::{ClosePolicy, CongestionControl, FinMode, IsnMode, TcpKnobs, Wscale};
use taplab::server_stack::{DEFAULT_BACKLOG, DEFAULT_MAX_CONNS};
use taplab::stack::admission::Limits;

/// Bytes the choices take at the start of a `frames` input.
pub const HEADER: usize = 4;

/// How the server under test is configured.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub knobs: TcpKnobs,
    pub limits: Limits,
    /// The stack's edge guard (false: `--no-guard`).
    pub guard: bool,
}

/// What the header chooses.
pub fn choose(h: [u8; HEADER]) -> Choice {
    let bits = |byte: usize, shift: u32, width: u32| (h[byte] >> shift) & ((1 << width) - 1);
    let mut knobs = TcpKnobs {
        isn: match bits(0, 0, 2) {
            0 => IsnMode::Keyed,
            1 => IsnMode::Fixed(1000),
            2 => IsnMode::Fixed(4_294_967_000),
            _ => IsnMode::Random,
        },
        close: match bits(0, 2, 2) {
            0 => ClosePolicy::Idle(Duration::from_secs(5)),
            1 => ClosePolicy::ServerFirst,
            2 => ClosePolicy::ClientFirst,
            _ => ClosePolicy::Idle(Duration::from_secs(1)),
        },
        fin: if bits(0, 4, 1) == 1 {
            FinMode::Separate
        } else {
            FinMode::Piggyback
        },
        abort: bits(0, 5, 1) == 1,
        nagle: bits(0, 6, 1) == 1,
        timestamps: bits(0, 7, 1) == 0,
        sack: bits(1, 0, 1) == 0,
        wscale: match bits(1, 1, 2) {
            0 => None,
            1 => Some(Wscale::Off),
            2 => Some(Wscale::Shift(0)),
            _ => Some(Wscale::Shift(7)),
        },
        mss: match bits(1, 3, 2) {
            0 => None,
            1 => Some(536),
            2 => Some(64),
            _ => Some(1220),
        },
        cc: match bits(1, 5, 2) {
            1 => CongestionControl::Reno,
            2 => CongestionControl::None,
            _ => CongestionControl::Cubic,
        },
        ack_delay: if bits(1, 7, 1) == 1 {
            None
        } else {
            Some(Duration::from_millis(10))
        },
        close_wait: Duration::from_millis([0, 50, 250, 1000][usize::from(bits(2, 2, 2))]),
        mtu: if bits(2, 4, 1) == 1 { 1280 } else { 1500 },
        window: [None, Some(65_536), Some(1024), Some(200_000)][usize::from(bits(3, 0, 2))],
    };
    if knobs.validate().is_err() {
        knobs.window = None;
    }
    // Not reached (every other choice is valid); kept so that a later change to the
    // table cannot hand the server knobs `serve` would refuse.
    if knobs.validate().is_err() {
        knobs = TcpKnobs::default();
    }
    let limits = Limits {
        max_conns: [DEFAULT_MAX_CONNS, 1, 2, 4][usize::from(bits(2, 0, 2))],
        backlog: [DEFAULT_BACKLOG, 1, 2, 4][usize::from(bits(2, 5, 2))],
    };
    Choice {
        knobs,
        limits,
        guard: bits(2, 7, 1) == 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_the_default_and_every_header_gives_valid_knobs() {
        let serve = Choice {
            knobs: TcpKnobs::default(),
            limits: Limits {
                max_conns: DEFAULT_MAX_CONNS,
                backlog: DEFAULT_BACKLOG,
            },
            guard: true,
        };
        assert_eq!(choose([0; HEADER]), serve);
        let mut shifts = std::collections::BTreeSet::new();
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let c = choose([a, b, a ^ b, b.rotate_left(3)]);
                assert_eq!(c.knobs.validate(), Ok(()));
                shifts.insert(c.knobs.advertised_shift());
            }
        }
        // Window scaling is reached (shifts 1, 2, 7), and so are shift 0 and none.
        let want = [None, Some(0), Some(1), Some(2), Some(7)];
        assert_eq!(shifts.into_iter().collect::<Vec<_>>(), want);

        let c = choose([0b1011_1010, 0b1111_1111, 0b1111_1111, 0b0000_0011]);
        let k = &c.knobs;
        assert_eq!(k.isn, IsnMode::Fixed(4_294_967_000));
        assert_eq!(k.close, ClosePolicy::ClientFirst);
        assert_eq!(
            (k.fin, k.abort, k.nagle, k.timestamps),
            (FinMode::Separate, true, false, false)
        );
        assert_eq!(
            (k.wscale, k.mss, k.ack_delay),
            (Some(Wscale::Shift(7)), Some(1220), None)
        );
        // --window 200000 contradicts --wscale 7: left out.
        assert_eq!((k.window, k.rx_buffer()), (None, 4 << 20));
        assert_eq!((k.mtu, k.close_wait), (1280, Duration::from_millis(1000)));
        assert_eq!(
            (c.limits.max_conns, c.limits.backlog, c.guard),
            (4, 4, false)
        );

        let c = choose([0, 0, 0b0100_0001, 1]);
        assert_eq!(
            (c.knobs.window, c.knobs.advertised_shift()),
            (Some(65_536), Some(1))
        );
        assert_eq!(
            (c.limits.max_conns, c.limits.backlog, c.guard),
            (1, 2, true)
        );
    }
}
