//! pcapng: a sequence of blocks, each with its type and total length up front. Sections
//! (Section Header Block) each have their own byte order and interfaces (Interface
//! Description Block: link type, snap length, `if_tsresol`, `if_tsoffset`); frames come
//! in Enhanced, Simple and the obsolete Packet blocks. Every other block is skipped.
//!
//! The block header is read first for the block's length, so that exactly one block is
//! read from the input; pcap-parser parses the section header, interface descriptions,
//! enhanced and simple packet blocks. What it does not do is done here: it has no
//! parser for the obsolete Packet Block, and reads `if_tsoffset` as little-endian in
//! big-endian sections too, so both options are read here in the section's byte order.

use super::input::Input;
use super::link::{LinkType, unsupported};
use super::{CapturedFrame, MAX_FRAME, Step, cut_short, read_error};
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{
    InterfaceDescriptionBlock, parse_enhancedpacketblock_be, parse_enhancedpacketblock_le,
    parse_interfacedescriptionblock_be, parse_interfacedescriptionblock_le,
    parse_sectionheaderblock, parse_simplepacketblock_be, parse_simplepacketblock_le,
};
use std::io::Read;

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
/// The byte-order magic of a section written little-endian, read little-endian.
const BOM_LE: u32 = 0x1a2b_3c4d;
/// The same magic written big-endian, read little-endian.
const BOM_BE: u32 = 0x4d3c_2b1a;
/// Type, total length (and, in a section header, the byte-order magic).
const BLOCK_HEADER: usize = 8;
/// A Packet Block's fields before its data.
const PB_FIXED: usize = 28;

/// An interface of the current section.
struct Interface {
    link: Result<LinkType, u32>,
    snaplen: u32,
    /// if_tsresol: units per second are 10^n, or 2^n when the high bit is set.
    tsresol: u8,
    /// if_tsoffset: seconds added to every timestamp.
    tsoffset: i64,
}

/// The state of reading a pcapng file: the current section's byte order and interfaces.
pub(super) struct Pcapng {
    big_endian: bool,
    interfaces: Vec<Interface>,
    /// No block read yet (the first must be a well-formed section header).
    first: bool,
    /// The input's record already holds the first block's type (read to tell the format).
    type_read: bool,
    /// The time of the last frame, given to simple packets, which carry none.
    last_time_us: i64,
}

/// What one block turned out to be.
enum Block {
    Frame(CapturedFrame),
    Skipped,
}

impl Pcapng {
    /// A reader whose input's record holds the first block's type.
    pub(super) fn new() -> Pcapng {
        Pcapng {
            big_endian: false,
            interfaces: Vec::new(),
            first: true,
            type_read: true,
            last_time_us: 0,
        }
    }

    fn u32_at(big: bool, b: &[u8], at: usize) -> Option<u32> {
        let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    }

    fn u16_at(&self, b: &[u8], at: usize) -> Option<u16> {
        let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(s)
        } else {
            u16::from_le_bytes(s)
        })
    }

    /// The next frame; `good` frames came before it.
    pub(super) fn next<R: Read>(&mut self, input: &mut Input<R>, good: usize) -> Step {
        loop {
            match self.block(input, good) {
                Ok(Some(Block::Frame(f))) => {
                    self.last_time_us = f.time_us;
                    return Step::Frame(f);
                }
                Ok(Some(Block::Skipped)) => {}
                Ok(None) => return Step::End,
                Err(step) => return step,
            }
        }
    }

    /// Reads one block: None at the end of the input, Err for a stop or a failure.
    fn block<R: Read>(&mut self, input: &mut Input<R>, good: usize) -> Result<Option<Block>, Step> {
        let n = good + 1;
        let io = |e| Step::Fail(read_error(e));
        let broken = |what: &str| Step::Stop(damaged(n, good, what));
        if self.type_read {
            self.type_read = false;
        } else {
            input.clear();
            if input.at_end().map_err(io)? {
                return Ok(None);
            }
            if !input.take(4).map_err(io)? {
                return Err(Step::Stop(cut_short(n, good)));
            }
        }
        // The section header's type reads the same in either byte order.
        let is_shb = Self::u32_at(false, input.record(), 0) == Some(SHB);
        if is_shb {
            // The byte-order magic decides how this section, including this block's own
            // length, is read.
            if !input.take(BLOCK_HEADER).map_err(io)? {
                return Err(broken("a section header"));
            }
            match Self::u32_at(false, input.record(), 8) {
                Some(BOM_LE) => self.big_endian = false,
                Some(BOM_BE) => self.big_endian = true,
                _ if self.first => {
                    return Err(Step::Fail(
                        "is not a pcapng capture: its byte-order magic is wrong".into(),
                    ));
                }
                _ => return Err(broken("a section header")),
            }
            self.interfaces.clear();
        } else if !input.take(4).map_err(io)? {
            return Err(Step::Stop(cut_short(n, good)));
        }
        let btype = Self::u32_at(self.big_endian, input.record(), 0).unwrap_or(0);
        let total = Self::u32_at(self.big_endian, input.record(), 4).unwrap_or(0) as usize;
        if total < 12 || !total.is_multiple_of(4) || total > MAX_FRAME + 64 {
            if self.first {
                return Err(Step::Fail(
                    "is not a pcapng capture: its first block is malformed".into(),
                ));
            }
            return Err(broken("a block length"));
        }
        if !input.take(total - input.record().len()).map_err(io)? {
            return Err(Step::Stop(cut_short(n, good)));
        }
        let first = std::mem::replace(&mut self.first, false);
        let block = input.record();
        match btype {
            SHB => {
                if parse_sectionheaderblock(block).is_err() {
                    if first {
                        return Err(Step::Fail(
                            "is not a pcapng capture: its section header is malformed".into(),
                        ));
                    }
                    return Err(broken("a section header"));
                }
                Ok(Some(Block::Skipped))
            }
            IDB => {
                let parsed = if self.big_endian {
                    parse_interfacedescriptionblock_be(block)
                } else {
                    parse_interfacedescriptionblock_le(block)
                };
                let Ok((_, idb)) = parsed else {
                    return Err(broken("an interface description"));
                };
                let iface = self.interface(&idb);
                self.interfaces.push(iface);
                Ok(Some(Block::Skipped))
            }
            EPB => self.enhanced(block, n, good).map(Some),
            PB => self.packet(block, n, good).map(Some),
            SPB => self.simple(block, n, good).map(Some),
            _ => Ok(Some(Block::Skipped)),
        }
    }

    /// An interface description's link type, snap length and time options. The options
    /// end at opt_endofopt; if_tsoffset is read in the section's byte order.
    fn interface(&self, idb: &InterfaceDescriptionBlock<'_>) -> Interface {
        let code = idb.linktype.0 as u32 & 0xffff;
        let mut iface = Interface {
            link: LinkType::from_code(code).ok_or(code),
            snaplen: idb.snaplen,
            tsresol: 6,
            tsoffset: 0,
        };
        for opt in &idb.options {
            let Ok(val) = opt.as_bytes() else { break };
            match (opt.code.0, val.len()) {
                (0, _) => break,
                (9, 1) => iface.tsresol = val[0],
                (14, 8) => {
                    let b: [u8; 8] = val.try_into().unwrap_or_default();
                    iface.tsoffset = if self.big_endian {
                        i64::from_be_bytes(b)
                    } else {
                        i64::from_le_bytes(b)
                    };
                }
                _ => {}
            }
        }
        iface
    }

    /// The interface a packet names, and its link type (an unreadable link type fails the
    /// whole file, as the first frame on it would).
    fn link_of(&self, ifid: usize, n: usize, good: usize) -> Result<&Interface, Step> {
        let Some(iface) = self.interfaces.get(ifid) else {
            return Err(Step::Stop(damaged(
                n,
                good,
                "a packet on an undescribed interface",
            )));
        };
        iface.link.map_err(|code| Step::Fail(unsupported(code)))?;
        Ok(iface)
    }

    fn frame(iface: &Interface, time_us: i64, data: &[u8], orig: u32) -> Block {
        Block::Frame(CapturedFrame {
            time_us,
            link: iface.link.unwrap_or(LinkType::Ethernet),
            data: data.to_vec(),
            orig_len: (orig as usize).max(data.len()),
        })
    }

    fn enhanced(&self, block: &[u8], n: usize, good: usize) -> Result<Block, Step> {
        let parsed = if self.big_endian {
            parse_enhancedpacketblock_be(block)
        } else {
            parse_enhancedpacketblock_le(block)
        };
        let Ok((_, epb)) = parsed else {
            let what = if block.len() < PB_FIXED + 4 {
                "a packet block"
            } else {
                "a packet block's length"
            };
            return Err(Step::Stop(damaged(n, good, what)));
        };
        let iface = self.link_of(epb.if_id as usize, n, good)?;
        let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
        let time_us = pcapng_time_us(ts, iface.tsresol, iface.tsoffset);
        Ok(Self::frame(iface, time_us, epb.packet_data(), epb.origlen))
    }

    /// The obsolete Packet Block (pcap-parser has no parser for it): a 16-bit interface
    /// id and drop count, then the same fields as an Enhanced Packet Block.
    fn packet(&self, block: &[u8], n: usize, good: usize) -> Result<Block, Step> {
        let big = self.big_endian;
        let (Some(ifid), Some(hi), Some(lo), Some(cap), Some(orig)) = (
            self.u16_at(block, 8),
            Self::u32_at(big, block, 12),
            Self::u32_at(big, block, 16),
            Self::u32_at(big, block, 20),
            Self::u32_at(big, block, 24),
        ) else {
            return Err(Step::Stop(damaged(n, good, "a packet block")));
        };
        let Some(data) = block
            .get(PB_FIXED..PB_FIXED.saturating_add(cap as usize))
            .filter(|_| PB_FIXED.saturating_add(cap as usize) <= block.len() - 4)
        else {
            return Err(Step::Stop(damaged(n, good, "a packet block's length")));
        };
        let iface = self.link_of(usize::from(ifid), n, good)?;
        let ts = (u64::from(hi) << 32) | u64::from(lo);
        let time_us = pcapng_time_us(ts, iface.tsresol, iface.tsoffset);
        Ok(Self::frame(iface, time_us, data, orig))
    }

    /// A Simple Packet Block: on the section's first interface, cut to its snap length,
    /// and with no timestamp: it gets its predecessor's, so that relative times stay
    /// meaningful.
    fn simple(&self, block: &[u8], n: usize, good: usize) -> Result<Block, Step> {
        if self.interfaces.is_empty() {
            return Err(Step::Stop(damaged(
                n,
                good,
                "a simple packet before any interface",
            )));
        }
        let iface = self.link_of(0, n, good)?;
        let parsed = if self.big_endian {
            parse_simplepacketblock_be(block)
        } else {
            parse_simplepacketblock_le(block)
        };
        let Ok((_, spb)) = parsed else {
            return Err(Step::Stop(damaged(n, good, "a simple packet block")));
        };
        let mut data = spb.packet_data();
        if iface.snaplen != 0 {
            data = &data[..data.len().min(iface.snaplen as usize)];
        }
        Ok(Self::frame(iface, self.last_time_us, data, spb.origlen))
    }

    /// True when a whole packet block is in `buffered` (after any other blocks), so
    /// reading the next frame will not wait.
    pub(super) fn ready(&self, mut buffered: &[u8]) -> bool {
        if self.type_read {
            return false;
        }
        let mut big = self.big_endian;
        loop {
            if Self::u32_at(false, buffered, 0) == Some(SHB) {
                match Self::u32_at(false, buffered, 8) {
                    Some(BOM_LE) => big = false,
                    Some(BOM_BE) => big = true,
                    _ => return false,
                }
            }
            let Some(total) = Self::u32_at(big, buffered, 4).map(|t| t as usize) else {
                return false;
            };
            if total < 12 || total > buffered.len() {
                return false;
            }
            let btype = Self::u32_at(big, buffered, 0).unwrap_or(0);
            if matches!(btype, EPB | PB | SPB) {
                return true;
            }
            buffered = &buffered[total..];
        }
    }
}

fn damaged(n: usize, good: usize, what: &str) -> String {
    format!("is damaged at frame {n} ({what}); showing the {good} frames before it")
}

/// Converts a pcapng timestamp to µs since the epoch, saturating instead of overflowing.
fn pcapng_time_us(units: u64, tsresol: u8, tsoffset: i64) -> i64 {
    let units = i128::from(units);
    let us = if tsresol & 0x80 != 0 {
        let shift = u32::from(tsresol & 0x7f).min(100);
        (units * 1_000_000) >> shift
    } else {
        let exp = i32::from(tsresol);
        if exp <= 6 {
            units * 10i128.pow((6 - exp) as u32)
        } else if exp - 6 > 30 {
            0
        } else {
            units / 10i128.pow((exp - 6) as u32)
        }
    };
    let total = us + i128::from(tsoffset) * 1_000_000;
    total.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}
