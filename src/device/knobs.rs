//! The knobs layer: TCP rewriting between smoltcp and the wire, for the knobs smoltcp has
//! no setter for. It is a device middleware: [`KnobsLayer`] wraps a device the way
//! smoltcp's `Tracer` does, and every TCP segment passes through it in both directions.
//!
//! What it does, per connection (keyed by the 4-tuple), and nothing else:
//! - **ISN** (like pf's "modulate state"): when our SYN or SYN-ACK leaves, smoltcp's
//!   initial sequence number is replaced by the chosen one ([`IsnMode`]); the difference
//!   is kept as the connection's offset. Every later segment we send has the offset added
//!   to its sequence number; every segment we receive has it subtracted from its
//!   acknowledgement number and from the edges of its SACK blocks (the fields that refer
//!   to *our* sequence space). The peer's numbers are never touched.
//! - **MSS** (like iptables' TCPMSS): the MSS option of our SYN/SYN-ACK is set to the
//!   knob, and the MSS option of the peer's SYN/SYN-ACK is clamped to it, so that neither
//!   side sends larger payloads.
//! - **Window scale off / SACK off**: the peer's window-scale or SACK-permitted option is
//!   overwritten with NOPs in its SYN, so smoltcp neither offers nor uses it.
//!
//! Options are edited in place (same length), so IP lengths never change. After a
//! sequence or acknowledgement number changes, the TCP checksum is updated for the
//! change alone (RFC 1624), not recomputed over the payload: every segment of a
//! connection passes here, and summing a full-sized payload a second time (smoltcp
//! already did) was a tenth of a bulk transfer's instructions. The rare option edits of
//! a SYN recompute it. When the device completes checksums itself (`serve --offload`:
//! the frame carries only the pseudo-header sum, which no edit here changes), the
//! checksum is left alone. A received segment whose checksum is already wrong is passed
//! on untouched, for smoltcp to drop — rewriting must never repair a corrupted frame. On the server an entry is dropped only when the stack says the
//! connection is gone ([`KnobsLayer::forget`]; `stack_forgets`): a blind RST that the
//! stack rejects must not take the translation away, or every later segment would leave
//! with smoltcp's own numbers. Where no stack says so (the lab client), entries are
//! dropped on RST and once both FINs have passed and [`FINISHED_LINGER`] has elapsed.
//! Either way the oldest (finished first) goes when the table is full.
//! Each edit is logged at debug, prefixed `knobs:`.

use super::frame::tcp_span;
use crate::knobs::{IsnMode, TcpKnobs, Wscale};
use smoltcp::phy::{Device, DeviceCapabilities, RxToken, TxToken};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{IpAddress, TcpPacket};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// How long an entry outlives the second FIN (covers smoltcp's 10 s TIME-WAIT and
/// retransmitted FINs).
pub const FINISHED_LINGER: Duration = Duration::from_secs(30);

/// What the layer rewrites, derived from [`TcpKnobs`].
#[derive(Debug, Clone)]
pub struct RewriteConfig {
    pub isn: IsnMode,
    pub mss: Option<u16>,
    pub strip_wscale: bool,
    pub strip_sack: bool,
    /// Secret for the keyed ISN (RFC 6528's F); from OS randomness in `serve`.
    pub isn_key: (u64, u64),
    /// Most connections tracked at once.
    pub capacity: usize,
    /// Entries end only by [`Rewriter::forget`] (and a full table): the stack above
    /// reports every connection's end.
    pub stack_forgets: bool,
}

impl RewriteConfig {
    pub fn from_knobs(knobs: &TcpKnobs, isn_key: (u64, u64), capacity: usize) -> Self {
        RewriteConfig {
            isn: knobs.isn,
            mss: knobs.mss,
            strip_wscale: knobs.wscale == Some(Wscale::Off),
            strip_sack: !knobs.sack,
            isn_key,
            capacity,
            stack_forgets: false,
        }
    }

    /// True if the layer has anything to do (otherwise frames pass without parsing).
    pub fn is_active(&self) -> bool {
        self.isn != IsnMode::Random || self.mss.is_some() || self.strip_wscale || self.strip_sack
    }
}

/// (local address, local port, remote address, remote port), addresses as 16 bytes.
type Tuple = ([u8; 16], u16, [u8; 16], u16);

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The ISN smoltcp chose, to recognise retransmitted SYNs.
    stack_isn: u32,
    /// wire = stack + offset (mod 2^32) for our sequence numbers.
    offset: u32,
    our_fin: bool,
    their_fin: bool,
    last: Instant,
    /// When the second FIN passed.
    finished: Option<Instant>,
}

impl Entry {
    fn saw_fin(&mut self, ours: bool, now: Instant) {
        if ours {
            self.our_fin = true;
        } else {
            self.their_fin = true;
        }
        if self.our_fin && self.their_fin && self.finished.is_none() {
            self.finished = Some(now);
        }
    }
}

/// The per-connection state of the layer, and the rewriting itself (pure functions of
/// frames, testable without a device).
#[derive(Debug)]
pub struct Rewriter {
    config: RewriteConfig,
    /// Our frames' TCP checksums are completed by the device (it reports that it
    /// computes them): leave them alone.
    device_checksums: bool,
    table: BTreeMap<Tuple, Entry>,
    /// When finished entries were last looked for (once a second, not per frame).
    last_purge: Instant,
}

/// A mutable view of a TCP segment inside an Ethernet frame.
struct Segment<'a> {
    local: IpAddress,
    remote: IpAddress,
    tcp: TcpPacket<&'a mut [u8]>,
}

fn addr16(a: IpAddress) -> [u8; 16] {
    match a {
        IpAddress::Ipv4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddress::Ipv6(v6) => v6.octets(),
    }
}

/// The TCP segment of an Ethernet frame, for rewriting. `outgoing`: we are the source.
fn segment(frame: &mut [u8], outgoing: bool) -> Option<Segment<'_>> {
    let span = tcp_span(frame)?;
    let tcp = TcpPacket::new_checked(&mut frame[span.range]).ok()?;
    let (local, remote) = if outgoing {
        (span.src, span.dst)
    } else {
        (span.dst, span.src)
    };
    Some(Segment { local, remote, tcp })
}

/// Where the options of `kind` lie in an options area (offset, length), from the shared
/// walker (`crate::tcp::options`); found before the area is edited, since the walker
/// borrows it. An options area holds at most 40 bytes, so at most 20 options.
fn spans_of(opts: &[u8], kind: u8) -> impl Iterator<Item = (usize, usize)> + use<> {
    let mut found = [(0usize, 0usize); 20];
    let mut n = 0;
    for o in crate::tcp::options(opts) {
        if o.option.kind() == kind
            && !matches!(o.option, crate::tcp::TcpOption::Malformed { .. })
            && n < found.len()
        {
            found[n] = (o.offset, o.len);
            n += 1;
        }
    }
    found.into_iter().take(n)
}

const OPT_MSS: u8 = 2;
const OPT_WSCALE: u8 = 3;
const OPT_SACK_PERM: u8 = 4;
const OPT_SACK: u8 = 5;

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl Rewriter {
    pub fn new(config: RewriteConfig) -> Rewriter {
        Rewriter {
            config,
            device_checksums: false,
            table: BTreeMap::new(),
            last_purge: Instant::ZERO,
        }
    }

    pub fn config(&self) -> &RewriteConfig {
        &self.config
    }

    /// Connections currently tracked.
    pub fn tracked(&self) -> usize {
        self.table.len()
    }

    /// The wire ISN for a connection whose SYN/SYN-ACK smoltcp sends with `stack_isn`.
    fn wire_isn(&self, tuple: &Tuple, stack_isn: u32, now: Instant) -> u32 {
        match self.config.isn {
            IsnMode::Fixed(n) => n,
            IsnMode::Random => stack_isn,
            IsnMode::Keyed => {
                // RFC 6528: ISN = M + F(4-tuple, secret), M a 4-microsecond clock.
                use std::hash::Hasher;
                // SipHash-2-4 with a key: exactly the keyed F we need.
                let mut h = siphasher::sip::SipHasher24::new_with_keys(
                    self.config.isn_key.0,
                    self.config.isn_key.1,
                );
                // Bytes in network order: the same ISNs on every machine (the lab's
                // captures are byte-identical across machines).
                h.write(&tuple.0);
                h.write(&tuple.1.to_be_bytes());
                h.write(&tuple.2);
                h.write(&tuple.3.to_be_bytes());
                let m = (now.total_micros() / 4) as u32;
                m.wrapping_add(h.finish() as u32)
            }
        }
    }

    /// Rewrites a frame smoltcp is sending, in place.
    pub fn outgoing(&mut self, frame: &mut [u8], now: Instant) {
        if !self.config.is_active() {
            return;
        }
        let Some(mut seg) = segment(frame, true) else {
            return;
        };
        let tuple: Tuple = (
            addr16(seg.local),
            seg.tcp.src_port(),
            addr16(seg.remote),
            seg.tcp.dst_port(),
        );
        // Options edited: the checksum is recomputed; numbers only: updated for them.
        let mut options_changed = false;
        let mut delta = Delta::default();
        if seg.tcp.syn() {
            let stack_isn = seg.tcp.seq_number().0 as u32;
            let known = self
                .table
                .get(&tuple)
                .filter(|e| e.stack_isn == stack_isn)
                .copied();
            let offset = match known {
                Some(e) => e.offset, // a retransmitted SYN keeps its ISN
                None => {
                    let wire = self.wire_isn(&tuple, stack_isn, now);
                    log::debug!(
                        "knobs: {}:{} ISN {stack_isn} chosen by smoltcp -> {wire} on the wire",
                        seg.remote,
                        tuple.3
                    );
                    wire.wrapping_sub(stack_isn)
                }
            };
            self.insert(
                tuple,
                Entry {
                    stack_isn,
                    offset,
                    our_fin: false,
                    their_fin: false,
                    last: now,
                    finished: None,
                },
            );
            if let Some(mss) = self.config.mss {
                options_changed |= set_mss(&mut seg.tcp, mss, false, &seg.remote);
            }
        }
        if let Some(e) = self.table.get_mut(&tuple) {
            e.last = now;
            if e.offset != 0 {
                let stack = seg.tcp.seq_number().0 as u32;
                let wire = stack.wrapping_add(e.offset);
                seg.tcp
                    .set_seq_number(smoltcp::wire::TcpSeqNumber(wire as i32));
                delta.word32(SEQ_AT, stack, wire);
            }
            if seg.tcp.fin() {
                e.saw_fin(true, now);
            }
            if seg.tcp.rst() {
                self.table.remove(&tuple);
            }
        }
        if self.device_checksums {
            // The device sums the segment as it is; nothing here changes the pseudo-header.
        } else if options_changed {
            seg.tcp.fill_checksum(&seg.local, &seg.remote);
        } else if delta.any() {
            seg.tcp.set_checksum(delta.apply(seg.tcp.checksum()));
        }
    }

    /// Whether [`Rewriter::incoming`] may change this frame: a SYN (options to edit) or a
    /// segment of a connection whose numbers are translated. Read-only and cheap, so that
    /// the frames that need nothing are not copied.
    pub fn may_rewrite_incoming(&self, frame: &[u8]) -> bool {
        if !self.config.is_active() {
            return false;
        }
        let Some(span) = tcp_span(frame) else {
            return false;
        };
        let Ok(tcp) = TcpPacket::new_checked(&frame[span.range]) else {
            return false;
        };
        if tcp.syn() {
            return true;
        }
        let tuple: Tuple = (
            addr16(span.dst),
            tcp.dst_port(),
            addr16(span.src),
            tcp.src_port(),
        );
        self.table.get(&tuple).is_some_and(|e| e.offset != 0)
    }

    /// Rewrites a frame from the wire. Returns true if `frame` was changed.
    pub fn incoming(&mut self, frame: &mut [u8], now: Instant) -> bool {
        if !self.config.is_active() {
            return false;
        }
        let Some(mut seg) = segment(frame, false) else {
            return false;
        };
        if !seg.tcp.verify_checksum(&seg.remote, &seg.local) {
            return false; // corrupt: smoltcp drops it; never "repair" it by rewriting
        }
        let tuple: Tuple = (
            addr16(seg.local),
            seg.tcp.dst_port(),
            addr16(seg.remote),
            seg.tcp.src_port(),
        );
        // Options edited: the checksum is recomputed; numbers only: updated for them
        // (exactly, since it was right).
        let mut options_changed = false;
        let mut delta = Delta::default();
        if seg.tcp.syn() {
            let peer = format!("{}:{}", seg.remote, tuple.3);
            if let Some(mss) = self.config.mss {
                options_changed |= set_mss(&mut seg.tcp, mss, true, &seg.remote);
            }
            if self.config.strip_wscale && strip(&mut seg.tcp, OPT_WSCALE) {
                log::debug!("knobs: {peer} window-scale option removed from its SYN");
                options_changed = true;
            }
            if self.config.strip_sack && strip(&mut seg.tcp, OPT_SACK_PERM) {
                log::debug!("knobs: {peer} SACK-permitted option removed from its SYN");
                options_changed = true;
            }
        }
        if let Some(e) = self.table.get_mut(&tuple) {
            e.last = now;
            if e.offset != 0 {
                if seg.tcp.ack() {
                    let ack = seg.tcp.ack_number().0 as u32;
                    let stack = ack.wrapping_sub(e.offset);
                    seg.tcp
                        .set_ack_number(smoltcp::wire::TcpSeqNumber(stack as i32));
                    delta.word32(ACK_AT, ack, stack);
                }
                shift_sack(&mut seg.tcp, e.offset, &mut delta);
            }
            if seg.tcp.fin() {
                e.saw_fin(false, now);
            }
            if seg.tcp.rst() && !self.config.stack_forgets {
                self.table.remove(&tuple);
            }
        }
        let changed = options_changed || delta.any();
        if options_changed {
            seg.tcp.fill_checksum(&seg.remote, &seg.local);
        } else if delta.any() {
            seg.tcp.set_checksum(delta.apply(seg.tcp.checksum()));
        }
        if !self.config.stack_forgets {
            self.purge(now);
        }
        changed
    }

    /// The connection between `local` and `remote` is gone: forget its translation.
    pub fn forget(&mut self, local: smoltcp::wire::IpEndpoint, remote: smoltcp::wire::IpEndpoint) {
        self.table.remove(&(
            addr16(local.addr),
            local.port,
            addr16(remote.addr),
            remote.port,
        ));
    }

    fn insert(&mut self, tuple: Tuple, entry: Entry) {
        if !self.table.contains_key(&tuple) && self.table.len() >= self.config.capacity {
            // Evict the least recently active, preferring finished connections.
            let victim = self
                .table
                .iter()
                .min_by_key(|(_, e)| (e.finished.is_none(), e.last))
                .map(|(t, _)| *t);
            if let Some(v) = victim {
                log::debug!("knobs: table full, forgetting the oldest connection");
                self.table.remove(&v);
            }
        }
        self.table.insert(tuple, entry);
    }

    fn purge(&mut self, now: Instant) {
        if now >= self.last_purge && now - self.last_purge < Duration::from_secs(1) {
            return;
        }
        self.last_purge = now;
        self.table
            .retain(|_, e| e.finished.is_none_or(|f| now - f < FINISHED_LINGER));
    }
}

/// Sets (ours) or clamps (theirs) the MSS option. True if the segment changed.
fn set_mss(tcp: &mut TcpPacket<&mut [u8]>, mss: u16, clamp: bool, peer: &IpAddress) -> bool {
    let opts = tcp.options_mut();
    for (i, len) in spans_of(opts, OPT_MSS) {
        if len == 4 {
            let old = u16::from_be_bytes([opts[i + 2], opts[i + 3]]);
            let new = if clamp { old.min(mss) } else { mss };
            if new != old {
                opts[i + 2..i + 4].copy_from_slice(&new.to_be_bytes());
                log::debug!(
                    "knobs: {peer} MSS option {old} -> {new} in {} SYN",
                    if clamp { "the peer's" } else { "our" }
                );
                return true;
            }
            return false;
        }
    }
    false
}

/// Overwrites every option of `kind` with NOPs. True if one was found.
fn strip(tcp: &mut TcpPacket<&mut [u8]>, kind: u8) -> bool {
    let opts = tcp.options_mut();
    let mut found = false;
    for (i, len) in spans_of(opts, kind) {
        opts[i..i + len].fill(1);
        found = true;
    }
    found
}

/// Translates SACK block edges (our sequence space) from wire to smoltcp's numbers,
/// noting each change in `delta`.
fn shift_sack(tcp: &mut TcpPacket<&mut [u8]>, offset: u32, delta: &mut Delta) {
    let opts = tcp.options_mut();
    for (i, len) in spans_of(opts, OPT_SACK) {
        let mut j = i + 2;
        while j + 8 <= i + len {
            for edge in [j, j + 4] {
                let old = be32(&opts[edge..edge + 4]);
                let new = old.wrapping_sub(offset);
                opts[edge..edge + 4].copy_from_slice(&new.to_be_bytes());
                delta.word32(OPTIONS_AT + edge, old, new);
            }
            j += 8;
        }
    }
}

/// Where fields lie in a TCP header.
const SEQ_AT: usize = 4;
const ACK_AT: usize = 8;
const OPTIONS_AT: usize = 20;

/// Changes made to a segment's bytes, for updating its checksum (RFC 1624, eqn. 3:
/// HC' = ~(~HC + ~m + m')). The sums are one's-complement sums of 16-bit words, each
/// byte weighed by where it lies (the high byte of a word at an even offset), so a field
/// at an odd offset (a SACK edge after a NOP) is counted right.
#[derive(Debug, Default)]
struct Delta {
    old: u32,
    new: u32,
    any: bool,
}

impl Delta {
    /// The 32-bit field at segment offset `at` went from `old` to `new`.
    fn word32(&mut self, at: usize, old: u32, new: u32) {
        self.old += weigh(at, &old.to_be_bytes());
        self.new += weigh(at, &new.to_be_bytes());
        self.any = true;
    }

    fn any(&self) -> bool {
        self.any
    }

    /// The checksum `check` updated for the changes.
    fn apply(&self, check: u16) -> u16 {
        let sum = u32::from(!check) + u32::from(!fold(self.old)) + u32::from(fold(self.new));
        !fold(sum)
    }
}

/// The bytes' contribution to a one's-complement sum of 16-bit words, the first byte
/// lying at offset `at`.
fn weigh(at: usize, bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (at + i).is_multiple_of(2) {
                u32::from(b) << 8
            } else {
                u32::from(b)
            }
        })
        .sum()
}

/// A sum folded to 16 bits, carries added back in.
fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The device middleware: every frame passes the [`Rewriter`].
pub struct KnobsLayer<D: Device> {
    inner: D,
    rewriter: RefCell<Rewriter>,
    /// Reused for received frames that need rewriting (the device's buffer is read-only).
    scratch: RefCell<Vec<u8>>,
}

impl<D: Device> KnobsLayer<D> {
    pub fn new(inner: D, config: RewriteConfig) -> Self {
        let mut rewriter = Rewriter::new(config);
        rewriter.device_checksums = !inner.capabilities().checksum.tcp.tx();
        KnobsLayer {
            inner,
            rewriter: RefCell::new(rewriter),
            scratch: RefCell::new(Vec::new()),
        }
    }

    pub fn inner(&self) -> &D {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    pub fn into_inner(self) -> D {
        self.inner
    }

    pub fn tracked(&self) -> usize {
        self.rewriter.borrow().tracked()
    }

    /// The stack's connection between `local` and `remote` is gone.
    pub fn forget(&self, local: smoltcp::wire::IpEndpoint, remote: smoltcp::wire::IpEndpoint) {
        self.rewriter.borrow_mut().forget(local, remote);
    }
}

impl<D: Device> Device for KnobsLayer<D> {
    type RxToken<'a>
        = KnobsRxToken<'a, D::RxToken<'a>>
    where
        Self: 'a;
    type TxToken<'a>
        = KnobsTxToken<'a, D::TxToken<'a>>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let (rx, tx) = self.inner.receive(now)?;
        Some((
            KnobsRxToken {
                inner: rx,
                rewriter: &self.rewriter,
                scratch: &self.scratch,
                now,
            },
            KnobsTxToken {
                inner: tx,
                rewriter: &self.rewriter,
                now,
            },
        ))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        Some(KnobsTxToken {
            inner: self.inner.transmit(now)?,
            rewriter: &self.rewriter,
            now,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.inner.capabilities()
    }
}

pub struct KnobsRxToken<'a, T> {
    inner: T,
    rewriter: &'a RefCell<Rewriter>,
    scratch: &'a RefCell<Vec<u8>>,
    now: Instant,
}

impl<T: RxToken> RxToken for KnobsRxToken<'_, T> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let (rewriter, scratch, now) = (self.rewriter, self.scratch, self.now);
        self.inner.consume(|frame| {
            if !rewriter.borrow().may_rewrite_incoming(frame) {
                // Nothing to rewrite (the common case without an ISN or MSS knob): no copy.
                return f(frame);
            }
            // Taken out of the cell: smoltcp may transmit (through our TxToken) inside f.
            let mut buf = std::mem::take(&mut *scratch.borrow_mut());
            buf.clear();
            buf.extend_from_slice(frame);
            let r = if rewriter.borrow_mut().incoming(&mut buf, now) {
                f(&buf)
            } else {
                f(frame)
            };
            *scratch.borrow_mut() = buf;
            r
        })
    }
}

pub struct KnobsTxToken<'a, T> {
    inner: T,
    rewriter: &'a RefCell<Rewriter>,
    now: Instant,
}

impl<T: TxToken> TxToken for KnobsTxToken<'_, T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let (rewriter, now) = (self.rewriter, self.now);
        self.inner.consume(len, |buf| {
            let r = f(buf);
            rewriter.borrow_mut().outgoing(buf, now);
            r
        })
    }

    // Passed on: the segmentation size of an offloaded segment (`serve --offload`).
    fn set_meta(&mut self, meta: smoltcp::phy::PacketMeta) {
        self.inner.set_meta(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{self, frame, segment};
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{EthernetFrame, Ipv4Packet, TcpControl, TcpRepr, TcpSeqNumber};

    struct Seg {
        outgoing: bool,
        control: TcpControl,
        seq: u32,
        ack: Option<u32>,
        mss: Option<u16>,
        ws: Option<u8>,
        sack_perm: bool,
        sack: [Option<(u32, u32)>; 3],
    }

    fn seg(outgoing: bool, control: TcpControl, seq: u32, ack: Option<u32>) -> Seg {
        Seg {
            outgoing,
            control,
            seq,
            ack,
            mss: None,
            ws: None,
            sack_perm: false,
            sack: [None; 3],
        }
    }

    fn build(s: &Seg) -> Vec<u8> {
        let (sp, dp) = if s.outgoing { (80, 40000) } else { (40000, 80) };
        let tcp = TcpRepr {
            window_scale: s.ws,
            max_seg_size: s.mss,
            sack_permitted: s.sack_perm,
            sack_ranges: s.sack,
            payload: b"data",
            ..segment(sp, dp, s.control, s.seq, s.ack)
        };
        frame(s.outgoing, &tcp)
    }

    /// Parses a frame back, checking its checksum, as smoltcp would.
    fn parse(frame: &[u8]) -> TcpRepr<'static> {
        let eth = EthernetFrame::new_checked(frame).unwrap();
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        let (src, dst) = (ip.src_addr().into(), ip.dst_addr().into());
        assert!(tcp.verify_checksum(&src, &dst), "checksum must be valid");
        let r = TcpRepr::parse(&tcp, &src, &dst, &ChecksumCapabilities::default()).unwrap();
        TcpRepr { payload: &[], ..r }
    }

    fn config(isn: IsnMode) -> RewriteConfig {
        RewriteConfig {
            isn,
            mss: None,
            strip_wscale: false,
            strip_sack: false,
            isn_key: (1, 2),
            capacity: 16,
            stack_forgets: false,
        }
    }

    fn t(ms: i64) -> Instant {
        Instant::from_millis(ms)
    }

    fn out(rw: &mut Rewriter, s: Seg) -> TcpRepr<'static> {
        let mut f = build(&s);
        rw.outgoing(&mut f, t(0));
        parse(&f)
    }

    fn inc(rw: &mut Rewriter, s: Seg) -> TcpRepr<'static> {
        let mut f = build(&s);
        rw.incoming(&mut f, t(0));
        parse(&f)
    }

    /// A handshake where smoltcp picks `stack_isn` and the wire should show `wire_isn`.
    fn handshake(rw: &mut Rewriter, stack_isn: u32) -> u32 {
        inc(rw, seg(false, TcpControl::Syn, 5000, None));
        let synack = out(rw, seg(true, TcpControl::Syn, stack_isn, Some(5001)));
        synack.seq_number.0 as u32
    }

    #[test]
    fn fixed_isn_translates_our_space_both_ways() {
        let mut rw = Rewriter::new(config(IsnMode::Fixed(1000)));
        assert_eq!(handshake(&mut rw, 777_777), 1000);
        // The peer's ACK of our SYN (wire 1001) reaches smoltcp as its own ISN + 1.
        let ack = inc(&mut rw, seg(false, TcpControl::None, 5001, Some(1001)));
        assert_eq!(ack.ack_number, Some(TcpSeqNumber(777_778)));
        assert_eq!(
            ack.seq_number,
            TcpSeqNumber(5001),
            "peer's numbers untouched"
        );
        // Our data: smoltcp's 777_778 leaves as 1001.
        let data = out(&mut rw, seg(true, TcpControl::Psh, 777_778, Some(5001)));
        assert_eq!(data.seq_number, TcpSeqNumber(1001));
        assert_eq!(data.ack_number, Some(TcpSeqNumber(5001)));
        assert_eq!(rw.tracked(), 1);
    }

    #[test]
    fn sequence_numbers_wrap_around_2_pow_32() {
        // smoltcp starts just below 2^32, the wire at 5: every number crosses the wrap
        // in one direction or the other.
        let stack_isn = u32::MAX - 100;
        let mut rw = Rewriter::new(config(IsnMode::Fixed(5)));
        assert_eq!(handshake(&mut rw, stack_isn), 5);
        let d = out(
            &mut rw,
            seg(true, TcpControl::None, stack_isn.wrapping_add(201), Some(1)),
        );
        assert_eq!(d.seq_number.0 as u32, 206);
        let a = inc(&mut rw, seg(false, TcpControl::None, 1, Some(206)));
        assert_eq!(a.ack_number.unwrap().0 as u32, stack_isn.wrapping_add(201));
        // And the other way: smoltcp low, the wire just below 2^32.
        let mut rw = Rewriter::new(config(IsnMode::Fixed(u32::MAX - 10)));
        assert_eq!(handshake(&mut rw, 3), u32::MAX - 10);
        let d = out(&mut rw, seg(true, TcpControl::None, 3 + 50, Some(1)));
        assert_eq!(d.seq_number.0 as u32, 39); // (2^32 - 10 + 50) mod 2^32
        let a = inc(&mut rw, seg(false, TcpControl::None, 1, Some(39)));
        assert_eq!(a.ack_number.unwrap().0 as u32, 53);
    }

    #[test]
    fn sack_blocks_of_the_peer_are_translated() {
        let mut rw = Rewriter::new(config(IsnMode::Fixed(1000)));
        handshake(&mut rw, 50_000);
        let mut s = seg(false, TcpControl::None, 5001, Some(1001));
        s.sack = [Some((2001, 3001)), Some((4001, 5001)), None];
        let r = inc(&mut rw, s);
        assert_eq!(
            r.sack_ranges,
            [Some((51_001, 52_001)), Some((53_001, 54_001)), None]
        );
    }

    #[test]
    fn a_sack_block_at_an_odd_offset_keeps_the_checksum_right() {
        let mut rw = Rewriter::new(config(IsnMode::Fixed(1000)));
        handshake(&mut rw, 50_000);
        let mut s = seg(false, TcpControl::None, 5001, Some(1001));
        s.sack = [Some((2001, 3001)), None, None];
        let mut f = build(&s);
        // Shift the SACK option one byte on, behind a NOP: its edges at odd offsets.
        let tcp_at = 14 + 20;
        let opts = tcp_at + 20;
        assert_eq!(f[opts], OPT_SACK);
        let sack_len = f[opts + 1] as usize;
        f.copy_within(opts..opts + sack_len, opts + 1);
        f[opts] = 1;
        let (src, dst) = (testutil::CLIENT_IP.into(), testutil::SERVER_IP.into());
        TcpPacket::new_unchecked(&mut f[tcp_at..]).fill_checksum(&src, &dst);
        assert!(rw.incoming(&mut f, t(0)));
        let r = parse(&f);
        assert_eq!(r.sack_ranges[0], Some((51_001, 52_001)));
    }

    #[test]
    fn a_number_update_matches_a_full_recomputation() {
        // Every byte value at every parity: the update equals summing afresh.
        let (src, dst) = (testutil::CLIENT_IP.into(), testutil::SERVER_IP.into());
        let mut f = build(&seg(false, TcpControl::Psh, 77, Some(88)));
        let tcp_at = 14 + 20;
        for (at, old, new) in [
            (SEQ_AT, 77u32, 0xffff_ffffu32),
            (ACK_AT, 88, 0),
            (5, 0x0102_0304, 0xfeed_beef),
            (19, 0, 0x8000_0001),
        ] {
            let bytes = &mut f[tcp_at..];
            bytes[at..at + 4].copy_from_slice(&old.to_be_bytes());
            let mut tcp = TcpPacket::new_unchecked(&mut *bytes);
            tcp.fill_checksum(&src, &dst);
            let before = tcp.checksum();
            let bytes = tcp.into_inner();
            bytes[at..at + 4].copy_from_slice(&new.to_be_bytes());
            let mut d = Delta::default();
            d.word32(at, old, new);
            let mut tcp = TcpPacket::new_unchecked(&mut *bytes);
            tcp.set_checksum(d.apply(before));
            assert!(tcp.verify_checksum(&src, &dst), "field at {at}");
        }
    }

    #[test]
    fn mss_is_set_in_ours_and_clamped_in_theirs() {
        let mut c = config(IsnMode::Random);
        c.mss = Some(536);
        let mut rw = Rewriter::new(c);
        let mut syn = seg(false, TcpControl::Syn, 1, None);
        syn.mss = Some(1460);
        assert_eq!(inc(&mut rw, syn).max_seg_size, Some(536));
        let mut small = seg(false, TcpControl::Syn, 1, None);
        small.mss = Some(400);
        assert_eq!(
            inc(&mut rw, small).max_seg_size,
            Some(400),
            "only ever lowered"
        );
        let mut synack = seg(true, TcpControl::Syn, 9, Some(2));
        synack.mss = Some(1460);
        let r = out(&mut rw, synack);
        assert_eq!(r.max_seg_size, Some(536));
        assert_eq!(r.seq_number, TcpSeqNumber(9), "random ISN: untouched");
    }

    #[test]
    fn window_scale_and_sack_permitted_can_be_stripped() {
        let mut c = config(IsnMode::Random);
        c.strip_wscale = true;
        c.strip_sack = true;
        let mut rw = Rewriter::new(c);
        let mut syn = seg(false, TcpControl::Syn, 1, None);
        syn.mss = Some(1460);
        syn.ws = Some(7);
        syn.sack_perm = true;
        let r = inc(&mut rw, syn);
        assert_eq!(r.window_scale, None);
        assert!(!r.sack_permitted);
        assert_eq!(r.max_seg_size, Some(1460), "other options intact");
    }

    #[test]
    fn a_corrupt_frame_is_never_repaired() {
        let mut rw = Rewriter::new(config(IsnMode::Fixed(1000)));
        handshake(&mut rw, 50_000);
        let mut f = build(&seg(false, TcpControl::None, 5001, Some(1001)));
        let n = f.len();
        f[n - 1] ^= 0xff; // payload corrupted on the wire
        let before = f.clone();
        assert!(!rw.incoming(&mut f, t(0)));
        assert_eq!(f, before);
    }

    #[test]
    fn random_isn_and_no_other_knob_leave_frames_identical() {
        let mut rw = Rewriter::new(config(IsnMode::Random));
        assert!(!rw.config().is_active());
        let s = seg(true, TcpControl::Syn, 123, Some(5));
        let mut f = build(&s);
        rw.outgoing(&mut f, t(0));
        assert_eq!(f, build(&s));
    }

    #[test]
    fn keyed_isn_differs_per_tuple_and_time_but_not_per_retransmission() {
        let mut rw = Rewriter::new(config(IsnMode::Keyed));
        let first = handshake(&mut rw, 42);
        // What std's SipHasher gave before the siphasher crate replaced it.
        assert_eq!(first, 2_393_340_252);
        // A retransmitted SYN-ACK (same smoltcp ISN) keeps its wire ISN, later in time.
        let mut f = build(&seg(true, TcpControl::Syn, 42, Some(5001)));
        rw.outgoing(&mut f, t(1000));
        assert_eq!(parse(&f).seq_number.0 as u32, first);
        // A new connection on the same tuple, later: another ISN.
        let mut f = build(&seg(true, TcpControl::Syn, 43, Some(5001)));
        rw.outgoing(&mut f, t(1000));
        assert_ne!(parse(&f).seq_number.0 as u32, first);
        // Another key: another ISN for the same tuple and time.
        let mut other = config(IsnMode::Keyed);
        other.isn_key = (3, 4);
        let mut rw2 = Rewriter::new(other);
        assert_ne!(handshake(&mut rw2, 42), first);
    }

    #[test]
    fn entries_end_with_rst_or_after_both_fins() {
        let mut rw = Rewriter::new(config(IsnMode::Fixed(1000)));
        handshake(&mut rw, 50_000);
        inc(&mut rw, seg(false, TcpControl::Rst, 5001, Some(1001)));
        assert_eq!(rw.tracked(), 0);

        handshake(&mut rw, 50_000);
        let mut f = build(&seg(true, TcpControl::Fin, 50_001, Some(5001)));
        rw.outgoing(&mut f, t(0));
        let mut f = build(&seg(false, TcpControl::Fin, 5001, Some(1002)));
        rw.incoming(&mut f, t(0));
        assert_eq!(rw.tracked(), 1, "kept for retransmitted FINs");
        let mut f = build(&seg(false, TcpControl::None, 9, None));
        rw.incoming(&mut f, t(31_000));
        assert_eq!(rw.tracked(), 0, "dropped after the linger");
    }

    #[test]
    fn under_a_stack_an_rst_does_not_end_the_translation() {
        // A blind RST that the stack rejects must not take the ISN offset away: every
        // later segment would leave with smoltcp's own numbers.
        let mut c = config(IsnMode::Fixed(1000));
        c.stack_forgets = true;
        let mut rw = Rewriter::new(c);
        handshake(&mut rw, 50_000);
        inc(&mut rw, seg(false, TcpControl::Rst, 999_999, Some(1001)));
        assert_eq!(rw.tracked(), 1);
        let data = out(&mut rw, seg(true, TcpControl::None, 50_001, Some(5001)));
        assert_eq!(data.seq_number.0 as u32, 1001, "still translated");
        // The stack's word ends it.
        let local = smoltcp::wire::IpEndpoint::new(crate::testutil::SERVER_IP.into(), 80);
        let remote = smoltcp::wire::IpEndpoint::new(crate::testutil::CLIENT_IP.into(), 40000);
        rw.forget(local, remote);
        assert_eq!(rw.tracked(), 0);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut c = config(IsnMode::Fixed(1));
        c.capacity = 4;
        let mut rw = Rewriter::new(c);
        for port in 0..10u16 {
            // A distinct peer port per connection.
            let mut f = frame(
                true,
                &segment(80, 41000 + port, TcpControl::Syn, 7, Some(1)),
            );
            rw.outgoing(&mut f, t(port as i64));
        }
        assert_eq!(rw.tracked(), 4);
    }
}
