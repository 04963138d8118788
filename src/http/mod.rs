//! Pure HTTP/1.1 responder for taplab's static site.
//!
//! This module knows nothing of TCP, TAP or smoltcp: bytes in, bytes out,
//! time passed in. The TCP side keeps one [`HttpConnection`] per established
//! connection and drives it on every loop turn:
//!
//! * peer bytes go in through [`HttpConnection::receive`] (at most
//!   [`HttpConnection::input_room`] of them), a FIN through
//!   [`HttpConnection::peer_closed`];
//! * [`HttpConnection::poll`] parses buffered requests, plans their responses
//!   against the [`Site`] and checks timers; it answers [`Verdict::Close`] when
//!   the server should now close, and only once all output is written;
//! * response bytes come out of [`HttpConnection::write_output`]: heads
//!   rendered into one reusable buffer per connection, small files copied from
//!   the site's in-memory cache (no system call per request; a changed file is
//!   noticed within a second), large files read from disk piece by piece
//!   straight into the caller's buffer;
//! * one [`AccessRecord`] per answered request comes out of
//!   [`HttpConnection::take_log`].
//!
//! The module never reads the clock: every call that needs the time takes
//! `now`, which also makes the timers testable. Points in time are one type,
//! [`Instant`] (smoltcp's, re-exported here): the instant every caller already
//! holds, counting microseconds since the Unix epoch (see [`crate::clock`]), so
//! the same value runs the timers and dates the responses. Lengths of time
//! (timeouts, durations in the access log) are `std::time::Duration`.
//!
//! Files: `conn.rs` (the connection state machine), `request.rs` (finding,
//! limiting and parsing request heads), `host.rs` (the Host field's syntax),
//! `body.rs` (skipping request bodies, chunked ones decoded), `cache.rs` (the
//! site's files kept in memory), `response.rs`
//! (deciding and rendering responses), `target.rs` (request target to clean
//! path: decoding, dot segments), `site.rs` (clean path to file),
//! `conditional.rs` (ETag and If-* headers), `range.rs` (byte ranges),
//! `date.rs` (HTTP dates).

use std::time::{Duration, SystemTime};

mod body;
mod cache;
mod conditional;
mod conn;
mod date;
mod host;
mod range;
mod request;
mod response;
mod site;
mod target;

#[cfg(test)]
mod tests;

pub use conn::HttpConnection;
pub use date::{format_http_date, parse_http_date};
pub use site::Site;
/// The one time type of this module's API (see the module documentation).
pub use smoltcp::time::Instant;

/// The wall-clock time an [`Instant`] stands for, for HTTP dates.
fn wall_time(t: Instant) -> SystemTime {
    crate::clock::to_system_time(t)
}

/// `base + d`, saturating instead of overflowing for absurdly long `d`.
fn after(base: Instant, d: Duration) -> Instant {
    let micros = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    Instant::from_micros(base.total_micros().saturating_add(micros))
}

/// The length of time from `earlier` to `later` (zero if `later` is earlier).
fn elapsed(earlier: Instant, later: Instant) -> Duration {
    let micros = later.total_micros().saturating_sub(earlier.total_micros());
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

/// Settings shared by all connections.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Value of the Server header, e.g. "taplab/0.1.0".
    pub server: String,
    /// An idle keep-alive connection is closed by the server after this;
    /// None = never.
    pub keep_alive_timeout: Option<Duration>,
    /// true: every response carries `Connection: close`.
    pub close_after_response: bool,
    /// The head of a started request must complete within this, else 408
    /// and close.
    pub request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            server: format!("taplab/{}", env!("CARGO_PKG_VERSION")),
            keep_alive_timeout: Some(Duration::from_secs(5)),
            close_after_response: false,
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// A resource made by the caller rather than read from the site (e.g. `/tcpinfo`,
/// which describes the very connection that asks for it).
#[derive(Debug, Clone)]
pub struct Generated {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Asked for every GET/HEAD path (exact, without query) before the site is.
pub trait Generator {
    fn generate(&self, path: &str) -> Option<Generated>;
}

/// No generated resources: the site only.
pub struct NoGenerator;

impl Generator for NoGenerator {
    fn generate(&self, _path: &str) -> Option<Generated> {
        None
    }
}

/// One record per answered request, for the access log.
#[derive(Debug, Clone)]
pub struct AccessRecord {
    /// As sent ("GET"), or "-" when the request line could not be parsed.
    pub method: String,
    /// Request target as sent (lossy UTF-8, at most 200 characters), "-" if
    /// unparsable.
    pub target: String,
    pub status: u16,
    /// Body bytes actually written to the output (0 for HEAD/304).
    pub bytes: u64,
    /// From the request being complete to its last byte being written.
    pub duration: Duration,
}

/// What the TCP side should do after calling [`HttpConnection::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Keep the connection open.
    Continue,
    /// Close it (reported only once all output has been written).
    Close,
}
