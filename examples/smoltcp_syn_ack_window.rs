//! smoltcp 0.14 on its own, without taplab: after a SYN-ACK with window scaling it judges
//! the peer's segments against the SYN-ACK's window *scaled* (RFC 7323 §2.2: a SYN's
//! window never is), so it takes data past its receive buffer and, once the gap before
//! that data is filled, panics in `RingBuffer::enqueue_unallocated`. A report for
//! upstream; taplab's edge guard (src/stack/guard.rs, `syn_ack_overrun`) cuts such data.
//!
//! `cargo run --release --example smoltcp_syn_ack_window` prints what smoltcp does with
//! each segment and ends with the panic's message (caught here: `assertion failed: count
//! <= self.window()`), or says that this smoltcp kept to its window. A debug build stops
//! one segment earlier, at smoltcp's debug assertion `len_written == payload_len`.

use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{ChecksumCapabilities, Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, HardwareAddress, IpCidr, IpProtocol, Ipv4Address, Ipv4Packet, Ipv4Repr,
    TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
};
use std::collections::VecDeque;

const SERVER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const SERVER: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);
const PEER: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);
/// The receive buffer: 64 KiB, which smoltcp advertises with window shift 1.
const BUFFER: usize = 65536;
const PEER_ISN: u32 = 1000;

/// Frames in, frames out.
#[derive(Default)]
struct Wire {
    rx: VecDeque<Vec<u8>>,
    tx: Vec<Vec<u8>>,
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut Vec<Vec<u8>>);

impl RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.0.push(buf);
        r
    }
}

impl Device for Wire {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((Rx(frame), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

/// An Ethernet frame from the peer carrying `tcp`.
fn from_peer(tcp: &TcpRepr) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: PEER,
        dst_addr: SERVER,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let eth = EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: SERVER_MAC,
        ethertype: EthernetProtocol::Ipv4,
    };
    let mut buf = vec![0; eth.buffer_len() + ip.buffer_len() + tcp.buffer_len()];
    let caps = ChecksumCapabilities::default();
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut f);
    let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
    ip.emit(&mut p, &caps);
    let mut t = TcpPacket::new_unchecked(p.payload_mut());
    tcp.emit(&mut t, &SERVER.into(), &PEER.into(), &caps);
    buf
}

/// The peer's ARP request for the server: smoltcp learns the peer's MAC from it.
fn arp_request() -> Vec<u8> {
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: PEER,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: SERVER,
    };
    let eth = EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    };
    let mut buf = vec![0; eth.buffer_len() + arp.buffer_len()];
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut f);
    arp.emit(&mut ArpPacket::new_unchecked(f.payload_mut()));
    buf
}

fn segment(control: TcpControl, seq: u32, ack: Option<u32>, payload: &[u8]) -> TcpRepr<'_> {
    TcpRepr {
        src_port: 40000,
        dst_port: 80,
        control,
        seq_number: TcpSeqNumber(seq as i32),
        ack_number: ack.map(|a| TcpSeqNumber(a as i32)),
        window_len: 502,
        window_scale: (control == TcpControl::Syn).then_some(7),
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload,
    }
}

/// (seq, ack, window) of the TCP segments smoltcp sent since last asked.
fn answers(wire: &mut Wire) -> Vec<(u32, u32, u16)> {
    wire.tx
        .drain(..)
        .filter_map(|f| {
            let eth = EthernetFrame::new_checked(&f[..]).ok()?;
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            let t = TcpPacket::new_checked(ip.payload()).ok()?;
            Some((
                t.seq_number().0 as u32,
                t.ack_number().0 as u32,
                t.window_len(),
            ))
        })
        .collect()
}

fn main() {
    let mut wire = Wire::default();
    let mut iface = Interface::new(
        Config::new(HardwareAddress::Ethernet(SERVER_MAC)),
        &mut wire,
        Instant::ZERO,
    );
    iface.update_ip_addrs(|a| a.push(IpCidr::new(SERVER.into(), 24)).unwrap());
    let mut socket = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; BUFFER]),
        tcp::SocketBuffer::new(vec![0; 4096]),
    );
    socket.listen(80).unwrap();
    let mut set = SocketSet::new(vec![]);
    let h = set.add(socket);
    let mut poll = |wire: &mut Wire, frames: Vec<Vec<u8>>| {
        wire.rx.extend(frames);
        iface.poll(Instant::ZERO, wire, &mut set);
        let queued = set.get::<tcp::Socket>(h).recv_queue();
        (answers(wire), queued)
    };

    let (synack, _) = poll(
        &mut wire,
        vec![
            arp_request(),
            from_peer(&segment(TcpControl::Syn, PEER_ISN, None, &[])),
        ],
    );
    let Some(&(isn, _, offered)) = synack.first() else {
        println!("no SYN-ACK: nothing to show");
        return;
    };
    println!("SYN-ACK: window {offered} (a SYN's window is not scaled), shift 1; buffer {BUFFER}");
    let ack = isn.wrapping_add(1);
    let start = PEER_ISN + 1;
    std::panic::set_hook(Box::new(|_| {}));
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let evil = segment(TcpControl::None, start + 65536, Some(ack), b"EVIL!!");
        let (answer, queued) = poll(
            &mut wire,
            vec![
                from_peer(&segment(TcpControl::None, start, Some(ack), &[])),
                from_peer(&evil),
            ],
        );
        println!(
            "ACK, then 6 bytes at +65536 (past the {offered} bytes offered): answers {answer:?}, \
             {queued} bytes queued"
        );
        // Fill the buffer, last segment first, so smoltcp reassembles up to the 6 bytes.
        let fill = vec![b'a'; 1460];
        let starts: Vec<usize> = (0..=offered as usize).step_by(1460).collect();
        let frames: Vec<Vec<u8>> = starts
            .iter()
            .rev()
            .map(|&at| {
                let len = 1460.min(offered as usize + 1 - at);
                from_peer(&segment(
                    TcpControl::None,
                    start + at as u32,
                    Some(ack),
                    &fill[..len],
                ))
            })
            .collect();
        let n = frames.len();
        println!(
            "{n} segments filling the window: {} bytes queued",
            poll(&mut wire, frames).1
        );
    }));
    match run {
        Ok(()) => println!("this smoltcp kept to its window"),
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            println!("smoltcp panicked: {msg}");
        }
    }
}
