//! The link-layer header a captured frame starts with: pcap's LINKTYPE_* numbers that
//! taplab reads, and the words for the ones it does not.

/// The link-layer header a frame starts with (pcap's LINKTYPE_* values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_NULL (0): BSD loopback. A 4-byte address family in the byte order of the
    /// machine that captured, then the IP packet: what macOS and the BSDs write for `lo0`
    /// and Npcap for Windows' loopback adapter.
    Null,
    /// LINKTYPE_ETHERNET (1): what tcpdump writes for a tap and `serve --pcap` writes.
    Ethernet,
    /// LINKTYPE_RAW (101): an IPv4 or IPv6 packet, told apart by its version nibble.
    RawIp,
    /// LINKTYPE_LOOP (108): OpenBSD loopback, as [`LinkType::Null`] but the address
    /// family is always in network byte order.
    Loop,
    /// LINKTYPE_IPV4 (228).
    RawIpv4,
    /// LINKTYPE_IPV6 (229).
    RawIpv6,
    /// LINKTYPE_LINUX_SLL (113): `tcpdump -i any` before libpcap 1.10.
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276): `tcpdump -i any` since libpcap 1.10.
    LinuxSll2,
}

impl LinkType {
    /// The link type for a LINKTYPE_* number, if taplab reads it.
    pub fn from_code(code: u32) -> Option<LinkType> {
        Some(match code {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            101 => LinkType::RawIp,
            108 => LinkType::Loop,
            228 => LinkType::RawIpv4,
            229 => LinkType::RawIpv6,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }

    /// The LINKTYPE_* number (the tests check the reader's mapping with it).
    #[cfg(test)]
    pub fn code(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::RawIp => 101,
            LinkType::Loop => 108,
            LinkType::RawIpv4 => 228,
            LinkType::RawIpv6 => 229,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
        }
    }
}

/// A few link types people meet, named in the "unsupported" error so that it says what
/// the file is.
fn link_name(code: u32) -> &'static str {
    match code {
        105 => "IEEE 802.11",
        127 => "IEEE 802.11 radiotap",
        192 => "PPI",
        195 => "IEEE 802.15.4",
        201 => "Bluetooth HCI",
        220 => "USB",
        249 => "USBPcap",
        9 => "PPP",
        _ => "unknown",
    }
}

/// The error for a link type taplab does not read, as a sentence continuing the file's
/// name.
pub(super) fn unsupported(code: u32) -> String {
    format!(
        "has link type {code} ({}), which taplab trace does not read: it reads Ethernet (1), raw IP (101, 228, 229), Linux cooked captures (113, 276) and BSD/Windows loopback (0, 108); capture on tap0 or an Ethernet interface",
        link_name(code)
    )
}
