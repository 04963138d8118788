//! The TCP/IP stack: a smoltcp [`Interface`] with its [`SocketSet`] and a fixed pool of
//! TCP sockets listening on one port. It knows nothing of HTTP.
//!
//! Frames enter through [`Stack::poll`] (from any smoltcp `Device`, wrapped in a
//! [`SynGate`] so that a full pool drops SYNs instead of refusing them). What leaves is a
//! list of [`StackEvent`]s from [`Stack::maintain`] (a socket became connected, a
//! connection ended) and access to each slot's socket ([`Stack::socket`]) for the layer
//! above to read and write.
//!
//! Pool policy, the decisions behind it:
//! - `max_conns` sockets listen on the port; a socket whose connection ends listens again.
//! - When none is listening, SYNs to the port are dropped (the client retransmits), as a
//!   kernel does with a full backlog; a SYN to any other port gets smoltcp's RST.
//! - A socket in TIME-WAIT (smoltcp holds it 10 s after an active close) keeps its slot
//!   while the pool has other listeners; when it has none, the oldest TIME-WAIT socket is
//!   recycled at once — the same trade Linux makes under pressure (tcp_tw_reuse).
//! - A connection stuck in FIN-WAIT-2 (the peer never sends its FIN) is aborted after
//!   [`FIN_WAIT_2_TIMEOUT`], like Linux's tcp_fin_timeout.

use crate::device::gate::SynGate;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpCidr, IpEndpoint, Ipv4Address, Ipv6Address,
};

/// How long a connection may sit in FIN-WAIT-2 before it is aborted (Linux: 60 s).
pub const FIN_WAIT_2_TIMEOUT: Duration = Duration::from_secs(60);
/// Retransmissions of unacknowledged data give up after this long.
pub const RETRANSMIT_TIMEOUT: Duration = Duration::from_secs(60);

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
    pub rx_buffer: usize,
    pub tx_buffer: usize,
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
}

struct Slot {
    handle: SocketHandle,
    state: tcp::State,
    /// When `state` was entered.
    since: Instant,
    /// The peer while the connection is open (Opened sent, Closed not yet).
    open: Option<IpEndpoint>,
}

pub struct Stack {
    iface: Interface,
    sockets: SocketSet<'static>,
    slots: Vec<Slot>,
    port: u16,
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
                tcp::SocketBuffer::new(vec![0; config.rx_buffer]),
                tcp::SocketBuffer::new(vec![0; config.tx_buffer]),
            );
            let handle = sockets.add(socket);
            slots.push(Slot {
                handle,
                state: tcp::State::Closed,
                since: now,
                open: None,
            });
        }
        let mut stack = Stack {
            iface,
            sockets,
            slots,
            port: config.port,
        };
        for i in 0..stack.slots.len() {
            stack.listen(i);
        }
        stack
    }

    fn listen(&mut self, slot: usize) {
        let port = self.port;
        let socket = self.sockets.get_mut::<tcp::Socket>(self.slots[slot].handle);
        socket.set_timeout(Some(RETRANSMIT_TIMEOUT));
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

    /// Moves frames in both directions and runs smoltcp's timers. Returns true if socket
    /// states may have changed.
    pub fn poll<D: Device>(&mut self, now: Instant, device: &mut D) -> bool {
        let mut gate = SynGate {
            inner: device,
            port: self.port,
            admit: self.listening() > 0,
        };
        self.iface.poll(now, &mut gate, &mut self.sockets)
            == smoltcp::iface::PollResult::SocketStateChanged
    }

    /// How long until smoltcp next needs [`Stack::poll`] without new frames.
    pub fn poll_delay(&mut self, now: Instant) -> Option<Duration> {
        self.iface.poll_delay(now, &self.sockets)
    }

    /// Notices state changes (logged at debug), reports connections opening and ending,
    /// and returns finished sockets to the listening pool.
    pub fn maintain(&mut self, now: Instant) -> Vec<StackEvent> {
        use tcp::State::*;
        let mut events = Vec::new();
        for i in 0..self.slots.len() {
            let socket = self.sockets.get_mut::<tcp::Socket>(self.slots[i].handle);
            let state = socket.state();
            let slot = &mut self.slots[i];
            if state != slot.state {
                let peer = socket
                    .remote_endpoint()
                    .or(slot.open)
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "-".into());
                log::debug!("slot {i} {peer}: {} -> {}", slot.state, state);
                slot.state = state;
                slot.since = now;
            }
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
            if state == FinWait2 && now - slot.since >= FIN_WAIT_2_TIMEOUT {
                log::info!("slot {i}: no FIN from the peer within {FIN_WAIT_2_TIMEOUT}: abort");
                socket.abort();
            }
            if state == Closed {
                self.listen(i);
            }
        }
        if self.listening() == 0 {
            // Recycle the oldest TIME-WAIT socket (see the module doc).
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
