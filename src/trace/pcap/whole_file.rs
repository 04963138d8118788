//! The whole-file reader that [`super::CaptureReader`] replaced, kept unchanged (but for
//! one `total - 16` that could underflow on a 12-byte Simple Packet Block, now saturating)
//! as the reference the streaming reader is checked against in [`super::tests`]: same
//! frames, same warnings, same errors on every well-formed capture.

use super::link::{LinkType, unsupported};
use super::{CapturedFrame, Format, MAX_FRAME};

/// A parsed capture file.
#[derive(Debug, Clone)]
pub struct Capture {
    pub format: Format,
    pub frames: Vec<CapturedFrame>,
    pub warning: Option<String>,
}

pub fn parse_capture(bytes: &[u8]) -> Result<Capture, String> {
    if bytes.is_empty() {
        return Err(
            "is empty: it holds no capture (was tcpdump stopped before the first frame?)".into(),
        );
    }
    let Some(head) = bytes.get(..4) else {
        return Err(format!(
            "is too short ({} bytes) to be a pcap or pcapng capture",
            bytes.len()
        ));
    };
    let le = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    match le {
        0xa1b2_c3d4 => read_pcap(bytes, false, false),
        0xa1b2_3c4d => read_pcap(bytes, false, true),
        0xd4c3_b2a1 => read_pcap(bytes, true, false),
        0x4d3c_b2a1 => read_pcap(bytes, true, true),
        0x0a0d_0d0a => read_pcapng(bytes),
        0xa1b2_cd34 | 0x34cd_b2a1 => Err(
            "is a \"modified\" (Kuznetzov) pcap, which taplab trace does not read: convert it with `editcap -F pcap IN OUT`".into(),
        ),
        _ => Err(format!(
            "is not a pcap or pcapng capture (it starts with {}): give a file written by tcpdump -w, Wireshark or taplab serve --pcap",
            bytes
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        )),
    }
}

#[derive(Clone, Copy)]
struct Bytes<'a> {
    b: &'a [u8],
    big: bool,
}

impl<'a> Bytes<'a> {
    fn u16(&self, at: usize) -> Option<u16> {
        let s: [u8; 2] = self.b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big {
            u16::from_be_bytes(s)
        } else {
            u16::from_le_bytes(s)
        })
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let s: [u8; 4] = self.b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    }
    fn i64(&self, at: usize) -> Option<i64> {
        let s: [u8; 8] = self.b.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(if self.big {
            i64::from_be_bytes(s)
        } else {
            i64::from_le_bytes(s)
        })
    }
    fn slice(&self, at: usize, len: usize) -> Option<&'a [u8]> {
        self.b.get(at..at.checked_add(len)?)
    }
}

fn read_pcap(bytes: &[u8], big: bool, nanos: bool) -> Result<Capture, String> {
    let r = Bytes { b: bytes, big };
    let Some(network) = r.u32(20) else {
        return Err("is cut short inside its pcap file header (24 bytes)".into());
    };
    // The upper bits carry FCS information; the link type is the low 16 bits.
    let code = network & 0xffff;
    let link = LinkType::from_code(code).ok_or_else(|| unsupported(code))?;
    let mut frames = Vec::new();
    let mut warning = None;
    let mut off = 24usize;
    while off < bytes.len() {
        let n = frames.len() + 1;
        let (Some(sec), Some(frac), Some(incl), Some(orig)) =
            (r.u32(off), r.u32(off + 4), r.u32(off + 8), r.u32(off + 12))
        else {
            warning = Some(cut_short(n, frames.len()));
            break;
        };
        let incl = incl as usize;
        if incl > MAX_FRAME {
            warning = Some(format!(
                "is damaged at frame {n}: it claims {incl} captured bytes; showing the {} frames before it",
                frames.len()
            ));
            break;
        }
        let Some(data) = r.slice(off + 16, incl) else {
            warning = Some(cut_short(n, frames.len()));
            break;
        };
        let frac_us = if nanos { frac / 1000 } else { frac };
        frames.push(CapturedFrame {
            time_us: i64::from(sec) * 1_000_000 + i64::from(frac_us),
            link,
            data: data.to_vec(),
            orig_len: (orig as usize).max(incl),
        });
        off += 16 + incl;
    }
    Ok(Capture {
        format: Format::Pcap {
            big_endian: big,
            nanos,
        },
        frames,
        warning,
    })
}

fn cut_short(n: usize, good: usize) -> String {
    format!("was cut short in the middle of frame {n}; showing the {good} complete frames")
}

/// An interface of the current pcapng section.
struct Interface {
    link: Result<LinkType, u32>,
    snaplen: u32,
    /// if_tsresol: units per second are 10^n, or 2^n when the high bit is set.
    tsresol: u8,
    /// if_tsoffset: seconds added to every timestamp.
    tsoffset: i64,
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

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

// Long (about 150 lines): this is the replaced reader kept as it was, so that the
// streaming reader is compared with exactly what it replaced; splitting it would make it a
// different reference.
fn read_pcapng(bytes: &[u8]) -> Result<Capture, String> {
    let mut frames = Vec::new();
    let mut warning = None;
    let mut ifaces: Vec<Interface> = Vec::new();
    let mut big = false;
    let mut off = 0usize;
    while off < bytes.len() {
        let n = frames.len() + 1;
        let le = Bytes {
            b: bytes,
            big: false,
        };
        let Some(btype) = le.u32(off) else {
            warning = Some(cut_short(n, frames.len()));
            break;
        };
        if btype == SHB {
            // The byte-order magic decides how this section, including this block's
            // own length, is read.
            match le.u32(off + 8) {
                Some(0x1a2b_3c4d) => big = false,
                Some(0x4d3c_2b1a) => big = true,
                Some(_) if off == 0 => {
                    return Err("is not a pcapng capture: its byte-order magic is wrong".into());
                }
                _ => {
                    warning = Some(damaged(n, frames.len(), "a section header"));
                    break;
                }
            }
            ifaces.clear();
        }
        let r = Bytes { b: bytes, big };
        let Some(total) = r.u32(off + 4).map(|t| t as usize) else {
            warning = Some(cut_short(n, frames.len()));
            break;
        };
        if total < 12 || !total.is_multiple_of(4) || total > MAX_FRAME + 64 {
            if off == 0 {
                return Err("is not a pcapng capture: its first block is malformed".into());
            }
            warning = Some(damaged(n, frames.len(), "a block length"));
            break;
        }
        let Some(block) = r.slice(off, total) else {
            warning = Some(cut_short(n, frames.len()));
            break;
        };
        let b = Bytes { b: block, big };
        let btype = b.u32(0).unwrap_or(0);
        match btype {
            IDB => {
                let Some(code) = b.u16(8) else {
                    warning = Some(damaged(n, frames.len(), "an interface description"));
                    break;
                };
                let code = u32::from(code);
                let mut iface = Interface {
                    link: LinkType::from_code(code).ok_or(code),
                    snaplen: b.u32(12).unwrap_or(0),
                    tsresol: 6,
                    tsoffset: 0,
                };
                for (ocode, val) in options(b, 16, total - 4) {
                    match (ocode, val.len()) {
                        (9, 1) => iface.tsresol = val[0],
                        (14, 8) => {
                            iface.tsoffset = Bytes { b: val, big }.i64(0).unwrap_or(0);
                        }
                        _ => {}
                    }
                }
                ifaces.push(iface);
            }
            EPB | PB => {
                let (ifid, fixed) = if btype == EPB {
                    (b.u32(8).map(|v| v as usize), 28)
                } else {
                    (b.u16(8).map(usize::from), 28)
                };
                let (Some(ifid), Some(hi), Some(lo), Some(cap), Some(orig)) =
                    (ifid, b.u32(12), b.u32(16), b.u32(20), b.u32(24))
                else {
                    warning = Some(damaged(n, frames.len(), "a packet block"));
                    break;
                };
                let Some(data) = b
                    .slice(fixed, cap as usize)
                    .filter(|_| fixed + cap as usize <= total - 4)
                else {
                    warning = Some(damaged(n, frames.len(), "a packet block's length"));
                    break;
                };
                let Some(iface) = ifaces.get(ifid) else {
                    warning = Some(damaged(
                        n,
                        frames.len(),
                        "a packet on an undescribed interface",
                    ));
                    break;
                };
                let link = iface.link.map_err(unsupported)?;
                frames.push(CapturedFrame {
                    time_us: pcapng_time_us(
                        (u64::from(hi) << 32) | u64::from(lo),
                        iface.tsresol,
                        iface.tsoffset,
                    ),
                    link,
                    data: data.to_vec(),
                    orig_len: (orig as usize).max(data.len()),
                });
            }
            SPB => {
                let Some(iface) = ifaces.first() else {
                    warning = Some(damaged(
                        n,
                        frames.len(),
                        "a simple packet before any interface",
                    ));
                    break;
                };
                let link = iface.link.map_err(unsupported)?;
                let orig = b.u32(8).unwrap_or(0) as usize;
                let mut cap = orig.min(total.saturating_sub(16));
                if iface.snaplen != 0 {
                    cap = cap.min(iface.snaplen as usize);
                }
                let data = b.slice(12, cap).unwrap_or(&[]);
                frames.push(CapturedFrame {
                    // A simple packet block has no timestamp: it gets its predecessor's, so
                    // that relative times stay meaningful.
                    time_us: frames.last().map_or(0, |f: &CapturedFrame| f.time_us),
                    link,
                    data: data.to_vec(),
                    orig_len: orig.max(data.len()),
                });
            }
            _ => {}
        }
        off += total;
    }
    Ok(Capture {
        format: Format::Pcapng,
        frames,
        warning,
    })
}

fn damaged(n: usize, good: usize, what: &str) -> String {
    format!("is damaged at frame {n} ({what}); showing the {good} frames before it")
}

/// The options of a pcapng block between `from` and `to`: (code, value) pairs, stopping
/// at opt_endofopt or at the first option that does not fit.
fn options<'a>(b: Bytes<'a>, from: usize, to: usize) -> Vec<(u16, &'a [u8])> {
    let mut out = Vec::new();
    let mut at = from;
    while at + 4 <= to {
        let (Some(code), Some(len)) = (b.u16(at), b.u16(at + 2)) else {
            break;
        };
        if code == 0 {
            break;
        }
        let len = usize::from(len);
        let Some(val) = b.slice(at + 4, len).filter(|_| at + 4 + len <= to) else {
            break;
        };
        out.push((code, val));
        at += 4 + len.div_ceil(4) * 4;
    }
    out
}
