//! The TCP flag set: one bit set for the nine flags of the header (RFC 9293 §3.1, plus
//! AE of RFC 9768 and the three reserved bits), with the spellings the project prints
//! and reads.
//!
//! Bits enter from a header ([`TcpFlags::of`]), from a script's letters
//! ([`TcpFlags::from_letters`]) or as constants; they leave as Wireshark's list
//! ([`TcpFlags::wireshark`], `SYN, ACK`) or as tcpdump's and packetdrill's letters
//! (`Display`, `S.`).

use std::fmt;

bitflags::bitflags! {
    /// TCP flags as they sit in the 12 low bits of header bytes 12–13.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct TcpFlags: u16 {
        const FIN = 0x001;
        const SYN = 0x002;
        const RST = 0x004;
        const PSH = 0x008;
        const ACK = 0x010;
        const URG = 0x020;
        const ECE = 0x040;
        const CWR = 0x080;
        /// Accurate ECN (RFC 9768), formerly NS.
        const AE = 0x100;
        /// The three bits still reserved.
        const RESERVED = 0xe00;
    }
}

/// Wireshark's order and names, for [`TcpFlags::wireshark`].
const WIRESHARK: [(TcpFlags, &str); 10] = [
    (TcpFlags::FIN, "FIN"),
    (TcpFlags::SYN, "SYN"),
    (TcpFlags::RST, "RST"),
    (TcpFlags::PSH, "PSH"),
    (TcpFlags::ACK, "ACK"),
    (TcpFlags::URG, "URG"),
    (TcpFlags::ECE, "ECE"),
    (TcpFlags::CWR, "CWR"),
    (TcpFlags::AE, "AE"),
    (TcpFlags::RESERVED, "Reserved"),
];

/// tcpdump's letters in its order; `.` (ACK) is written last.
const LETTERS: [(char, TcpFlags); 7] = [
    ('F', TcpFlags::FIN),
    ('S', TcpFlags::SYN),
    ('R', TcpFlags::RST),
    ('P', TcpFlags::PSH),
    ('U', TcpFlags::URG),
    ('E', TcpFlags::ECE),
    ('W', TcpFlags::CWR),
];

impl TcpFlags {
    /// The flags of a segment, from its header's bytes 12–13.
    pub fn of<T: AsRef<[u8]>>(tcp: &smoltcp::wire::TcpPacket<T>) -> TcpFlags {
        let b = tcp.as_ref();
        match (b.get(12), b.get(13)) {
            (Some(&hi), Some(&lo)) => {
                TcpFlags::from_bits_truncate(u16::from_be_bytes([hi & 0x0f, lo]))
            }
            _ => TcpFlags::empty(),
        }
    }

    /// Wireshark's flag list, in its order: `SYN, ACK`; `<None>` when no flag is set.
    pub fn wireshark(self) -> String {
        let names: Vec<&str> = WIRESHARK
            .iter()
            .filter(|(f, _)| self.intersects(*f))
            .map(|(_, n)| *n)
            .collect();
        if names.is_empty() {
            "<None>".into()
        } else {
            names.join(", ")
        }
    }

    /// Reads tcpdump/packetdrill letters (`S.`, `FP.`, `none`), in any order. Err names
    /// the first character that is not a flag letter.
    pub fn from_letters(s: &str) -> Result<TcpFlags, char> {
        if s == "none" {
            return Ok(TcpFlags::empty());
        }
        let mut flags = TcpFlags::empty();
        for c in s.chars() {
            flags |= if c == '.' {
                TcpFlags::ACK
            } else {
                LETTERS
                    .iter()
                    .find(|(l, _)| *l == c)
                    .map(|(_, f)| *f)
                    .ok_or(c)?
            };
        }
        Ok(flags)
    }
}

/// tcpdump's and packetdrill's spelling: `S.`, `FP.`, `none`.
impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (c, flag) in LETTERS {
            if self.contains(flag) {
                write!(f, "{c}")?;
            }
        }
        if self.contains(TcpFlags::ACK) {
            f.write_str(".")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        let sa = TcpFlags::SYN | TcpFlags::ACK;
        assert_eq!(sa.wireshark(), "SYN, ACK");
        assert_eq!(sa.to_string(), "S.");
        let fpa = TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK;
        assert_eq!(fpa.wireshark(), "FIN, PSH, ACK");
        assert_eq!(fpa.to_string(), "FP.");
        assert_eq!(TcpFlags::empty().wireshark(), "<None>");
        assert_eq!(TcpFlags::empty().to_string(), "none");
        assert_eq!(TcpFlags::RESERVED.wireshark(), "Reserved");
        assert_eq!((TcpFlags::AE | TcpFlags::CWR).wireshark(), "CWR, AE");
    }

    #[test]
    fn letters_round_trip() {
        for s in ["S", "S.", ".", "P.", "F.", "FP.", "R", "R.", "SEW", "none"] {
            assert_eq!(TcpFlags::from_letters(s).unwrap().to_string(), s);
        }
        assert_eq!(TcpFlags::from_letters(".S").unwrap().to_string(), "S.");
        assert_eq!(TcpFlags::from_letters("SX"), Err('X'));
    }

    #[test]
    fn read_from_a_header() {
        let mut b = [0u8; 20];
        b[12] = 0x51; // data offset 5, AE
        b[13] = 0x12; // SYN, ACK
        let p = smoltcp::wire::TcpPacket::new_unchecked(&b[..]);
        assert_eq!(
            TcpFlags::of(&p),
            TcpFlags::AE | TcpFlags::SYN | TcpFlags::ACK
        );
        let short = smoltcp::wire::TcpPacket::new_unchecked(&b[..5]);
        assert_eq!(TcpFlags::of(&short), TcpFlags::empty());
    }
}
