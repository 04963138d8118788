//! One connection's socket, in a smoltcp socket set of its own.
//!
//! smoltcp processes a frame, and polls for egress, only with sockets that sit in a
//! [`SocketSet`]. The stack hands it exactly one socket at a time (see the module doc of
//! [`super`]), so each connection keeps its socket in a [`SoloSet`]: a set holding that
//! socket and nothing else, lent to smoltcp as it is. The socket never moves: moving a
//! `tcp::Socket` (several hundred bytes, with its timers and reassembly state) into a
//! shared set and back out for every frame cost more, per small segment, than smoltcp's
//! own processing of it (callgrind: about a sixth of the instructions of a keep-alive
//! request went to those copies).

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;

/// A socket set holding one TCP socket.
pub struct SoloSet {
    set: SocketSet<'static>,
    handle: SocketHandle,
}

impl SoloSet {
    pub fn new(socket: tcp::Socket<'static>) -> SoloSet {
        let mut set = SocketSet::new(Vec::with_capacity(1));
        let handle = set.add(socket);
        SoloSet { set, handle }
    }

    pub fn socket(&self) -> &tcp::Socket<'static> {
        self.set.get(self.handle)
    }

    pub fn socket_mut(&mut self) -> &mut tcp::Socket<'static> {
        self.set.get_mut(self.handle)
    }

    /// The set, for smoltcp's `poll_*` and `poll_at`.
    pub fn set(&self) -> &SocketSet<'static> {
        &self.set
    }

    pub fn set_mut(&mut self) -> &mut SocketSet<'static> {
        &mut self.set
    }
}
