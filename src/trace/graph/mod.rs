//! TCP stream graphs as files: `taplab trace FILE --graph KIND=OUT.svg` and `taplab lab …
//! --graph KIND=OUT.svg`, KIND one of tcptrace, stevens, throughput, rtt, window (the
//! graphs Wireshark draws in its GUI, which tshark cannot).
//!
//! Data flows one way, from the typed rows of [`crate::trace::Analyzer`] (never from
//! text):
//!
//! ```text
//! Row ─ record::Recorder::push    one small Event per TCP segment of the streams in
//!        │                         scope (bounded), bytes per stream and direction
//!        └ Recorder::stream        the stream and direction to draw
//!           └ kinds::plot          a series::Plot: titled series of points in base units
//!              │  (rtt: Karn's-rule samples)
//!              ├ svg::render       axes (nice ticks, units), merged points (reduce), legend
//!              └ data::csv         the same points as text (OUT.csv)
//! ```
//!
//! Output depends only on the rows: the same capture (or lab seed) gives the same bytes.

pub mod axes;
pub mod data;
pub mod kinds;
pub mod record;
pub mod reduce;
pub mod rtt;
pub mod series;
pub mod svg;

pub use kinds::Kind;
pub use record::{Direction, Recorder, Stream};

use std::path::{Path, PathBuf};

/// One `--graph KIND=OUT` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphRequest {
    pub kind: Kind,
    /// Written as SVG, or as the points in CSV when the name ends in `.csv`.
    pub out: PathBuf,
}

fn kinds_text() -> String {
    Kind::ALL.map(Kind::name).join(", ")
}

impl GraphRequest {
    /// `tcptrace=seq.svg`.
    pub fn parse(s: &str) -> Result<GraphRequest, String> {
        let Some((kind, out)) = s.split_once('=') else {
            return Err(format!(
                "`{s}` is not KIND=OUT.svg: give the graph and the file, e.g. tcptrace=seq.svg (KIND: {})",
                kinds_text()
            ));
        };
        let Some(kind) = Kind::parse(kind) else {
            return Err(format!(
                "`{kind}` is not a graph: use one of {}",
                kinds_text()
            ));
        };
        if out.is_empty() {
            return Err(format!(
                "`{s}`: name the file to write, e.g. {}=graph.svg",
                kind.name()
            ));
        }
        Ok(GraphRequest {
            kind,
            out: PathBuf::from(out),
        })
    }

    fn is_data(&self) -> bool {
        self.out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    }
}

/// `client` or `server`.
pub fn parse_direction(s: &str) -> Result<Direction, String> {
    match s {
        "client" => Ok(Direction::Client),
        "server" => Ok(Direction::Server),
        _ => Err(format!(
            "`{s}` is not a direction: use client (data the client sent) or server"
        )),
    }
}

/// The file a request writes: an SVG picture, or the points as CSV.
pub fn render(req: &GraphRequest, stream: &Stream, source: &str) -> String {
    let plot = kinds::plot(req.kind, stream, source);
    if req.is_data() {
        data::csv(&plot)
    } else {
        svg::render(&plot)
    }
}

/// Writes every requested graph of one stream (`stream`, or the one that carried the
/// most data) in one direction (`dir`, or the one that carried more).
pub fn write_all(
    rec: &Recorder,
    requests: &[GraphRequest],
    stream: Option<usize>,
    dir: Option<Direction>,
    source: &str,
) -> Result<(), String> {
    if requests.is_empty() {
        return Ok(());
    }
    let s = rec.stream(stream, dir)?;
    for r in requests {
        write_file(&r.out, &render(r, &s, source))?;
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text)
        .map_err(|e| format!("cannot write the graph {}: {e}", path.display()))
}

#[cfg(test)]
mod tests;
