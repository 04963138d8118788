//! The TCP/IP stack: a smoltcp [`Interface`] with its [`SocketSet`] and a fixed pool of
//! TCP sockets listening on one port. It knows nothing of HTTP.
//!
//! Frames enter through [`Stack::ingress`] (from any smoltcp `Device`, wrapped in a
//! [`SynGate`] so that a full pool drops SYNs instead of refusing them, and in a
//! [`WindowGuard`] both ways, working around smoltcp's window after a SYN-ACK). What leaves is a
//! list of [`StackEvent`]s from [`Stack::maintain`] (a socket became connected, a
//! connection ended) and access to each slot's socket ([`Stack::socket`]) for the layer
//! above to read and write.
//!
//! Pool policy, the decisions behind it:
//! - `max_conns` sockets listen on the port; a socket whose connection ends listens again.
//! - When none is listening, SYNs to the port are dropped (the client retransmits), as a
//!   kernel does with a full backlog; a SYN to any other port gets smoltcp's RST.
//! - A socket in TIME-WAIT (smoltcp holds it 10 s after an active close) keeps its slot.
//!   Only when a SYN finds no socket listening is the oldest TIME-WAIT socket recycled,
//!   so that the client's retransmitted SYN is served — the trade Linux makes under
//!   pressure (tcp_tw_reuse); a TIME-WAIT nobody needs lives out its 10 s.
//! - A connection stuck in FIN-WAIT-2 (the peer never sends its FIN) is aborted after
//!   [`FIN_WAIT_2_TIMEOUT`], like Linux's tcp_fin_timeout.
//!
//! Knobs that smoltcp has an API for are applied here, to every socket each time it
//! listens ([`TcpKnobs`]: receive buffer → window shift, Nagle, ACK delay, timestamps), and
//! so is how a connection ends once the layer above asks for it ([`Stack::finish`]): FIN
//! piggybacked or separate, a linger in CLOSE-WAIT, or RST instead of FIN.

use crate::device::gate::SynGate;
use crate::device::window::WindowGuard;
use crate::knobs::{FinMode, TcpKnobs};
use smoltcp::iface::{
    Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::phy::Device;
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpCidr, IpEndpoint, Ipv4Address, Ipv6Address,
};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};

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
/// ... so an idle connection is probed this often (TCP keep-alive), and a live peer's
/// answer keeps it open. Probes appear in a capture only after a minute of silence.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(60);

/// What the stack is: addresses, port, pool size and buffers.
#[derive(Debug, Clone)]
pub struct StackConfig {
    pub mac: EthernetAddress,
    /// Our addresses (the IPv6 link-local one is added from the MAC).
    pub addrs: Vec<IpCidr>,
    /// Default routes towards the host side.
    pub gateway4: Option<Ipv4Address>,
    pub gateway6: Option<Ipv6Address>,
    pub port: u16,
    pub max_conns: usize,
    /// Receive buffers come from `knobs.rx_buffer()`; this is the send buffer.
    pub tx_buffer: usize,
    pub knobs: TcpKnobs,
    /// Seed for smoltcp's random source (ephemeral ports, ISNs).
    pub random_seed: u64,
}

/// Something the layer above must act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackEvent {
    /// The socket in `slot` has a synchronized connection from `remote`.
    Opened { slot: usize, remote: IpEndpoint },
    /// The connection in `slot` has ended (closed, reset, or in TIME-WAIT).
    Closed { slot: usize, remote: IpEndpoint },
    /// The socket of connection (local, remote) went from one TCP state to another.
    State {
        slot: usize,
        local: IpEndpoint,
        remote: IpEndpoint,
        from: tcp::State,
        to: tcp::State,
    },
}

/// A TCP state by the name the seeds' reports (and RFC 793) use: `SYN_RCVD`, `TIME_WAIT`.
pub fn state_name(state: tcp::State) -> &'static str {
    use tcp::State::*;
    match state {
        Closed => "CLOSED",
        Listen => "LISTEN",
        SynSent => "SYN_SENT",
        SynReceived => "SYN_RCVD",
        Established => "ESTABLISHED",
        FinWait1 => "FIN_WAIT_1",
        FinWait2 => "FIN_WAIT_2",
        CloseWait => "CLOSE_WAIT",
        Closing => "CLOSING",
        LastAck => "LAST_ACK",
        TimeWait => "TIME_WAIT",
    }
}

struct Slot {
    handle: SocketHandle,
    state: tcp::State,
    /// When `state` was entered.
    since: Instant,
    /// The peer while the connection is open (Opened sent, Closed not yet).
    open: Option<IpEndpoint>,
    /// The layer above asked to end the connection; not yet done.
    finishing: bool,
    /// (local, remote) of the latest connection, kept past its end so that the last
    /// state changes (to TIME-WAIT, to CLOSED) can still be told apart.
    endpoints: Option<(IpEndpoint, IpEndpoint)>,
}

pub struct Stack {
    iface: Interface,
    sockets: SocketSet<'static>,
    slots: Vec<Slot>,
    port: u16,
    knobs: TcpKnobs,
    /// State changes noted since the last [`Stack::maintain`].
    pending: Vec<StackEvent>,
    /// A SYN found no listening socket since the last [`Stack::maintain`].
    syn_refused: bool,
    /// Keeps a peer's data inside what our SYN-ACK offered (a smoltcp 0.14 workaround).
    window: Rc<WindowGuard>,
}

/// The time our TCP timestamps (TSval) carry, in ms. smoltcp takes the generator as a
/// plain `fn() -> u32`, which cannot capture a clock, so [`Stack::poll`] stores the time
/// it was given here first: the timestamps follow the clock passed in (real or virtual).
static TSVAL_MS: AtomicU32 = AtomicU32::new(0);

fn tsval() -> u32 {
    TSVAL_MS.load(Ordering::Relaxed)
}

/// The EUI-64 link-local address for a MAC (RFC 4291 appendix A).
pub fn link_local(mac: EthernetAddress) -> Ipv6Address {
    let m = mac.0;
    Ipv6Address::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([m[0] ^ 0x02, m[1]]),
        u16::from_be_bytes([m[2], 0xff]),
        u16::from_be_bytes([0xfe, m[3]]),
        u16::from_be_bytes([m[4], m[5]]),
    )
}

impl Stack {
    pub fn new<D: Device>(config: &StackConfig, device: &mut D, now: Instant) -> Stack {
        let mut iface_config = Config::new(HardwareAddress::Ethernet(config.mac));
        iface_config.random_seed = config.random_seed;
        let mut iface = Interface::new(iface_config, device, now);
        iface.update_ip_addrs(|addrs| {
            for a in config
                .addrs
                .iter()
                .copied()
                .chain([IpCidr::new(link_local(config.mac).into(), 64)])
            {
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

        let mut sockets = SocketSet::new(Vec::with_capacity(config.max_conns));
        let mut slots = Vec::with_capacity(config.max_conns);
        for _ in 0..config.max_conns {
            let socket = tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; config.knobs.rx_buffer()]),
                tcp::SocketBuffer::new(vec![0; config.tx_buffer]),
            );
            let handle = sockets.add(socket);
            slots.push(Slot {
                handle,
                state: tcp::State::Closed,
                since: now,
                open: None,
                finishing: false,
                endpoints: None,
            });
        }
        let mut stack = Stack {
            iface,
            sockets,
            slots,
            port: config.port,
            knobs: config.knobs.clone(),
            pending: Vec::new(),
            syn_refused: false,
            window: Rc::new(WindowGuard::new(2 * config.max_conns + 16)),
        };
        for i in 0..stack.slots.len() {
            stack.listen(i);
        }
        stack
    }

    fn listen(&mut self, slot: usize) {
        let port = self.port;
        let knobs = &self.knobs;
        self.slots[slot].finishing = false;
        let socket = self.sockets.get_mut::<tcp::Socket>(self.slots[slot].handle);
        socket.set_timeout(Some(PEER_SILENCE_TIMEOUT));
        socket.set_keep_alive(Some(KEEP_ALIVE_INTERVAL));
        socket.set_nagle_enabled(knobs.nagle);
        socket.set_congestion_control(knobs.cc.to_smoltcp());
        socket.set_ack_delay(knobs.ack_delay.map(Duration::from));
        // smoltcp clears the generator when a peer's SYN has no timestamps: set it anew.
        socket.set_tsval_generator(knobs.timestamps.then_some(tsval as fn() -> u32));
        if let Err(e) = socket.listen(port) {
            log::error!("slot {slot}: cannot listen on port {port}: {e}");
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The socket in `slot`, for reading and writing.
    pub fn socket(&mut self, slot: usize) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.slots[slot].handle)
    }

    /// Number of sockets listening for a new connection.
    pub fn listening(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| self.sockets.get::<tcp::Socket>(s.handle).is_listening())
            .count()
    }

    /// Runs smoltcp's timers and takes in the frames waiting on the device (at most
    /// [`MAX_INGRESS_BATCH`]). Returns true if socket states may have changed. Call
    /// [`Stack::egress`] after the layer above has acted on the sockets: that order lets a
    /// response, or a FIN, leave in the same segment as the ACK it answers.
    pub fn ingress<D: Device>(&mut self, now: Instant, device: &mut D) -> bool {
        TSVAL_MS.store(now.total_millis() as u32, Ordering::Relaxed);
        let window = Rc::clone(&self.window);
        let mut guarded = window.view(device);
        let mut gate = SynGate {
            inner: &mut guarded,
            port: self.port,
            admit: self.listening() > 0,
            refused: std::cell::Cell::new(0),
        };
        self.iface.poll_maintenance(now);
        let mut changed = false;
        for _ in 0..MAX_INGRESS_BATCH {
            match self
                .iface
                .poll_ingress_single(now, &mut gate, &mut self.sockets)
            {
                PollIngressSingleResult::None => break,
                PollIngressSingleResult::PacketProcessed => {}
                PollIngressSingleResult::SocketStateChanged => {
                    changed = true;
                    self.note_states(now);
                }
            }
        }
        if gate.refused.get() > 0 {
            self.syn_refused = true;
        }
        changed
    }

    /// Sends what the sockets have to send. Returns true if socket states may have changed.
    pub fn egress<D: Device>(&mut self, now: Instant, device: &mut D) -> bool {
        TSVAL_MS.store(now.total_millis() as u32, Ordering::Relaxed);
        let mut changed = false;
        let window = Rc::clone(&self.window);
        let mut guarded = window.view(device);
        while self.iface.poll_egress(now, &mut guarded, &mut self.sockets)
            == PollResult::SocketStateChanged
        {
            changed = true;
            self.note_states(now);
        }
        changed
    }

    /// How long until smoltcp next needs [`Stack::poll`] without new frames.
    pub fn poll_delay(&mut self, now: Instant) -> Option<Duration> {
        let linger = self
            .slots
            .iter()
            .filter(|s| s.finishing && s.state == tcp::State::CloseWait)
            .map(|s| (s.since + Duration::from(self.knobs.close_wait)).max(now) - now)
            .min();
        match (self.iface.poll_delay(now, &self.sockets), linger) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The layer above is done with the connection in `slot`: end it as the knobs say
    /// (see [`Stack::maintain`], which carries it out once its conditions hold).
    pub fn finish(&mut self, slot: usize, now: Instant) {
        self.slots[slot].finishing = true;
        self.carry_out_finish(slot, now);
    }

    /// Closes or aborts a finishing connection once the knobs allow it. Returns true when
    /// it did.
    fn carry_out_finish(&mut self, slot: usize, now: Instant) -> bool {
        let s = &self.slots[slot];
        if !s.finishing {
            return false;
        }
        let socket = self.sockets.get_mut::<tcp::Socket>(s.handle);
        let state = socket.state();
        // --abort: RST instead of FIN, but only once every byte is acknowledged — RST
        // discards unsent data, and a knob must never cut a response short.
        // --fin separate: likewise our FIN only once every byte is acknowledged.
        if (self.knobs.abort || self.knobs.fin == FinMode::Separate) && socket.send_queue() > 0 {
            return false;
        }
        if self.knobs.abort {
            socket.abort();
        } else {
            // --close-wait: linger after the peer's FIN before sending ours.
            if state == tcp::State::CloseWait
                && now - s.since < Duration::from(self.knobs.close_wait)
            {
                return false;
            }
            socket.close();
        }
        self.slots[slot].finishing = false;
        true
    }

    /// Notices state changes (logged at debug), reports connections opening and ending,
    /// and returns finished sockets to the listening pool.
    /// Records every socket whose state changed since the last look (a State event for
    /// [`Stack::maintain`] to hand out). Called after each frame in or out, so that a
    /// state that lasts a single frame (FIN_WAIT_2 between an ACK and a FIN that arrive
    /// together) is still in the history.
    fn note_states(&mut self, now: Instant) {
        use tcp::State::*;
        for i in 0..self.slots.len() {
            let socket = self.sockets.get::<tcp::Socket>(self.slots[i].handle);
            let state = socket.state();
            let slot = &mut self.slots[i];
            if let (Some(l), Some(r)) = (socket.local_endpoint(), socket.remote_endpoint()) {
                slot.endpoints = Some((l, r));
            }
            if state != slot.state {
                let peer = socket
                    .remote_endpoint()
                    .or(slot.open)
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "-".into());
                log::debug!("slot {i} {peer}: {} -> {}", slot.state, state);
                // Listen -> Closed and back are the pool's business, not a connection's.
                if let Some((local, remote)) = slot.endpoints
                    && !(state == Listen || (slot.state == Listen && state == Closed))
                {
                    self.pending.push(StackEvent::State {
                        slot: i,
                        local,
                        remote,
                        from: slot.state,
                        to: state,
                    });
                }
                if state == Listen {
                    slot.endpoints = None;
                }
                slot.state = state;
                slot.since = now;
            }
        }
    }

    pub fn maintain(&mut self, now: Instant) -> Vec<StackEvent> {
        use tcp::State::*;
        self.note_states(now);
        let mut events = std::mem::take(&mut self.pending);
        for i in 0..self.slots.len() {
            let socket = self.sockets.get_mut::<tcp::Socket>(self.slots[i].handle);
            let state = socket.state();
            let slot = &mut self.slots[i];
            let synchronized = matches!(
                state,
                Established | FinWait1 | FinWait2 | CloseWait | Closing | LastAck
            );
            if synchronized && slot.open.is_none() {
                if let Some(remote) = socket.remote_endpoint() {
                    slot.open = Some(remote);
                    events.push(StackEvent::Opened { slot: i, remote });
                }
            } else if !synchronized && let Some(remote) = slot.open.take() {
                events.push(StackEvent::Closed { slot: i, remote });
            }
            if slot.finishing && !synchronized {
                slot.finishing = false;
            }
            socket.set_timeout(Some(if socket.send_queue() > 0 {
                RETRANSMISSION_GIVE_UP
            } else {
                PEER_SILENCE_TIMEOUT
            }));
            if state == FinWait2 && now - slot.since >= FIN_WAIT_2_TIMEOUT {
                log::info!("slot {i}: no FIN from the peer within {FIN_WAIT_2_TIMEOUT}: abort");
                socket.abort();
            }
            if state == Closed {
                self.listen(i);
            }
            self.carry_out_finish(i, now);
        }
        if self.listening() > 0 {
            self.syn_refused = false;
        } else if std::mem::take(&mut self.syn_refused) {
            // A client is waiting: recycle the oldest TIME-WAIT socket (module doc).
            let oldest = (0..self.slots.len())
                .filter(|&i| self.slots[i].state == TimeWait)
                .min_by_key(|&i| self.slots[i].since);
            if let Some(i) = oldest {
                log::debug!("slot {i}: pool empty, recycling TIME-WAIT socket");
                self.listen(i);
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_follows_eui64() {
        let ll = link_local(EthernetAddress([0x02, 0, 0, 0, 0, 0x01]));
        assert_eq!(ll.to_string(), "fe80::ff:fe00:1");
    }
}
