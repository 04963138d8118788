//! The client's connections: opening them, handing a request to the socket, reading the
//! answer (at `--client-read-rate` if set), and what the client does when the server
//! closes or resets — close too, retry a request that got no byte of an answer, or report
//! it failed. Each socket's state changes are noted here, as they happen.
//!
//! These are the parts of [`Client`] that touch sockets; what is fetched, and when, is
//! the page load's ([`super`]). Bytes leave through `tcp::Socket::send_slice` and arrive
//! through `recv` into the connection's [`Reader`]; a finished response goes to
//! `Client::finish_response`.

use super::fetch::{Fetch, request};
use super::response::Reader;
use super::{Client, MAX_CONNECTIONS};
use crate::tcp::{Side, StateChange};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::IpEndpoint;
use std::cell::Cell;

/// The client's send buffer: requests only.
const TX_BUFFER: usize = 64 * 1024;
/// How often a request that got no answer at all is sent again on a new connection
/// (Firefox's `network.http.request.max-attempts` allows up to 10 attempts).
const MAX_RETRIES: u8 = 3;
/// The client gives up on a connection when nothing at all has come from the server for
/// this long: Firefox's `network.http.response.timeout` (Chromium has no such timer and
/// leaves it to the kernel). A transfer that is still progressing, however slowly, is
/// never cut: the server retransmits at least every 60 s (smoltcp's largest RTO).
const SOCKET_TIMEOUT: Duration = Duration::from_secs(300);
/// How often a slow reader (`--client-read-rate`) wakes to read, at most…
const READ_TICK: Duration = Duration::from_millis(10);
/// …and the least it reads when it does: a very slow reader wakes less often rather than
/// reading a few bytes at a time (an application reads into a buffer, not byte by byte).
const MIN_READ: usize = 512;

/// A slow reader's (bytes per read, time between reads) at `rate` bytes per second.
fn read_chunk(rate: u64) -> (usize, Duration) {
    let rate = rate.max(1);
    let per_tick = (rate as u128 * READ_TICK.total_micros() as u128 / 1_000_000) as usize;
    if per_tick >= MIN_READ {
        (per_tick, READ_TICK)
    } else {
        let micros = (MIN_READ as u128 * 1_000_000).div_ceil(rate as u128);
        (
            MIN_READ,
            Duration::from_micros(micros.min(u64::MAX as u128) as u64),
        )
    }
}

thread_local! {
    /// The time the client's TCP timestamps carry, in ms. smoltcp takes the generator as a
    /// plain `fn() -> u32`, so [`Client::step`] stores the (virtual) time here before each
    /// poll, exactly as `crate::stack` does for the server: per thread, so that runs on
    /// different threads (`taplab lab sweep`) keep their own clocks.
    pub(super) static CLIENT_TSVAL_MS: Cell<u32> = const { Cell::new(0) };
}

fn client_tsval() -> u32 {
    CLIENT_TSVAL_MS.get()
}

/// One connection and the request it carries.
#[derive(Debug)]
pub(super) struct Conn {
    pub handle: SocketHandle,
    pub port: u16,
    /// The state last seen, to notice changes.
    state: tcp::State,
    endpoints: Option<(IpEndpoint, IpEndpoint)>,
    /// The request in flight: what it is, the bytes not yet handed to the socket, and the
    /// response so far.
    pub current: Option<(Fetch, Vec<u8>, Reader)>,
    /// The server said `Connection: close` or sent its FIN: no more requests here.
    pub no_reuse: bool,
    /// We called close() (or gave up on it).
    pub closed_by_us: bool,
    /// When a slow reader may next read.
    pub next_read: Instant,
    /// The socket reached CLOSED: nothing more happens on it.
    pub dead: bool,
    /// The handshake completed at some point.
    established: bool,
}

impl Client {
    /// Notes every socket's state change since the last look.
    pub(super) fn note_states(&mut self, now: Instant) {
        for c in &mut self.conns {
            let s = self.sockets.get::<tcp::Socket>(c.handle);
            if let (Some(l), Some(r)) = (s.local_endpoint(), s.remote_endpoint()) {
                c.endpoints = Some((l, r));
            }
            let state = s.state();
            if state != c.state {
                if let Some((local, remote)) = c.endpoints {
                    self.states.push(StateChange {
                        time: now,
                        side: Side::Client,
                        local,
                        remote,
                        from: c.state.into(),
                        to: state.into(),
                        frame: None,
                        inferred: None,
                    });
                }
                log::debug!("client :{}: {} -> {}", c.port, c.state, state);
                c.established |= state == tcp::State::Established;
                c.state = state;
            }
        }
    }

    /// Opens a new connection (bounded by [`MAX_CONNECTIONS`]). Returns its index.
    pub(super) fn open(&mut self, now: Instant) -> Option<usize> {
        if self.conns.len() >= MAX_CONNECTIONS {
            return None;
        }
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; self.config.knobs.rx_buffer()]),
            tcp::SocketBuffer::new(vec![0; TX_BUFFER]),
        );
        let k = &self.config.knobs;
        socket.set_timeout(Some(SOCKET_TIMEOUT));
        socket.set_nagle_enabled(k.nagle);
        socket.set_congestion_control(k.cc.to_smoltcp());
        socket.set_ack_delay(k.ack_delay.map(Duration::from));
        socket.set_tsval_generator(k.timestamps.then_some(client_tsval as fn() -> u32));
        let port = self.next_port;
        self.next_port = if self.next_port == u16::MAX {
            1024
        } else {
            self.next_port + 1
        };
        let remote = IpEndpoint::new(self.server, self.config.server_port);
        let handle = self.sockets.add(socket);
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        if let Err(e) = socket.connect(self.iface.context(), remote, port) {
            log::warn!("client: cannot connect from port {port}: {e}");
            self.sockets.remove(handle);
            return None;
        }
        self.conns.push(Conn {
            handle,
            port,
            state: tcp::State::Closed,
            endpoints: None,
            current: None,
            no_reuse: false,
            closed_by_us: false,
            next_read: now,
            dead: false,
            established: false,
        });
        Some(self.conns.len() - 1)
    }

    /// A connection that can take a request now, or will once its handshake is done.
    pub(super) fn usable(&self, i: usize) -> bool {
        let c = &self.conns[i];
        let s = self.sockets.get::<tcp::Socket>(c.handle);
        !c.no_reuse
            && !c.closed_by_us
            && !c.dead
            && matches!(s.state(), tcp::State::SynSent | tcp::State::Established)
    }

    /// Gives connection `i` the request for `fetch`, to be sent as the socket allows.
    pub(super) fn assign(&mut self, i: usize, fetch: Fetch) {
        let bytes = request(&fetch, &self.host, &self.validators);
        self.conns[i].current = Some((fetch, bytes, Reader::default()));
    }

    /// Hands as much of connection `i`'s request to its socket as it takes.
    pub(super) fn send_pending(&mut self, i: usize) -> bool {
        let c = &mut self.conns[i];
        let Some((_, pending, _)) = c.current.as_mut() else {
            return false;
        };
        if pending.is_empty() {
            return false;
        }
        let s = self.sockets.get_mut::<tcp::Socket>(c.handle);
        if !s.may_send() {
            return false;
        }
        match s.send_slice(pending) {
            Ok(n) if n > 0 => {
                pending.drain(..n);
                true
            }
            _ => false,
        }
    }

    /// Reads what the connection's socket holds (at the read rate, if any), finishes
    /// responses, and notices the server closing or resetting.
    pub(super) fn drive(&mut self, i: usize, now: Instant) -> bool {
        let mut progressed = self.read(i, now);
        // The server's FIN, a RST, or a timeout — once everything received was read.
        let handle = self.conns[i].handle;
        let s = self.sockets.get::<tcp::Socket>(handle);
        let state = s.state();
        if s.can_recv() || self.conns[i].dead {
            return progressed;
        }
        use tcp::State::*;
        let peer_fin = matches!(state, CloseWait | LastAck | Closing | TimeWait);
        if !peer_fin && state != Closed {
            return progressed;
        }
        let c = &mut self.conns[i];
        c.no_reuse = true;
        if let Some((fetch, pending, mut reader)) = c.current.take() {
            progressed = true;
            if reader.head.is_some() && reader.remaining.is_none() {
                // A body framed by the close is complete now.
                reader.remaining = Some(0);
                c.current = Some((fetch, pending, reader));
                self.finish_response(i);
            } else {
                let started = reader.head.is_some() || !reader.head_bytes.is_empty();
                if !started && c.established && fetch.retries < MAX_RETRIES {
                    // The server closed before any byte of the answer: on a reused
                    // keep-alive connection it closed as we asked (every browser
                    // retries), on a fresh one its idle timer beat a request that the
                    // network delayed (Firefox restarts idempotent requests then). Our
                    // requests are GETs: retry once, on a new connection.
                    let mut f = fetch;
                    f.retries += 1;
                    self.queue.insert(0, f);
                } else {
                    let why = if started {
                        "the connection closed in the middle of the response"
                    } else if !c.established {
                        "connection refused (RST) or never established"
                    } else {
                        "the connection closed before any response"
                    };
                    let port = c.port;
                    self.fail(&fetch, port, why.into());
                }
            }
        }
        let c = &mut self.conns[i];
        if peer_fin && !c.closed_by_us {
            // The server closed: close our side too (a browser does on EOF).
            self.sockets.get_mut::<tcp::Socket>(handle).close();
            c.closed_by_us = true;
            progressed = true;
        }
        if state == Closed {
            c.dead = true;
        }
        progressed
    }

    /// Reads what connection `i`'s socket holds, as much as the read rate allows now, into
    /// the response in flight (bytes nobody asked for are read and dropped, as a browser
    /// does); a response read whole is finished at once, so the next one starts clean.
    fn read(&mut self, i: usize, now: Instant) -> bool {
        let mut progressed = false;
        let handle = self.conns[i].handle;
        let rate = self.config.read_rate;
        let mut allowance = match rate {
            Some(r) if now >= self.conns[i].next_read => read_chunk(r).0,
            Some(_) => 0,
            None => usize::MAX,
        };
        let mut read_any = false;
        loop {
            let s = self.sockets.get_mut::<tcp::Socket>(handle);
            if allowance == 0 || !s.can_recv() {
                break;
            }
            let Some((_, _, reader)) = self.conns[i].current.as_mut() else {
                // Bytes nobody asked for: read and drop them, as a browser would.
                let n = s
                    .recv(|b| {
                        let n = b.len().min(allowance);
                        (n, n)
                    })
                    .unwrap_or(0);
                if n == 0 {
                    break;
                }
                read_any = true;
                allowance = allowance.saturating_sub(n);
                continue;
            };
            let n = s
                .recv(|b| {
                    let take = b.len().min(allowance);
                    let used = reader.feed(&b[..take]);
                    (used, used)
                })
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            read_any = true;
            allowance = allowance.saturating_sub(n);
            if reader.complete() {
                progressed |= self.finish_response(i);
            }
        }
        if read_any {
            progressed = true;
            if let Some(r) = rate {
                self.conns[i].next_read = now + read_chunk(r).1;
            }
        }
        progressed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_reader_reads_in_chunks_of_at_least_min_read() {
        // 1 MB/s: 10 kB every 10 ms.
        assert_eq!(read_chunk(1_000_000), (10_000, READ_TICK));
        // 51.2 kB/s is exactly MIN_READ per tick.
        assert_eq!(read_chunk(51_200), (MIN_READ, READ_TICK));
        // Slower: MIN_READ at longer intervals, the rate kept (rounded up).
        assert_eq!(read_chunk(1000), (MIN_READ, Duration::from_millis(512)));
        assert_eq!(
            read_chunk(3),
            (MIN_READ, Duration::from_micros(170_666_667))
        );
        // 0 is taken as 1 byte/s, not a division by zero.
        assert_eq!(read_chunk(0), (MIN_READ, Duration::from_secs(512)));
    }
}
