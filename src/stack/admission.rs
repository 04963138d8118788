//! Who gets a socket, and how big: the listener's policy.
//!
//! Data in: the table's counts ([`Table::count`]) and, for a SYN, its header. Data out:
//! an [`Admission`] for the SYN, a yes/no for a handshake about to complete, and the
//! socket [`Buffers`] a new connection gets.
//!
//! The decisions, and why:
//! - **The backlog is separate from the connections.** At most `backlog` connections
//!   may be half-open (SYN received, handshake not complete), however many are open;
//!   at most `max_conns` may be open (synchronized), however many are half-open.
//! - **A flood cannot take the listener.** When the backlog is full, a new SYN evicts
//!   the oldest half-open connection (a syncache, as the BSDs do): a spoofed SYN never
//!   completes, so it is always the oldest that goes, and a real client's handshake,
//!   which completes in one round trip, outlives any burst shorter than
//!   `backlog` SYNs per round trip. Half-open connections also time out after
//!   [`HALF_OPEN_TIMEOUT`] (Linux retries its SYN-ACK for about a minute).
//! - **A full server drops, never refuses.** A SYN that finds `max_conns` connections
//!   open is dropped, as a kernel drops a SYN to a full accept queue: the client
//!   retransmits it and is served when a connection has ended. Nothing here answers
//!   with RST.
//! - **A handshake always completes; the connection may wait.** A SYN admitted while
//!   there was room may complete its handshake when `max_conns` connections are open
//!   (a burst: many SYNs, then their ACKs). It is not held back: its socket already
//!   exists, and dropping the client's ACK would drop its request too, whose
//!   retransmission backs off to tens of seconds — longer than [`HALF_OPEN_TIMEOUT`],
//!   after which it would meet no connection and draw an RST. So it completes, waits
//!   (class `Waiting`: TCP acknowledges the request into the socket) and is handed to
//!   the layer above, oldest first, as soon as an open connection ends — the kernel's
//!   accept queue. Waiting connections come only from admitted half-open ones, and no
//!   SYN is admitted while they wait (the server is full), so half-open and waiting
//!   together stay within `backlog`.
//! - **TIME-WAIT is bounded too**: at most `max_conns` connections wait in TIME-WAIT;
//!   beyond that the oldest is let go (Linux's `tcp_max_tw_buckets`).
//! - **Socket memory follows use.** An HTTP server receives requests, so a socket's
//!   receive buffer is request-sized ([`REQUEST_BUFFER`]) unless a knob (`--window`,
//!   `--wscale`) asks for a window. Its send buffer is sized to the most the peer can
//!   take (65535 bytes without window scaling, up to [`MAX_SEND_BUFFER`] with it). Under
//!   memory pressure — the sockets already hold [`MEMORY_PRESSURE`] bytes — new
//!   connections get [`MIN_SEND_BUFFER`] and [`MIN_RECEIVE_BUFFER`] (Linux shrinks
//!   socket buffers under `tcp_mem` pressure the same way).

use super::table::{Class, Table};
use crate::knobs::TcpKnobs;
use smoltcp::time::Duration;

/// A half-open connection whose handshake has not completed by then is dropped.
pub const HALF_OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// Receive buffer of a connection without a window knob: room for a request head
/// (8 KiB line + 16 KiB headers in the HTTP layer's limits, read as it arrives).
pub const REQUEST_BUFFER: usize = crate::knobs::DEFAULT_WINDOW;
pub const MIN_RECEIVE_BUFFER: usize = 4 * 1024;
pub const MAX_SEND_BUFFER: usize = 256 * 1024;
pub const MIN_SEND_BUFFER: usize = 8 * 1024;
/// Socket buffer bytes beyond which new connections get the minimum buffers.
pub const MEMORY_PRESSURE: usize = 64 * 1024 * 1024;

/// The limits of `--max-conns` and `--backlog`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_conns: usize,
    pub backlog: usize,
}

/// The stack's own flags (its [`Limits`] and the edge guard), shared by `serve`, `lab`
/// and `lab --script`.
#[derive(clap::Args, Debug, Clone)]
pub struct StackArgs {
    /// Most connections open at once; a SYN beyond them is dropped (the client retries), never refused
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65536), value_name = "N")]
    pub max_conns: u32,
    /// Most half-open connections (handshake not complete); beyond, the oldest is dropped
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65536), value_name = "N")]
    pub backlog: u32,
    /// Hand every segment to smoltcp as it arrives: no edge guard (RFC 5961, PAWS) and no
    /// repairs of smoltcp's own defects — to see what smoltcp alone does
    #[arg(long)]
    pub no_guard: bool,
}

impl StackArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_conns: self.max_conns as usize,
            backlog: self.backlog as usize,
        }
    }
}

/// What becomes of a SYN for a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admit,
    /// Admit it after dropping the oldest half-open connection.
    EvictOldest,
    /// Drop it: `max_conns` connections are open.
    Full,
}

impl Limits {
    pub fn admit_syn(&self, table: &Table) -> Admission {
        if table.count(Class::Open) >= self.max_conns {
            Admission::Full
        } else if table.count(Class::HalfOpen) >= self.backlog {
            Admission::EvictOldest
        } else {
            Admission::Admit
        }
    }

    /// May one more connection be handed to the layer above (be open)?
    pub fn may_open(&self, table: &Table) -> bool {
        table.count(Class::Open) < self.max_conns
    }

    /// Is there a TIME-WAIT connection too many?
    pub fn too_many_time_waits(&self, table: &Table) -> bool {
        table.count(Class::TimeWait) > self.max_conns
    }
}

/// The socket buffers of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffers {
    pub rx: usize,
    pub tx: usize,
}

/// The buffers for a connection whose SYN offered window scaling or not, when the
/// sockets already hold `held` bytes.
pub fn buffers(knobs: &TcpKnobs, peer_scales: bool, held: usize) -> Buffers {
    let window_knob = knobs.window.is_some() || knobs.wscale.is_some();
    let rx = knobs.rx_buffer();
    let tx = if peer_scales { MAX_SEND_BUFFER } else { 65535 };
    if held + rx + tx <= MEMORY_PRESSURE {
        return Buffers { rx, tx };
    }
    Buffers {
        rx: if window_knob { rx } else { MIN_RECEIVE_BUFFER },
        tx: MIN_SEND_BUFFER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knobs::Wscale;

    #[test]
    fn buffers_follow_the_knobs_the_peer_and_the_pressure() {
        let k = TcpKnobs::default();
        assert_eq!(
            buffers(&k, true, 0),
            Buffers {
                rx: REQUEST_BUFFER,
                tx: MAX_SEND_BUFFER
            }
        );
        assert_eq!(buffers(&k, false, 0).tx, 65535);
        assert_eq!(
            buffers(&k, true, MEMORY_PRESSURE),
            Buffers {
                rx: MIN_RECEIVE_BUFFER,
                tx: MIN_SEND_BUFFER
            }
        );
        let w = TcpKnobs {
            wscale: Some(Wscale::Shift(3)),
            ..TcpKnobs::default()
        };
        assert_eq!(buffers(&w, true, 0).rx, 1 << 18);
        assert_eq!(
            buffers(&w, true, MEMORY_PRESSURE).rx,
            1 << 18,
            "a knob's window is kept"
        );
    }
}
