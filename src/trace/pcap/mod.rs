//! Capture files in, timestamped frames out, one at a time.
//!
//! Reads the two formats tcpdump, Wireshark and `taplab serve --pcap` write: classic pcap
//! (`classic`: either byte order, microsecond or nanosecond timestamps) and pcapng
//! (`ng`: Section Header, Interface Description, Enhanced, Simple and the obsolete
//! Packet blocks; every other block is skipped; each section may have its own byte
//! order; `if_tsresol` and `if_tsoffset` are honoured). The records are parsed by the
//! `pcap-parser` crate; what it lacks is done in `ng`. The link types read are in
//! [`LinkType`].
//!
//! [`CaptureReader`] takes any [`Read`] (a file, a FIFO, stdin) and yields each frame as a
//! [`CapturedFrame`] (Unix time in µs, the link type of its interface, the captured bytes)
//! as soon as its bytes have arrived: memory stays flat whatever the file's size (one
//! record and a read buffer), and a listing can start before the file ends.
//!
//! Every length field is checked before it is used and records grow only as their bytes
//! arrive (`input`), so a damaged or hostile file gives an error or a warning, never a
//! panic or a huge allocation. A file that ends in the middle of a frame (tcpdump killed
//! while writing) yields the complete frames and a warning, as Wireshark does.

mod classic;
mod input;
mod link;
mod ng;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod whole_file;

pub use link::LinkType;

use classic::Classic;
use input::Input;
use ng::Pcapng;
use std::io::Read;
use std::path::Path;

/// One frame of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedFrame {
    /// Capture time, µs since the Unix epoch.
    pub time_us: i64,
    pub link: LinkType,
    /// The bytes captured (may be fewer than `orig_len` when a snap length cut them).
    pub data: Vec<u8>,
    /// The frame's length on the wire: Wireshark's "Length" column.
    pub orig_len: usize,
}

/// Which flavour of file is being read ([`CaptureReader::format`], for the tests).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap { big_endian: bool, nanos: bool },
    Pcapng,
}

/// Frames above this size are taken as damage, not data (Wireshark's limit is similar).
const MAX_FRAME: usize = 256 * 1024 * 1024;

/// What reading one record gave.
enum Step {
    Frame(CapturedFrame),
    /// The input ended cleanly.
    End,
    /// The file is damaged or cut short here: a warning; the frames before it stand.
    Stop(String),
    /// The file cannot be read on (an unreadable link type, an I/O error): an error.
    Fail(String),
}

enum Reader {
    Classic(Classic),
    Pcapng(Pcapng),
}

/// Reads the frames of a capture one at a time from any byte source.
///
/// Errors and warnings read as a sentence continuing the file's name ("is not a pcap or
/// pcapng capture …").
pub struct CaptureReader<R> {
    input: Input<R>,
    reader: Reader,
    /// Frames handed out so far.
    frames: usize,
    warning: Option<String>,
    done: bool,
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header (for pcapng: just its first 4 bytes) and tells the format.
    pub fn new(src: R) -> Result<CaptureReader<R>, String> {
        let mut input = Input::new(src);
        input.clear();
        if !input.take(4).map_err(read_error)? {
            return Err(match input.record().len() {
                0 => "is empty: it holds no capture (was tcpdump stopped before the first frame?)"
                    .into(),
                n => format!("is too short ({n} bytes) to be a pcap or pcapng capture"),
            });
        }
        let head: [u8; 4] = input.record().try_into().unwrap_or_default();
        let reader = match u32::from_le_bytes(head) {
            0xa1b2_c3d4 => Reader::Classic(Classic::start(&mut input, false, false)?),
            0xa1b2_3c4d => Reader::Classic(Classic::start(&mut input, false, true)?),
            0xd4c3_b2a1 => Reader::Classic(Classic::start(&mut input, true, false)?),
            0x4d3c_b2a1 => Reader::Classic(Classic::start(&mut input, true, true)?),
            0x0a0d_0d0a => Reader::Pcapng(Pcapng::new()),
            0xa1b2_cd34 | 0x34cd_b2a1 => return Err(
                "is a \"modified\" (Kuznetzov) pcap, which taplab trace does not read: convert it with `editcap -F pcap IN OUT`".into(),
            ),
            _ => {
                // Show up to 8 bytes, to tell a text or HTML file from a capture.
                let _ = input.take(4);
                return Err(format!(
                    "is not a pcap or pcapng capture (it starts with {}): give a file written by tcpdump -w, Wireshark or taplab serve --pcap",
                    input
                        .record()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
            }
        };
        Ok(CaptureReader {
            input,
            reader,
            frames: 0,
            warning: None,
            done: false,
        })
    }

    /// The format of the file (for the tests that compare this reader with the one it
    /// replaced; nothing else asks).
    #[cfg(test)]
    pub fn format(&self) -> Format {
        match &self.reader {
            Reader::Classic(c) => Format::Pcap {
                big_endian: c.big_endian,
                nanos: c.nanos,
            },
            Reader::Pcapng(_) => Format::Pcapng,
        }
    }

    /// The next frame, or None after the last one (see [`CaptureReader::warning`] for
    /// whether the file ended early). This may wait for a pipe's writer.
    pub fn next_frame(&mut self) -> Result<Option<CapturedFrame>, String> {
        if self.done {
            return Ok(None);
        }
        let step = match &mut self.reader {
            Reader::Classic(c) => c.next(&mut self.input, self.frames),
            Reader::Pcapng(ng) => ng.next(&mut self.input, self.frames),
        };
        match step {
            Step::Frame(f) => {
                self.frames += 1;
                Ok(Some(f))
            }
            Step::End => {
                self.done = true;
                Ok(None)
            }
            Step::Stop(w) => {
                self.done = true;
                self.warning = Some(w);
                Ok(None)
            }
            Step::Fail(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// Set when the file turned out damaged or cut short after some good frames: what
    /// happened, for the user.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// True when the next frame is already in memory, so [`CaptureReader::next_frame`]
    /// will not wait for input. A listing flushes its output when this is false, so that a
    /// reader of a live pipe sees each line as soon as its frame has come.
    pub fn frame_ready(&self) -> bool {
        let buffered = self.input.buffered();
        match &self.reader {
            Reader::Classic(c) => c.ready(buffered),
            Reader::Pcapng(ng) => ng.ready(buffered),
        }
    }
}

/// Opens a capture file (or a FIFO; `-` is standard input). Errors name the file.
pub fn open(path: &Path) -> Result<CaptureReader<Box<dyn Read>>, String> {
    let shown = path.display();
    let src: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let opened = std::fs::File::open(path).and_then(|f| {
            if f.metadata()?.is_dir() {
                Err(std::io::ErrorKind::IsADirectory.into())
            } else {
                Ok(f)
            }
        });
        Box::new(opened.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("{shown} does not exist: check the path (capture with `taplab serve --pcap {shown}` or `tcpdump -i tap0 -w {shown}`)")
            }
            std::io::ErrorKind::PermissionDenied => {
                format!("cannot read {shown}: permission denied (tcpdump writes its files as user tcpdump; try sudo or chmod)")
            }
            std::io::ErrorKind::IsADirectory => {
                format!("{shown} is a directory: give a capture file")
            }
            _ => format!("cannot read {shown}: {e}"),
        })?)
    };
    CaptureReader::new(src).map_err(|e| format!("{shown} {e}"))
}

fn cut_short(n: usize, good: usize) -> String {
    format!("was cut short in the middle of frame {n}; showing the {good} complete frames")
}

fn read_error(e: std::io::Error) -> String {
    format!("cannot be read on: {e}")
}
