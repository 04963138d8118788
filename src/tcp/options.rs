//! TCP options as they sit in a header: a walker over the option bytes that yields each
//! option with its offset and length, typed.
//!
//! Bytes enter as the options area of a TCP header (`TcpPacket::options()`); what leaves
//! is one [`OptionAt`] per option in wire order. Readers (the trace, the scripted peer,
//! the lab client, `/tcpinfo`) use the typed [`TcpOption`]; the knobs layer uses
//! `offset` and `len` to edit an option in place without moving anything.
//!
//! Why not smoltcp's `TcpOption::parse`: it keeps three SACK blocks of the four a header
//! can carry, it has no names for TFO, MD5 or AccECN, and it does not say where an option
//! was. The walk follows RFC 9293 §3.1: kinds 0 and 1 are one byte, every other option
//! has a length byte counting itself and the kind. It ends at End of Option List (which
//! is yielded) or at the first option whose length is impossible (yielded as
//! [`TcpOption::Malformed`]), as Wireshark's dissector stops there too.

/// Option kinds (IANA's "TCP Option Kind Numbers").
pub mod kind {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WSCALE: u8 = 3;
    pub const SACK_PERM: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMPS: u8 = 8;
    pub const MD5: u8 = 19;
    pub const FAST_OPEN: u8 = 34;
    pub const ACC_ECN0: u8 = 172;
    pub const ACC_ECN1: u8 = 174;
    /// RFC 6994 shared experimental kind; TFO used it with magic 0xF989 before kind 34.
    pub const EXPERIMENT: u8 = 254;
}

/// The magic of TCP Fast Open in the experimental option (RFC 7413 §4.1.1).
const TFO_MAGIC: [u8; 2] = [0xf9, 0x89];

/// SACK blocks as they are in the option: pairs of (left edge, right edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SackBlocks<'a>(&'a [u8]);

impl<'a> SackBlocks<'a> {
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + 'a {
        self.0
            .chunks_exact(8)
            .map(|c| (be32(&c[0..4]), be32(&c[4..8])))
    }
}

/// One option, typed. Data is borrowed from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// End of Option List: nothing after it is an option.
    Eol,
    Nop,
    Mss(u16),
    /// The shift count as sent (a value above 14 is kept; receivers use 14).
    WindowScale(u8),
    SackPermitted,
    Sack(SackBlocks<'a>),
    Timestamps {
        val: u32,
        ecr: u32,
    },
    /// TCP MD5 signature (RFC 2385): the 16-byte digest.
    Md5(&'a [u8]),
    /// TCP Fast Open (RFC 7413), kind 34 or the experimental kind with its magic: the
    /// cookie, empty for a cookie request. `experimental` tells which form.
    FastOpen {
        cookie: &'a [u8],
        experimental: bool,
    },
    /// Accurate ECN option (AccECN), order 0 or 1: the byte counters as sent.
    AccEcn {
        order: u8,
        counters: &'a [u8],
    },
    /// A well-formed option of a kind not named above.
    Unknown {
        kind: u8,
        data: &'a [u8],
    },
    /// An option whose length byte is missing, below 2, runs past the end of the
    /// options, or does not fit its kind: the walk stops here.
    Malformed {
        kind: u8,
    },
}

impl TcpOption<'_> {
    /// The option's kind number.
    pub fn kind(&self) -> u8 {
        match self {
            TcpOption::Eol => kind::EOL,
            TcpOption::Nop => kind::NOP,
            TcpOption::Mss(_) => kind::MSS,
            TcpOption::WindowScale(_) => kind::WSCALE,
            TcpOption::SackPermitted => kind::SACK_PERM,
            TcpOption::Sack(_) => kind::SACK,
            TcpOption::Timestamps { .. } => kind::TIMESTAMPS,
            TcpOption::Md5(_) => kind::MD5,
            TcpOption::FastOpen {
                experimental: true, ..
            } => kind::EXPERIMENT,
            TcpOption::FastOpen { .. } => kind::FAST_OPEN,
            TcpOption::AccEcn { order: 0, .. } => kind::ACC_ECN0,
            TcpOption::AccEcn { .. } => kind::ACC_ECN1,
            TcpOption::Unknown { kind, .. } | TcpOption::Malformed { kind } => *kind,
        }
    }
}

/// An option and where it lies within the options area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionAt<'a> {
    pub offset: usize,
    /// Bytes it takes, kind and length bytes included (1 for EOL and NOP; for a
    /// malformed option, what is left of the area).
    pub len: usize,
    pub option: TcpOption<'a>,
}

/// Walks the options area of a TCP header (see the module doc for where it stops).
pub fn options(area: &[u8]) -> Options<'_> {
    Options {
        area,
        at: 0,
        done: false,
    }
}

/// The iterator [`options`] returns.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    area: &'a [u8],
    at: usize,
    done: bool,
}

impl<'a> Iterator for Options<'a> {
    type Item = OptionAt<'a>;

    fn next(&mut self) -> Option<OptionAt<'a>> {
        if self.done || self.at >= self.area.len() {
            return None;
        }
        let offset = self.at;
        let k = self.area[offset];
        let one = |option| OptionAt {
            offset,
            len: 1,
            option,
        };
        match k {
            kind::EOL => {
                self.done = true;
                return Some(one(TcpOption::Eol));
            }
            kind::NOP => {
                self.at += 1;
                return Some(one(TcpOption::Nop));
            }
            _ => {}
        }
        let rest = self.area.len() - offset;
        let len = self.area.get(offset + 1).map_or(0, |&l| usize::from(l));
        let option = if len < 2 || len > rest {
            None
        } else {
            typed(k, &self.area[offset + 2..offset + len])
        };
        match option {
            Some(option) => {
                self.at += len;
                Some(OptionAt {
                    offset,
                    len,
                    option,
                })
            }
            None => {
                self.done = true;
                Some(OptionAt {
                    offset,
                    len: rest,
                    option: TcpOption::Malformed { kind: k },
                })
            }
        }
    }
}

/// The option of kind `k` with body `data` (after kind and length); None if the length
/// does not fit the kind.
fn typed(k: u8, data: &[u8]) -> Option<TcpOption<'_>> {
    Some(match k {
        kind::MSS if data.len() == 2 => TcpOption::Mss(u16::from_be_bytes([data[0], data[1]])),
        kind::WSCALE if data.len() == 1 => TcpOption::WindowScale(data[0]),
        kind::SACK_PERM if data.is_empty() => TcpOption::SackPermitted,
        kind::SACK if !data.is_empty() && data.len().is_multiple_of(8) => {
            TcpOption::Sack(SackBlocks(data))
        }
        kind::TIMESTAMPS if data.len() == 8 => TcpOption::Timestamps {
            val: be32(&data[0..4]),
            ecr: be32(&data[4..8]),
        },
        kind::MD5 if data.len() == 16 => TcpOption::Md5(data),
        kind::FAST_OPEN if data.len() <= 16 => TcpOption::FastOpen {
            cookie: data,
            experimental: false,
        },
        kind::EXPERIMENT if data.len() >= 2 && data[..2] == TFO_MAGIC => TcpOption::FastOpen {
            cookie: &data[2..],
            experimental: true,
        },
        kind::ACC_ECN0 | kind::ACC_ECN1 => TcpOption::AccEcn {
            order: u8::from(k == kind::ACC_ECN1),
            counters: data,
        },
        kind::MSS
        | kind::WSCALE
        | kind::SACK_PERM
        | kind::SACK
        | kind::TIMESTAMPS
        | kind::MD5
        | kind::FAST_OPEN => return None,
        _ => TcpOption::Unknown { kind: k, data },
    })
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(area: &[u8]) -> Vec<TcpOption<'_>> {
        options(area).map(|o| o.option).collect()
    }

    #[test]
    fn a_linux_syn() {
        // mss 1460, sackOK, TS val 1 ecr 0, nop, wscale 7
        let area = [
            2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let got: Vec<_> = options(&area).collect();
        assert_eq!(got.len(), 5);
        assert_eq!(got[0].option, TcpOption::Mss(1460));
        assert_eq!((got[0].offset, got[0].len), (0, 4));
        assert_eq!(got[1].option, TcpOption::SackPermitted);
        assert_eq!(got[2].option, TcpOption::Timestamps { val: 1, ecr: 0 });
        assert_eq!(got[3].option, TcpOption::Nop);
        assert_eq!(got[4].option, TcpOption::WindowScale(7));
        assert_eq!((got[4].offset, got[4].len), (17, 3));
    }

    #[test]
    fn four_sack_blocks_and_eol_padding() {
        let mut area = vec![5, 34];
        for i in 0..8u32 {
            area.extend_from_slice(&(i * 100).to_be_bytes());
        }
        area.extend_from_slice(&[0, 0]);
        let got = kinds(&area);
        let TcpOption::Sack(blocks) = got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(blocks.iter().count(), 4);
        assert_eq!(blocks.iter().last(), Some((600, 700)));
        assert_eq!(got[1], TcpOption::Eol);
        assert_eq!(got.len(), 2, "nothing after EOL");
    }

    #[test]
    fn names_tfo_md5_and_accecn() {
        let mut area = vec![34, 2]; // TFO cookie request
        area.extend_from_slice(&[254, 6, 0xf9, 0x89, 0xaa, 0xbb]); // experimental TFO
        area.extend_from_slice(&[19, 18]);
        area.extend_from_slice(&[7; 16]);
        area.extend_from_slice(&[172, 2, 30, 4, 1, 2]);
        let got = kinds(&area);
        assert_eq!(
            got[0],
            TcpOption::FastOpen {
                cookie: &[],
                experimental: false
            }
        );
        assert_eq!(
            got[1],
            TcpOption::FastOpen {
                cookie: &[0xaa, 0xbb],
                experimental: true
            }
        );
        assert_eq!(got[2], TcpOption::Md5(&[7; 16]));
        assert_eq!(
            got[3],
            TcpOption::AccEcn {
                order: 0,
                counters: &[]
            }
        );
        assert_eq!(
            got[4],
            TcpOption::Unknown {
                kind: 30,
                data: &[1, 2]
            }
        );
        assert_eq!(
            got.iter().map(|o| o.kind()).collect::<Vec<_>>(),
            [34, 254, 19, 172, 30]
        );
    }

    #[test]
    fn stops_at_a_malformed_option_and_never_panics() {
        assert_eq!(kinds(&[2, 3, 5]), [TcpOption::Malformed { kind: 2 }]);
        assert_eq!(
            kinds(&[1, 8]),
            [TcpOption::Nop, TcpOption::Malformed { kind: 8 }]
        );
        assert_eq!(kinds(&[9, 1, 1]), [TcpOption::Malformed { kind: 9 }]);
        assert_eq!(kinds(&[9, 9, 1]), [TcpOption::Malformed { kind: 9 }]);
        // Every short byte string, whatever it holds: no panic, offsets in bounds.
        for a in 0..=255u8 {
            for b in [0u8, 1, 2, 3, 4, 10, 255] {
                for n in 0..4 {
                    let area = [a, b, a, b][..n].to_vec();
                    for o in options(&area) {
                        assert!(o.offset + o.len <= area.len().max(o.offset + 1));
                    }
                }
            }
        }
    }
}
