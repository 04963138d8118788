//! `taplab trace`: reading captures and listing them the way Wireshark does, plus the
//! TCP states of both ends of every stream, inferred from the segments.
//!
//! Data flows in one direction, one frame at a time:
//!
//! ```text
//! capture file ─ pcap::CaptureReader ─ CapturedFrame (µs time, link type, bytes), streamed
//!   └ analyzer::Analyzer::push      one typed Row per frame (row.rs: TcpRow with
//!      │                             TcpFlags, options, marks::Mark, http::HttpPart)
//!      │  dissect  (stateless: smoltcp::wire parses each layer)
//!      │  tcp      (streams, relative numbers, window scaling, analysis marks)
//!      │  http     (messages reassembled as tshark does in one pass)
//!      ├ listing   the row as one line of text (only here do values become words)
//!      ├ timeline::StateTracker::push  tcp::StateChanges of both ends, inferred
//!      ├ picture → ladder              an SVG ladder of the rows (`--svg`)
//!      └ graph::Recorder::push         TCP stream graphs of one stream (`--graph`)
//! ```
//!
//! The analyzer and the state tracker take one frame at a time and keep bounded state,
//! so the live server and the lab feed them the frames they send and receive; `taplab
//! trace` feeds them a file ([`run`]) and prints each line as soon as its frame is read.
//! What it keeps for the end — the timelines (at most [`MAX_TIMELINES`] streams of at
//! most [`MAX_CHANGES`] changes), the rows of a picture (at most [`MAX_PICTURED`]) and
//! the segments of the graphs (at most [`graph::record::MAX_EVENTS`]) — is bounded too,
//! so memory does not grow with the file.
//!
//! The listing reproduces what tshark 4.0 prints in one pass (`tshark -r FILE`): same
//! stream numbers, relative numbers, scaled windows, options and bracketed analysis;
//! the integration tests compare the two frame by frame.

pub mod analyzer;
pub mod dissect;
pub mod flight;
pub mod graph;
pub mod http;
pub mod ladder;
pub mod listing;
pub mod marks;
pub mod pcap;
pub mod picture;
pub mod row;
pub mod tcp;
pub mod timeline;

#[cfg(test)]
mod tests;

pub use analyzer::Analyzer;
pub use listing::{Extras, ListingOptions};
pub use marks::Mark;
pub use pcap::{CaptureReader, CapturedFrame, LinkType};
pub use row::{Row, TcpRow};
pub use timeline::{StateTracker, StreamStates};

use crate::tcp::StateChange;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;

/// TCP rows kept for a picture (about 20 MB at most). The ladder draws at most a few
/// hundred rows anyway, condensing bulk data; a picture of a longer capture shows its
/// start (`--stream N` picks another part).
pub const MAX_PICTURED: usize = 50_000;
/// Streams whose timelines are kept for the end of the listing.
pub const MAX_TIMELINES: usize = 4096;
/// State changes kept per stream timeline.
pub const MAX_CHANGES: usize = 64;

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
    /// What the lines show beyond tshark's columns (`--in-flight`).
    pub extras: Extras,
    /// TCP stream graphs to write (`--graph KIND=OUT.svg`), of the stream `stream` (or
    /// the one that carried the most data).
    pub graphs: Vec<graph::GraphRequest>,
    /// The graphs' direction of data (else the one that carried more).
    pub direction: Option<graph::Direction>,
}

/// Why a run stopped early.
#[derive(Debug)]
pub enum Failure {
    /// Writing the listing failed (a closed pipe is one way).
    Write(std::io::Error),
    /// Anything else, in words.
    Other(String),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Write(e)
    }
}

/// One stream's timeline as kept for the end of the listing.
#[derive(Debug)]
struct Timeline {
    /// As the stream was last seen (the tracker itself may have let go of it).
    states: StreamStates,
    changes: Vec<StateChange>,
    /// Changes not kept past [`MAX_CHANGES`].
    more: usize,
}

/// One `taplab trace` run: frames go in one at a time and their lines out at once; the
/// timelines and the picture are written when the frames end.
pub struct Trace<'a> {
    opts: &'a TraceOptions,
    analyzer: Analyzer,
    tracker: StateTracker,
    header_done: bool,
    seen_streams: usize,
    timelines: BTreeMap<usize, Timeline>,
    /// Streams in scope whose timelines were not kept (past [`MAX_TIMELINES`]).
    timelines_dropped: usize,
    /// For the picture: the TCP rows in scope and their state changes.
    pictured: Vec<Row>,
    pictured_changes: Vec<StateChange>,
    /// For the graphs, when asked for.
    graph: Option<graph::Recorder>,
}

impl<'a> Trace<'a> {
    pub fn new(opts: &'a TraceOptions) -> Self {
        let mut analyzer = Analyzer::new(opts.listing);
        analyzer.set_http(opts.decode_http);
        Trace {
            opts,
            analyzer,
            tracker: StateTracker::new(),
            header_done: false,
            seen_streams: 0,
            timelines: BTreeMap::new(),
            timelines_dropped: 0,
            pictured: Vec::new(),
            pictured_changes: Vec::new(),
            graph: (!opts.graphs.is_empty()).then(|| graph::Recorder::new(opts.stream)),
        }
    }

    fn header(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        if !self.header_done {
            self.header_done = true;
            writeln!(out, "{}", Row::header())?;
        }
        Ok(())
    }

    /// Lists one frame (if it is in scope) and notes what the end needs.
    pub fn frame(&mut self, f: &CapturedFrame, out: &mut impl Write) -> Result<(), Failure> {
        let row = self.analyzer.push_frame(f);
        if let Some(g) = &mut self.graph {
            g.push(&row);
        }
        let stream = row.tcp().map(|t| t.stream);
        let in_scope = self.opts.stream.is_none_or(|want| stream == Some(want));
        let mut changes = Vec::new();
        if let Some(s) = stream {
            let new = s >= self.seen_streams;
            self.seen_streams = self.seen_streams.max(s + 1);
            changes = self.tracker.push(&row);
            if in_scope {
                self.keep_timeline(s, new, &changes);
            }
        }
        if !in_scope {
            return Ok(());
        }
        if self.opts.svg.is_some() && stream.is_some() && self.pictured.len() < MAX_PICTURED {
            self.pictured_changes.extend(changes);
            self.pictured.push(row.clone());
        }
        if self.opts.http_only && !row.is_http() {
            return Ok(());
        }
        self.header(out)?;
        writeln!(out, "{}", row.line_with(self.opts.extras))?;
        Ok(())
    }

    fn keep_timeline(&mut self, s: usize, new: bool, changes: &[StateChange]) {
        let Some(st) = self.tracker.stream(s).copied() else {
            return;
        };
        if new && self.timelines.len() >= MAX_TIMELINES {
            self.timelines_dropped += 1;
        }
        if new && self.timelines.len() < MAX_TIMELINES {
            self.timelines.insert(
                s,
                Timeline {
                    states: st,
                    changes: Vec::new(),
                    more: 0,
                },
            );
        }
        let Some(t) = self.timelines.get_mut(&s) else {
            return;
        };
        t.states = st;
        for c in changes {
            if t.changes.len() < MAX_CHANGES {
                t.changes.push(*c);
            } else {
                t.more += 1;
            }
        }
    }

    /// After the last frame: the picture, then the timelines (or the error of a stream
    /// that is not there).
    pub fn finish(mut self, out: &mut impl Write) -> Result<(), Failure> {
        let opts = self.opts;
        if let Some(want) = opts.stream
            && want >= self.seen_streams
        {
            return Err(Failure::Other(match self.seen_streams {
                0 => format!(
                    "there is no stream {want}: {} has no TCP streams",
                    opts.file.display()
                ),
                n => format!(
                    "there is no stream {want}: {} has streams 0 to {} (tshark's tcp.stream numbers)",
                    opts.file.display(),
                    n - 1
                ),
            }));
        }
        self.header(out)?;
        let t0 = self.analyzer.first_time_us().unwrap_or(0);
        if let Some(path) = &opts.svg {
            let title = format!("taplab trace {}", opts.file.display());
            let l = picture::ladder(
                &title,
                &self.pictured,
                &self.pictured_changes,
                t0,
                opts.extras,
            );
            std::fs::write(
                path,
                ladder::render_svg(&l, &ladder::LadderOptions::default()),
            )
            .map_err(|e| Failure::Other(format!("cannot write {}: {e}", path.display())))?;
        }
        if let Some(g) = &self.graph {
            let source = format!("taplab trace {}", opts.file.display());
            graph::write_all(g, &opts.graphs, opts.stream, opts.direction, &source)
                .map_err(|e| Failure::Other(format!("{e} in {}", opts.file.display())))?;
        }
        if opts.states {
            for t in self.timelines.values() {
                writeln!(out)?;
                write!(
                    out,
                    "{}",
                    timeline::render_stream(&t.states, &t.changes, t0)
                )?;
                if t.more > 0 {
                    writeln!(out, "  … {} more changes not kept", t.more)?;
                }
            }
            if self.timelines_dropped > 0 {
                writeln!(
                    out,
                    "\n… the timelines of {} more streams were not kept: list one with --stream N",
                    self.timelines_dropped
                )?;
            }
        }
        Ok(())
    }
}

/// Runs `taplab trace`: the listing to stdout as the frames are read (a pipe from
/// `tcpdump -w -` lists live), then the warning about a damaged or cut-short file, if
/// any, to stderr.
pub fn run(opts: &TraceOptions) -> Result<(), String> {
    let mut cap = pcap::open(&opts.file)?;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
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
/// capped), and the analyzer's per-stream state is bounded.
pub fn write_trace<R: Read>(
    opts: &TraceOptions,
    cap: &mut CaptureReader<R>,
    out: &mut impl Write,
) -> Result<(), String> {
    let mut trace = Trace::new(opts);
    let result = (|| {
        loop {
            if !cap.frame_ready() {
                out.flush()?;
            }
            let f = cap
                .next_frame()
                .map_err(|e| Failure::Other(format!("{} {e}", opts.file.display())))?;
            let Some(f) = f else { break };
            trace.frame(&f, out)?;
        }
        trace.finish(out)?;
        out.flush().map_err(Failure::Write)
    })();
    match result {
        Ok(()) => Ok(()),
        // A reader that stops early (`| head`) is not an error.
        Err(Failure::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(Failure::Write(e)) => Err(format!("writing the listing: {e}")),
        Err(Failure::Other(m)) => Err(m),
    }
}
