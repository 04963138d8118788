//! The Linux TAP device as a smoltcp [`Device`].
//!
//! [`TapDevice::open`] creates the tap (or attaches to an existing, e.g. persistent, one)
//! through tun-tap's `Iface`, in TAP mode without packet info, non-blocking. Frames the kernel sends towards the tap are read in
//! [`Device::receive`]; frames smoltcp transmits are written to the fd one `write` each.
//! The event loop sleeps on [`TapDevice::fd`] with `smoltcp::phy::wait`.
//!
//! With offload (`serve --offload`) the tap is attached with `IFF_VNET_HDR`, told the
//! header's size (`TUNSETVNETHDRSZ`) and the offloads taplab accepts (`TUNSETOFFLOAD`:
//! checksums, TSO for IPv4 and IPv6), so that every read and write carries a virtio-net
//! header ([`super::vnet`]). The device then tells smoltcp (its `segmentation-offload`
//! capabilities) that it takes IPv4 TCP segments of up to 64 KiB (IPv6: see
//! [`TapDevice::capabilities`](Device::capabilities)) and computes TCP checksums on
//! transmit; smoltcp still verifies them on receive, after the header's partial
//! checksums are completed here. Without offload the offloads are switched off
//! (`TUNSETOFFLOAD` 0), so a persistent tap left with them by an earlier run does not
//! hand us partial checksums. These ioctls are our own (libc): tun-tap does not set
//! these flags, and `IFF_VNET_HDR` must be given when the tap is attached, so with
//! offload the tap is opened here rather than by tun-tap. Each `unsafe` block says why it is sound.
//!
//! Each read and each write is stamped with the real time right after the system call
//! returns ([`TapDevice::wire_time`]): the capture above uses these wire times rather
//! than the stack's time, which is read once per poll and may be held still (step mode).
//!
//! [`configure_host_side`] gives the kernel's end of the tap its addresses, MTU and link
//! state, using iproute2's `ip` so that what taplab does is exactly what a user would type
//! (and what [`HostSide::commands`] prints when taplab lacks the permission).

use super::capture::WireTime;
use super::vnet::{self, VnetHeader};
use crate::clock::{Clock, RealClock};
use smoltcp::phy::{Checksum, Device, DeviceCapabilities, Medium, PacketMeta, RxToken, TxToken};
use smoltcp::time::Instant;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::num::NonZeroUsize;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::path::Path;
use std::process::Command;

/// Ethernet header bytes on top of the IP MTU.
const ETH_HEADER: usize = 14;
/// The largest IP packet (its length field is 16 bits): with offload, the largest TCP
/// segment either side hands the other.
const MAX_IP_PACKET: usize = 65535;
/// Room for the largest read: a virtio-net header and a 64 KiB frame.
const RX_BUF: usize = vnet::LEN + ETH_HEADER + MAX_IP_PACKET;

/// Why the tap could not be opened or configured. Each message is one line that says what
/// to do about it.
#[derive(Debug)]
pub enum TapError {
    /// No CAP_NET_ADMIN to create the tap, or the persistent tap belongs to someone else.
    Permission {
        name: String,
    },
    /// Another process holds the tap (another taplab?).
    Busy {
        name: String,
    },
    /// An interface of that name exists but is not a tap.
    NotATap {
        name: String,
    },
    /// Linux would refuse the name, or cut it (see [`check_name`]).
    BadName {
        name: String,
        why: String,
    },
    /// /dev/net/tun is missing.
    NoTunDevice,
    /// The host-side subnet is already on another interface.
    AddressInUse {
        cidr: String,
        on: String,
    },
    /// `ip` failed or is missing.
    Ip {
        command: String,
        error: String,
    },
    Other {
        name: String,
        error: io::Error,
    },
}

impl fmt::Display for TapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TapError::Permission { name } => write!(
                f,
                "permission denied opening tap device {name}: run as root (sudo), or create a \
                 persistent tap owned by you once with `sudo scripts/tap-up.sh {name}` and run again"
            ),
            TapError::Busy { name } => write!(
                f,
                "tap device {name} is busy: another process (another taplab?) has it open; \
                 stop that process or use --tap with another name"
            ),
            TapError::NotATap { name } => write!(
                f,
                "interface {name} exists but is not a tap device; remove it \
                 (`sudo ip link del {name}`) or use --tap with another name"
            ),
            TapError::BadName { name, why } => write!(
                f,
                "--tap {name:?} is not a usable interface name ({why}): use up to 15 letters, \
                 digits, '-' or '_', e.g. --tap tap0"
            ),
            TapError::NoTunDevice => write!(
                f,
                "/dev/net/tun does not exist: load the tun module (`sudo modprobe tun`)"
            ),
            TapError::AddressInUse { cidr, on } => write!(
                f,
                "the host-side network {cidr} is already on interface {on}; remove it there \
                 (`sudo ip addr flush dev {on}`) or choose --addr/--host-addr in another subnet"
            ),
            TapError::Ip { command, error } => write!(
                f,
                "`{command}` failed: {error} (is iproute2 installed? `apt-get install iproute2`)"
            ),
            TapError::Other { name, error } => write!(f, "cannot open tap device {name}: {error}"),
        }
    }
}

impl std::error::Error for TapError {}

/// A tap device; smoltcp reads and writes Ethernet frames through it.
pub struct TapDevice {
    file: File,
    name: String,
    mtu: usize,
    /// Opened with offload: a virtio-net header before every frame.
    offload: bool,
    created: bool,
    rx_buf: Vec<u8>,
    tx_buf: Vec<u8>,
    /// Real time, for the wire stamps: the stack's clock may be held (step mode).
    clock: RealClock,
    wire: WireTime,
}

impl TapDevice {
    /// Opens tap `name`, creating it when it does not exist. `mtu` is the IP MTU;
    /// `offload`: checksum and segmentation offload (see the module doc).
    pub fn open(name: &str, mtu: usize, offload: bool) -> Result<TapDevice, TapError> {
        check_name(name)?;
        let existed = Path::new("/sys/class/net").join(name).exists();
        let (file, name) = attach(name, offload).map_err(|e| open_error(name, e))?;
        let header = if offload { vnet::LEN } else { 0 };
        Ok(TapDevice {
            file,
            name,
            mtu,
            offload,
            created: !existed,
            // Sized for the largest frame the kernel could hand us, whatever the MTU.
            rx_buf: vec![0; RX_BUF],
            tx_buf: vec![0; header + mtu + ETH_HEADER],
            clock: RealClock::new(),
            wire: WireTime::new(),
        })
    }

    /// When each frame was read or written: hand it to the capture (`Capture::new`).
    pub fn wire_time(&self) -> WireTime {
        self.wire.clone()
    }

    /// True if taplab created the tap (so it also configures it, and closing removes it).
    pub fn created(&self) -> bool {
        self.created
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// True if opened with offload.
    pub fn offload(&self) -> bool {
        self.offload
    }
}

/// Attaches to tap `name` (made if missing), with a virtio-net header and the offloads
/// when `offload`, without them otherwise. Returns the file and the name the kernel gave.
///
/// Without offload the tap is opened by tun-tap, as it always was; tun-tap cannot ask for
/// `IFF_VNET_HDR`, which must be given when the fd is attached, so with offload the
/// `TUNSETIFF` is our own ([`attach_with_vnet_header`]).
fn attach(name: &str, offload: bool) -> io::Result<(File, String)> {
    let (file, given) = if offload {
        attach_with_vnet_header(name)?
    } else {
        let iface = tun_tap::Iface::without_packet_info(name, tun_tap::Mode::Tap)?;
        iface.set_non_blocking()?;
        let given = iface.name().to_string();
        // SAFETY: into_raw_fd hands over the open tap fd and gives up its ownership, so
        // the File is its only owner and closes it exactly once.
        let file = unsafe { File::from_raw_fd(iface.into_raw_fd()) };
        (file, given)
    };
    let fd = file.as_raw_fd();
    let offloads = if offload {
        libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6
    } else {
        0
    };
    // SAFETY: TUNSETOFFLOAD takes the flags as the argument's value; no memory is read
    // or written through it.
    if unsafe { libc::ioctl(fd, libc::TUNSETOFFLOAD, libc::c_ulong::from(offloads)) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((file, given))
}

/// Opens `/dev/net/tun` non-blocking and attaches it to tap `name` with
/// `IFF_VNET_HDR`, then tells the kernel the header's size. Returns the file and the
/// name the kernel gave.
fn attach_with_vnet_header(name: &str) -> io::Result<(File, String)> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/net/tun")?;
    let fd = file.as_raw_fd();
    // SAFETY: `ifreq` is plain data (a byte array and a union of integers and
    // sockaddrs), for which all zero bytes are a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    // check_name allowed at most 15 bytes: the name stays NUL-terminated.
    for (d, &b) in req.ifr_name.iter_mut().zip(name.as_bytes()) {
        *d = b as libc::c_char;
    }
    req.ifr_ifru.ifru_flags =
        (libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_VNET_HDR) as libc::c_short;
    // SAFETY: TUNSETIFF reads and writes one `struct ifreq` through its argument; `req`
    // is one, alive and exclusively borrowed for the call.
    if unsafe { libc::ioctl(fd, libc::TUNSETIFF, &mut req as *mut libc::ifreq) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let given: Vec<u8> = req
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    let size = vnet::LEN as libc::c_int;
    // SAFETY: TUNSETVNETHDRSZ reads one `int` through its argument; `size` is one,
    // alive for the call.
    if unsafe { libc::ioctl(fd, libc::TUNSETVNETHDRSZ, &size as *const libc::c_int) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((file, String::from_utf8_lossy(&given).into_owned()))
}

/// Refuses a name Linux would refuse for an interface, or silently cut (the ioctl copies
/// at most IFNAMSIZ − 1 = 15 bytes): empty, `.` or `..`, over 15 bytes, or with `/`, `:`
/// or whitespace. Without this a space comes back from the kernel as EINVAL, which reads
/// as "exists but is not a tap".
pub fn check_name(name: &str) -> Result<(), TapError> {
    let why = if name.is_empty() || name == "." || name == ".." {
        Some("it is empty or a dot name".to_string())
    } else if name.len() > 15 {
        Some(format!(
            "it is {} bytes long and Linux allows 15",
            name.len()
        ))
    } else {
        name.chars()
            .find(|c| *c == '/' || *c == ':' || c.is_whitespace())
            .map(|c| format!("it contains {c:?}"))
    };
    match why {
        Some(why) => Err(TapError::BadName {
            name: name.to_string(),
            why,
        }),
        None => Ok(()),
    }
}

fn open_error(name: &str, e: io::Error) -> TapError {
    let name = name.to_string();
    match e.raw_os_error() {
        Some(1) | Some(13) => TapError::Permission { name },
        Some(16) => TapError::Busy { name },
        Some(22) => TapError::NotATap { name },
        Some(2) | Some(19) => TapError::NoTunDevice,
        _ => TapError::Other { name, error: e },
    }
}

impl Device for TapDevice {
    type RxToken<'a> = TapRxToken<'a>;
    type TxToken<'a> = TapTxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(TapRxToken<'_>, TapTxToken<'_>)> {
        let n = match (&self.file).read(&mut self.rx_buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) => {
                log::warn!("reading from {}: {e}", self.name);
                return None;
            }
        };
        self.wire.stamp(self.clock.now());
        let mut start = 0;
        if self.offload {
            start = vnet::LEN.min(n);
            // A partial checksum completed: the layers above see an ordinary frame. A
            // large (GSO) segment goes up whole, as GRO would pass it.
            if let Some(h) = VnetHeader::parse(&self.rx_buf[..n])
                && h.needs_checksum()
                && !vnet::complete_checksum(&mut self.rx_buf[start..n], h.csum_start, h.csum_offset)
            {
                log::debug!("{}: a frame's checksum places lie outside it", self.name);
            }
        }
        Some((
            TapRxToken {
                frame: &self.rx_buf[start..n],
            },
            TapTxToken {
                file: &self.file,
                name: &self.name,
                offload: self.offload,
                segment_size: None,
                buf: &mut self.tx_buf,
                clock: &self.clock,
                wire: &self.wire,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TapTxToken<'_>> {
        Some(TapTxToken {
            file: &self.file,
            name: &self.name,
            offload: self.offload,
            segment_size: None,
            buf: &mut self.tx_buf,
            clock: &self.clock,
            wire: &self.wire,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu + ETH_HEADER;
        if self.offload {
            // The kernel completes our TCP checksums; smoltcp still checks the ones it
            // receives. IPv4 segments up to the largest IP packet, Ethernet header
            // included. Not IPv6: smoltcp 0.14 sizes such segments but its IPv6 output
            // drops any packet over the MTU ("IPv6 fragmentation support is
            // unimplemented") without looking at the segmentation request, so IPv6
            // keeps MTU-sized segments (with checksum offload).
            caps.checksum.tcp = Checksum::Rx;
            caps.segmentation.tcpv4 = NonZeroUsize::new(ETH_HEADER + MAX_IP_PACKET);
        }
        caps
    }
}

pub struct TapRxToken<'a> {
    frame: &'a [u8],
}

impl RxToken for TapRxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

pub struct TapTxToken<'a> {
    file: &'a File,
    name: &'a str,
    offload: bool,
    /// With offload: the MSS smoltcp asked the device to cut this segment into.
    segment_size: Option<u16>,
    buf: &'a mut Vec<u8>,
    clock: &'a RealClock,
    wire: &'a WireTime,
}

impl TxToken for TapTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let at = if self.offload { vnet::LEN } else { 0 };
        // The buffer is made at the MTU's size (it grows once for a larger, offloaded
        // segment): smoltcp writes every byte of the frame, so it is neither zeroed nor
        // resized per frame.
        if self.buf.len() < at + len {
            self.buf.resize(at + len, 0);
        }
        let r = f(&mut self.buf[at..at + len]);
        if self.offload {
            let frame = &mut self.buf[at..at + len];
            // The stack left the pseudo-header sum already (so the capture shows what
            // tcpdump does); made here again for every TCP frame whatever its origin,
            // since the header tells the kernel that the field holds it.
            vnet::fill_partial_checksum(frame);
            let header = VnetHeader::for_frame(frame, self.segment_size);
            self.buf[..at].copy_from_slice(&header.bytes());
        }
        // A failed write (link down, queue full) loses the frame, as a wire would; TCP
        // retransmits. Log it rather than fail the stack.
        let mut file = self.file;
        if let Err(e) = file.write(&self.buf[..at + len]) {
            log::debug!("writing {len} bytes to {}: {e}", self.name);
        }
        self.wire.stamp(self.clock.now());
        r
    }

    fn set_meta(&mut self, meta: PacketMeta) {
        self.segment_size = meta.segmentation_offload_size.map(|s| s.get());
    }
}

/// The kernel's side of the tap: what `configure_host_side` sets up.
#[derive(Debug, Clone)]
pub struct HostSide {
    pub name: String,
    pub mtu: usize,
    /// Host addresses with prefix, e.g. "192.168.69.100/24", "fdaa::100/64".
    pub addrs: Vec<String>,
}

impl HostSide {
    /// The `ip` commands that configure the host side, as a user would type them.
    pub fn commands(&self) -> Vec<Vec<String>> {
        let n = &self.name;
        let mtu = self.mtu.to_string();
        let mut cmds = vec![vec!["link", "set", "dev", n, "mtu", &mtu]];
        for a in &self.addrs {
            if a.contains(':') {
                // nodad: the address is usable at once instead of after ~1 s of
                // duplicate address detection on a link where it cannot be duplicated.
                cmds.push(vec!["-6", "addr", "add", a, "dev", n, "nodad"]);
            } else {
                cmds.push(vec!["addr", "add", a, "dev", n]);
            }
        }
        cmds.push(vec!["link", "set", "dev", n, "up"]);
        cmds.into_iter()
            .map(|c| c.into_iter().map(String::from).collect())
            .collect()
    }

    /// The commands as shell lines (`ip …`), for messages and the README.
    pub fn command_lines(&self) -> Vec<String> {
        self.commands()
            .iter()
            .map(|c| format!("ip {}", c.join(" ")))
            .collect()
    }

    /// True if every host address is already on the interface.
    pub fn is_configured(&self) -> bool {
        let Ok(out) = Command::new("ip")
            .args(["-o", "addr", "show", "dev", &self.name])
            .output()
        else {
            return false;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        self.addrs
            .iter()
            .all(|a| text.split_whitespace().any(|w| w == a))
    }
}

/// Configures the host side of a tap taplab created: MTU, addresses, up. Refuses when the
/// IPv4 subnet is already on another interface (routing would be ambiguous).
pub fn configure_host_side(host: &HostSide) -> Result<(), TapError> {
    for a in host.addrs.iter().filter(|a| !a.contains(':')) {
        if let Some(on) = subnet_owner(a, &host.name) {
            return Err(TapError::AddressInUse {
                cidr: a.clone(),
                on,
            });
        }
    }
    for c in host.commands() {
        let line = format!("ip {}", c.join(" "));
        let out = Command::new("ip")
            .args(&c)
            .output()
            .map_err(|e| TapError::Ip {
                command: line.clone(),
                error: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(TapError::Ip {
                command: line,
                error: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
    }
    Ok(())
}

/// The interface (other than `ours`) that already has an address in `cidr`'s subnet.
fn subnet_owner(cidr: &str, ours: &str) -> Option<String> {
    let out = Command::new("ip")
        .args(["-o", "-4", "addr", "show", "to", cidr])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(String::from))
        .find(|dev| dev != ours)
}

/// The MTU of an existing interface, from sysfs.
pub fn interface_mtu(name: &str) -> Option<usize> {
    std::fs::read_to_string(Path::new("/sys/class/net").join(name).join("mtu"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_commands_are_what_a_user_types() {
        let h = HostSide {
            name: "tap0".into(),
            mtu: 1500,
            addrs: vec!["192.168.69.100/24".into(), "fdaa::100/64".into()],
        };
        assert_eq!(
            h.command_lines(),
            vec![
                "ip link set dev tap0 mtu 1500",
                "ip addr add 192.168.69.100/24 dev tap0",
                "ip -6 addr add fdaa::100/64 dev tap0 nodad",
                "ip link set dev tap0 up",
            ]
        );
    }

    #[test]
    fn errno_maps_to_advice() {
        let e = open_error("tap0", io::Error::from_raw_os_error(1));
        assert!(e.to_string().contains("scripts/tap-up.sh"));
        let e = open_error("tap0", io::Error::from_raw_os_error(16));
        assert!(e.to_string().contains("busy"));
    }
}
