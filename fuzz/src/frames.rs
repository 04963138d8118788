//! Target `frames`: raw Ethernet frames from the wire into the server side of
//! `taplab serve` (capture point, knobs layer, stack, HTTP server over a site).
//!
//! Input: [`knobs::HEADER`] bytes of configuration choices ([`knobs::choose`]: knobs,
//! limits, edge guard), then
//! [`records`]: one frame each. For each record, in order:
//! 1. if control flag 1 is set, the frame's ACK number is taken as relative to the ISN
//!    our stack chose for the connection with that source port (our latest SYN-ACK to
//!    it; 0 before any), as packetdrill numbers it — so the fuzzer can complete a
//!    handshake under any `--isn`;
//! 2. if control flag 0 is set (or flag 1 changed the frame), lengths and checksums are
//!    recomputed ([`fixup::fix`]; lengths only with flag 0);
//! 3. the frame is queued for the stack; unless control flag 2 is set, the server then
//!    takes everything queued (flag 2 lets several frames arrive in one batch, as a burst
//!    does on a tap);
//! 4. virtual time runs on by the record's step, the server waking at its deadlines;
//! 5. every frame the stack sent is checked ([`fixup::check_sent`]) and dropped (our
//!    SYN-ACKs noted for step 1).
//!
//! Bounds: [`records::MAX_RECORDS`] frames and [`WAKE_BUDGET`] wake-ups per input; when the
//! budget is spent the input ends there. A failed check panics with the frame in hex.

use crate::fixup;
use crate::knobs;
use crate::records;
use crate::server::ServerUnderTest;
use crate::site::site;
use std::collections::BTreeMap;
use taplab::network::SERVER_MAC;

/// Most server wake-ups per input: about 10 minutes of virtual time at serve's 500 ms
/// sleeps, enough for the keep-alive, peer-silence and FIN-WAIT-2 timers to fire.
pub const WAKE_BUDGET: u32 = 1_500;

pub fn run(data: &[u8]) {
    drive(data, &mut |_| {});
}

/// [`run`], showing `seen` every frame our stack sent (after it passed the check).
pub fn drive(data: &[u8], seen: &mut dyn FnMut(&[u8])) {
    let Some((header, rest)) = data.split_first_chunk::<{ knobs::HEADER }>() else {
        return;
    };
    let choice = knobs::choose(*header);
    let mtu = choice.knobs.mtu;
    let mut server = ServerUnderTest::new(&choice, site());
    // Our ISN per peer port, from our SYN-ACKs.
    let mut isns: BTreeMap<u16, u32> = BTreeMap::new();
    let mut budget = WAKE_BUDGET;
    for (control, piece) in records::decode(rest) {
        let mut frame = piece.to_vec();
        let relative = control.bit(1)
            && fixup::relative_ack(&mut frame, |p| isns.get(&p).copied().unwrap_or(0));
        if control.bit(0) || relative {
            fixup::fix(&mut frame, control.bit(0));
        }
        server.deliver(frame);
        if control.bit(2) {
            continue;
        }
        let on_time = server.advance(control.wait(), &mut budget);
        check_sent(&mut server, &mut isns, mtu, seen);
        if !on_time {
            return;
        }
    }
    // Frames still queued by flag 2 are taken too.
    server.settle();
    check_sent(&mut server, &mut isns, mtu, seen);
}

/// Checks and drops what our stack sent, noting our ISN from each SYN-ACK.
fn check_sent(
    server: &mut ServerUnderTest,
    isns: &mut BTreeMap<u16, u32>,
    mtu: usize,
    seen: &mut dyn FnMut(&[u8]),
) {
    while let Some(sent) = server.take_sent() {
        if let Err(why) = fixup::check_sent(&sent, SERVER_MAC, mtu) {
            panic!("our stack sent a bad frame: {why}\n{}", hex(&sent));
        }
        if let Some((port, isn)) = fixup::our_syn_ack(&sent) {
            isns.insert(port, isn);
        }
        seen(&sent);
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seeds::frames::seeds;

    fn sent_by(seed: &str) -> Vec<Vec<u8>> {
        let all = seeds();
        let input = &all.iter().find(|(n, _)| n == seed).unwrap().1;
        let mut sent = Vec::new();
        drive(input, &mut |f| sent.push(f.to_vec()));
        sent
    }

    fn contains(frames: &[Vec<u8>], what: &[u8]) -> bool {
        frames
            .iter()
            .any(|f| f.windows(what.len()).any(|w| w == what))
    }

    /// The relative ACKs work: the handshake completes and the GET is answered, under
    /// the keyed ISN and under a fixed ISN that wraps.
    #[test]
    fn the_seed_conversations_get_their_answers() {
        for seed in ["get-client-closes", "get-ipv6", "server-first-abort"] {
            let sent = sent_by(seed);
            assert!(
                contains(&sent, b"HTTP/1.1 200 OK"),
                "{seed}: {} frames",
                sent.len()
            );
        }
        let big = sent_by("big-file-isn-wrap");
        assert!(contains(&big, b"HTTP/1.1 206 Partial Content"));
        // Beyond the first window: the partial ACKs moved the transfer on.
        let far: Vec<u8> = (20_000..20_040).map(|i| (i % 251) as u8).collect();
        assert!(contains(&big, &far), "{} frames", big.len());
    }

    /// The TCP segments sent to the peer's `port` (IPv4): (flags, payload).
    fn segments_to(frames: &[Vec<u8>], port: u16) -> Vec<(u8, Vec<u8>)> {
        frames
            .iter()
            .filter(|f| f.len() >= 54 && f[12..14] == [0x08, 0x00] && f[23] == 6)
            .map(|f| &f[14 + 4 * usize::from(f[14] & 0x0f)..])
            .filter(|t| u16::from_be_bytes([t[2], t[3]]) == port)
            .map(|t| (t[13], t[4 * usize::from(t[12] >> 4)..].to_vec()))
            .collect()
    }

    /// The limits are the header's: past a backlog of two the oldest half-open
    /// connections were evicted (their ACK finds no connection: RST), and with one
    /// connection allowed only the first handshake to complete is served; the next waits.
    #[test]
    fn the_syn_burst_meets_the_backlog_and_max_conns() {
        const RST: u8 = 0x04;
        const SYN_ACK: u8 = 0x12;
        let sent = sent_by("syn-burst-small-backlog");
        let evicted = segments_to(&sent, 41000);
        assert!(!evicted.is_empty() && evicted.iter().all(|(f, _)| f & RST != 0));
        assert!(
            segments_to(&sent, 41001).is_empty(),
            "evicted before its SYN-ACK"
        );
        assert!(contains(
            &segments_to(&sent, 41004)
                .into_iter()
                .map(|s| s.1)
                .collect::<Vec<_>>(),
            b"HTTP/1.1 200 OK"
        ));
        // 41005's handshake completes while 41004 holds the one connection: it waits in
        // the accept queue, its request acknowledged but not yet answered.
        const ACK: u8 = 0x10;
        let waiting = segments_to(&sent, 41005);
        assert_eq!(waiting.first().map(|s| s.0), Some(SYN_ACK), "{waiting:?}");
        assert!(
            waiting.len() > 1 && waiting[1..].iter().all(|(f, p)| *f == ACK && p.is_empty()),
            "{waiting:?}"
        );
    }

    /// The guard flag reaches the stack: with the guard, the in-window RST not at RCV.NXT
    /// gets a challenge ACK and the GET after it is answered; without it (smoltcp alone)
    /// the connection is reset and the GET is not.
    #[test]
    fn rsts_meet_the_guard_or_smoltcp_alone() {
        let answered = |seed| {
            let payloads: Vec<_> = segments_to(&sent_by(seed), 40005)
                .into_iter()
                .map(|s| s.1)
                .collect();
            contains(&payloads, b"HTTP/1.1 200 OK")
        };
        assert!(answered("rst-kinds"));
        assert!(!answered("rst-kinds-no-guard"));
    }
}
