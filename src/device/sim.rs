//! The lab's virtual wire: two smoltcp [`Device`]s in one process joined by an in-memory
//! Ethernet link with latency, an optional bandwidth, and seeded faults.
//!
//! Frames enter when one end's stack transmits ([`SimEnd`]'s `TxToken`); the wire decides
//! their fate right then — dropped (`--loss`, `--drop SIDE:N`, a full bottleneck queue),
//! delayed (serialization at the bandwidth, latency, `--delay`, `--jitter`, `--reorder`),
//! duplicated or corrupted — and queues them per direction by arrival time. Frames leave
//! when the other end's stack asks for one ([`SimEnd`]'s `receive`) and the frame's arrival
//! time has come. Nothing here reads a clock or sleeps: the caller passes the time in and
//! asks [`Wire::next_delivery`] when the next frame is due, so a run takes CPU time only.
//!
//! One direction, in the order a frame meets it:
//!
//! ```text
//! sender ─▶ bottleneck queue ─▶ serialization ─▶ on the wire: ─▶ latency + delay ─▶ receiver
//!           (--queue: drop-tail,  at --bandwidth   --drop, --loss,  + jitter, + the
//!            frames waiting for                    --corrupt,       --reorder hold
//!            the link)                             --duplicate
//! ```
//!
//! The bottleneck sits at the sending end of each direction, before the latency: a frame
//! that finds the link busy waits its turn, and one that finds `--queue` frames already
//! waiting is dropped (drop-tail) without taking the link. The lab's capture point is the
//! server's end of the wire, so a server frame dropped at the queue is in the listing
//! (sent, as tcpdump on the sending host shows it) and then missing at the client.
//!
//! Every random decision comes from [`SplitMix64`] streams derived from one seed, one
//! stream per kind of fault, so the same seed and the same traffic give the same faults on
//! every machine, and turning one fault on does not change which frames another one hits.

use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::{Duration, Instant};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::rc::Rc;

/// A tiny, seedable pseudo-random generator (Steele, Lea and Flood's SplitMix64): the same
/// seed gives the same numbers everywhere, which is all the lab needs from randomness.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform number in [0, 1) with 53 bits (exact in an f64, so no rounding differs
    /// between machines).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// A uniform number in 0..=n.
    pub fn up_to(&mut self, n: u64) -> u64 {
        if n == u64::MAX {
            self.next_u64()
        } else {
            self.next_u64() % (n + 1)
        }
    }
}

/// A 64-bit value derived from `seed` for one purpose (`label`), so that each use of the
/// seed gets its own independent stream.
pub fn derive_seed(seed: u64, label: &str) -> u64 {
    // FNV-1a of the label, mixed with the seed through one SplitMix64 step.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    SplitMix64::new(seed ^ h).next_u64()
}

/// One end of the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    fn index(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the wire behaves. Faults apply to both directions unless they name a side.
#[derive(Debug, Clone, PartialEq)]
pub struct WireConfig {
    /// One-way propagation delay.
    pub latency: Duration,
    /// Bits per second; None: frames take no time to serialize.
    pub bandwidth: Option<u64>,
    /// Fraction of frames lost (0.1 = 10 %).
    pub loss: f64,
    /// (side, n): drop the n-th frame (counting from 1) that `side` sends.
    pub drops: Vec<(Side, u64)>,
    /// Extra one-way delay on top of `latency`.
    pub delay: Duration,
    /// Each frame gets a uniform extra delay in [0, jitter]; frames may overtake each other.
    pub jitter: Duration,
    /// Fraction of frames held back (by [`WireConfig::reorder_hold`]) so later ones overtake them.
    pub reorder: f64,
    /// Fraction of frames delivered twice.
    pub duplicate: f64,
    /// Fraction of frames with one byte flipped after the Ethernet header (a checksum fails).
    pub corrupt: f64,
    pub seed: u64,
    /// Frames that may wait for the link at the bandwidth bottleneck, per direction
    /// (drop-tail beyond); None: no limit. Needs `bandwidth`.
    pub queue: Option<usize>,
    /// Most frames in flight per direction, a bound on memory; beyond it frames are dropped.
    pub max_in_flight: usize,
}

/// Ethernet header length: corruption starts after it, so the frame still reaches the
/// right stack and fails its IP or TCP checksum there.
const ETH_HEADER: usize = 14;

impl Default for WireConfig {
    fn default() -> Self {
        WireConfig {
            latency: Duration::from_millis(2),
            bandwidth: None,
            loss: 0.0,
            drops: Vec::new(),
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            reorder: 0.0,
            duplicate: 0.0,
            corrupt: 0.0,
            seed: 1,
            queue: None,
            max_in_flight: 10_000,
        }
    }
}

impl WireConfig {
    /// How long a reordered frame is held back: the one-way delay (at least 1 ms), so
    /// that frames sent just after it arrive first.
    pub fn reorder_hold(&self) -> Duration {
        (self.latency + self.delay).max(Duration::from_millis(1))
    }

    /// Checks the values; the error names the flag and what would work.
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("--loss", self.loss),
            ("--reorder", self.reorder),
            ("--duplicate", self.duplicate),
            ("--corrupt", self.corrupt),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(format!(
                    "{name} {p} is not a fraction from 0 up to (not including) 1, e.g. 0.1"
                ));
            }
        }
        if self.bandwidth == Some(0) {
            return Err(
                "--bandwidth 0 would never deliver a frame: give bits per second, e.g. 100mbit"
                    .into(),
            );
        }
        if self.drops.iter().any(|&(_, n)| n == 0) {
            return Err("--drop counts frames from 1: e.g. --drop server:5".into());
        }
        if let Some(q) = self.queue
            && self.bandwidth.is_none()
        {
            return Err(format!(
                "--queue {q} needs --bandwidth: without a bottleneck no frame ever waits, e.g. --bandwidth 10mbit --queue {q}"
            ));
        }
        Ok(())
    }
}

impl fmt::Display for WireConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "latency {} ms each way",
            self.latency.total_micros() as f64 / 1000.0
        )?;
        match self.bandwidth {
            Some(b) => write!(f, ", bandwidth {b} bit/s")?,
            None => write!(f, ", no bandwidth limit")?,
        }
        if let Some(q) = self.queue {
            write!(f, ", queue {q} frames (drop-tail)")?;
        }
        if self.delay > Duration::ZERO {
            write!(
                f,
                ", delay +{} ms",
                self.delay.total_micros() as f64 / 1000.0
            )?;
        }
        if self.jitter > Duration::ZERO {
            write!(
                f,
                ", jitter {} ms",
                self.jitter.total_micros() as f64 / 1000.0
            )?;
        }
        for (name, p) in [
            ("loss", self.loss),
            ("reorder", self.reorder),
            ("duplicate", self.duplicate),
            ("corrupt", self.corrupt),
        ] {
            if p > 0.0 {
                write!(f, ", {name} {p}")?;
            }
        }
        for (side, n) in &self.drops {
            write!(f, ", drop {side}:{n}")?;
        }
        write!(f, ", seed {}", self.seed)
    }
}

/// What the wire did to one frame, for the lab's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// `--loss`.
    Lost,
    /// `--drop SIDE:N`.
    Dropped,
    /// `--queue`: the bottleneck queue was full (drop-tail).
    QueueFull,
    /// More than `max_in_flight` frames were in flight.
    InFlightLimit,
    Reordered,
    Duplicated,
    /// One byte flipped at this offset in the frame.
    Corrupted(usize),
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Lost => f.write_str("lost (--loss)"),
            FaultKind::Dropped => f.write_str("dropped (--drop)"),
            FaultKind::QueueFull => f.write_str("dropped: bottleneck queue full (--queue)"),
            FaultKind::InFlightLimit => f.write_str("dropped: too many frames in flight"),
            FaultKind::Reordered => f.write_str("held back (--reorder)"),
            FaultKind::Duplicated => f.write_str("duplicated (--duplicate)"),
            FaultKind::Corrupted(at) => write!(f, "corrupted at byte {at} (--corrupt)"),
        }
    }
}

/// One fault the wire applied: to the `n`-th frame `side` sent, at `time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub time: Instant,
    pub side: Side,
    pub n: u64,
    pub kind: FaultKind,
}

/// The most fault records kept (the counts go on).
pub const MAX_FAULT_RECORDS: usize = 10_000;

/// A frame on its way.
#[derive(Debug, Clone)]
struct InFlight {
    frame: Vec<u8>,
    /// The sender's count for it (its `n`).
    n: u64,
}

/// The frames and counters of one direction.
#[derive(Debug, Default)]
struct Direction {
    /// By (arrival time, order of sending): FIFO among frames that arrive together.
    queue: BTreeMap<(Instant, u64), InFlight>,
    /// When the sender's side of the link is free to serialize the next frame.
    free_at: Option<Instant>,
    /// When each frame waiting at the bottleneck starts its serialization, oldest first
    /// (kept only with a `--queue`).
    waiting: VecDeque<Instant>,
    /// The most frames that waited at once.
    peak_waiting: usize,
    /// Frames sent into this direction so far.
    sent: u64,
}

/// Independent random streams, one per kind of fault.
#[derive(Debug)]
struct Streams {
    loss: SplitMix64,
    jitter: SplitMix64,
    reorder: SplitMix64,
    duplicate: SplitMix64,
    corrupt: SplitMix64,
}

/// The shared state of the wire: both directions, the faults and the counters.
#[derive(Debug)]
pub struct WireState {
    config: WireConfig,
    /// Indexed by the sending side.
    dirs: [Direction; 2],
    rng: Streams,
    order: u64,
    /// Frames each side may still take in before the caller re-arms it; None: any.
    budget: [Option<usize>; 2],
    /// The sender's `n` of the frame each side received last.
    last_received: [Option<u64>; 2],
    faults: Vec<Fault>,
    fault_count: u64,
    mtu: usize,
}

/// The wire, shared by its two ends and the caller.
#[derive(Debug, Clone)]
pub struct Wire(Rc<RefCell<WireState>>);

impl Wire {
    /// A wire for frames of up to `mtu` IP bytes (plus the Ethernet header).
    pub fn new(config: WireConfig, mtu: usize) -> Wire {
        let seed = config.seed;
        let rng = Streams {
            loss: SplitMix64::new(derive_seed(seed, "wire-loss")),
            jitter: SplitMix64::new(derive_seed(seed, "wire-jitter")),
            reorder: SplitMix64::new(derive_seed(seed, "wire-reorder")),
            duplicate: SplitMix64::new(derive_seed(seed, "wire-duplicate")),
            corrupt: SplitMix64::new(derive_seed(seed, "wire-corrupt")),
        };
        Wire(Rc::new(RefCell::new(WireState {
            config,
            dirs: [Direction::default(), Direction::default()],
            rng,
            order: 0,
            budget: [None, None],
            last_received: [None, None],
            faults: Vec::new(),
            fault_count: 0,
            mtu,
        })))
    }

    /// The device for one end.
    pub fn end(&self, side: Side) -> SimEnd {
        SimEnd {
            wire: self.clone(),
            side,
        }
    }

    /// A frame `side` sends at `now`: the wire decides its fate and queues it.
    pub fn send(&self, side: Side, now: Instant, frame: Vec<u8>) {
        self.0.borrow_mut().send(side, now, frame);
    }

    /// The next frame for `side` that has arrived by `now`, if its budget allows one.
    pub fn receive(&self, side: Side, now: Instant) -> Option<Vec<u8>> {
        self.0.borrow_mut().receive(side, now)
    }

    /// When the next frame arrives at either end (None: nothing in flight).
    pub fn next_delivery(&self) -> Option<Instant> {
        let s = self.0.borrow();
        s.dirs
            .iter()
            .filter_map(|d| d.queue.keys().next().map(|k| k.0))
            .min()
    }

    /// True if a frame for `side` has arrived by `now`.
    pub fn has_due(&self, side: Side, now: Instant) -> bool {
        let s = self.0.borrow();
        s.dirs[side.other().index()]
            .queue
            .keys()
            .next()
            .is_some_and(|k| k.0 <= now)
    }

    /// Lets `side` take in at most `frames` more frames (None: no limit). The lab gives
    /// each end one frame per step, so every state change is tied to the frame causing it.
    pub fn set_budget(&self, side: Side, frames: Option<usize>) {
        self.0.borrow_mut().budget[side.index()] = frames;
    }

    /// The sender's number (`n`) of the frame `side` took in last, and forgets it.
    pub fn take_last_received(&self, side: Side) -> Option<u64> {
        self.0.borrow_mut().last_received[side.index()].take()
    }

    /// Frames `side` has sent so far.
    pub fn sent(&self, side: Side) -> u64 {
        self.0.borrow().dirs[side.index()].sent
    }

    /// Frames still in flight, both directions.
    pub fn in_flight(&self) -> usize {
        self.0.borrow().dirs.iter().map(|d| d.queue.len()).sum()
    }

    /// The most frames that waited at once at `side`'s end of the bottleneck.
    pub fn peak_queue(&self, side: Side) -> usize {
        self.0.borrow().dirs[side.index()].peak_waiting
    }

    /// The faults applied so far (the first [`MAX_FAULT_RECORDS`]) and their total count.
    pub fn faults(&self) -> (Vec<Fault>, u64) {
        let s = self.0.borrow();
        (s.faults.clone(), s.fault_count)
    }
}

impl WireState {
    fn record(&mut self, time: Instant, side: Side, n: u64, kind: FaultKind) {
        self.fault_count += 1;
        if self.faults.len() < MAX_FAULT_RECORDS {
            self.faults.push(Fault {
                time,
                side,
                n,
                kind,
            });
        }
        log::debug!("wire: {side} frame {n} {kind}");
    }

    fn send(&mut self, side: Side, now: Instant, mut frame: Vec<u8>) {
        let dir = side.index();
        self.dirs[dir].sent += 1;
        let n = self.dirs[dir].sent;
        let c = &self.config;
        // Each stream is drawn from only when its fault is on, and once per frame, so a
        // fault's choices depend on the seed and the frame count alone.
        let lost = self.rng.loss.chance(c.loss);
        let jitter = if c.jitter > Duration::ZERO {
            Duration::from_micros(self.rng.jitter.up_to(c.jitter.total_micros()))
        } else {
            Duration::ZERO
        };
        let reordered = self.rng.reorder.chance(c.reorder);
        let duplicated = self.rng.duplicate.chance(c.duplicate);
        let corrupt_at = if self.rng.corrupt.chance(c.corrupt) && frame.len() > ETH_HEADER {
            let span = (frame.len() - ETH_HEADER - 1) as u64;
            Some(ETH_HEADER + self.rng.corrupt.up_to(span) as usize)
        } else {
            None
        };

        // The bottleneck queue: frames whose serialization has started no longer wait.
        let start = self.dirs[dir].free_at.map_or(now, |f| f.max(now));
        if let Some(limit) = c.queue {
            let d = &mut self.dirs[dir];
            while d.waiting.front().is_some_and(|&t| t <= now) {
                d.waiting.pop_front();
            }
            if start > now {
                if d.waiting.len() >= limit {
                    self.record(now, side, n, FaultKind::QueueFull);
                    return;
                }
                d.waiting.push_back(start);
                d.peak_waiting = d.peak_waiting.max(d.waiting.len());
            }
        }
        let c = &self.config;
        // Serialization takes the link whether or not the frame survives: a frame lost
        // on the way was still sent.
        let done = match c.bandwidth {
            Some(bps) => {
                let bits = frame.len() as u64 * 8;
                start + Duration::from_micros((bits * 1_000_000).div_ceil(bps))
            }
            None => start,
        };
        self.dirs[dir].free_at = Some(done);

        if c.drops.contains(&(side, n)) {
            self.record(now, side, n, FaultKind::Dropped);
            return;
        }
        if lost {
            self.record(now, side, n, FaultKind::Lost);
            return;
        }
        if self.dirs[dir].queue.len() >= c.max_in_flight {
            self.record(now, side, n, FaultKind::InFlightLimit);
            return;
        }
        let mut arrive = done + c.latency + c.delay + jitter;
        if reordered {
            arrive += c.reorder_hold();
            self.record(now, side, n, FaultKind::Reordered);
        }
        if let Some(at) = corrupt_at {
            frame[at] ^= 0xff;
            self.record(now, side, n, FaultKind::Corrupted(at));
        }
        if duplicated {
            self.record(now, side, n, FaultKind::Duplicated);
            self.order += 1;
            self.dirs[dir].queue.insert(
                (arrive, self.order),
                InFlight {
                    frame: frame.clone(),
                    n,
                },
            );
        }
        self.order += 1;
        self.dirs[dir]
            .queue
            .insert((arrive, self.order), InFlight { frame, n });
    }

    fn receive(&mut self, side: Side, now: Instant) -> Option<Vec<u8>> {
        let i = side.index();
        if self.budget[i] == Some(0) {
            return None;
        }
        let dir = &mut self.dirs[side.other().index()];
        let key = *dir.queue.keys().next().filter(|k| k.0 <= now)?;
        let f = dir.queue.remove(&key)?;
        if let Some(b) = self.budget[i].as_mut() {
            *b -= 1;
        }
        self.last_received[i] = Some(f.n);
        Some(f.frame)
    }
}

/// One end of the wire as a smoltcp Ethernet device.
pub struct SimEnd {
    wire: Wire,
    side: Side,
}

impl Device for SimEnd {
    type RxToken<'a>
        = SimRxToken
    where
        Self: 'a;
    type TxToken<'a>
        = SimTxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let frame = self.wire.receive(self.side, now)?;
        Some((
            SimRxToken { frame },
            SimTxToken {
                wire: &self.wire,
                side: self.side,
                now,
            },
        ))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        Some(SimTxToken {
            wire: &self.wire,
            side: self.side,
            now,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.wire.0.borrow().mtu + ETH_HEADER;
        caps
    }
}

pub struct SimRxToken {
    frame: Vec<u8>,
}

impl RxToken for SimRxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.frame)
    }
}

pub struct SimTxToken<'a> {
    wire: &'a Wire,
    side: Side,
    now: Instant,
}

impl TxToken for SimTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0u8; len];
        let r = f(&mut buf);
        self.wire.send(self.side, self.now, buf);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Instant = Instant::from_millis_const(1_000);

    fn frame(i: u8) -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[20] = i;
        f
    }

    fn wire(c: WireConfig) -> Wire {
        Wire::new(c, 1500)
    }

    /// Sends `count` frames from `side` at `at`, 1 ms apart, then collects what arrives
    /// at the other side within 10 s: (arrival ms after T0, marker byte).
    fn run(w: &Wire, side: Side, count: u8) -> Vec<(i64, u8)> {
        for i in 0..count {
            w.send(side, T0 + Duration::from_millis(i as u64), frame(i));
        }
        let mut out = Vec::new();
        while let Some(t) = w.next_delivery() {
            while let Some(f) = w.receive(side.other(), t) {
                out.push(((t - T0).total_millis() as i64, f[20]));
            }
        }
        out
    }

    #[test]
    fn prng_is_splitmix64() {
        // First outputs for seed 1234567, as published with the reference implementation.
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
        let mut r = SplitMix64::new(7);
        for _ in 0..1000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.up_to(5) <= 5);
        }
        assert_ne!(derive_seed(1, "a"), derive_seed(1, "b"));
        assert_ne!(derive_seed(1, "a"), derive_seed(2, "a"));
    }

    #[test]
    fn latency_and_order() {
        let w = wire(WireConfig::default());
        let got = run(&w, Side::Client, 5);
        assert_eq!(got, vec![(2, 0), (3, 1), (4, 2), (5, 3), (6, 4)]);
        // Nothing arrives early, and the other direction is separate.
        w.send(Side::Server, T0, frame(9));
        assert!(
            w.receive(Side::Client, T0 + Duration::from_micros(1999))
                .is_none()
        );
        assert!(
            w.receive(Side::Server, T0 + Duration::from_millis(5))
                .is_none()
        );
        assert_eq!(
            w.receive(Side::Client, T0 + Duration::from_millis(2))
                .unwrap()[20],
            9
        );
        assert_eq!(w.sent(Side::Server), 1);
    }

    #[test]
    fn frames_sent_together_arrive_in_order() {
        let w = wire(WireConfig::default());
        for i in 0..50 {
            w.send(Side::Server, T0, frame(i));
        }
        let t = w.next_delivery().unwrap();
        let got: Vec<u8> =
            std::iter::from_fn(|| w.receive(Side::Client, t).map(|f| f[20])).collect();
        assert_eq!(got, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn bandwidth_serializes_frames() {
        // 60 bytes = 480 bits at 480 kbit/s = 1 ms each.
        let w = wire(WireConfig {
            bandwidth: Some(480_000),
            ..WireConfig::default()
        });
        for i in 0..3 {
            w.send(Side::Client, T0, frame(i));
        }
        let mut times = Vec::new();
        while let Some(t) = w.next_delivery() {
            w.receive(Side::Server, t).unwrap();
            times.push((t - T0).total_millis());
        }
        assert_eq!(times, vec![3, 4, 5]);
    }

    #[test]
    fn drop_takes_the_nth_frame_of_one_side() {
        let w = wire(WireConfig {
            drops: vec![(Side::Client, 2), (Side::Server, 1)],
            ..WireConfig::default()
        });
        let got: Vec<u8> = run(&w, Side::Client, 4).into_iter().map(|x| x.1).collect();
        assert_eq!(got, vec![0, 2, 3]);
        let got: Vec<u8> = run(&w, Side::Server, 2).into_iter().map(|x| x.1).collect();
        assert_eq!(got, vec![1]);
        let (faults, count) = w.faults();
        assert_eq!(count, 2);
        assert_eq!(
            (faults[0].side, faults[0].n, faults[0].kind),
            (Side::Client, 2, FaultKind::Dropped)
        );
    }

    #[test]
    fn loss_is_about_the_fraction_and_fixed_by_the_seed() {
        let c = WireConfig {
            loss: 0.1,
            ..WireConfig::default()
        };
        let a = run(&wire(c.clone()), Side::Client, 200);
        let b = run(&wire(c.clone()), Side::Client, 200);
        assert_eq!(a, b, "same seed, same losses");
        assert!((160..=195).contains(&a.len()), "{} of 200 arrived", a.len());
        let other = run(&wire(WireConfig { seed: 2, ..c }), Side::Client, 200);
        assert_ne!(a, other, "another seed, other losses");
    }

    #[test]
    fn delay_and_jitter() {
        let w = wire(WireConfig {
            delay: Duration::from_millis(10),
            ..WireConfig::default()
        });
        assert_eq!(run(&w, Side::Client, 1), vec![(12, 0)]);
        let c = WireConfig {
            jitter: Duration::from_millis(5),
            ..WireConfig::default()
        };
        let a = run(&wire(c.clone()), Side::Client, 100);
        assert_eq!(a, run(&wire(c), Side::Client, 100));
        assert_eq!(a.len(), 100);
        for (i, (t, m)) in a.iter().enumerate() {
            let sent = *m as i64;
            assert!(
                (sent + 2..=sent + 7).contains(t),
                "frame {i}: sent {sent}, arrived {t}"
            );
        }
        // With 5 ms of jitter on frames 1 ms apart, some overtake others.
        assert!(a.windows(2).any(|w| w[0].1 > w[1].1));
    }

    #[test]
    fn reorder_holds_frames_back() {
        let w = wire(WireConfig {
            reorder: 0.3,
            ..WireConfig::default()
        });
        for i in 0..40 {
            w.send(Side::Client, T0, frame(i));
        }
        let mut got = Vec::new();
        while let Some(t) = w.next_delivery() {
            while let Some(f) = w.receive(Side::Server, t) {
                got.push(f[20]);
            }
        }
        assert_eq!(got.len(), 40);
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, (0..40).collect::<Vec<_>>());
        assert_ne!(got, sorted, "some frames overtaken");
        let held = w
            .faults()
            .0
            .iter()
            .filter(|f| f.kind == FaultKind::Reordered)
            .count();
        assert!(held > 0);
        // Those on time keep their order, and so do the held-back ones after them.
        let (on_time, late) = got.split_at(40 - held);
        assert!(on_time.windows(2).all(|p| p[0] < p[1]), "{got:?}");
        assert!(late.windows(2).all(|p| p[0] < p[1]), "{got:?}");
    }

    #[test]
    fn duplicate_delivers_twice() {
        let w = wire(WireConfig {
            duplicate: 0.5,
            ..WireConfig::default()
        });
        let got = run(&w, Side::Server, 20);
        let dups = w
            .faults()
            .0
            .iter()
            .filter(|f| f.kind == FaultKind::Duplicated)
            .count();
        assert!(dups > 0);
        assert_eq!(got.len(), 20 + dups);
        for p in got.windows(2) {
            assert!(p[0].1 <= p[1].1, "a copy follows its original: {got:?}");
        }
    }

    #[test]
    fn corrupt_flips_one_byte_after_the_ethernet_header() {
        let w = wire(WireConfig {
            corrupt: 0.5,
            ..WireConfig::default()
        });
        for i in 0..20 {
            w.send(Side::Client, T0, frame(i));
        }
        let t = w.next_delivery().unwrap();
        let mut flipped = 0;
        for i in 0..20 {
            let f = w.receive(Side::Server, t).unwrap();
            let diff: Vec<usize> = (0..60).filter(|&j| f[j] != frame(i)[j]).collect();
            assert!(
                diff.len() <= 1 && diff.iter().all(|&j| j >= ETH_HEADER),
                "{diff:?}"
            );
            flipped += diff.len();
        }
        let corrupted = w
            .faults()
            .0
            .iter()
            .filter(|f| matches!(f.kind, FaultKind::Corrupted(_)))
            .count();
        assert!(corrupted > 0);
        assert_eq!(flipped, corrupted);
    }

    #[test]
    fn budget_limits_frames_per_step() {
        let w = wire(WireConfig::default());
        for i in 0..3 {
            w.send(Side::Client, T0, frame(i));
        }
        let t = w.next_delivery().unwrap();
        w.set_budget(Side::Server, Some(1));
        assert!(w.receive(Side::Server, t).is_some());
        assert!(w.receive(Side::Server, t).is_none());
        assert_eq!(w.take_last_received(Side::Server), Some(1));
        assert_eq!(w.take_last_received(Side::Server), None);
        w.set_budget(Side::Server, None);
        assert!(w.receive(Side::Server, t).is_some());
        assert!(w.receive(Side::Server, t).is_some());
        assert_eq!(w.in_flight(), 0);
    }

    #[test]
    fn too_many_in_flight_drops() {
        let w = wire(WireConfig {
            max_in_flight: 2,
            ..WireConfig::default()
        });
        for i in 0..4 {
            w.send(Side::Client, T0, frame(i));
        }
        assert_eq!(w.in_flight(), 2);
        assert_eq!(w.faults().1, 2);
    }

    #[test]
    fn the_bottleneck_queue_drops_the_tail() {
        // 60 bytes at 480 kbit/s: 1 ms on the link each. Two may wait behind the one
        // being sent; of five sent at once, the last two find the queue full.
        let w = wire(WireConfig {
            bandwidth: Some(480_000),
            queue: Some(2),
            ..WireConfig::default()
        });
        for i in 0..5 {
            w.send(Side::Server, T0, frame(i));
        }
        assert_eq!(w.peak_queue(Side::Server), 2);
        assert_eq!(w.peak_queue(Side::Client), 0);
        let (faults, count) = w.faults();
        assert_eq!(count, 2);
        assert!(
            faults
                .iter()
                .all(|f| f.kind == FaultKind::QueueFull && f.side == Side::Server),
            "{faults:?}"
        );
        assert_eq!(
            faults.iter().map(|f| f.n).collect::<Vec<_>>(),
            vec![4, 5],
            "the tail is dropped"
        );
        // A dropped frame takes no link time: the survivors leave back to back, and
        // arrive 2 ms (latency) after their serialization ends.
        let mut got = Vec::new();
        while let Some(t) = w.next_delivery() {
            while let Some(f) = w.receive(Side::Client, t) {
                got.push(((t - T0).total_millis(), f[20]));
            }
        }
        assert_eq!(got, vec![(3, 0), (4, 1), (5, 2)]);
    }

    #[test]
    fn the_queue_drains_as_the_link_sends() {
        let w = wire(WireConfig {
            bandwidth: Some(480_000),
            queue: Some(1),
            ..WireConfig::default()
        });
        for i in 0..3 {
            w.send(Side::Client, T0, frame(i));
        }
        assert_eq!(w.faults().1, 1, "frame 3 finds frame 2 waiting");
        // At 1 ms frame 2 starts on the link: the queue is empty again.
        w.send(Side::Client, T0 + Duration::from_millis(1), frame(3));
        assert_eq!(w.faults().1, 1);
        w.send(Side::Client, T0 + Duration::from_millis(1), frame(4));
        assert_eq!(w.faults().1, 2);
        // With a free link nothing waits, even with no room at all.
        let w = wire(WireConfig {
            bandwidth: Some(480_000),
            queue: Some(0),
            ..WireConfig::default()
        });
        w.send(Side::Client, T0, frame(0));
        w.send(Side::Client, T0, frame(1));
        w.send(Side::Client, T0 + Duration::from_millis(1), frame(2));
        let got: Vec<u8> = std::iter::from_fn(|| {
            let t = w.next_delivery()?;
            w.receive(Side::Server, t).map(|f| f[20])
        })
        .collect();
        assert_eq!(got, vec![0, 2]);
    }

    #[test]
    fn queue_drops_do_not_change_the_other_faults() {
        // The loss stream is drawn for every frame, so which frames --loss takes does not
        // depend on whether the queue dropped others first.
        let lossy = WireConfig {
            loss: 0.3,
            bandwidth: Some(480_000),
            ..WireConfig::default()
        };
        let lost = |c: WireConfig| -> Vec<u64> {
            let w = wire(c);
            for i in 0..40 {
                w.send(
                    Side::Client,
                    T0 + Duration::from_micros(500 * i as u64),
                    frame(i),
                );
            }
            w.faults()
                .0
                .iter()
                .filter(|f| f.kind == FaultKind::Lost)
                .map(|f| f.n)
                .collect()
        };
        let all = lost(lossy.clone());
        let queued = lost(WireConfig {
            queue: Some(3),
            ..lossy
        });
        assert!(!queued.is_empty());
        assert!(
            queued.iter().all(|n| all.contains(n)),
            "{queued:?} ⊄ {all:?}"
        );
    }

    #[test]
    fn bad_values_are_refused() {
        for c in [
            WireConfig {
                loss: 1.0,
                ..WireConfig::default()
            },
            WireConfig {
                corrupt: -0.1,
                ..WireConfig::default()
            },
            WireConfig {
                bandwidth: Some(0),
                ..WireConfig::default()
            },
            WireConfig {
                drops: vec![(Side::Client, 0)],
                ..WireConfig::default()
            },
            WireConfig {
                queue: Some(10),
                ..WireConfig::default()
            },
        ] {
            assert!(c.validate().is_err(), "{c:?}");
        }
        assert!(WireConfig::default().validate().is_ok());
    }
}
