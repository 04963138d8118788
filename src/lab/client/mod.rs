//! The lab's browser-like HTTP/1.1 client, on a smoltcp stack of its own at the other end
//! of the virtual wire (MAC 02:00:00:00:00:02, 192.168.69.100/24, fdaa::100/64: the
//! addresses the kernel's side has in `serve`).
//!
//! Frames enter and leave through a device chain like the server's: the wire's client end,
//! the client's own [`KnobsLayer`] (ISN, MSS), and [`OwnSynOptions`] (which removes the
//! window-scale or SACK-permitted option from our own SYN, for `--client-wscale off` and
//! `--client-sack off`). The caller drives it with [`Client::step`] (at most one received
//! frame per step, so each state change is tied to its frame) and asks [`Client::poll_at`]
//! when it next has something to do.
//!
//! What it does is a page load as a browser does it: `GET /`, parse the HTML for
//! `<img src>`, `<audio src>`/`<source src>`, `<link href>` and `<script src>`, fetch
//! those (audio with `Range: bytes=0-`), on up to `parallel` keep-alive connections, then
//! `/favicon.ico`; optionally load the page again with `If-None-Match` and
//! `If-Modified-Since` (`--reload`), and finally close its connections itself — unless the
//! server closed them first. Every body is compared byte for byte with the file in www/;
//! what leaves is a [`FetchResult`] per request and the sockets' real state changes.

use crate::device::knobs::{KnobsLayer, RewriteConfig};
use crate::device::sim::SimEnd;
use crate::knobs::TcpKnobs;
use crate::tcp::StateChange;
use smoltcp::iface::{Config, Interface, PollIngressSingleResult, SocketHandle, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, TxToken};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, HardwareAddress, IpAddress, IpCidr,
    IpEndpoint, IpProtocol, Ipv4Address, Ipv4Packet, Ipv6Address, Ipv6Packet, TcpPacket,
};
use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;

/// The client's MAC address.
pub const CLIENT_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
pub const CLIENT_V4: Ipv4Address = Ipv4Address::new(192, 168, 69, 100);
pub const CLIENT_V6: Ipv6Address = Ipv6Address::new(0xfdaa, 0, 0, 0, 0, 0, 0, 0x100);
pub const SERVER_V4: Ipv4Address = Ipv4Address::new(192, 168, 69, 1);
pub const SERVER_V6: Ipv6Address = Ipv6Address::new(0xfdaa, 0, 0, 0, 0, 0, 0, 1);

/// Most connections the client opens in one run (a bound against a server that keeps
/// closing on it).
pub const MAX_CONNECTIONS: usize = 32;
/// How often a slow reader (`--client-read-rate`) wakes to read, at most…
pub const READ_TICK: Duration = Duration::from_millis(10);
/// …and the least it reads when it does: a very slow reader wakes less often rather than
/// reading a few bytes at a time (an application reads into a buffer, not byte by byte).
pub const MIN_READ: usize = 512;

/// A slow reader's (bytes per read, time between reads) at `rate` bytes per second.
pub fn read_chunk(rate: u64) -> (usize, Duration) {
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
/// Largest response head and body kept (www/ files are far smaller).
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 64 * 1024 * 1024;
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

thread_local! {
    /// The time the client's TCP timestamps carry, in ms. smoltcp takes the generator as a
    /// plain `fn() -> u32`, so [`Client::step`] stores the (virtual) time here before each
    /// poll, exactly as `crate::stack` does for the server: per thread, so that runs on
    /// different threads (`taplab lab sweep`) keep their own clocks.
    static CLIENT_TSVAL_MS: Cell<u32> = const { Cell::new(0) };
}

fn client_tsval() -> u32 {
    CLIENT_TSVAL_MS.get()
}

/// What the client fetches.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// A browser's page load of `/`: the page, its resources, the favicon, and with
    /// `reload` a second, conditional load.
    Page { reload: bool, favicon: bool },
    /// These paths, in order, nothing else.
    Gets(Vec<String>),
}

/// Everything the client is, resolved from flags.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The client's TCP knobs: isn, mss, mtu, wscale/window, nagle, ack_delay, timestamps.
    pub knobs: TcpKnobs,
    /// Remove these options from our own SYN (`--client-wscale off`, `--client-sack off`).
    pub strip_wscale: bool,
    pub strip_sack: bool,
    pub plan: Plan,
    pub parallel: usize,
    /// How long idle connections stay open once everything is loaded, before the client
    /// closes them (0: at once).
    pub keep_alive: Duration,
    /// A slow reader: bytes per second the client takes out of each receive buffer.
    pub read_rate: Option<u64>,
    /// The first local port; later connections take the next ones.
    pub first_port: u16,
    /// The server's port we connect to.
    pub server_port: u16,
    pub ipv6: bool,
    pub random_seed: u64,
    pub isn_key: (u64, u64),
    /// The site's files, to check bodies against.
    pub www: PathBuf,
}

/// One answered (or failed) request.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchResult {
    /// Which load (1, or 2 with `--reload`).
    pub load: u8,
    /// The client's port of the connection that carried it.
    pub port: u16,
    pub path: String,
    /// The request's extra headers that matter to a reader (Range, If-None-Match…).
    pub asked: String,
    /// 0 if no response came.
    pub status: u16,
    pub content_type: Option<String>,
    pub content_range: Option<String>,
    pub body_len: usize,
    /// Response header names, in the order sent (to check the seeds' row 8).
    pub header_names: Vec<String>,
    /// The body equals the file (or the status is the right one for a missing file).
    pub ok: bool,
    pub detail: String,
}

/// Removes options from the SYN our own stack sends (smoltcp always offers window scaling
/// and SACK): a Linux client with `net.ipv4.tcp_window_scaling=0` or `tcp_sack=0`.
/// smoltcp adapts when the SYN-ACK lacks them, so both ends agree on what was negotiated.
pub struct OwnSynOptions<D: Device> {
    inner: D,
    strip: Vec<u8>,
}

impl<D: Device> OwnSynOptions<D> {
    pub fn new(inner: D, strip_wscale: bool, strip_sack: bool) -> Self {
        let mut strip = Vec::new();
        if strip_wscale {
            strip.push(3);
        }
        if strip_sack {
            strip.push(4);
        }
        OwnSynOptions { inner, strip }
    }
}

impl<D: Device> Device for OwnSynOptions<D> {
    type RxToken<'a>
        = D::RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = StripTxToken<'a, D::TxToken<'a>>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let (rx, tx) = self.inner.receive(now)?;
        Some((
            rx,
            StripTxToken {
                inner: tx,
                strip: &self.strip,
            },
        ))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        Some(StripTxToken {
            inner: self.inner.transmit(now)?,
            strip: &self.strip,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.inner.capabilities()
    }
}

pub struct StripTxToken<'a, T> {
    inner: T,
    strip: &'a [u8],
}

impl<T: TxToken> TxToken for StripTxToken<'_, T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let strip = self.strip;
        self.inner.consume(len, |buf| {
            let r = f(buf);
            if !strip.is_empty() {
                strip_syn_options(buf, strip);
            }
            r
        })
    }
}

/// Overwrites the options of the given kinds with NOPs in a SYN (without ACK) and
/// recomputes the TCP checksum. Other frames are left alone.
fn strip_syn_options(frame: &mut [u8], kinds: &[u8]) {
    let Ok(eth) = EthernetFrame::new_checked(&mut frame[..]) else {
        return;
    };
    let (src, dst, tcp_bytes): (IpAddress, IpAddress, &mut [u8]) = match eth.ethertype() {
        EthernetProtocol::Ipv4 => {
            let Some(ip_bytes) = eth.into_inner().get_mut(14..) else {
                return;
            };
            let Ok(ip) = Ipv4Packet::new_checked(ip_bytes) else {
                return;
            };
            if ip.next_header() != IpProtocol::Tcp {
                return;
            }
            let (s, d) = (ip.src_addr().into(), ip.dst_addr().into());
            let (hl, tl) = (ip.header_len() as usize, ip.total_len() as usize);
            let Some(t) = ip.into_inner().get_mut(hl..tl) else {
                return;
            };
            (s, d, t)
        }
        EthernetProtocol::Ipv6 => {
            let Some(ip_bytes) = eth.into_inner().get_mut(14..) else {
                return;
            };
            let Ok(ip) = Ipv6Packet::new_checked(ip_bytes) else {
                return;
            };
            if ip.next_header() != IpProtocol::Tcp {
                return;
            }
            let (s, d) = (ip.src_addr().into(), ip.dst_addr().into());
            let len = ip.payload_len() as usize;
            let Some(t) = ip.into_inner().get_mut(40..40 + len) else {
                return;
            };
            (s, d, t)
        }
        _ => return,
    };
    let Ok(mut tcp) = TcpPacket::new_checked(tcp_bytes) else {
        return;
    };
    if !tcp.syn() || tcp.ack() {
        return;
    }
    let opts = tcp.options_mut();
    let mut i = 0;
    let mut changed = false;
    while i < opts.len() {
        match opts[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let Some(&l) = opts.get(i + 1) else { break };
                let l = l as usize;
                if l < 2 || i + l > opts.len() {
                    break;
                }
                if kinds.contains(&kind) {
                    opts[i..i + l].fill(1);
                    changed = true;
                }
                i += l;
            }
        }
    }
    if changed {
        tcp.fill_checksum(&src, &dst);
    }
}

/// The client's device chain, from the wire inwards.
pub type ClientDevice = OwnSynOptions<KnobsLayer<SimEnd>>;

/// Builds the chain on the wire's client end.
pub fn client_device(end: SimEnd, config: &ClientConfig) -> ClientDevice {
    // Our own SYN's options are edited by OwnSynOptions; the knobs layer must not strip
    // the server's (that would leave the two ends disagreeing on what was negotiated).
    let mut rewrite = RewriteConfig::from_knobs(&config.knobs, config.isn_key, 4 * MAX_CONNECTIONS);
    rewrite.strip_wscale = false;
    rewrite.strip_sack = false;
    OwnSynOptions::new(
        KnobsLayer::new(end, rewrite),
        config.strip_wscale,
        config.strip_sack,
    )
}

/// What one queued request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Document,
    Stylesheet,
    Image,
    Media,
    Script,
    Favicon,
    Plain,
}

#[derive(Debug, Clone)]
struct Fetch {
    path: String,
    kind: Kind,
    load: u8,
    /// Times it was sent on a connection that then closed without answering.
    retries: u8,
}

/// A response head, parsed.
#[derive(Debug, Clone, Default)]
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Head {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response: the head, then a body framed by Content-Length (or, without it,
/// by the server's FIN).
#[derive(Debug, Default)]
struct Reader {
    head_bytes: Vec<u8>,
    head: Option<Head>,
    /// Body bytes still expected; None: until the connection closes.
    remaining: Option<usize>,
    body: Vec<u8>,
    failed: Option<String>,
}

impl Reader {
    /// Takes bytes; returns how many it used (a response ends where its body does).
    fn feed(&mut self, data: &[u8]) -> usize {
        if self.head.is_none() {
            let start = self.head_bytes.len();
            let room = MAX_HEAD.saturating_sub(start);
            let take = data.len().min(room);
            self.head_bytes.extend_from_slice(&data[..take]);
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&self.head_bytes) {
                Ok(httparse::Status::Complete(n)) => {
                    let head = Head {
                        status: resp.code.unwrap_or(0),
                        headers: resp
                            .headers
                            .iter()
                            .map(|h| {
                                (
                                    h.name.to_string(),
                                    String::from_utf8_lossy(h.value).into_owned(),
                                )
                            })
                            .collect(),
                    };
                    // Whatever followed the head in this piece is body.
                    let body_part = self.head_bytes.split_off(n);
                    self.remaining = match head.status {
                        100..=199 | 204 | 304 => Some(0),
                        _ => match head.get("content-length").map(|v| v.trim().parse()) {
                            Some(Ok(n)) => Some(n),
                            Some(Err(_)) => {
                                self.failed = Some("bad Content-Length".into());
                                Some(0)
                            }
                            None => None,
                        },
                    };
                    self.head = Some(head);
                    // Room for the whole body at once, not grown (and copied) piecewise.
                    if let Some(n) = self.remaining {
                        self.body.reserve(n.min(MAX_BODY));
                    }
                    let consumed = self.feed_body(&body_part);
                    return take - body_part.len() + consumed;
                }
                Ok(httparse::Status::Partial) => {
                    if self.head_bytes.len() >= MAX_HEAD {
                        self.failed = Some("response head too large".into());
                    }
                    return take;
                }
                Err(e) => {
                    self.failed = Some(format!("malformed response head: {e}"));
                    return data.len();
                }
            }
        }
        self.feed_body(data)
    }

    fn feed_body(&mut self, data: &[u8]) -> usize {
        let n = match self.remaining {
            Some(r) => data.len().min(r),
            None => data.len(),
        };
        let room = MAX_BODY.saturating_sub(self.body.len());
        self.body.extend_from_slice(&data[..n.min(room)]);
        if let Some(r) = self.remaining.as_mut() {
            *r -= n;
        }
        n
    }

    fn complete(&self) -> bool {
        self.failed.is_some() || (self.head.is_some() && self.remaining == Some(0))
    }
}

#[derive(Debug)]
struct Conn {
    handle: SocketHandle,
    port: u16,
    /// The state last seen, to notice changes.
    state: tcp::State,
    endpoints: Option<(IpEndpoint, IpEndpoint)>,
    /// The request in flight: what it is, the bytes not yet handed to the socket, and the
    /// response so far.
    current: Option<(Fetch, Vec<u8>, Reader)>,
    /// Requests answered on this connection.
    answered: usize,
    /// The server said `Connection: close` or sent its FIN: no more requests here.
    no_reuse: bool,
    /// We called close() (or gave up on it).
    closed_by_us: bool,
    /// When a slow reader may next read.
    next_read: Instant,
    /// The socket reached CLOSED: nothing more happens on it.
    dead: bool,
    /// The handshake completed at some point.
    established: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Loading,
    /// Everything is fetched since this instant; connections close after `keep_alive`.
    Done(Instant),
}

/// The client: its stack, its connections and its page load.
pub struct Client {
    iface: Interface,
    sockets: SocketSet<'static>,
    config: ClientConfig,
    server: IpAddress,
    conns: Vec<Conn>,
    next_port: u16,
    queue: Vec<Fetch>,
    load: u8,
    favicon_queued: bool,
    /// The page's HTML from the first load (a 304 on reload means "use this").
    cached_html: Option<Vec<u8>>,
    /// ETag and Last-Modified per path, from load 1.
    validators: Vec<(String, Option<String>, Option<String>)>,
    results: Vec<FetchResult>,
    states: Vec<StateChange>,
    phase: Phase,
    /// Files read from www/, by path (few and small but for the audio).
    files: Vec<(String, Option<Rc<[u8]>>)>,
}

impl Client {
    pub fn new(config: ClientConfig, device: &mut ClientDevice, now: Instant) -> Client {
        let mut iface_config = Config::new(HardwareAddress::Ethernet(CLIENT_MAC));
        iface_config.random_seed = config.random_seed;
        let mut iface = Interface::new(iface_config, device, now);
        iface.update_ip_addrs(|addrs| {
            for a in [
                IpCidr::new(CLIENT_V4.into(), 24),
                IpCidr::new(CLIENT_V6.into(), 64),
                IpCidr::new(crate::network::link_local(CLIENT_MAC).into(), 64),
            ] {
                let _ = addrs.push(a);
            }
        });
        let server = if config.ipv6 {
            IpAddress::Ipv6(SERVER_V6)
        } else {
            IpAddress::Ipv4(SERVER_V4)
        };
        let queue = match &config.plan {
            Plan::Page { .. } => vec![Fetch {
                path: "/".into(),
                kind: Kind::Document,
                load: 1,
                retries: 0,
            }],
            Plan::Gets(paths) => paths
                .iter()
                .map(|p| Fetch {
                    path: p.clone(),
                    kind: kind_of_path(p),
                    load: 1,
                    retries: 0,
                })
                .collect(),
        };
        Client {
            iface,
            sockets: SocketSet::new(Vec::new()),
            next_port: config.first_port,
            config,
            server,
            conns: Vec::new(),
            queue,
            load: 1,
            favicon_queued: false,
            cached_html: None,
            validators: Vec::new(),
            results: Vec::new(),
            states: Vec::new(),
            phase: Phase::Loading,
            files: Vec::new(),
        }
    }

    /// One round: take in at most the frames the device offers (the lab gives one),
    /// let the application act, send what is due. Returns true if anything happened.
    pub fn step(&mut self, now: Instant, device: &mut ClientDevice) -> bool {
        CLIENT_TSVAL_MS.set(now.total_millis() as u32);
        self.iface.poll_maintenance(now);
        let mut progressed = false;
        loop {
            match self
                .iface
                .poll_ingress_single(now, device, &mut self.sockets)
            {
                PollIngressSingleResult::None => break,
                _ => progressed = true,
            }
        }
        self.note_states(now);
        // What the kernel sends by itself (the handshake's ACK, an ACK that is due) leaves
        // before the application reacts, as on a real host; the application's reaction
        // (a request) then carries any ACK still delayed.
        progressed |= self.egress(now, device);
        progressed |= self.app(now);
        self.note_states(now);
        progressed |= self.egress(now, device);
        progressed
    }

    fn egress(&mut self, now: Instant, device: &mut ClientDevice) -> bool {
        let mut progressed = false;
        while self.iface.poll_egress(now, device, &mut self.sockets)
            == smoltcp::iface::PollResult::SocketStateChanged
        {
            progressed = true;
        }
        self.note_states(now);
        progressed
    }

    /// When the client next needs a step without a new frame.
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        let mut next = self.iface.poll_delay(now, &self.sockets).map(|d| now + d);
        let mut consider = |t: Instant| {
            next = Some(next.map_or(t, |n| n.min(t)));
        };
        if self.config.read_rate.is_some() {
            for c in &self.conns {
                let s = self.sockets.get::<tcp::Socket>(c.handle);
                if s.recv_queue() > 0 {
                    consider(c.next_read.max(now));
                }
            }
        }
        if let Phase::Done(at) = self.phase
            && self.conns.iter().any(|c| !c.closed_by_us && !c.dead)
        {
            consider((at + self.config.keep_alive).max(now));
        }
        next
    }

    /// The page load is over and every socket is closed (TIME-WAIT included).
    pub fn finished(&self) -> bool {
        matches!(self.phase, Phase::Done(_))
            && self
                .conns
                .iter()
                .all(|c| self.sockets.get::<tcp::Socket>(c.handle).state() == tcp::State::Closed)
    }

    /// When the last fetch ended (answered, or given up), if it has: the page load's
    /// completion time, before any connection closes.
    pub fn done_at(&self) -> Option<Instant> {
        match self.phase {
            Phase::Done(at) => Some(at),
            Phase::Loading => None,
        }
    }

    pub fn results(&self) -> &[FetchResult] {
        &self.results
    }

    /// State changes since the last call.
    pub fn take_states(&mut self) -> Vec<StateChange> {
        std::mem::take(&mut self.states)
    }

    fn note_states(&mut self, now: Instant) {
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
                        side: crate::tcp::Side::Client,
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
    fn open(&mut self, now: Instant) -> Option<usize> {
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
            answered: 0,
            no_reuse: false,
            closed_by_us: false,
            next_read: now,
            dead: false,
            established: false,
        });
        Some(self.conns.len() - 1)
    }

    /// A connection that can take a request now, or will once its handshake is done.
    fn usable(&self, i: usize) -> bool {
        let c = &self.conns[i];
        let s = self.sockets.get::<tcp::Socket>(c.handle);
        !c.no_reuse
            && !c.closed_by_us
            && !c.dead
            && matches!(s.state(), tcp::State::SynSent | tcp::State::Established)
    }

    fn app(&mut self, now: Instant) -> bool {
        let mut progressed = false;
        for i in 0..self.conns.len() {
            progressed |= self.drive(i, now);
        }
        progressed |= self.schedule(now);
        for i in 0..self.conns.len() {
            progressed |= self.send_pending(i);
        }
        progressed
    }

    /// Hands queued requests to idle connections, opening connections as the plan allows.
    fn schedule(&mut self, now: Instant) -> bool {
        let mut progressed = false;
        while !self.queue.is_empty() {
            let idle =
                (0..self.conns.len()).find(|&i| self.usable(i) && self.conns[i].current.is_none());
            let idx = match idle {
                Some(i) => i,
                None => {
                    let usable = (0..self.conns.len()).filter(|&i| self.usable(i)).count();
                    // The document goes on one connection; its resources may use up to
                    // `parallel` (browsers open more once they know what to fetch).
                    let allowed = if self.queue[0].kind == Kind::Document {
                        1
                    } else {
                        self.config.parallel.max(1)
                    };
                    if usable >= allowed {
                        break;
                    }
                    match self.open(now) {
                        Some(i) => {
                            progressed = true;
                            i
                        }
                        None => {
                            // No connection can be had: the remaining requests fail.
                            for f in std::mem::take(&mut self.queue) {
                                self.fail(&f, 0, "no connection could be opened".into());
                            }
                            break;
                        }
                    }
                }
            };
            if self.conns[idx].current.is_some() {
                // A connection being opened holds its first request already.
                break;
            }
            let fetch = self.queue.remove(0);
            let request = self.request(&fetch);
            self.conns[idx].current = Some((fetch, request, Reader::default()));
            progressed = true;
        }
        if self.queue.is_empty()
            && self.phase == Phase::Loading
            && self.conns.iter().all(|c| c.current.is_none())
        {
            progressed |= self.next_stage(now);
        }
        if let Phase::Done(at) = self.phase
            && now >= at + self.config.keep_alive
        {
            // Everything is loaded and the keep-alive time is over: close (client first,
            // unless the server closed already).
            for c in &mut self.conns {
                if !c.closed_by_us && !c.dead {
                    let s = self.sockets.get_mut::<tcp::Socket>(c.handle);
                    if s.is_open() {
                        s.close();
                        progressed = true;
                    }
                    c.closed_by_us = true;
                }
            }
        }
        progressed
    }

    /// The queue ran dry with nothing in flight: what comes next in the page load.
    fn next_stage(&mut self, now: Instant) -> bool {
        let Plan::Page { reload, favicon } = self.config.plan.clone() else {
            self.phase = Phase::Done(now);
            return true;
        };
        if self.load == 1 && favicon && !self.favicon_queued {
            // After the load event, as browsers ask for it.
            self.favicon_queued = true;
            self.queue.push(Fetch {
                path: "/favicon.ico".into(),
                kind: Kind::Favicon,
                load: 1,
                retries: 0,
            });
            return true;
        }
        if self.load == 1 && reload {
            self.load = 2;
            self.queue.push(Fetch {
                path: "/".into(),
                kind: Kind::Document,
                load: 2,
                retries: 0,
            });
            return true;
        }
        self.phase = Phase::Done(now);
        true
    }

    fn request(&self, f: &Fetch) -> Vec<u8> {
        let host = match self.server {
            IpAddress::Ipv4(a) => a.to_string(),
            IpAddress::Ipv6(a) => format!("[{a}]"),
        };
        let host = if self.config.server_port == 80 {
            host
        } else {
            format!("{host}:{}", self.config.server_port)
        };
        let accept = match f.kind {
            Kind::Document => "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            Kind::Stylesheet => "text/css,*/*;q=0.1",
            Kind::Image | Kind::Favicon => {
                "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
            }
            Kind::Media | Kind::Script | Kind::Plain => "*/*",
        };
        let mut r = format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: taplab-lab/{} (browser-like)\r\nAccept: {accept}\r\n",
            f.path,
            env!("CARGO_PKG_VERSION")
        );
        if f.kind == Kind::Media {
            r.push_str("Range: bytes=0-\r\n");
        }
        if f.load == 2 {
            r.push_str("Cache-Control: max-age=0\r\n");
            if let Some((_, etag, modified)) = self.validators.iter().find(|v| v.0 == f.path) {
                if let Some(e) = etag {
                    r.push_str(&format!("If-None-Match: {e}\r\n"));
                }
                if let Some(m) = modified {
                    r.push_str(&format!("If-Modified-Since: {m}\r\n"));
                }
            }
        }
        r.push_str("Connection: keep-alive\r\n\r\n");
        r.into_bytes()
    }

    fn send_pending(&mut self, i: usize) -> bool {
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
    fn drive(&mut self, i: usize, now: Instant) -> bool {
        let mut progressed = false;
        let handle = self.conns[i].handle;
        let rate = self.config.read_rate;
        // Read.
        {
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
                    progressed |= self.finish_response(i, now);
                }
            }
            if read_any {
                progressed = true;
                if let Some(r) = rate {
                    self.conns[i].next_read = now + read_chunk(r).1;
                }
            }
        }
        // The server's FIN, a RST, or a timeout — once everything received was read.
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
                self.finish_response(i, now);
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

    fn finish_response(&mut self, i: usize, now: Instant) -> bool {
        let port = self.conns[i].port;
        let Some((fetch, _, reader)) = self.conns[i].current.take() else {
            return false;
        };
        self.conns[i].answered += 1;
        if let Some(e) = reader.failed {
            self.conns[i].no_reuse = true;
            self.fail(&fetch, port, e);
            return true;
        }
        let Some(head) = reader.head else {
            return false;
        };
        if head
            .get("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        {
            self.conns[i].no_reuse = true;
        }
        let body = reader.body;
        let (ok, detail) = self.verify(&fetch, &head, &body);
        if fetch.load == 1 && matches!(head.status, 200 | 206) {
            self.validators.push((
                fetch.path.clone(),
                head.get("etag").map(str::to_string),
                head.get("last-modified").map(str::to_string),
            ));
        }
        if fetch.kind == Kind::Document {
            let html = match head.status {
                200 => Some(body.clone()),
                304 => self.cached_html.clone(),
                _ => None,
            };
            if let Some(html) = html {
                if fetch.load == 1 {
                    self.cached_html = Some(html.clone());
                }
                for (path, kind) in resources(&String::from_utf8_lossy(&html)) {
                    self.queue.push(Fetch {
                        path,
                        kind,
                        load: fetch.load,
                        retries: 0,
                    });
                }
            }
        }
        let asked = asked_of(&fetch, &self.validators);
        self.results.push(FetchResult {
            load: fetch.load,
            port,
            path: fetch.path.clone(),
            asked,
            status: head.status,
            content_type: head.get("content-type").map(str::to_string),
            content_range: head.get("content-range").map(str::to_string),
            body_len: body.len(),
            header_names: head.headers.iter().map(|(n, _)| n.clone()).collect(),
            ok,
            detail,
        });
        let _ = now;
        true
    }

    fn fail(&mut self, fetch: &Fetch, port: u16, why: String) {
        self.results.push(FetchResult {
            load: fetch.load,
            port,
            path: fetch.path.clone(),
            asked: asked_of(fetch, &self.validators),
            status: 0,
            content_type: None,
            content_range: None,
            body_len: 0,
            header_names: Vec::new(),
            ok: false,
            detail: why,
        });
    }

    /// The file for a request path, from www/ (None if there is none). Only plain
    /// relative names are looked up; anything odd counts as missing.
    fn file(&mut self, path: &str) -> Option<Rc<[u8]>> {
        if let Some((_, f)) = self.files.iter().find(|(p, _)| p == path) {
            return f.clone();
        }
        let clean = path.split(['?', '#']).next().unwrap_or("");
        let rel = clean.trim_start_matches('/');
        let rel = if rel.is_empty() || rel.ends_with('/') {
            format!("{rel}index.html")
        } else {
            rel.to_string()
        };
        let safe = !rel.split('/').any(|s| s.is_empty() || s.starts_with('.'))
            && !rel.contains(['\\', '%', '\0']);
        let data = if safe {
            std::fs::read(self.config.www.join(&rel)).ok().map(Rc::from)
        } else {
            None
        };
        self.files.push((path.to_string(), data.clone()));
        data
    }

    /// Compares a response with the site's file: (ok, what was found).
    fn verify(&mut self, fetch: &Fetch, head: &Head, body: &[u8]) -> (bool, String) {
        let file = self.file(&fetch.path);
        match (head.status, file) {
            (200, Some(f)) if body == &f[..] => (true, "body equals the file".into()),
            (200, Some(f)) => (
                false,
                format!(
                    "body differs from the file ({} bytes, file {})",
                    body.len(),
                    f.len()
                ),
            ),
            (206, Some(f)) => {
                let range = head.get("content-range").and_then(parse_content_range);
                match range {
                    Some((a, b, total))
                        if total == f.len() && b < f.len() && a <= b && body == &f[a..=b] =>
                    {
                        (true, format!("bytes {a}-{b} equal the file's"))
                    }
                    _ => (
                        false,
                        format!(
                            "partial body does not match the file (Content-Range {:?})",
                            head.get("content-range")
                        ),
                    ),
                }
            }
            (304, Some(_)) if fetch.load == 2 && body.is_empty() => {
                (true, "not modified: the cached copy stands".into())
            }
            (404, None) => (true, "no such file in www/, as expected".into()),
            (status, file) => (
                false,
                format!(
                    "unexpected status {status} ({})",
                    if file.is_some() {
                        "the file exists"
                    } else {
                        "no such file"
                    }
                ),
            ),
        }
    }
}

fn asked_of(fetch: &Fetch, validators: &[(String, Option<String>, Option<String>)]) -> String {
    let mut a = Vec::new();
    if fetch.kind == Kind::Media {
        a.push("Range: bytes=0-".to_string());
    }
    if fetch.load == 2 && validators.iter().any(|v| v.0 == fetch.path) {
        a.push("If-None-Match".into());
        a.push("If-Modified-Since".into());
    }
    a.join(", ")
}

/// "bytes a-b/total" → (a, b, total).
fn parse_content_range(v: &str) -> Option<(usize, usize, usize)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?, total.parse().ok()?))
}

fn kind_of_path(p: &str) -> Kind {
    let lower = p.to_ascii_lowercase();
    if lower.ends_with(".wav") || lower.ends_with(".mp3") || lower.ends_with(".ogg") {
        Kind::Media
    } else {
        Kind::Plain
    }
}

/// The resources a browser would fetch for `html`, in document order, without
/// duplicates: `<img src>`, `<audio src>`, `<video src>`, `<source src>`, `<link href>`,
/// `<script src>`. Only paths on this server (relative, or absolute paths) are kept.
pub fn resources_of(html: &str) -> Vec<String> {
    resources(html).into_iter().map(|(p, _)| p).collect()
}

fn resources(html: &str) -> Vec<(String, Kind)> {
    let mut out: Vec<(String, Kind)> = Vec::new();
    let bytes = html.as_bytes();
    let find = |from: usize, what: &[u8]| {
        bytes[from..]
            .windows(what.len())
            .position(|w| w == what)
            .map(|p| from + p)
    };
    let mut i = 0;
    while i < bytes.len() {
        // Byte offsets: '<', '>' and "-->" are ASCII, so every slice below starts and
        // ends on a character boundary.
        if bytes[i..].starts_with(b"<!--") {
            i = find(i, b"-->").map_or(bytes.len(), |e| e + 3);
            continue;
        }
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let end = find(i, b">").unwrap_or(bytes.len());
        let tag = &html[i + 1..end];
        i = end + 1;
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let (attr, kind) = match name.as_str() {
            "img" => ("src", Kind::Image),
            "audio" | "video" | "source" => ("src", Kind::Media),
            "link" => ("href", Kind::Stylesheet),
            "script" => ("src", Kind::Script),
            _ => continue,
        };
        let Some(value) = attribute(&tag[name.len()..], attr) else {
            continue;
        };
        let Some(path) = local_path(&value) else {
            continue;
        };
        if !out.iter().any(|(p, _)| *p == path) {
            out.push((path, kind));
        }
    }
    out
}

/// The value of attribute `name` in a tag's attribute text.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let b = attrs.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        let key = attrs[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = None;
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                let ve = b[vs..]
                    .iter()
                    .position(|&c| c == q)
                    .map_or(b.len(), |p| vs + p);
                value = Some(attrs[vs..ve].to_string());
                i = (ve + 1).min(b.len());
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = Some(attrs[vs..i].to_string());
            }
        }
        if key == name {
            return value;
        }
        if start == i {
            i += 1;
        }
    }
    None
}

/// A request path for a URL found in the page (whose own path is `/`).
fn local_path(url: &str) -> Option<String> {
    let url = url.trim();
    let url = url.split('#').next()?;
    if url.is_empty() || url.starts_with("data:") || url.starts_with("//") {
        return None;
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let slash = rest.find('/').unwrap_or(rest.len());
        let host = &rest[..slash];
        if host != "192.168.69.1" && host != "[fdaa::1]" {
            return None;
        }
        let p = &rest[slash..];
        return Some(if p.is_empty() {
            "/".into()
        } else {
            p.to_string()
        });
    }
    if url.contains(':') && !url.starts_with('/') {
        return None; // another scheme
    }
    if url.starts_with('/') {
        Some(url.to_string())
    } else {
        Some(format!("/{url}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_a_browser_fetches() {
        let html = r#"<html><head><link rel="stylesheet" href="style.css">
            <!-- <img src="hidden.png"> --></head><body>
            <IMG SRC='logo.svg' alt=x><audio controls src=intro.wav></audio>
            <a href="intro.wav">x</a><script src="/tcpinfo.js" defer></script>
            <img src="logo.svg"><img src="http://example.com/x.png"><img src="data:,x">
            <video><source src="http://192.168.69.1/clip.ogg"></video></body></html>"#;
        assert_eq!(
            resources_of(html),
            vec![
                "/style.css",
                "/logo.svg",
                "/intro.wav",
                "/tcpinfo.js",
                "/clip.ogg"
            ]
        );
        let www = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/site/index.html"),
        )
        .unwrap();
        assert_eq!(
            resources_of(&www),
            vec!["/style.css", "/logo.svg", "/intro.wav", "/tcpinfo.js"]
        );
    }

    #[test]
    fn reads_responses_in_pieces() {
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"x\"\r\n\r\nhelloEXTRA";
        for split in 1..resp.len() {
            let mut r = Reader::default();
            let mut used = r.feed(&resp[..split]);
            if !r.complete() {
                used += r.feed(&resp[split..]);
            }
            assert!(r.complete(), "split {split}");
            assert_eq!(r.body, b"hello");
            assert_eq!(used, resp.len() - 5, "split {split}");
            assert_eq!(r.head.as_ref().unwrap().get("etag"), Some("\"x\""));
        }
        let mut r = Reader::default();
        r.feed(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n");
        assert!(r.complete() && r.body.is_empty());
        let mut r = Reader::default();
        r.feed(b"garbage\r\n\r\n");
        assert!(r.complete() && r.failed.is_some());
        assert_eq!(parse_content_range("bytes 0-9/10"), Some((0, 9, 10)));
        assert_eq!(parse_content_range("bytes */10"), None);
    }

    #[test]
    fn strips_options_from_our_syn_only() {
        use smoltcp::phy::ChecksumCapabilities;
        use smoltcp::wire::{
            EthernetRepr, Ipv4Repr, TcpControl, TcpRepr, TcpSeqNumber, TcpTimestampRepr,
        };
        let build = |ack: Option<u32>| {
            let tcp = TcpRepr {
                src_port: 40000,
                dst_port: 80,
                control: TcpControl::Syn,
                seq_number: TcpSeqNumber(1),
                ack_number: ack.map(|a| TcpSeqNumber(a as i32)),
                window_len: 65535,
                window_scale: Some(7),
                max_seg_size: Some(1460),
                sack_permitted: true,
                sack_ranges: [None; 3],
                timestamp: Some(TcpTimestampRepr::new(1, 0)),
                payload: &[],
            };
            let ip = Ipv4Repr {
                src_addr: CLIENT_V4,
                dst_addr: SERVER_V4,
                next_header: IpProtocol::Tcp,
                payload_len: tcp.buffer_len(),
                hop_limit: 64,
            };
            let eth = EthernetRepr {
                src_addr: CLIENT_MAC,
                dst_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
                ethertype: EthernetProtocol::Ipv4,
            };
            let mut buf = vec![0u8; 14 + 20 + tcp.buffer_len()];
            let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
            eth.emit(&mut f);
            let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
            ip.emit(&mut p, &ChecksumCapabilities::default());
            let mut t = TcpPacket::new_unchecked(p.payload_mut());
            tcp.emit(
                &mut t,
                &CLIENT_V4.into(),
                &SERVER_V4.into(),
                &ChecksumCapabilities::default(),
            );
            buf
        };
        let parse = |buf: &[u8]| {
            let f = EthernetFrame::new_checked(buf).unwrap();
            let p = Ipv4Packet::new_checked(f.payload()).unwrap();
            let t = TcpPacket::new_checked(p.payload()).unwrap();
            let r = TcpRepr::parse(
                &t,
                &CLIENT_V4.into(),
                &SERVER_V4.into(),
                &ChecksumCapabilities::default(),
            )
            .unwrap();
            (
                r.window_scale,
                r.sack_permitted,
                r.max_seg_size,
                r.timestamp.is_some(),
            )
        };
        let mut syn = build(None);
        strip_syn_options(&mut syn, &[3, 4]);
        assert_eq!(
            parse(&syn),
            (None, false, Some(1460), true),
            "checksum still good"
        );
        let mut synack = build(Some(5));
        strip_syn_options(&mut synack, &[3, 4]);
        assert_eq!(parse(&synack), (Some(7), true, Some(1460), true));
        // Garbage does not panic.
        for n in 0..60 {
            strip_syn_options(&mut syn.clone()[..n], &[3]);
        }
    }
}
