//! The TCP/IP stack: one smoltcp [`Interface`], the listener's policy, the edge guard,
//! and one smoltcp socket per connection, made when its SYN is admitted and dropped when
//! it is done. It knows nothing of HTTP.
//!
//! Frames enter through [`Stack::ingress`] from any smoltcp `Device` (the device chain
//! of `serve`, `lab` or `lab --script`); what the sockets send leaves through
//! [`Stack::egress`]. The layer above reads and writes each connection's socket
//! ([`Stack::socket`]), says when it did ([`Stack::poke`]) or wants a connection ended
//! ([`Stack::finish`]), and takes [`StackEvent`]s (opened, state changed, closed), the
//! connections that saw traffic ([`Stack::take_touched`]) and the guard's
//! [`GuardAction`]s.
//!
//! # Per-frame work independent of the number of connections
//! smoltcp finds the socket a segment belongs to by asking every socket in the set, and
//! polls every socket in the set for egress: both linear in their number (measured: at
//! 1024 sockets, a fifth of the server's time went to looking at idle sockets). So the
//! sockets do not live in one smoltcp set. The stack keeps them in its own [`table`],
//! found by 4-tuple in O(1), each in a socket set of its own (`solo.rs`), and gives
//! smoltcp the set of the one socket a frame concerns (or an empty one: ARP, ICMP, a
//! segment nobody owns, which smoltcp answers with RST). For egress it lends smoltcp the
//! sets of the sockets that have something to do — data written, or a timer due — one
//! at a time. No socket is moved to do so. One Interface means one ARP
//! and neighbor cache, as a kernel has; smoltcp itself is unchanged. (The alternative,
//! several Interfaces each with a share of the sockets, keeps smoltcp's scans but bounds
//! them, and multiplies ARP traffic by the number of Interfaces.)
//!
//! # What happens to a segment
//! 1. [`Stack::ingress`] takes a frame from the device and looks at its TCP header.
//! 2. A segment of a known connection goes to the edge guard ([`guard`]), which may let
//!    it through, change it, answer it, or drop it; a SYN for a new connection goes to
//!    admission ([`admission`]): a socket with buffers sized for it, or a drop — never a
//!    refusal.
//! 3. smoltcp processes the frame with that socket alone; the reply it makes leaves at
//!    once through the frame's transmit token.
//! 4. The stack notes the socket's new state (a [`StackEvent`] per change, so each one
//!    is tied to its frame), RCV.NXT for the guard, and when the socket next needs a
//!    look.
//!
//! Knobs that smoltcp has an API for are applied to each socket as it is made
//! ([`TcpKnobs`]: window, Nagle, ACK delay, timestamps, congestion control), and so is
//! how a connection ends once the layer above asks ([`Stack::finish`]): FIN piggybacked
//! or separate, a linger in CLOSE-WAIT, or RST instead of FIN.

pub mod admission;
mod frame_io;
pub mod guard;
mod solo;
pub mod table;
mod timers;

#[cfg(test)]
mod tests;

use crate::knobs::{FinMode, TcpKnobs};
use crate::ratelog::RateLog;
use crate::tcp::{TcpFlags, TcpState};
use admission::{Admission, Limits};
use frame_io::{OneFrame, Transmit, TxLog};
use guard::{Guard, Segment, Verdict, View, Why};
use smoltcp::iface::{Config, Interface, PollResult, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, RxToken, TxToken};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpCidr, IpEndpoint, Ipv4Address, Ipv6Address, TcpPacket,
};
use solo::SoloSet;
use std::cell::Cell;
use std::collections::VecDeque;
pub use table::{Class, ConnId};
use table::{Conn, Table};
use timers::Timers;

/// How long a connection may sit in FIN-WAIT-2 before it is aborted (Linux: 60 s).
pub const FIN_WAIT_2_TIMEOUT: Duration = Duration::from_secs(60);
/// Frames taken in per [`Stack::ingress`], so that egress and timers are not starved.
pub const MAX_INGRESS_BATCH: usize = 256;
/// A connection whose peer has said nothing for this long is dropped (smoltcp's timeout,
/// which counts the peer's silence, not just unacknowledged data) ...
pub const PEER_SILENCE_TIMEOUT: Duration = Duration::from_secs(150);
/// ... except while data we sent is unacknowledged: then retransmissions go on for as long
/// as Linux's (`tcp_retries2` = 15 retransmissions, about 924 s), so that a transfer
/// through a bad network is not abandoned while it can still get through.
pub const RETRANSMISSION_GIVE_UP: Duration = Duration::from_secs(924);
/// An idle connection is probed this often (TCP keep-alive), and a live peer's answer
/// keeps it open. Probes appear in a capture only after a minute of silence.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(60);
/// Segments one socket may send in one look (bounds a step's work).
const MAX_SEGMENTS_PER_LOOK: usize = 4096;
/// Guard actions kept for the layer above between two takes.
const MAX_ACTIONS: usize = 4096;

/// What the stack is: addresses, port, limits and knobs.
#[derive(Debug, Clone)]
pub struct StackConfig {
    pub mac: EthernetAddress,
    /// Our addresses (the IPv6 link-local one is added from the MAC).
    pub addrs: Vec<IpCidr>,
    /// Default routes towards the host side.
    pub gateway4: Option<Ipv4Address>,
    pub gateway6: Option<Ipv6Address>,
    pub port: u16,
    pub limits: Limits,
    /// The edge guard and the repairs of smoltcp's defects (off: `--no-guard`).
    pub guard: bool,
    pub knobs: TcpKnobs,
    /// Seed for smoltcp's random source (ephemeral ports, ISNs).
    pub random_seed: u64,
}

/// Something the layer above must act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackEvent {
    /// The connection is synchronized (its handshake completed).
    Opened {
        id: ConnId,
        local: IpEndpoint,
        remote: IpEndpoint,
    },
    /// The connection has ended for the layer above (closed, reset, or in TIME-WAIT).
    Closed {
        id: ConnId,
        local: IpEndpoint,
        remote: IpEndpoint,
    },
    /// The connection's socket went from one TCP state to another.
    State {
        id: ConnId,
        local: IpEndpoint,
        remote: IpEndpoint,
        from: TcpState,
        to: TcpState,
    },
}

/// Something the edge guard or admission did to a segment, for the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardAction {
    pub time: Instant,
    pub local: IpEndpoint,
    pub remote: IpEndpoint,
    pub why: Why,
}

thread_local! {
    /// The time our TCP timestamps (TSval) carry, in ms. smoltcp takes the generator as a
    /// plain `fn() -> u32`, which cannot capture a clock, so the stack stores the time it
    /// was given here first: the timestamps follow the clock passed in (real or virtual).
    /// Per thread, because smoltcp calls the generator on the thread that polls: the lab's
    /// sweeps run one experiment per thread, each with its own virtual clock.
    static TSVAL_MS: Cell<u32> = const { Cell::new(0) };
}

fn tsval() -> u32 {
    TSVAL_MS.get()
}

/// Where a received frame goes.
enum Route {
    /// To smoltcp, with this socket (or none) and these changes.
    Smoltcp(Target, Edit),
    /// Our SYN-ACK again (the guard's answer to a duplicate SYN).
    Resend(ConnId),
    Drop,
}

enum Target {
    None,
    Conn(ConnId, Segment),
    New(IpEndpoint, IpEndpoint, Segment),
}

enum Edit {
    None,
    Ack(u32),
    Challenge,
    /// Payload cut to this many bytes, FIN off.
    Trim(u32),
}

pub struct Stack {
    iface: Interface,
    /// An empty socket set, for frames that concern no connection (ARP, ICMP, a
    /// segment nobody owns) and for interface-level egress.
    set: SocketSet<'static>,
    table: Table,
    timers: Timers,
    guard: Guard,
    /// `--no-guard` turns the guard and the repairs off.
    guarded: bool,
    port: u16,
    knobs: TcpKnobs,
    limits: Limits,
    caps: DeviceCapabilities,
    events: Vec<StackEvent>,
    actions: Vec<GuardAction>,
    touched: Vec<ConnId>,
    egress: Vec<ConnId>,
    /// 4-tuples of connections whose sockets are gone (for the knobs layer to forget).
    gone: Vec<(IpEndpoint, IpEndpoint)>,
    half_open: VecDeque<ConnId>,
    /// Synchronized connections waiting for one of `--max-conns` (the accept queue),
    /// oldest first; see [`admission`].
    waiting: VecDeque<ConnId>,
    time_wait: VecDeque<ConnId>,
    /// What our stack sent during the current call, to apply to the guard's views.
    sent: TxLog,
    /// Connections whose egress waits for a neighbor's link-layer address: looked at
    /// again as soon as any ARP or neighbor-discovery frame arrives.
    awaiting_neighbor: Vec<ConnId>,
    scratch: Vec<u8>,
    due: Vec<u32>,
    log: RateLog,
    /// Frames taken in per [`Stack::ingress`] (see [`Stack::set_ingress_batch`]).
    ingress_batch: usize,
}

impl Stack {
    pub fn new<D: Device>(config: &StackConfig, device: &mut D, now: Instant) -> Stack {
        let mut iface_config = Config::new(HardwareAddress::Ethernet(config.mac));
        iface_config.random_seed = config.random_seed;
        let mut iface = Interface::new(iface_config, device, now);
        iface.update_ip_addrs(|addrs| {
            for a in config.addrs.iter().copied().chain([IpCidr::new(
                crate::network::link_local(config.mac).into(),
                64,
            )]) {
                if addrs.push(a).is_err() {
                    log::warn!("too many addresses; {a} not added");
                }
            }
        });
        if let Some(gw) = config.gateway4 {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }
        if let Some(gw) = config.gateway6 {
            let _ = iface.routes_mut().add_default_ipv6_route(gw);
        }
        Stack {
            iface,
            set: SocketSet::new(Vec::new()),
            table: Table::default(),
            timers: Timers::default(),
            guard: Guard::default(),
            guarded: config.guard,
            port: config.port,
            knobs: config.knobs.clone(),
            limits: config.limits,
            caps: device.capabilities(),
            events: Vec::new(),
            actions: Vec::new(),
            touched: Vec::new(),
            egress: Vec::new(),
            gone: Vec::new(),
            half_open: VecDeque::new(),
            waiting: VecDeque::new(),
            time_wait: VecDeque::new(),
            sent: TxLog::new(!device.capabilities().checksum.tcp.tx()),
            awaiting_neighbor: Vec::new(),
            scratch: Vec::new(),
            due: Vec::new(),
            log: RateLog::default(),
            ingress_batch: MAX_INGRESS_BATCH,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections with a socket, in any state.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Connections of one class (half-open, open, TIME-WAIT).
    pub fn count(&self, class: Class) -> usize {
        self.table.count(class)
    }

    /// Bytes of socket buffers all connections hold.
    pub fn buffer_bytes(&self) -> usize {
        self.table.buffers()
    }

    /// A connection's socket, for reading and writing; call [`Stack::poke`] after.
    pub fn socket(&mut self, id: ConnId) -> Option<&mut tcp::Socket<'static>> {
        Some(self.table.get_mut(id)?.solo.socket_mut())
    }

    /// The two ends of a connection (local, remote).
    pub fn endpoints(&self, id: ConnId) -> Option<(IpEndpoint, IpEndpoint)> {
        self.table.get(id).map(|c| (c.local, c.remote))
    }

    /// smoltcp's state of a connection's socket, as last seen.
    pub fn state(&self, id: ConnId) -> Option<TcpState> {
        self.table.get(id).map(|c| c.state)
    }

    /// The layer above has read from or written to the socket: give it to smoltcp for
    /// egress at the next [`Stack::egress`].
    pub fn poke(&mut self, id: ConnId) {
        if let Some(c) = self.table.get_mut(id)
            && !c.egress
        {
            c.egress = true;
            self.egress.push(id);
        }
    }

    /// The layer above is done with the connection: end it as the knobs say (carried out
    /// when their conditions hold).
    pub fn finish(&mut self, id: ConnId) {
        if let Some(c) = self.table.get_mut(id) {
            c.finishing = true;
        }
        self.poke(id);
    }

    /// Events since the last call, in the order they happened.
    pub fn take_events(&mut self, out: &mut Vec<StackEvent>) {
        out.append(&mut self.events);
    }

    /// Connections that received something or changed state since the last call.
    pub fn take_touched(&mut self, out: &mut Vec<ConnId>) {
        for id in self.touched.drain(..) {
            if let Some(c) = self.table.get_mut(id)
                && c.touched
            {
                c.touched = false;
                out.push(id);
            }
        }
    }

    /// What the guard and admission did since the last call.
    pub fn take_actions(&mut self, out: &mut Vec<GuardAction>) {
        out.append(&mut self.actions);
    }

    /// 4-tuples (local, remote) whose sockets are gone since the last call.
    pub fn take_gone(&mut self, out: &mut Vec<(IpEndpoint, IpEndpoint)>) {
        out.append(&mut self.gone);
    }

    /// How long until a connection needs a look without new frames.
    pub fn poll_delay(&self, now: Instant) -> Option<Duration> {
        self.timers.next().map(|t| t.max(now) - now)
    }

    /// How many frames one [`Stack::ingress`] takes in. One, for a reader watching frame by
    /// frame (`serve --trace`, `--step`): the layer above then reports each frame's state
    /// changes before the next frame is shown, not after a batch of them.
    pub fn set_ingress_batch(&mut self, frames: usize) {
        self.ingress_batch = frames.clamp(1, MAX_INGRESS_BATCH);
    }

    /// Takes in the frames waiting on the device (at most the ingress batch). Returns
    /// true if it took any. Call [`Stack::egress`] after the layer above has acted on the
    /// sockets: that order lets a response, or a FIN, leave in the same segment as the
    /// ACK it answers.
    pub fn ingress<D: Device>(&mut self, now: Instant, device: &mut D) -> bool {
        TSVAL_MS.set(now.total_millis() as u32);
        self.iface.poll_maintenance(now);
        self.log.flush(now);
        let mut any = false;
        for _ in 0..self.ingress_batch {
            let Some((rx, tx)) = device.receive(now) else {
                break;
            };
            any = true;
            rx.consume(|frame| self.frame_in(now, frame, tx));
        }
        any
    }

    /// Sends what the sockets have to send: those the layer above poked and those whose
    /// timers are due. Returns true if anything was sent.
    pub fn egress<D: Device>(&mut self, now: Instant, device: &mut D) -> bool {
        TSVAL_MS.set(now.total_millis() as u32);
        let mut ids = std::mem::take(&mut self.egress);
        let mut due = std::mem::take(&mut self.due);
        self.timers.due(now, &mut due);
        for index in due.drain(..) {
            if let Some(id) = self.table.at(index)
                && let Some(c) = self.table.get_mut(id)
            {
                // Its queue entry is gone; the look below sets the next one.
                c.wake = None;
                if !c.egress {
                    c.egress = true;
                    ids.push(id);
                }
            }
        }
        self.due = due;
        let mut sent = false;
        // Interface-level egress (IPv6 multicast reports), with no socket lent.
        sent |= self.iface.poll_egress(
            now,
            &mut Transmit {
                inner: device,
                log: &mut self.sent,
            },
            &mut self.set,
        ) == PollResult::SocketStateChanged;
        for id in ids.drain(..) {
            if let Some(c) = self.table.get_mut(id) {
                c.egress = false;
                sent |= self.look(id, now, device);
            }
        }
        self.egress = ids;
        self.apply_sent();
        sent
    }

    /// One received frame: where it goes, then smoltcp.
    fn frame_in<T: TxToken>(&mut self, now: Instant, frame: &[u8], tx: T) {
        match self.route(now, frame) {
            Route::Drop => {}
            Route::Resend(id) => {
                if let Some(synack) = self.table.get(id).and_then(|c| c.view.syn_ack.clone()) {
                    tx.consume(synack.len(), |buf| buf.copy_from_slice(&synack));
                }
            }
            Route::Smoltcp(target, edit) => self.deliver(now, frame, tx, target, edit),
        }
    }

    /// Decides where a frame goes (module doc, steps 1–2).
    fn route(&mut self, now: Instant, frame: &[u8]) -> Route {
        let none = || Route::Smoltcp(Target::None, Edit::None);
        let Some(span) = crate::device::frame::tcp_span(frame) else {
            return none();
        };
        let Ok(tcp) = TcpPacket::new_checked(&frame[span.range.clone()]) else {
            return none();
        };
        let local = IpEndpoint::new(span.dst, tcp.dst_port());
        let remote = IpEndpoint::new(span.src, tcp.src_port());
        let seg = Segment::of(&tcp);
        if let Some(id) = self.table.find(local, remote) {
            let c = self.table.get(id).expect("found ids are live");
            let verdict = if self.guarded {
                self.guard.decide(c.state, &c.view, &seg, now)
            } else {
                Verdict::Pass
            };
            // Not a rule of the guard but a crash workaround: it holds under --no-guard.
            let verdict = match (verdict, guard::syn_ack_overrun(&c.view, &seg)) {
                (Verdict::Pass, Some(keep)) => Verdict::Trim(keep, Why::PastSynAckWindow),
                (v, _) => v,
            };
            // The guard acts only on segments whose checksum holds; smoltcp drops the rest.
            if verdict != Verdict::Pass && !tcp.verify_checksum(&span.src, &span.dst) {
                return Route::Smoltcp(Target::Conn(id, seg), Edit::None);
            }
            return match verdict {
                Verdict::Pass => Route::Smoltcp(Target::Conn(id, seg), Edit::None),
                Verdict::FixAck(ack, why) => {
                    self.act(now, local, remote, why);
                    Route::Smoltcp(Target::Conn(id, seg), Edit::Ack(ack))
                }
                Verdict::Trim(keep, why) => {
                    self.act(now, local, remote, why);
                    let mut seg = seg;
                    seg.len = keep;
                    seg.flags.remove(TcpFlags::FIN);
                    Route::Smoltcp(Target::Conn(id, seg), Edit::Trim(keep))
                }
                Verdict::Challenge(why) => {
                    self.act(now, local, remote, why);
                    Route::Smoltcp(Target::Conn(id, seg), Edit::Challenge)
                }
                Verdict::ResendSynAck(why) => {
                    self.act(now, local, remote, why);
                    Route::Resend(id)
                }
                Verdict::Drop(why) => {
                    self.act(now, local, remote, why);
                    Route::Drop
                }
                Verdict::Replace(why) => {
                    self.act(now, local, remote, why);
                    self.free(id, now);
                    self.admit(now, local, remote, seg)
                }
            };
        }
        if tcp.dst_port() != self.port {
            return none(); // smoltcp answers RST: nobody listens there
        }
        let f = seg.flags;
        if !f.contains(TcpFlags::SYN) || f.intersects(TcpFlags::ACK | TcpFlags::RST) {
            return none(); // no such connection: smoltcp answers RST
        }
        if !tcp.verify_checksum(&span.src, &span.dst) {
            return none();
        }
        self.admit(now, local, remote, seg)
    }

    /// A SYN for a new connection: admission.
    fn admit(
        &mut self,
        now: Instant,
        local: IpEndpoint,
        remote: IpEndpoint,
        seg: Segment,
    ) -> Route {
        match self.limits.admit_syn(&self.table) {
            Admission::Full => {
                self.log
                    .note(now, log::Level::Warn, "SYNs dropped (--max-conns):", || {
                        format!(
                            "all --max-conns {} connections are open: dropped a SYN from {remote}; \
                         the client will retransmit it",
                            self.limits.max_conns
                        )
                    });
                Route::Drop
            }
            Admission::EvictOldest => {
                while let Some(old) = self.half_open.pop_front() {
                    if self
                        .table
                        .get(old)
                        .is_some_and(|c| c.state == TcpState::SynReceived)
                    {
                        let (l, r) = self.endpoints(old).expect("live");
                        self.log.note(
                            now,
                            log::Level::Warn,
                            "half-open connections evicted (--backlog):",
                            || {
                                format!(
                                    "the backlog of {} half-open connections is full: \
                                     dropped the oldest ({r}) for a SYN from {remote}",
                                    self.limits.backlog
                                )
                            },
                        );
                        self.free(old, now);
                        let _ = l;
                        break;
                    }
                }
                Route::Smoltcp(Target::New(local, remote, seg), Edit::None)
            }
            Admission::Admit => Route::Smoltcp(Target::New(local, remote, seg), Edit::None),
        }
    }

    fn act(&mut self, now: Instant, local: IpEndpoint, remote: IpEndpoint, why: Why) {
        self.log.note(now, log::Level::Info, why.text(), || {
            format!("guard: {remote}: {}", why.text())
        });
        if self.actions.len() < MAX_ACTIONS {
            self.actions.push(GuardAction {
                time: now,
                local,
                remote,
                why,
            });
        }
    }

    /// Hands a frame to smoltcp with the socket it concerns (module doc, steps 3–4).
    fn deliver<T: TxToken>(
        &mut self,
        now: Instant,
        frame: &[u8],
        tx: T,
        target: Target,
        edit: Edit,
    ) {
        let mut scratch = std::mem::take(&mut self.scratch);
        let bytes: &[u8] = match (&edit, &target) {
            (Edit::None, _) | (_, Target::None | Target::New(..)) => frame,
            (Edit::Ack(ack), Target::Conn(..)) => {
                scratch.clear();
                scratch.extend_from_slice(frame);
                let ack = *ack;
                let n = guard::rewrite(&mut scratch, None, |tcp| {
                    tcp.set_ack_number(smoltcp::wire::TcpSeqNumber(ack as i32))
                });
                &scratch[..n.unwrap_or(frame.len())]
            }
            (Edit::Trim(keep), Target::Conn(..)) => {
                scratch.clear();
                scratch.extend_from_slice(frame);
                let n =
                    guard::rewrite(&mut scratch, Some(*keep as usize), |tcp| tcp.set_fin(false));
                &scratch[..n.unwrap_or(frame.len())]
            }
            (Edit::Challenge, Target::Conn(id, _)) => {
                scratch.clear();
                scratch.extend_from_slice(frame);
                let view = &self.table.get(*id).expect("live").view;
                let n = guard::into_challenge(&mut scratch, view);
                &scratch[..n.unwrap_or(frame.len())]
            }
        };
        let hint = match &target {
            Target::Conn(id, _) => Some(*id),
            _ => None,
        };
        // Made before smoltcp is lent the transmit log, which it holds while it runs.
        let fresh = match &target {
            Target::New(_, _, seg) => Some(SoloSet::new(self.new_socket(seg))),
            _ => None,
        };
        let mut one = OneFrame {
            frame: Some(bytes),
            tx: Some(tx),
            log: &mut self.sent,
            caps: self.caps.clone(),
        };
        match target {
            Target::None => {
                self.iface.poll_ingress_single(now, &mut one, &mut self.set);
                drop(one);
                // Not TCP: perhaps the ARP or neighbor advertisement a socket waits for.
                for id in std::mem::take(&mut self.awaiting_neighbor) {
                    self.poke(id);
                }
            }
            Target::Conn(id, seg) => {
                let c = self.table.get_mut(id).expect("live");
                let before = c.solo.socket().recv_queue();
                self.iface
                    .poll_ingress_single(now, &mut one, c.solo.set_mut());
                drop(one);
                let wake = self.iface.poll_at(now, c.solo.set());
                let delivered = c.solo.socket().recv_queue().wrapping_sub(before) as u32;
                let took = matches!(edit, Edit::None | Edit::Ack(_) | Edit::Trim(_))
                    && guard::acceptable(&c.view, &seg);
                c.view.rcv_nxt = c.view.rcv_nxt.wrapping_add(delivered);
                if took {
                    c.view.received(&seg);
                    if self.guarded {
                        watch_for_stall(&mut c.view, &seg, bytes, now);
                    }
                }
                // A finish waiting for the last ACK may go ahead now.
                let finishing = c.finishing;
                self.after_look(id, now, wake);
                if finishing {
                    self.poke(id);
                }
            }
            Target::New(local, remote, seg) => {
                let mut solo = fresh.expect("made for a new connection");
                self.iface
                    .poll_ingress_single(now, &mut one, solo.set_mut());
                drop(one);
                let wake = self.iface.poll_at(now, solo.set());
                if solo.socket().state() == tcp::State::SynReceived {
                    self.adopt(now, local, remote, &seg, solo, wake);
                }
            }
        }
        self.scratch = scratch;
        self.apply_sent_of(hint);
    }

    /// The repair of [`guard::Stall`]: if the peer acknowledged nothing since its window
    /// reopened short of the data in flight, smoltcp gets that ACK three more times.
    fn repair_stall(&mut self, id: ConnId, now: Instant) {
        let Some(c) = self.table.get_mut(id) else {
            return;
        };
        let Some(stall) = c.view.stall.take_if(|s| s.at <= now) else {
            return;
        };
        if c.view.snd_una != stall.snd_una || c.view.snd_una == c.view.snd_nxt {
            return; // it moved on
        }
        let (local, remote) = (c.local, c.remote);
        for _ in 0..3 {
            let mut one = OneFrame {
                frame: Some(&stall.ack_frame),
                tx: Some(frame_io::Discard),
                log: &mut self.sent,
                caps: self.caps.clone(),
            };
            self.iface
                .poll_ingress_single(now, &mut one, c.solo.set_mut());
        }
        self.act(now, local, remote, Why::RetransmitRepair);
    }

    /// A new socket for a SYN, configured by the knobs, listening on our port.
    fn new_socket(&self, seg: &Segment) -> tcp::Socket<'static> {
        let b = admission::buffers(&self.knobs, seg.wscale.is_some(), self.table.buffers());
        let mut s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; b.rx]),
            tcp::SocketBuffer::new(vec![0; b.tx]),
        );
        let k = &self.knobs;
        s.set_timeout(Some(PEER_SILENCE_TIMEOUT));
        s.set_keep_alive(Some(KEEP_ALIVE_INTERVAL));
        s.set_nagle_enabled(k.nagle);
        s.set_congestion_control(k.cc.to_smoltcp());
        s.set_ack_delay(k.ack_delay.map(Duration::from));
        s.set_tsval_generator(k.timestamps.then_some(tsval as fn() -> u32));
        if let Err(e) = s.listen(self.port) {
            log::error!("cannot listen on port {}: {e}", self.port);
        }
        s
    }

    /// Takes a socket that accepted a SYN into the table.
    fn adopt(
        &mut self,
        now: Instant,
        local: IpEndpoint,
        remote: IpEndpoint,
        seg: &Segment,
        solo: SoloSet,
        wake: Option<Instant>,
    ) {
        let buffers = solo.socket().recv_capacity() + solo.socket().send_capacity();
        let id = self.table.insert(local, remote, |id| Conn {
            id,
            local,
            remote,
            solo,
            state: TcpState::SynReceived,
            since: now,
            opened: false,
            finishing: false,
            wake: None,
            touched: false,
            egress: false,
            buffers,
            view: View::from_syn(seg),
        });
        log::debug!("{remote}: LISTEN -> SYN_RCVD");
        self.events.push(StackEvent::State {
            id,
            local,
            remote,
            from: TcpState::Listen,
            to: TcpState::SynReceived,
        });
        self.half_open.push_back(id);
        self.after_look(id, now, wake);
    }

    /// Lends one connection's socket to smoltcp for egress; returns true if it sent.
    fn look<D: Device>(&mut self, id: ConnId, now: Instant, device: &mut D) -> bool {
        if !self.maintain(id, now) {
            return false;
        }
        self.repair_stall(id, now);
        let mut sent = false;
        let mut wake = None;
        // Twice at most: a finish that waits for the last data segment to leave (--fin
        // separate) is carried out right after the segment went, and its FIN sent.
        for round in 0..2 {
            if round == 1 {
                let finishing = self.table.get(id).is_some_and(|c| c.finishing);
                if !(sent && finishing && self.maintain(id, now)) {
                    break;
                }
            }
            let c = self.table.get_mut(id).expect("live");
            for _ in 0..MAX_SEGMENTS_PER_LOOK {
                let mut dev = Transmit {
                    inner: &mut *device,
                    log: &mut self.sent,
                };
                if self.iface.poll_egress(now, &mut dev, c.solo.set_mut()) == PollResult::None {
                    break;
                }
                sent = true;
            }
            wake = self.iface.poll_at(now, c.solo.set());
            if self.sent.solicited {
                self.awaiting_neighbor.push(id);
            }
            self.apply_sent_of(Some(id));
        }
        self.after_look(id, now, wake);
        sent
    }

    /// The stack's own duties for a connection before smoltcp's: carrying out a finish,
    /// the retransmission give-up, the FIN-WAIT-2 and half-open limits. False if the
    /// connection is gone.
    fn maintain(&mut self, id: ConnId, now: Instant) -> bool {
        let knobs = &self.knobs;
        let Some(c) = self.table.get_mut(id) else {
            return false;
        };
        let state = c.state;
        if state == TcpState::SynReceived && now - c.since >= admission::HALF_OPEN_TIMEOUT {
            log::debug!(
                "{}: handshake not completed within {}",
                c.remote,
                admission::HALF_OPEN_TIMEOUT
            );
            self.free(id, now);
            return false;
        }
        let (since, remote, finishing) = (c.since, c.remote, c.finishing);
        // Bytes in flight, from the guard's view: what was sent but not acknowledged.
        let in_flight = c.view.snd_nxt.wrapping_sub(c.view.snd_una) as usize;
        let s = c.solo.socket_mut();
        s.set_timeout(Some(if s.send_queue() > 0 {
            RETRANSMISSION_GIVE_UP
        } else {
            PEER_SILENCE_TIMEOUT
        }));
        if state == TcpState::FinWait2 && now - since >= FIN_WAIT_2_TIMEOUT {
            log::info!("{remote}: no FIN from the peer within {FIN_WAIT_2_TIMEOUT}: abort");
            s.abort();
        }
        if finishing && carry_out_finish(s, knobs, state, now - since, in_flight) {
            c.finishing = false;
        }
        true
    }

    /// After smoltcp had the socket: its state, and when to look again.
    fn after_look(&mut self, id: ConnId, now: Instant, wake: Option<Instant>) {
        self.note(id, now);
        let Some(c) = self.table.get_mut(id) else {
            return;
        };
        if !c.touched {
            c.touched = true;
            self.touched.push(id);
        }
        let mut at = wake;
        let mut deadline = |t: Instant| at = Some(at.map_or(t, |a| a.min(t)));
        if let Some(s) = &c.view.stall {
            deadline(s.at);
        }
        match c.state {
            TcpState::SynReceived => deadline(c.since + admission::HALF_OPEN_TIMEOUT),
            TcpState::FinWait2 => deadline(c.since + FIN_WAIT_2_TIMEOUT),
            TcpState::CloseWait if c.finishing => {
                deadline(c.since + Duration::from(self.knobs.close_wait))
            }
            _ => {}
        }
        // A time already past means "now": look again at the next egress.
        let at = at.map(|t| t.max(now));
        // A later time than the one queued leaves the queued one in place: when it comes,
        // the look finds nothing due and queues the real time. A socket's wake-up moves
        // later with every segment (its retransmission and keep-alive timers restart),
        // and moving its queue entry each time cost more than the rare early look.
        let queued = match (c.wake, at) {
            (Some(q), Some(a)) if a < q => Some(a),
            (Some(q), _) => Some(q),
            (None, a) => a,
        };
        self.timers.set(id.index, c.wake, queued);
        c.wake = queued;
    }

    /// Notes a state change of the connection's socket: events, counts, and the socket's
    /// end when it is done.
    fn note(&mut self, id: ConnId, now: Instant) {
        let Some(c) = self.table.get_mut(id) else {
            return;
        };
        let to = TcpState::from(c.solo.socket().state());
        let from = c.state;
        if to == from {
            return;
        }
        let (local, remote) = (c.local, c.remote);
        log::debug!("{remote}: {from} -> {to}");
        // RCV.NXT counts the peer's FIN once smoltcp took it.
        let fin_taken = |s: TcpState| {
            matches!(
                s,
                TcpState::CloseWait | TcpState::LastAck | TcpState::Closing | TcpState::TimeWait
            )
        };
        if fin_taken(to) && !fin_taken(from) {
            c.view.rcv_nxt = c.view.rcv_nxt.wrapping_add(1);
        }
        if from == TcpState::SynReceived {
            c.view.syn_ack = None;
        }
        let synchronized_now = to.is_synchronized() && !from.is_synchronized();
        let closed_now = !to.is_synchronized() && c.opened;
        self.events.push(StackEvent::State {
            id,
            local,
            remote,
            from,
            to,
        });
        self.table.set_state(id, to, now);
        if synchronized_now {
            self.waiting.push_back(id);
            self.hand_up(now);
            if self.table.get(id).is_some_and(|c| !c.opened) {
                self.log.note(
                    now,
                    log::Level::Warn,
                    "connections queued (--max-conns):",
                    || {
                        format!(
                            "all --max-conns {} connections are open: {remote} waits, \
                             connected, until one ends",
                            self.limits.max_conns
                        )
                    },
                );
            }
        }
        if closed_now {
            self.table.set_opened(id, false);
            self.events.push(StackEvent::Closed { id, local, remote });
            self.hand_up(now);
        }
        match to {
            TcpState::Closed | TcpState::Listen => self.free(id, now),
            TcpState::TimeWait => {
                self.time_wait.push_back(id);
                while self.limits.too_many_time_waits(&self.table) {
                    let Some(old) = self.time_wait.pop_front() else {
                        break;
                    };
                    if self
                        .table
                        .get(old)
                        .is_some_and(|c| c.state == TcpState::TimeWait)
                    {
                        log::debug!(
                            "more than --max-conns TIME-WAIT connections: the oldest is let go"
                        );
                        self.free(old, now);
                    }
                }
            }
            _ => {}
        }
    }

    /// Drops a connection's socket. One not yet CLOSED (evicted, replaced, timed out, or
    /// back in LISTEN after an RST in SYN-RECEIVED) is reported as closing here.
    fn free(&mut self, id: ConnId, now: Instant) {
        let Some(c) = self.table.remove(id) else {
            return;
        };
        self.timers.set(id.index, c.wake, None);
        if !matches!(c.state, TcpState::Closed | TcpState::Listen) {
            self.events.push(StackEvent::State {
                id,
                local: c.local,
                remote: c.remote,
                from: c.state,
                to: TcpState::Closed,
            });
        }
        if c.opened {
            self.events.push(StackEvent::Closed {
                id,
                local: c.local,
                remote: c.remote,
            });
            self.hand_up(now);
        }
        self.gone.push((c.local, c.remote));
    }

    /// Hands waiting connections to the layer above, oldest first, while fewer than
    /// `--max-conns` are open. What a waiting client sent meanwhile is in its socket.
    fn hand_up(&mut self, now: Instant) {
        while self.limits.may_open(&self.table) {
            let Some(id) = self.waiting.pop_front() else {
                break;
            };
            let Some(c) = self.table.get(id) else {
                continue; // it ended while it waited
            };
            if c.opened || !c.state.is_synchronized() {
                continue;
            }
            let (local, remote) = (c.local, c.remote);
            self.table.set_opened(id, true);
            self.events.push(StackEvent::Opened { id, local, remote });
            // The layer above reads what is waiting in the socket at its next look,
            // which a timer due now makes happen even if no frame arrives.
            self.after_look(id, now, Some(now));
        }
    }

    /// Applies what our stack sent to the guard's views.
    fn apply_sent(&mut self) {
        self.apply_sent_of(None);
    }

    /// [`Stack::apply_sent`] when the segments were most likely `hint`'s (those of a look
    /// at it), which spares a look-up per segment.
    fn apply_sent_of(&mut self, hint: Option<ConnId>) {
        self.sent.solicited = false;
        for rec in self.sent.records.drain(..) {
            let id = hint
                .filter(|&id| {
                    self.table
                        .get(id)
                        .is_some_and(|c| c.local == rec.local && c.remote == rec.remote)
                })
                .or_else(|| self.table.find(rec.local, rec.remote));
            if let Some(c) = id.and_then(|id| self.table.get_mut(id)) {
                c.view.sent(&rec);
            }
        }
    }
}

/// Closes or aborts a finishing connection once the knobs allow it. Returns true when
/// it did. `in_state`: how long the socket has been in `state`; `in_flight`: bytes sent
/// and not yet acknowledged.
fn carry_out_finish(
    socket: &mut tcp::Socket<'static>,
    knobs: &TcpKnobs,
    state: TcpState,
    in_state: Duration,
    in_flight: usize,
) -> bool {
    if !state.is_synchronized() {
        return true; // nothing left to end
    }
    // --abort: RST instead of FIN, but only once every byte is acknowledged — RST
    // discards unsent data, and a knob must never cut a response short.
    if knobs.abort && socket.send_queue() > 0 {
        return false;
    }
    // --fin separate: our FIN in a segment of its own, as soon as the last data segment
    // has left (not after its ACK: with --close server-first the server's FIN must come
    // before the client's, which a client sends as soon as it has the whole response).
    if knobs.fin == FinMode::Separate && socket.send_queue() > in_flight {
        return false;
    }
    if knobs.abort {
        socket.abort();
    } else {
        // --close-wait: linger after the peer's FIN before sending ours.
        if state == TcpState::CloseWait && in_state < Duration::from(knobs.close_wait) {
            return false;
        }
        socket.close();
    }
    true
}

/// Notes the peer's window, and the start of a [`guard::Stall`]: a zero window reopened
/// short of the data in flight.
fn watch_for_stall(view: &mut View, seg: &Segment, frame: &[u8], now: Instant) {
    if !seg.flags.contains(TcpFlags::ACK) || seg.flags.intersects(TcpFlags::SYN | TcpFlags::RST) {
        return;
    }
    let wnd = u32::from(seg.window) << view.peer_shift;
    let reopened = view.peer_wnd == Some(0) && wnd > 0;
    view.peer_wnd = Some(wnd);
    let in_flight = view.snd_nxt.wrapping_sub(view.snd_una);
    if reopened && in_flight > wnd {
        view.stall = Some(guard::Stall {
            at: now + guard::STALL_WAIT,
            snd_una: view.snd_una,
            ack_frame: frame.into(),
        });
    }
}
