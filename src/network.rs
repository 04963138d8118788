//! The lab network, in one place: the addresses, MACs and port of both ends, as `taplab
//! serve` configures tap0 and as the lab's virtual wire and the scripted peer use them.
//!
//! The server end is smoltcp (our stack); the host end is the kernel on tap0 in `serve`,
//! the browser-like client in `lab`, the scripted peer in `lab --script`. Everything that
//! needs an address takes it from here, so the captures of all three look alike.

use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr};

/// Our stack's MAC address.
pub const SERVER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
/// The host end's MAC (the lab client's and the scripted peer's; on tap0 the kernel
/// picks its own).
pub const HOST_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);

pub const SERVER_V4: Ipv4Address = Ipv4Address::new(192, 168, 69, 1);
pub const HOST_V4: Ipv4Address = Ipv4Address::new(192, 168, 69, 100);
pub const SERVER_V6: Ipv6Address = Ipv6Address::new(0xfdaa, 0, 0, 0, 0, 0, 0, 1);
pub const HOST_V6: Ipv6Address = Ipv6Address::new(0xfdaa, 0, 0, 0, 0, 0, 0, 0x100);

/// Both ends' IPv4 prefix length and IPv6 prefix length.
pub const PREFIX_V4: u8 = 24;
pub const PREFIX_V6: u8 = 64;

pub const SERVER_CIDR4: Ipv4Cidr = Ipv4Cidr::new(SERVER_V4, PREFIX_V4);
pub const HOST_CIDR4: Ipv4Cidr = Ipv4Cidr::new(HOST_V4, PREFIX_V4);
pub const SERVER_CIDR6: Ipv6Cidr = Ipv6Cidr::new(SERVER_V6, PREFIX_V6);
pub const HOST_CIDR6: Ipv6Cidr = Ipv6Cidr::new(HOST_V6, PREFIX_V6);

/// The port served.
pub const HTTP_PORT: u16 = 80;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_follows_eui64() {
        assert_eq!(link_local(SERVER_MAC).to_string(), "fe80::ff:fe00:1");
        assert_eq!(link_local(HOST_MAC).to_string(), "fe80::ff:fe00:2");
    }
}
