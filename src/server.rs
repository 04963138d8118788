//! The web server: joins the [`Stack`]'s sockets to one [`HttpConnection`] each.
//!
//! Each [`Server::step`] moves frames through the stack, turns the stack's events into
//! HTTP connections opening and closing, and for every open connection moves received
//! bytes into its HTTP state machine and response bytes into the socket's send buffer —
//! only as much as the buffer has room for, so large files stream from disk as the peer's
//! window opens. The same code serves a real tap (`serve`) and, later, a simulated wire.
//!
//! Logging (info): one line per connection opened and closed, one access-log line per
//! request: `peer "METHOD target" status bytes ms`.

use crate::clock::Clock;
use crate::http::{Generated, Generator, HttpConfig, HttpConnection, Site, Verdict};
use crate::knobs::TcpKnobs;
use crate::stack::{Stack, StackEvent, state_name};
use crate::tcpinfo::{ConnKey, ConnTable};
use smoltcp::phy::Device;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::IpEndpoint;
use std::cell::RefCell;
use std::rc::Rc;

/// An upper bound on the work of one step, so a peer that keeps the stack busy cannot
/// starve the caller's other duties (signals, timers).
const MAX_ROUNDS_PER_STEP: usize = 64;

struct Conn {
    http: HttpConnection,
    local: IpEndpoint,
    remote: IpEndpoint,
    opened: Instant,
    requests: u64,
    bytes: u64,
    peer_closed: bool,
    closing: bool,
    /// When HTTP was done with the connection (for --close client-first).
    done_at: Option<Instant>,
}

/// With --close client-first, how long the server waits for the client's FIN after HTTP
/// is done before it closes after all (a bound, so a silent client cannot pin a socket).
pub const CLIENT_FIRST_WAIT: Duration = Duration::from_secs(30);

/// A TCP state change of one of our sockets, as smoltcp reported it (handed to every
/// [`StateObserver`] given to [`Server::observe_states`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChange {
    pub time: Instant,
    pub local: IpEndpoint,
    pub remote: IpEndpoint,
    pub from: smoltcp::socket::tcp::State,
    pub to: smoltcp::socket::tcp::State,
}

/// Told about every TCP state change of our sockets (the live trace, the lab's timelines).
pub trait StateObserver {
    fn state(&mut self, change: &StateChange);
}

/// Keeps the state changes it is told about until they are taken.
#[derive(Debug, Default)]
pub struct StateLog {
    changes: Vec<StateChange>,
}

impl StateLog {
    /// The changes since the last call.
    pub fn take(&mut self) -> Vec<StateChange> {
        std::mem::take(&mut self.changes)
    }
}

impl StateObserver for StateLog {
    fn state(&mut self, change: &StateChange) {
        self.changes.push(*change);
    }
}

pub struct Server {
    stack: Stack,
    site: Site,
    http: HttpConfig,
    conns: Vec<Option<Conn>>,
    client_first: bool,
    knobs: TcpKnobs,
    table: Rc<RefCell<ConnTable>>,
    /// Told about every state change of our sockets (the live trace).
    state_observers: Vec<Rc<RefCell<dyn StateObserver>>>,
}

/// `/tcpinfo`: the wire record of the connection that asks.
struct TcpInfo<'a> {
    table: &'a RefCell<ConnTable>,
    key: ConnKey,
    knobs: &'a TcpKnobs,
    now: Instant,
}

impl Generator for TcpInfo<'_> {
    fn generate(&self, path: &str) -> Option<Generated> {
        if path != "/tcpinfo" {
            return None;
        }
        let json = self.table.borrow().json(self.key, self.knobs, self.now)?;
        let mut body = serde_json::to_vec_pretty(&json).ok()?;
        body.push(b'\n');
        Some(Generated {
            content_type: "application/json",
            body,
        })
    }
}

impl Server {
    /// `knobs` decide who closes first (client-first: never the server) and are reported
    /// by `/tcpinfo`, which reads `table` (fed by the capture point).
    pub fn new(
        stack: Stack,
        site: Site,
        http: HttpConfig,
        knobs: TcpKnobs,
        table: Rc<RefCell<ConnTable>>,
    ) -> Server {
        let conns = (0..stack.slot_count()).map(|_| None).collect();
        Server {
            stack,
            site,
            http,
            conns,
            client_first: knobs.close == crate::knobs::ClosePolicy::ClientFirst,
            knobs,
            table,
            state_observers: Vec::new(),
        }
    }

    /// Tells `o` about every TCP state change of our sockets from now on.
    pub fn observe_states(&mut self, o: Rc<RefCell<dyn StateObserver>>) {
        self.state_observers.push(o);
    }

    pub fn stack(&mut self) -> &mut Stack {
        &mut self.stack
    }

    /// Number of connections currently open.
    pub fn open_connections(&self) -> usize {
        self.conns.iter().filter(|c| c.is_some()).count()
    }

    /// Runs the stack and the HTTP connections until nothing more happens. The clock is
    /// read once per round, so frames handled in one step still get their own times.
    pub fn step<D: Device>(&mut self, clock: &dyn Clock, device: &mut D) {
        for _ in 0..MAX_ROUNDS_PER_STEP {
            let now = clock.now();
            // Frames in, then the application, then frames out: a response or a FIN
            // decided here leaves with the ACK of what caused it.
            let mut changed = self.stack.ingress(now, device);
            for event in self.stack.maintain(now) {
                self.on_event(event, now);
            }
            let mut progressed = false;
            for slot in 0..self.conns.len() {
                if self.conns[slot].is_some() {
                    progressed |= self.drive(slot, now);
                }
            }
            changed |= self.stack.egress(now, device);
            // States entered by sending (LAST_ACK, FIN_WAIT_1) can be left by the next
            // frame in: look again now, so that the history misses none.
            for event in self.stack.maintain(now) {
                self.on_event(event, now);
            }
            if !changed && !progressed {
                break;
            }
        }
    }

    /// How long the caller may sleep (absent new frames) before the next step.
    pub fn poll_delay(&mut self, now: Instant) -> Option<Duration> {
        let http_deadline = self
            .conns
            .iter()
            .flatten()
            // Once closing, HTTP is done with a connection and the stack drives the rest
            // (linger, FIN or RST); its "poll me now" would make the caller spin.
            .filter(|c| !c.closing)
            .filter_map(|c| {
                let client_first = c
                    .done_at
                    .filter(|_| !c.closing)
                    .map(|d| d + CLIENT_FIRST_WAIT);
                match (c.http.next_deadline(&self.http), client_first) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            })
            .min()
            .map(|d| if d > now { d - now } else { Duration::ZERO });
        match (self.stack.poll_delay(now), http_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_event(&mut self, event: StackEvent, now: Instant) {
        match event {
            StackEvent::Opened { slot, remote } => {
                log::info!("{remote} connection open (slot {slot})");
                let local = self.stack.socket(slot).local_endpoint().unwrap_or(remote);
                self.conns[slot] = Some(Conn {
                    http: HttpConnection::new(now),
                    local,
                    remote,
                    opened: now,
                    requests: 0,
                    bytes: 0,
                    peer_closed: false,
                    closing: false,
                    done_at: None,
                });
            }
            StackEvent::State {
                local,
                remote,
                from,
                to,
                ..
            } => {
                self.table.borrow_mut().state_change(
                    (local, remote),
                    state_name(from),
                    state_name(to),
                    now,
                );
                let change = StateChange {
                    time: now,
                    local,
                    remote,
                    from,
                    to,
                };
                for o in &self.state_observers {
                    o.borrow_mut().state(&change);
                }
            }
            StackEvent::Closed { slot, remote } => {
                if let Some(c) = self.conns[slot].take() {
                    log::info!(
                        "{remote} connection closed after {} request(s), {} bytes, {} ms",
                        c.requests,
                        c.bytes,
                        (now - c.opened).total_millis()
                    );
                }
            }
        }
    }

    /// Moves bytes between one socket and its HTTP connection. True if anything moved.
    fn drive(&mut self, slot: usize, now: Instant) -> bool {
        let Some(conn) = self.conns[slot].as_mut() else {
            return false;
        };
        let socket = self.stack.socket(slot);
        let mut progressed = false;

        if conn.closing {
            // Lingering close (RFC 9112 §9.6): once we have closed, whatever the client
            // still sends (the rest of a request body we refused) is read and dropped, so
            // its window never closes on it and it gets to read our answer. Bounded by
            // the FIN-WAIT-2 timeout.
            while socket.can_recv() {
                match socket.recv(|b| (b.len(), b.len())) {
                    Ok(n) if n > 0 => progressed = true,
                    _ => break,
                }
            }
            return progressed;
        }

        while socket.can_recv() && conn.http.input_room() > 0 {
            let room = conn.http.input_room();
            let n = socket
                .recv(|buf| {
                    let n = buf.len().min(room);
                    conn.http.receive(&buf[..n], now);
                    (n, n)
                })
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            progressed = true;
        }
        // may_recv() turns false once the peer's FIN has arrived and all data was read.
        if !conn.peer_closed && !socket.may_recv() {
            conn.peer_closed = true;
            conn.http.peer_closed();
            progressed = true;
        }

        conn.http.set_unacknowledged(socket.send_queue() > 0, now);

        let info = TcpInfo {
            table: &self.table,
            key: (conn.local, conn.remote),
            knobs: &self.knobs,
            now,
        };
        let mut verdict = conn.http.poll_with(&self.site, &info, &self.http, now);

        while conn.http.has_output() && socket.can_send() {
            let n = socket
                .send(|buf| {
                    let n = conn.http.write_output(buf, now);
                    (n, n)
                })
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            progressed = true;
            if !conn.http.has_output() {
                // Ask again now that the response is queued: if the connection is to
                // close, close() before smoltcp sends the last segment lets the FIN ride
                // on it (--fin piggyback).
                verdict = conn.http.poll_with(&self.site, &info, &self.http, now);
            }
        }

        for r in conn.http.take_log() {
            conn.requests += 1;
            conn.bytes += r.bytes;
            log::info!(
                "{} \"{} {}\" {} {} {} ms",
                conn.remote,
                r.method,
                r.target,
                r.status,
                r.bytes,
                r.duration.as_millis()
            );
        }

        if verdict == Verdict::Close && !conn.http.has_output() && !conn.closing {
            // --close client-first: the server never sends the first FIN. It waits for
            // the client's, up to CLIENT_FIRST_WAIT, even after `Connection: close`.
            let wait = self.client_first
                && !conn.peer_closed
                && now - *conn.done_at.get_or_insert(now) < CLIENT_FIRST_WAIT;
            if !wait {
                if self.client_first && !conn.peer_closed {
                    log::info!(
                        "{} sent no FIN within {CLIENT_FIRST_WAIT}: closing",
                        conn.remote
                    );
                }
                self.stack.finish(slot, now);
                conn.closing = true;
                progressed = true;
            }
        }
        progressed
    }
}
