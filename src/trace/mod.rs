//! `taplab trace`: reading captures and listing them the way Wireshark does, plus the
//! TCP states of both ends of every stream, inferred from the segments.
//!
//! Data flows in one direction:
//!
//! ```text
//! capture file ─ pcap::read_capture ─ CapturedFrame (µs time, link type, bytes)
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
pub use pcap::{CapturedFrame, LinkType, open_capture, read_capture};
pub use timeline::{Side, StateChange, StateTracker, TcpState};

use std::collections::BTreeMap;
use std::io::Write;
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

/// The listing and timelines of a whole capture, as text; plus a warning about a damaged
/// or cut-short file, if any.
pub fn render(opts: &TraceOptions) -> Result<(String, Option<String>), String> {
    let cap = open_capture(&opts.file)?;
    let warning = cap.warning.map(|w| format!("{} {w}", opts.file.display()));
    let mut analyzer = Analyzer::new(opts.listing);
    analyzer.set_http(opts.decode_http);
    let mut tracker = StateTracker::new();
    let mut out = Row::header();
    out.push('\n');
    let mut changes: BTreeMap<usize, Vec<StateChange>> = BTreeMap::new();
    let mut seen_streams = 0usize;
    // The streams' ends and states, kept as each stream was last seen (the tracker
    // itself may have let go of old ones).
    let mut ends: BTreeMap<usize, timeline::StreamStates> = BTreeMap::new();
    // For the picture: the TCP rows in scope (bounded: the ladder condenses and caps).
    let mut pictured: Vec<Row> = Vec::new();
    for f in &cap.frames {
        let row = analyzer.push_frame(f);
        let stream = row.tcp.as_ref().map(|t| t.stream);
        if let Some(s) = stream {
            seen_streams = seen_streams.max(s + 1);
            let ch = tracker.push(&row);
            if opts.stream.is_none_or(|want| want == s) {
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
        out += &row.line();
        out.push('\n');
    }
    if let Some(want) = opts.stream
        && want >= seen_streams
    {
        return Err(match seen_streams {
            0 => format!(
                "there is no stream {want}: {} has no TCP streams",
                opts.file.display()
            ),
            n => format!(
                "there is no stream {want}: {} has streams 0 to {} (tshark's tcp.stream numbers)",
                opts.file.display(),
                n - 1
            ),
        });
    }
    if let Some(path) = &opts.svg {
        let all: Vec<StateChange> = changes.values().flatten().cloned().collect();
        let title = format!("taplab trace {}", opts.file.display());
        let l = picture::ladder(&title, &pictured, &all);
        std::fs::write(
            path,
            ladder::render_svg(&l, &ladder::LadderOptions::default()),
        )
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if opts.states {
        for (s, st) in &ends {
            out.push('\n');
            out += &timeline::render_stream(st, changes.get(s).map_or(&[][..], |v| v));
        }
    }
    Ok((out, warning))
}

/// Runs `taplab trace`: prints to stdout, the warning (if any) to stderr.
pub fn run(opts: &TraceOptions) -> Result<(), String> {
    let (text, warning) = render(opts)?;
    if let Some(w) = warning {
        let _ = writeln!(std::io::stderr(), "taplab: warning: {w}");
    }
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        // A reader that stops early (`| head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("writing the listing: {e}"))
        }
        _ => Ok(()),
    }
}
