//! `taplab trace`: reading captures and listing them the way Wireshark does, plus the
//! TCP states of both ends of every stream, inferred from the segments.
//!
//! Data flows in one direction:
//!
//! ```text
//! capture file ─ pcap::CaptureReader ─ CapturedFrame (µs time, link type, bytes), one at a time
//!   └ listing::Analyzer::push        one Row per frame (No. Time Source Destination
//!      │                              Protocol Length Info), with TCP fields in TcpRow;
//!      │  dissect  (stateless: smoltcp::wire parses each layer)
//!      │  tcp      (streams, relative numbers, window scaling, analysis flags)
//!      │  http     (messages reassembled as tshark does in one pass)
//!      └ timeline::StateTracker::push StateChanges of both ends, inferred
//! ```
//!
//! The analyzer and the state tracker take one frame at a time and keep bounded state,
//! so the live server can feed them the frames it sends and receives; `taplab trace`
//! feeds them a file ([`run`]).
//!
//! The listing reproduces what tshark 4.0 prints in one pass (`tshark -r FILE`): same
//! stream numbers, relative numbers, scaled windows, options and bracketed analysis;
//! the integration tests compare the two frame by frame.
//!
//! [`ladder`] draws a stream as an SVG ladder picture (`taplab trace --svg`).

pub mod dissect;
pub mod http;
pub mod ladder;
pub mod listing;
pub mod pcap;
pub mod picture;
pub mod tcp;
pub mod timeline;

#[cfg(test)]
mod tests;

pub use listing::{Analyzer, ListingOptions, Row, TcpRow};
pub use pcap::{CaptureReader, CapturedFrame, LinkType};
pub use timeline::{Side, StateChange, StateTracker, TcpState};

use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

/// Rows kept for a picture: beyond this the ladder would cap them anyway.
const MAX_PICTURED: usize = 200_000;

/// What `taplab trace` was asked for.
#[derive(Debug, Clone, Default)]
pub struct TraceOptions {
    pub file: PathBuf,
    pub listing: ListingOptions,
    /// Only this stream's rows and timeline.
    pub stream: Option<usize>,
    /// Only rows that name an HTTP message.
    pub http_only: bool,
    /// Print the state timelines after the listing.
    pub states: bool,
    /// Decode HTTP (off: every TCP row shows its TCP summary).
    pub decode_http: bool,
    /// Also draw the TCP rows in scope as an SVG ladder picture into this file.
    pub svg: Option<PathBuf>,
}

/// Runs `taplab trace`: prints the listing to stdout as the frames are read (a pipe
/// from `tcpdump -w -` lists live), then the warning about a damaged or cut-short file,
/// if any, to stderr.
pub fn run(opts: &TraceOptions) -> Result<(), String> {
    let mut cap = pcap::open(&opts.file)?;
    let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let listed = write_trace(opts, &mut cap, &mut out);
    if let Some(w) = cap.warning() {
        let _ = writeln!(
            std::io::stderr(),
            "taplab: warning: {} {w}",
            opts.file.display()
        );
    }
    listed
}

/// Lists the frames of `cap` into `out` as they are read, then the timelines; the
/// picture, if asked for, is written at the end. Output is flushed whenever the next frame
/// has not arrived yet, so a reader of a live capture sees each line at once, and a file
/// is written in large blocks. Memory stays flat: rows are not kept (but for the picture,
/// capped), and the analyzer's per-stream state is its own.
pub fn write_trace<R: Read>(
    opts: &TraceOptions,
    cap: &mut CaptureReader<R>,
    out: &mut impl Write,
) -> Result<(), String> {
    match list(opts, cap, out) {
        Ok(()) | Err(Halt::ReaderGone) => Ok(()),
        Err(Halt::Error(e)) => Err(e),
    }
}

/// Why a listing stopped before its end.
enum Halt {
    /// The reader of the output has gone (`| head`): not an error, but no reason to read on.
    ReaderGone,
    Error(String),
}

impl From<String> for Halt {
    fn from(e: String) -> Halt {
        Halt::Error(e)
    }
}

/// A failed write of the listing.
fn output_error(e: std::io::Error) -> Halt {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Halt::ReaderGone
    } else {
        Halt::Error(format!("writing the listing: {e}"))
    }
}

fn list<R: Read>(
    opts: &TraceOptions,
    cap: &mut CaptureReader<R>,
    out: &mut impl Write,
) -> Result<(), Halt> {
    let file = opts.file.display();
    let mut analyzer = Analyzer::new(opts.listing);
    analyzer.set_http(opts.decode_http);
    let mut tracker = StateTracker::new();
    // The header goes out with the first line, or at the end: a `--stream` that does not
    // exist is an error with nothing listed.
    let mut header = false;
    let mut changes: BTreeMap<usize, Vec<StateChange>> = BTreeMap::new();
    let mut seen_streams = 0usize;
    // The streams' ends and states, kept as each stream was last seen (the tracker
    // itself may have let go of old ones).
    let mut ends: BTreeMap<usize, timeline::StreamStates> = BTreeMap::new();
    // For the picture: the TCP rows in scope (bounded: the ladder condenses and caps).
    let mut pictured: Vec<Row> = Vec::new();
    loop {
        if !cap.frame_ready() {
            out.flush().map_err(output_error)?;
        }
        let Some(f) = cap.next_frame().map_err(|e| format!("{file} {e}"))? else {
            break;
        };
        let row = analyzer.push_frame(&f);
        let stream = row.tcp.as_ref().map(|t| t.stream);
        if let Some(s) = stream {
            seen_streams = seen_streams.max(s + 1);
            let ch = tracker.push(&row);
            // Kept only for what is printed or drawn at the end: they grow with the
            // number of streams.
            if (opts.states || opts.svg.is_some()) && opts.stream.is_none_or(|want| want == s) {
                changes.entry(s).or_default().extend(ch);
                if let Some(st) = tracker.stream(s) {
                    ends.insert(s, st.clone());
                }
            }
        }
        if opts.stream.is_some_and(|want| stream != Some(want)) {
            continue;
        }
        if opts.svg.is_some() && row.tcp.is_some() && pictured.len() < MAX_PICTURED {
            pictured.push(row.clone());
        }
        if opts.http_only && !row.is_http() {
            continue;
        }
        if !std::mem::replace(&mut header, true) {
            writeln!(out, "{}", Row::header()).map_err(output_error)?;
        }
        writeln!(out, "{}", row.line()).map_err(output_error)?;
    }
    if let Some(want) = opts.stream
        && want >= seen_streams
    {
        return Err(Halt::Error(match seen_streams {
            0 => format!("there is no stream {want}: {file} has no TCP streams"),
            n => format!(
                "there is no stream {want}: {file} has streams 0 to {} (tshark's tcp.stream numbers)",
                n - 1
            ),
        }));
    }
    if !header {
        writeln!(out, "{}", Row::header()).map_err(output_error)?;
    }
    if let Some(path) = &opts.svg {
        let all: Vec<StateChange> = changes.values().flatten().cloned().collect();
        let title = format!("taplab trace {file}");
        let l = picture::ladder(&title, &pictured, &all);
        std::fs::write(
            path,
            ladder::render_svg(&l, &ladder::LadderOptions::default()),
        )
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if opts.states {
        for (s, st) in &ends {
            let text = timeline::render_stream(st, changes.get(s).map_or(&[][..], |v| v));
            write!(out, "\n{text}").map_err(output_error)?;
        }
    }
    out.flush().map_err(output_error)
}
