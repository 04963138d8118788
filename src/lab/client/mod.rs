//! The lab's browser-like HTTP/1.1 client, on a smoltcp stack of its own at the other end
//! of the virtual wire, with the addresses the kernel's side has in `serve`
//! ([`crate::network`]'s host end: 192.168.69.100/24, fdaa::100/64).
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
//!
//! This file is the page load: what is fetched and when. The rest, one part each:
//! - `fetch`: one request — what it is for and the bytes sent for it;
//! - `conn`: the connections — open, send, read (at the read rate), the server closing;
//! - `response`: reading one response (head, then a body framed by length or by FIN);
//! - `page`: the page scanner (which resources the HTML names);
//! - `verify`: the verifier (an answer against the site's file);
//! - `syn_options`: [`OwnSynOptions`], the device middleware that edits our own SYN.

mod conn;
mod fetch;
mod page;
mod response;
mod syn_options;
mod verify;

use crate::device::knobs::{KnobsLayer, RewriteConfig};
use crate::device::sim::SimEnd;
use crate::knobs::TcpKnobs;
use crate::network::{HOST_CIDR4, HOST_CIDR6, HOST_MAC, PREFIX_V6, SERVER_V4, SERVER_V6};
use crate::tcp::StateChange;
use conn::{CLIENT_TSVAL_MS, Conn};
use fetch::{Fetch, Kind, Validators, asked};
use page::resources;
use smoltcp::iface::{Config, Interface, PollIngressSingleResult, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use std::path::PathBuf;
pub use syn_options::OwnSynOptions;
use verify::SiteFiles;

/// Most connections the client opens in one run (a bound against a server that keeps
/// closing on it).
const MAX_CONNECTIONS: usize = 32;

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
    /// The Host header's value: the server's address, and its port unless 80.
    host: String,
    conns: Vec<Conn>,
    next_port: u16,
    queue: Vec<Fetch>,
    load: u8,
    favicon_queued: bool,
    /// The page's HTML from the first load (a 304 on reload means "use this").
    cached_html: Option<Vec<u8>>,
    /// ETag and Last-Modified per path, from load 1.
    validators: Validators,
    results: Vec<FetchResult>,
    states: Vec<StateChange>,
    phase: Phase,
    /// The site's files, to check each answer against.
    files: SiteFiles,
}

impl Client {
    pub fn new(config: ClientConfig, device: &mut ClientDevice, now: Instant) -> Client {
        let mut iface_config = Config::new(HardwareAddress::Ethernet(HOST_MAC));
        iface_config.random_seed = config.random_seed;
        let mut iface = Interface::new(iface_config, device, now);
        iface.update_ip_addrs(|addrs| {
            for a in [
                IpCidr::from(HOST_CIDR4),
                IpCidr::from(HOST_CIDR6),
                IpCidr::new(crate::network::link_local(HOST_MAC).into(), PREFIX_V6),
            ] {
                let _ = addrs.push(a);
            }
        });
        let server = if config.ipv6 {
            IpAddress::Ipv6(SERVER_V6)
        } else {
            IpAddress::Ipv4(SERVER_V4)
        };
        let host = match server {
            IpAddress::Ipv4(a) => a.to_string(),
            IpAddress::Ipv6(a) => format!("[{a}]"),
        };
        let host = if config.server_port == 80 {
            host
        } else {
            format!("{host}:{}", config.server_port)
        };
        let queue = match &config.plan {
            Plan::Page { .. } => vec![Fetch::new("/", Kind::Document, 1)],
            Plan::Gets(paths) => paths
                .iter()
                .map(|p| Fetch::new(p.as_str(), Kind::of_path(p), 1))
                .collect(),
        };
        Client {
            iface,
            sockets: SocketSet::new(Vec::new()),
            next_port: config.first_port,
            files: SiteFiles::new(config.www.clone()),
            config,
            server,
            host,
            conns: Vec::new(),
            queue,
            load: 1,
            favicon_queued: false,
            cached_html: None,
            validators: Validators::default(),
            results: Vec::new(),
            states: Vec::new(),
            phase: Phase::Loading,
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

    /// The application's turn: read and finish what arrived, hand out queued requests,
    /// send what the sockets take.
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
            self.assign(idx, fetch);
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
            self.queue
                .push(Fetch::new("/favicon.ico", Kind::Favicon, 1));
            return true;
        }
        if self.load == 1 && reload {
            self.load = 2;
            self.queue.push(Fetch::new("/", Kind::Document, 2));
            return true;
        }
        self.phase = Phase::Done(now);
        true
    }

    /// Connection `i`'s response is read (or failed): check it, note what it teaches the
    /// page load (validators, the page's resources), report it.
    fn finish_response(&mut self, i: usize) -> bool {
        let port = self.conns[i].port;
        let Some((fetch, _, reader)) = self.conns[i].current.take() else {
            return false;
        };
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
        let (ok, detail) = self.files.verify(&fetch, &head, &body);
        if fetch.load == 1 && matches!(head.status, 200 | 206) {
            self.validators
                .remember(&fetch.path, head.get("etag"), head.get("last-modified"));
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
                    self.queue.push(Fetch::new(path, kind, fetch.load));
                }
            }
        }
        self.results.push(FetchResult {
            load: fetch.load,
            port,
            path: fetch.path.clone(),
            asked: asked(&fetch, &self.validators),
            status: head.status,
            content_type: head.get("content-type").map(str::to_string),
            content_range: head.get("content-range").map(str::to_string),
            body_len: body.len(),
            header_names: head.headers.iter().map(|(n, _)| n.clone()).collect(),
            ok,
            detail,
        });
        true
    }

    /// Reports `fetch` failed, carried by port `port` (0: no connection).
    fn fail(&mut self, fetch: &Fetch, port: u16, why: String) {
        self.results.push(FetchResult {
            load: fetch.load,
            port,
            path: fetch.path.clone(),
            asked: asked(fetch, &self.validators),
            status: 0,
            content_type: None,
            content_range: None,
            body_len: 0,
            header_names: Vec::new(),
            ok: false,
            detail: why,
        });
    }
}
