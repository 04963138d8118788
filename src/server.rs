//! The web server: joins each of the [`Stack`]'s connections to an [`HttpConnection`].
//!
//! Each [`Server::step`] moves frames through the stack, turns the stack's events into
//! HTTP connections opening and closing, and for every connection that saw traffic or
//! whose HTTP timer is due moves received bytes into its HTTP state machine and response
//! bytes into the socket's send buffer — only as much as the buffer has room for, so
//! large files stream from disk as the peer's window opens. Idle connections cost
//! nothing per step: the work follows the connections that have something to do.
//!
//! Logging (info): one line per connection opened and closed, one access-log line per
//! request: `peer "METHOD target" status bytes ms`.

use crate::clock::Clock;
use crate::http::{HttpConfig, HttpConnection, Site, Verdict};
use crate::knobs::TcpKnobs;
use crate::stack::{ConnId, GuardAction, Stack, StackEvent};
use crate::tcp::{Side, StateChange};
use crate::tcpinfo::{ConnTable, TcpInfo};
use smoltcp::phy::Device;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::IpEndpoint;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

/// An upper bound on the work of one step, so a peer that keeps the stack busy cannot
/// starve the caller's other duties (signals, timers).
const MAX_ROUNDS_PER_STEP: usize = 64;

/// With --close client-first, how long the server waits for the client's FIN after HTTP
/// is done before it closes after all (a bound, so a silent client cannot pin a socket).
pub const CLIENT_FIRST_WAIT: Duration = Duration::from_secs(30);

struct Conn {
    id: ConnId,
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
    /// Its HTTP wake-up time as queued in `Server::timers`: no later than the time HTTP
    /// asked for (a later wish leaves an earlier entry in place; see [`Server::drive`]).
    wake: Option<Instant>,
}

/// Told about every TCP state change of our sockets (the live trace, the lab's timelines)
/// and every action of the edge guard.
pub trait StateObserver {
    fn state(&mut self, change: &StateChange);
    fn guard(&mut self, _action: &GuardAction) {}
}

/// Keeps the state changes and guard actions it is told about until they are taken.
#[derive(Debug, Default)]
pub struct StateLog {
    changes: Vec<StateChange>,
    actions: Vec<GuardAction>,
}

impl StateLog {
    /// The changes since the last call.
    pub fn take(&mut self) -> Vec<StateChange> {
        std::mem::take(&mut self.changes)
    }

    /// The guard's actions since the last call.
    pub fn take_actions(&mut self) -> Vec<GuardAction> {
        std::mem::take(&mut self.actions)
    }
}

impl StateObserver for StateLog {
    fn state(&mut self, change: &StateChange) {
        self.changes.push(*change);
    }

    fn guard(&mut self, action: &GuardAction) {
        self.actions.push(*action);
    }
}

pub struct Server {
    stack: Stack,
    site: Site,
    http: HttpConfig,
    /// The open connections, at their ids' indexes (which the stack keeps small).
    conns: Vec<Option<Conn>>,
    /// HTTP wake-up times (request and keep-alive timers), earliest first.
    timers: BTreeSet<(Instant, ConnId)>,
    client_first: bool,
    knobs: TcpKnobs,
    table: Rc<RefCell<ConnTable>>,
    /// Told about every state change of our sockets (the live trace).
    state_observers: Vec<Rc<RefCell<dyn StateObserver>>>,
    // Reused buffers, so that a step allocates nothing.
    events: Vec<StackEvent>,
    ready: Vec<ConnId>,
    actions: Vec<GuardAction>,
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
        Server {
            stack,
            site,
            http,
            conns: Vec::new(),
            timers: BTreeSet::new(),
            client_first: knobs.close == crate::knobs::ClosePolicy::ClientFirst,
            knobs,
            table,
            state_observers: Vec::new(),
            events: Vec::new(),
            ready: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// Tells `o` about every TCP state change of our sockets from now on.
    pub fn observe_states(&mut self, o: Rc<RefCell<dyn StateObserver>>) {
        self.state_observers.push(o);
    }

    pub fn stack(&mut self) -> &mut Stack {
        &mut self.stack
    }

    /// Runs the stack and the HTTP connections until nothing more happens. The clock is
    /// read once per round, so frames handled in one step still get their own times.
    pub fn step<D: Device>(&mut self, clock: &dyn Clock, device: &mut D) {
        for _ in 0..MAX_ROUNDS_PER_STEP {
            let now = clock.now();
            // Frames in, then the application, then frames out: a response or a FIN
            // decided here leaves with the ACK of what caused it.
            let mut changed = self.stack.ingress(now, device);
            self.handle_events(now);
            let mut ready = std::mem::take(&mut self.ready);
            self.stack.take_touched(&mut ready);
            while let Some(&(t, id)) = self.timers.first() {
                if t > now {
                    break;
                }
                self.timers.pop_first();
                if let Some(c) = conn_mut(&mut self.conns, id) {
                    c.wake = None;
                }
                ready.push(id);
            }
            ready.sort_unstable();
            ready.dedup();
            let mut progressed = false;
            for &id in &ready {
                progressed |= self.drive(id, now);
            }
            ready.clear();
            self.ready = ready;
            changed |= self.stack.egress(now, device);
            // States entered by sending (LAST_ACK, FIN_WAIT_1) can be left by the next
            // frame in: look again now, so that the history misses none.
            self.handle_events(now);
            if !changed && !progressed {
                break;
            }
        }
    }

    /// How long the caller may sleep (absent new frames) before the next step.
    pub fn poll_delay(&mut self, now: Instant) -> Option<Duration> {
        let http = self.timers.first().map(|&(t, _)| t.max(now) - now);
        match (self.stack.poll_delay(now), http) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle_events(&mut self, now: Instant) {
        let mut events = std::mem::take(&mut self.events);
        self.stack.take_events(&mut events);
        for event in events.drain(..) {
            self.on_event(event, now);
        }
        self.events = events;
        let mut actions = std::mem::take(&mut self.actions);
        self.stack.take_actions(&mut actions);
        for a in actions.drain(..) {
            for o in &self.state_observers {
                o.borrow_mut().guard(&a);
            }
        }
        self.actions = actions;
    }

    fn on_event(&mut self, event: StackEvent, now: Instant) {
        match event {
            StackEvent::Opened { id, local, remote } => {
                log::info!("{remote} connection open");
                let i = id.index();
                if self.conns.len() <= i {
                    self.conns.resize_with(i + 1, || None);
                }
                self.conns[i] = Some(Conn {
                    id,
                    http: HttpConnection::new(now),
                    local,
                    remote,
                    opened: now,
                    requests: 0,
                    bytes: 0,
                    peer_closed: false,
                    closing: false,
                    done_at: None,
                    wake: None,
                });
            }
            StackEvent::State {
                local,
                remote,
                from,
                to,
                ..
            } => {
                let change = StateChange {
                    time: now,
                    side: Side::Server,
                    local,
                    remote,
                    from,
                    to,
                    frame: None,
                    inferred: None,
                };
                self.table.borrow_mut().state_change(&change);
                for o in &self.state_observers {
                    o.borrow_mut().state(&change);
                }
            }
            StackEvent::Closed { id, remote, .. } => {
                if let Some(c) = self
                    .conns
                    .get_mut(id.index())
                    .and_then(|slot| slot.take_if(|c| c.id == id))
                {
                    if let Some(t) = c.wake {
                        self.timers.remove(&(t, id));
                    }
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
    fn drive(&mut self, id: ConnId, now: Instant) -> bool {
        let Some(conn) = conn_mut(&mut self.conns, id) else {
            return false;
        };
        let Some(socket) = self.stack.socket(id) else {
            return false;
        };
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
            if progressed {
                self.stack.poke(id);
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

        let mut finish = false;
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
                finish = true;
                conn.closing = true;
                progressed = true;
            }
        }

        // The next HTTP wake-up: its own timers, and the client-first wait.
        let mut wake = if conn.closing {
            // HTTP is done; the stack drives the rest (linger, FIN or RST).
            None
        } else {
            conn.http.next_deadline(&self.http)
        };
        if let Some(d) = conn.done_at.filter(|_| !conn.closing) {
            let t = d + CLIENT_FIRST_WAIT;
            wake = Some(wake.map_or(t, |w| w.min(t)));
        }
        // A deadline already past means "drive it again at the next step".
        let wake = wake.map(|t| t.max(now + Duration::from_micros(1)).min(t.max(now)));
        // A later wish than the entry queued leaves the entry in place: when it comes, the
        // drive finds nothing due and queues the real time. The keep-alive deadline moves
        // later with every request, and moving its queue entry each time cost more than
        // the rare early drive.
        let queued = match (conn.wake, wake) {
            (Some(q), Some(w)) if w < q => Some(w),
            (Some(q), _) => Some(q),
            (None, w) => w,
        };
        if queued != conn.wake {
            if let Some(t) = conn.wake {
                self.timers.remove(&(t, id));
            }
            if let Some(t) = queued {
                self.timers.insert((t, id));
            }
            conn.wake = queued;
        }
        if finish {
            self.stack.finish(id);
        } else if progressed {
            self.stack.poke(id);
        }
        progressed
    }
}

/// The open connection `id`, if it still is.
fn conn_mut(conns: &mut [Option<Conn>], id: ConnId) -> Option<&mut Conn> {
    conns.get_mut(id.index())?.as_mut().filter(|c| c.id == id)
}
