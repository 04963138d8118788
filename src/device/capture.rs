//! The capture point: smoltcp's [`PcapWriter`](smoltcp::phy::PcapWriter) with a sink of
//! ours, placed next to the tap so that it sees exactly the frames tcpdump on tap0 sees.
//!
//! [`CaptureSink`] receives every frame in both directions, timestamped with the stack's
//! clock: a received frame before smoltcp gets it, a transmitted one before it reaches the
//! tap. It writes the frame to the pcap file (if any) and hands it to each
//! [`FrameObserver`] (live listing, step mode, per-connection statistics). The file is
//! flushed once per step of the server, not per frame ([`CaptureFile::flush`], which the
//! server side calls after every step, and on drop): whenever the process is stopped or
//! waits for the network, the file holds every frame so far.
//!
//! smoltcp's own `PcapSink for Write` panics when a write fails; this one logs the error
//! once and stops writing, and the stack goes on.

use smoltcp::phy::PcapSink;
use smoltcp::time::Instant;
use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::rc::Rc;

/// Something that wants to see every frame at the capture point.
pub trait FrameObserver {
    fn frame(&mut self, time: Instant, frame: &[u8]);
}

pub struct CaptureSink {
    file: CaptureFile,
    observers: Vec<Rc<RefCell<dyn FrameObserver>>>,
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
        })
    }

    /// The file, for flushing it from outside the device chain.
    pub fn file(&self) -> CaptureFile {
        self.file.clone()
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

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::{Device, Loopback, Medium, PcapMode, PcapWriter, RxToken, TxToken};

    struct Count(usize);
    impl FrameObserver for Count {
        fn frame(&mut self, _: Instant, _: &[u8]) {
            self.0 += 1;
        }
    }

    #[test]
    fn writes_a_pcap_frame_by_frame_and_tells_the_observer() {
        let path = std::env::temp_dir().join(format!("taplab-capture-{}.pcap", std::process::id()));
        let count = Rc::new(RefCell::new(Count(0)));
        let sink = CaptureSink::new(Some(&path), vec![count.clone()]).unwrap();
        let file = sink.file();
        let mut dev = PcapWriter::new(Loopback::new(Medium::Ethernet), sink, PcapMode::Both);
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
        };
        sink.packet(Instant::from_millis(0), &[0u8; 100]);
        assert!(sink.file.0.borrow().failed);
        sink.packet(Instant::from_millis(1), &[0u8; 100]);
        sink.file().flush();
    }
}
