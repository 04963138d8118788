//! How the `frames` and `http` targets cut their input into pieces, each with a control
//! byte that says what to do around it.
//!
//! ```text
//! input   = header record*
//! record  = control:u8  length:u16 (big-endian)  bytes[length]
//! ```
//!
//! `header` is a fixed number of bytes the target reads first (its knob choices). A
//! record whose length runs past the end takes what is left; fewer than three bytes left
//! end the input. So every byte string is an input, and a seed built with [`encode`]
//! decodes to exactly its pieces.
//!
//! The control byte (bit 0 is the lowest):
//! - bits 0–3: how long virtual time runs after the piece, an index into [`STEPS`];
//! - bit 4, 5, 6: flags whose meaning each target gives ([`Control::bit`]);
//! - bit 7: unused (a mutation of it changes nothing).

use smoltcp::time::Duration;

/// The pieces a target takes from one input, at most (each costs a step of the stack).
pub const MAX_RECORDS: usize = 512;

/// Virtual time after a piece, by the control byte's low four bits: from "no time at
/// all" through the ACK delays and RTOs up to the keep-alive (60 s), peer-silence (150 s)
/// and FIN-WAIT-2 timers, and beyond.
pub const STEPS: [Duration; 16] = [
    Duration::ZERO,
    Duration::from_micros(1),
    Duration::from_millis(1),
    Duration::from_millis(10),
    Duration::from_millis(40),
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(3),
    Duration::from_secs(6),
    Duration::from_secs(11),
    Duration::from_secs(31),
    Duration::from_secs(61),
    Duration::from_secs(151),
    Duration::from_secs(601),
];

/// A record's control byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control(pub u8);

impl Control {
    /// How long time runs after this piece.
    pub fn wait(self) -> Duration {
        STEPS[usize::from(self.0 & 0x0f)]
    }

    /// Flag `n` (0, 1 or 2: bits 4, 5 and 6).
    pub fn bit(self, n: u8) -> bool {
        debug_assert!(n < 3);
        self.0 & (0x10 << n) != 0
    }

    /// A control byte with time step `step` (0–15) and these flags.
    pub fn new(step: u8, bits: [bool; 3]) -> Control {
        let mut c = step & 0x0f;
        for (n, on) in bits.into_iter().enumerate() {
            if on {
                c |= 0x10 << n;
            }
        }
        Control(c)
    }
}

/// The records after the header, in order (at most [`MAX_RECORDS`]).
pub fn decode(mut rest: &[u8]) -> Vec<(Control, &[u8])> {
    let mut out = Vec::new();
    while rest.len() >= 3 && out.len() < MAX_RECORDS {
        let control = Control(rest[0]);
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
        rest = &rest[3..];
        let (piece, after) = rest.split_at(len.min(rest.len()));
        out.push((control, piece));
        rest = after;
    }
    out
}

/// Appends one record (for the seeds). Pieces longer than 65535 bytes are cut.
pub fn encode(out: &mut Vec<u8>, control: Control, piece: &[u8]) {
    let piece = &piece[..piece.len().min(usize::from(u16::MAX))];
    out.push(control.0);
    out.extend_from_slice(&(piece.len() as u16).to_be_bytes());
    out.extend_from_slice(piece);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_any_bytes_decode() {
        let mut input = Vec::new();
        encode(&mut input, Control::new(3, [true, false, true]), b"abc");
        encode(&mut input, Control::new(15, [false; 3]), b"");
        encode(&mut input, Control(0x80), &[7; 300]);
        let got = decode(&input);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0.wait(), Duration::from_millis(10));
        assert!(got[0].0.bit(0) && !got[0].0.bit(1) && got[0].0.bit(2));
        assert_eq!(got[0].1, b"abc");
        assert_eq!(got[1].0.wait(), Duration::from_secs(601));
        assert_eq!(got[1].1, b"");
        assert_eq!(got[2].1, &[7; 300][..]);

        // A length past the end takes what is left; a short tail is no record.
        assert_eq!(
            decode(&[1, 0xff, 0xff, 9, 9]),
            vec![(Control(1), &[9u8, 9][..])]
        );
        assert!(decode(&[1, 0]).is_empty());
        assert_eq!(decode(&vec![0u8; 3 * (MAX_RECORDS + 5)]).len(), MAX_RECORDS);
    }
}
