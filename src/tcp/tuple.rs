//! A connection's 4-tuple as a hash-table key.
//!
//! The tables that every frame looks up (the stack's connections, `/tcpinfo`'s records)
//! are keyed by (our end, the peer's end). Hashed as a pair of `IpEndpoint`s, a key
//! feeds the hasher ten small pieces (enum tags, lengths, bytes, ports), and std's
//! SipHash, which keeps tables keyed by what peers choose safe from collision floods,
//! pays per piece: hashing was a tenth of a bulk transfer's instructions. A
//! [`TupleKey`] is the same tuple packed into one byte array that is hashed in one
//! piece, with the same hasher.

use smoltcp::wire::{IpAddress, IpEndpoint};
use std::hash::{Hash, Hasher};

/// (local, remote) packed: the address family, then each end's 16 address bytes (IPv4
/// in the first four) and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TupleKey([u8; 37]);

impl TupleKey {
    pub fn new(local: IpEndpoint, remote: IpEndpoint) -> TupleKey {
        let mut k = [0u8; 37];
        k[0] = match local.addr {
            IpAddress::Ipv4(_) => 4,
            IpAddress::Ipv6(_) => 6,
        };
        put(&mut k[1..19], local);
        put(&mut k[19..37], remote);
        TupleKey(k)
    }
}

/// One end: 16 address bytes, then the port.
fn put(out: &mut [u8], ep: IpEndpoint) {
    match ep.addr {
        IpAddress::Ipv4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddress::Ipv6(a) => out[..16].copy_from_slice(&a.octets()),
    }
    out[16..18].copy_from_slice(&ep.port.to_be_bytes());
}

impl Hash for TupleKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::{Ipv4Address, Ipv6Address};
    use std::collections::HashSet;

    #[test]
    fn ends_ports_and_families_all_tell_keys_apart() {
        let v4 = |a: u8, p| IpEndpoint::new(Ipv4Address::new(10, 0, 0, a).into(), p);
        // The IPv4-mapped IPv6 form of 10.0.0.1 is still another key.
        let mapped = IpEndpoint::new(Ipv4Address::new(10, 0, 0, 1).to_ipv6_mapped().into(), 80);
        let v6 = |p| IpEndpoint::new(Ipv6Address::LOCALHOST.into(), p);
        let keys = [
            TupleKey::new(v4(1, 80), v4(2, 4000)),
            TupleKey::new(v4(2, 4000), v4(1, 80)),
            TupleKey::new(v4(1, 80), v4(2, 4001)),
            TupleKey::new(v4(1, 81), v4(2, 4000)),
            TupleKey::new(mapped, v4(2, 4000)),
            TupleKey::new(v6(80), v6(4000)),
        ];
        let set: HashSet<TupleKey> = keys.iter().copied().collect();
        assert_eq!(set.len(), keys.len());
        assert_eq!(keys[0], TupleKey::new(v4(1, 80), v4(2, 4000)));
    }
}
