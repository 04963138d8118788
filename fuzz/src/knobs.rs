//! The `frames` target's first bytes: which TCP knobs the server runs with, so that the
//! knobs layer's rewriting (ISN translation, MSS clamping, option stripping) and each
//! close policy are fuzzed too, not only the defaults.
//!
//! Three bytes, read as bit fields (bit 0 is the lowest); all zero is `taplab serve`'s
//! defaults with a pool of one listening socket.
//!
//! | byte | bits | knob |
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
//! | 2 | 0–1 | `--max-conns`: 1, 2, 3, 4 |
//! | 2 | 2–3 | `--close-wait`: 0, 50, 250, 1000 ms |
//! | 2 | 4 | `--mtu 1280` (else 1500) |
//!
//! A pool of at most four keeps each run cheap (every socket has its buffers) while a
//! full pool is still easy to reach. Combinations taplab refuses are run with the
//! defaults instead, since `serve` would not start with them.

use std::time::Duration;
use taplab::knobs::{ClosePolicy, CongestionControl, FinMode, IsnMode, TcpKnobs, Wscale};

/// Bytes the knob choices take at the start of a `frames` input.
pub const HEADER: usize = 3;

/// The knobs and pool size the header chooses.
pub fn choose(h: [u8; HEADER]) -> (TcpKnobs, usize) {
    let bits = |byte: usize, shift: u32, width: u32| (h[byte] >> shift) & ((1 << width) - 1);
    let knobs = TcpKnobs {
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
        window: None,
    };
    let max_conns = 1 + usize::from(bits(2, 0, 2));
    if knobs.validate().is_err() {
        return (TcpKnobs::default(), max_conns);
    }
    (knobs, max_conns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_the_default_and_every_header_gives_valid_knobs() {
        assert_eq!(choose([0; HEADER]), (TcpKnobs::default(), 1));
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let (k, n) = choose([a, b, a ^ b]);
                assert_eq!(k.validate(), Ok(()));
                assert!((1..=4).contains(&n));
            }
        }
        let (k, n) = choose([0b1011_1010, 0b1111_1111, 0b0001_1111]);
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
        assert_eq!(
            (k.mtu, k.close_wait, n),
            (1280, Duration::from_millis(1000), 4)
        );
    }
}
