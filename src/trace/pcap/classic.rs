//! Classic pcap (libpcap's format): a 24-byte file header, then one record per frame, a
//! 16-byte record header and the captured bytes. Either byte order, µs or ns timestamps.
//!
//! The record header is read first for the captured length, so that exactly one record is
//! read from the input; pcap-parser then parses the record.

use super::input::Input;
use super::link::{LinkType, unsupported};
use super::{CapturedFrame, MAX_FRAME, Step, cut_short, read_error};
use pcap_parser::{parse_pcap_frame, parse_pcap_frame_be, parse_pcap_header};
use std::io::Read;

/// Bytes before the first record.
const FILE_HEADER: usize = 24;
/// Bytes before each frame's data.
const RECORD_HEADER: usize = 16;

/// What the file header said, needed for every record.
#[derive(Debug, Clone, Copy)]
pub(super) struct Classic {
    pub(super) big_endian: bool,
    pub(super) nanos: bool,
    link: LinkType,
}

impl Classic {
    /// Reads the rest of the file header; `input`'s record holds its first 4 bytes.
    pub(super) fn start<R: Read>(
        input: &mut Input<R>,
        big_endian: bool,
        nanos: bool,
    ) -> Result<Classic, String> {
        let whole = input
            .take(FILE_HEADER - input.record().len())
            .map_err(read_error)?;
        let cut = || "is cut short inside its pcap file header (24 bytes)".to_string();
        if !whole {
            return Err(cut());
        }
        let (_, header) = parse_pcap_header(input.record()).map_err(|_| cut())?;
        // The upper bits carry FCS information; the link type is the low 16 bits.
        let code = header.network.0 as u32 & 0xffff;
        let link = LinkType::from_code(code).ok_or_else(|| unsupported(code))?;
        Ok(Classic {
            big_endian,
            nanos,
            link,
        })
    }

    fn u32_at(&self, b: &[u8], at: usize) -> Option<u32> {
        let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    }

    /// The next frame; `good` frames came before it.
    pub(super) fn next<R: Read>(&self, input: &mut Input<R>, good: usize) -> Step {
        let n = good + 1;
        input.clear();
        match input.at_end() {
            Ok(true) => return Step::End,
            Ok(false) => {}
            Err(e) => return Step::Fail(read_error(e)),
        }
        match input.take(RECORD_HEADER) {
            Ok(true) => {}
            Ok(false) => return Step::Stop(cut_short(n, good)),
            Err(e) => return Step::Fail(read_error(e)),
        }
        let incl = self.u32_at(input.record(), 8).unwrap_or(0) as usize;
        if incl > MAX_FRAME {
            return Step::Stop(format!(
                "is damaged at frame {n}: it claims {incl} captured bytes; showing the {good} frames before it"
            ));
        }
        match input.take(incl) {
            Ok(true) => {}
            Ok(false) => return Step::Stop(cut_short(n, good)),
            Err(e) => return Step::Fail(read_error(e)),
        }
        let parse = if self.big_endian {
            parse_pcap_frame_be
        } else {
            parse_pcap_frame
        };
        let Ok((_, rec)) = parse(input.record()) else {
            return Step::Stop(format!(
                "is damaged at frame {n}; showing the {good} frames before it"
            ));
        };
        let frac_us = if self.nanos {
            rec.ts_usec / 1000
        } else {
            rec.ts_usec
        };
        Step::Frame(CapturedFrame {
            time_us: i64::from(rec.ts_sec) * 1_000_000 + i64::from(frac_us),
            link: self.link,
            data: rec.data.to_vec(),
            orig_len: (rec.origlen as usize).max(rec.data.len()),
        })
    }

    /// True when the next record is wholly in `buffered`, so reading it will not wait.
    pub(super) fn ready(&self, buffered: &[u8]) -> bool {
        buffered.len() >= RECORD_HEADER
            && self
                .u32_at(buffered, 8)
                .is_some_and(|incl| buffered.len() - RECORD_HEADER >= incl as usize)
    }
}
