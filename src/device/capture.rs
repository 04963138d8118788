//! The capture point: [`Capture`], a device middleware placed right above the tap (or the
//! lab's wire end) so that it sees exactly the frames tcpdump on tap0 sees, in the order
//! they cross it.
//!
//! Every frame, both directions, goes to one [`CaptureSink`]: it writes the frame to the
//! pcap file (if any; the bytes of smoltcp's `PcapWriter`, whose [`PcapSink`] format it
//! uses) and hands the frame to each [`FrameObserver`] (live listing, step mode,
//! `/tcpinfo`'s table, the lab's recorder). The file is flushed once per step of the
//! server, not per frame ([`CaptureFile::flush`], which the server side calls after every
//! step, and on drop): whenever the process is stopped or waits for the network, the file
//! holds every frame so far.
//!
//! A frame's timestamp is its wire time when the device knows it: the tap stamps a
//! [`WireTime`] the moment it has read a frame from its fd or written one to it, so our
//! capture and tcpdump's agree (and an ARP request and our reply get two stamps, not the
//! one of the poll that handled both). A received frame is recorded before smoltcp gets
//! it; a transmitted one once the device has taken it (it is copied first, since the
//! device's buffer is gone by then). A device without wire times (the lab's and the
//! script's virtual wires) gets the time smoltcp passed in: the virtual clock.
//!
//! smoltcp's own `PcapSink for Write` panics when a write fails; this one logs the error
//! once and stops writing, and the stack goes on.

use smoltcp::phy::{
    Device, DeviceCapabilities, PacketMeta, PcapLinkType, PcapSink, RxToken, TxToken,
};
use smoltcp::time::Instant;
use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::rc::Rc;

/// Something that wants to see every frame at the capture point.
pub trait FrameObserver {
    fn frame(&mut self, time: Instant, frame: &[u8]);
}

/// When the frame a device just read or wrote crossed its wire: set by the device, taken
/// by the [`Capture`] above it (the two share it).
#[derive(Debug, Clone, Default)]
pub struct WireTime(Rc<Cell<Option<Instant>>>);

impl WireTime {
    pub fn new() -> WireTime {
        WireTime::default()
    }

    /// The device has just read or written a frame, at `t`.
    pub fn stamp(&self, t: Instant) {
        self.0.set(Some(t));
    }

    /// The stamp of the frame just read or written, once.
    fn take(&self) -> Option<Instant> {
        self.0.take()
    }
}

pub struct CaptureSink {
    file: CaptureFile,
    observers: Vec<Rc<RefCell<dyn FrameObserver>>>,
    /// A transmitted frame, between the device taking it and its record.
    held: Vec<u8>,
}

/// The pcap file of a [`CaptureSink`], shared with whoever flushes it.
#[derive(Clone)]
pub struct CaptureFile(Rc<RefCell<FileState>>);

struct FileState {
    file: Option<BufWriter<File>>,
    name: String,
    failed: bool,
}

impl CaptureFile {
    /// Writes out what is buffered.
    pub fn flush(&self) {
        let mut st = self.0.borrow_mut();
        if st.failed {
            return;
        }
        if let Some(f) = st.file.as_mut()
            && let Err(e) = Write::flush(f)
        {
            st.fail(e);
        }
    }

    fn write(&self, data: &[u8]) {
        let mut st = self.0.borrow_mut();
        if st.failed {
            return;
        }
        if let Some(f) = st.file.as_mut()
            && let Err(e) = Write::write_all(f, data)
        {
            st.fail(e);
        }
    }
}

impl FileState {
    fn fail(&mut self, e: std::io::Error) {
        log::error!(
            "writing the capture {}: {e}; the capture stops here",
            self.name
        );
        self.failed = true;
    }
}

impl CaptureSink {
    /// A sink writing to `pcap` (created or truncated), if given, and showing every
    /// frame to each of `observers` in turn.
    pub fn new(
        pcap: Option<&Path>,
        observers: Vec<Rc<RefCell<dyn FrameObserver>>>,
    ) -> std::io::Result<CaptureSink> {
        let file = match pcap {
            Some(p) => Some(BufWriter::with_capacity(256 * 1024, File::create(p)?)),
            None => None,
        };
        Ok(CaptureSink {
            file: CaptureFile(Rc::new(RefCell::new(FileState {
                file,
                name: pcap.map(|p| p.display().to_string()).unwrap_or_default(),
                failed: false,
            }))),
            observers,
            held: Vec::new(),
        })
    }

    /// The file, for flushing it from outside the device chain.
    pub fn file(&self) -> CaptureFile {
        self.file.clone()
    }

    /// Keeps a copy of a transmitted frame until [`CaptureSink::record_held`].
    fn hold(&mut self, frame: &[u8]) {
        self.held.clear();
        self.held.extend_from_slice(frame);
    }

    fn record_held(&mut self, time: Instant) {
        let frame = std::mem::take(&mut self.held);
        self.packet(time, &frame);
        self.held = frame;
    }
}

impl PcapSink for CaptureSink {
    fn write(&mut self, data: &[u8]) {
        self.file.write(data);
    }

    fn flush(&mut self) {
        self.file.flush();
    }

    fn packet(&mut self, timestamp: Instant, packet: &[u8]) {
        let len = packet.len().min(self.max_packet_size() as usize);
        self.packet_header(timestamp, packet.len());
        self.write(&packet[..len]);
        for o in &self.observers {
            o.borrow_mut().frame(timestamp, packet);
        }
    }
}

/// The device `D` with every frame recorded in a [`CaptureSink`], stamped with its
/// [`WireTime`] if `D` gives one, else with the time smoltcp passed in.
pub struct Capture<D: Device> {
    lower: D,
    sink: RefCell<CaptureSink>,
    wire: Option<WireTime>,
}

impl<D: Device> Capture<D> {
    /// Writes the pcap's global header (Ethernet: the only medium taplab builds) at once.
    pub fn new(lower: D, mut sink: CaptureSink, wire: Option<WireTime>) -> Capture<D> {
        sink.global_header(PcapLinkType::Ethernet);
        Capture {
            lower,
            sink: RefCell::new(sink),
            wire,
        }
    }
}

impl<D: Device> Device for Capture<D> {
    type RxToken<'a>
        = CaptureRx<'a, D::RxToken<'a>>
    where
        Self: 'a;
    type TxToken<'a>
        = CaptureTx<'a, D::TxToken<'a>>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let (rx, tx) = self.lower.receive(now)?;
        // The device stamped the frame as it read it; a reply sent with `tx` gets its own.
        let stamp = self.wire.as_ref().and_then(WireTime::take).unwrap_or(now);
        Some((
            CaptureRx {
                token: rx,
                sink: &self.sink,
                stamp,
            },
            CaptureTx {
                token: tx,
                sink: &self.sink,
                wire: self.wire.as_ref(),
                now,
            },
        ))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        let token = self.lower.transmit(now)?;
        Some(CaptureTx {
            token,
            sink: &self.sink,
            wire: self.wire.as_ref(),
            now,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.lower.capabilities()
    }
}

pub struct CaptureRx<'a, T: RxToken> {
    token: T,
    sink: &'a RefCell<CaptureSink>,
    stamp: Instant,
}

impl<T: RxToken> RxToken for CaptureRx<'_, T> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let (sink, stamp) = (self.sink, self.stamp);
        self.token.consume(|frame| {
            sink.borrow_mut().packet(stamp, frame);
            f(frame)
        })
    }

    fn meta(&self) -> PacketMeta {
        self.token.meta()
    }
}

pub struct CaptureTx<'a, T: TxToken> {
    token: T,
    sink: &'a RefCell<CaptureSink>,
    wire: Option<&'a WireTime>,
    now: Instant,
}

impl<T: TxToken> TxToken for CaptureTx<'_, T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let sink = self.sink;
        let r = self.token.consume(len, |frame| {
            let r = f(frame);
            sink.borrow_mut().hold(frame);
            r
        });
        // The device has written the frame (and stamped it, if it can).
        let stamp = self.wire.and_then(WireTime::take).unwrap_or(self.now);
        sink.borrow_mut().record_held(stamp);
        r
    }

    fn set_meta(&mut self, meta: PacketMeta) {
        self.token.set_meta(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::{Loopback, Medium};

    struct Count(usize);
    impl FrameObserver for Count {
        fn frame(&mut self, _: Instant, _: &[u8]) {
            self.0 += 1;
        }
    }

    fn scratch(tag: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("taplab-capture-{}-{tag}.pcap", std::process::id()))
    }

    #[test]
    fn writes_a_pcap_frame_by_frame_and_tells_the_observer() {
        let path = scratch("frames");
        let count = Rc::new(RefCell::new(Count(0)));
        let sink = CaptureSink::new(Some(&path), vec![count.clone()]).unwrap();
        let file = sink.file();
        let mut dev = Capture::new(Loopback::new(Medium::Ethernet), sink, None);
        let t = Instant::from_millis(1_500);
        dev.transmit(t).unwrap().consume(60, |b| b.fill(0xab));
        // Once flushed, the file holds the global header and one whole record.
        file.flush();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 24 + 16 + 60);
        assert_eq!(&bytes[..4], &0xa1b2c3d4u32.to_ne_bytes());
        assert_eq!(&bytes[24..28], &1u32.to_ne_bytes(), "seconds");
        assert_eq!(&bytes[28..32], &500_000u32.to_ne_bytes(), "microseconds");
        let (rx, _) = dev.receive(t).unwrap();
        rx.consume(|f| assert_eq!(f.len(), 60));
        file.flush();
        assert_eq!(std::fs::read(&path).unwrap().len(), 24 + 2 * (16 + 60));
        assert_eq!(count.borrow().0, 2);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn without_wire_times_the_file_has_smoltcps_pcap_bytes() {
        // smoltcp's PcapWriter writes what its PcapSink methods make of each frame and the
        // time passed in; the same methods on a Vec are the bytes to expect.
        let path = scratch("same");
        let sink = CaptureSink::new(Some(&path), Vec::new()).unwrap();
        let file = sink.file();
        let mut ours = Capture::new(Loopback::new(Medium::Ethernet), sink, None);
        let mut want = Vec::new();
        want.global_header(PcapLinkType::Ethernet);
        for (i, len) in [60usize, 1514, 42].into_iter().enumerate() {
            let t = Instant::from_micros(1_767_225_600_000_000 + 1234 * i as i64);
            let frame: Vec<u8> = (0..len).map(|j| j as u8).collect();
            ours.transmit(t)
                .unwrap()
                .consume(len, |b| b.copy_from_slice(&frame));
            ours.receive(t).unwrap().0.consume(|_| ());
            want.packet(t, &frame);
            want.packet(t, &frame);
        }
        file.flush();
        assert_eq!(std::fs::read(&path).unwrap(), want);
        let _ = std::fs::remove_file(&path);
    }

    /// A Loopback that stamps its wire as a tap does: on reading a frame and after
    /// writing one, from a clock that ticks 7 µs per look.
    struct Stamping {
        inner: Loopback,
        wire: WireTime,
        clock: Rc<Cell<i64>>,
    }

    fn tick(clock: &Cell<i64>) -> Instant {
        clock.set(clock.get() + 7);
        Instant::from_micros(clock.get())
    }

    struct StampingTx<'a> {
        inner: <Loopback as Device>::TxToken<'a>,
        wire: WireTime,
        clock: Rc<Cell<i64>>,
    }

    impl TxToken for StampingTx<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            let r = self.inner.consume(len, f);
            self.wire.stamp(tick(&self.clock));
            r
        }
    }

    impl Device for Stamping {
        type RxToken<'a> = <Loopback as Device>::RxToken<'a>;
        type TxToken<'a> = StampingTx<'a>;
        fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, StampingTx<'_>)> {
            let (rx, tx) = self.inner.receive(now)?;
            self.wire.stamp(tick(&self.clock));
            let (wire, clock) = (self.wire.clone(), self.clock.clone());
            Some((
                rx,
                StampingTx {
                    inner: tx,
                    wire,
                    clock,
                },
            ))
        }
        fn transmit(&mut self, now: Instant) -> Option<StampingTx<'_>> {
            let (wire, clock) = (self.wire.clone(), self.clock.clone());
            self.inner
                .transmit(now)
                .map(|inner| StampingTx { inner, wire, clock })
        }
        fn capabilities(&self) -> DeviceCapabilities {
            self.inner.capabilities()
        }
    }

    /// Records (time, first byte) of every frame.
    struct Times(Vec<(i64, u8)>);
    impl FrameObserver for Times {
        fn frame(&mut self, t: Instant, f: &[u8]) {
            self.0.push((t.total_micros(), f[0]));
        }
    }

    #[test]
    fn frames_carry_the_devices_wire_times_not_the_polls() {
        let times = Rc::new(RefCell::new(Times(Vec::new())));
        let sink = CaptureSink::new(None, vec![times.clone()]).unwrap();
        let wire = WireTime::new();
        let dev = Stamping {
            inner: Loopback::new(Medium::Ethernet),
            wire: wire.clone(),
            clock: Rc::new(Cell::new(1000)),
        };
        let mut cap = Capture::new(dev, sink, Some(wire));
        // One poll at t = 5 µs: a frame out, read back in, and a reply on the same poll.
        let poll = Instant::from_micros(5);
        cap.transmit(poll).unwrap().consume(60, |b| b.fill(1));
        let (rx, tx) = cap.receive(poll).unwrap();
        rx.consume(|f| assert_eq!(f[0], 1));
        tx.consume(60, |b| b.fill(2));
        // Written at 1007, read at 1014, the reply written at 1021: three stamps.
        assert_eq!(times.borrow().0, [(1007, 1), (1014, 1), (1021, 2)]);
    }

    #[test]
    fn a_failing_file_does_not_stop_the_stack() {
        // /dev/full fails every write: the sink must log and carry on, not panic.
        let mut sink = CaptureSink {
            file: CaptureFile(Rc::new(RefCell::new(FileState {
                file: Some(BufWriter::with_capacity(
                    0,
                    File::options().write(true).open("/dev/full").unwrap(),
                )),
                name: "/dev/full".into(),
                failed: false,
            }))),
            observers: Vec::new(),
            held: Vec::new(),
        };
        sink.packet(Instant::from_millis(0), &[0u8; 100]);
        assert!(sink.file.0.borrow().failed);
        sink.packet(Instant::from_millis(1), &[0u8; 100]);
        sink.file().flush();
    }
}
