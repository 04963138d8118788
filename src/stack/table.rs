//! The stack's connections: one [`Conn`] per TCP connection our stack holds a socket
//! for, found by its 4-tuple in O(1), each with a [`ConnId`] that the layer above keeps.
//!
//! Entries are made when a SYN is admitted ([`Table::insert`]) and removed when the
//! socket is done ([`Table::remove`]: closed, or dropped by admission). The table keeps
//! one count per [`Class`] (half-open, waiting, open, TIME-WAIT) so that admission never has to
//! scan it, and the bytes of socket buffers its sockets hold.

use super::guard::View;
use super::solo::SoloSet;
use crate::tcp::{TcpState, TupleKey};
use smoltcp::time::Instant;
use smoltcp::wire::IpEndpoint;
use std::collections::HashMap;

/// A connection's handle for the layer above: an index and a generation, so that a
/// handle kept past its connection's end never reaches the next one in the same place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub(super) index: u32,
    pub(super) generation: u32,
}

impl ConnId {
    /// A small number for logs and the layer above's tables (unique among the
    /// connections alive at one time).
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// What admission counts a connection as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// SYN received, SYN-ACK sent, handshake not complete (the backlog).
    HalfOpen,
    /// Synchronized, and not yet handed to the layer above because `--max-conns`
    /// connections are open: the accept queue (see [`super::admission`]).
    Waiting,
    /// Synchronized and handed to the layer above: ESTABLISHED through LAST_ACK (the
    /// connections of `--max-conns`).
    Open,
    /// TIME-WAIT after our active close.
    TimeWait,
    /// LISTEN or CLOSED: a socket on its way in or out.
    Other,
}

impl Class {
    /// The class of a connection in `state`; `opened`: the layer above was told it opened.
    pub fn of(state: TcpState, opened: bool) -> Class {
        match state {
            TcpState::SynReceived => Class::HalfOpen,
            TcpState::TimeWait => Class::TimeWait,
            s if s.is_synchronized() && opened => Class::Open,
            s if s.is_synchronized() => Class::Waiting,
            _ => Class::Other,
        }
    }
}

/// One connection.
pub struct Conn {
    pub id: ConnId,
    pub local: IpEndpoint,
    pub remote: IpEndpoint,
    /// The socket, in a set of its own that smoltcp is lent as it is.
    pub solo: SoloSet,
    /// smoltcp's state as last seen, and since when.
    pub state: TcpState,
    pub since: Instant,
    /// The layer above was told it opened (and must be told it closed).
    pub opened: bool,
    /// The layer above asked to end it; not yet carried out.
    pub finishing: bool,
    /// Its time in the timer queue: no later than when the stack next wants to look at
    /// it (a later wish leaves an earlier entry in place; see `Stack::after_look`).
    pub wake: Option<Instant>,
    /// The layer above has not yet been told something changed.
    pub touched: bool,
    /// Data was written or a close asked for: poll it for egress.
    pub egress: bool,
    /// Bytes of socket buffers (receive + send).
    pub buffers: usize,
    /// The edge guard's view of its sequence spaces.
    pub view: View,
}

struct Slot {
    generation: u32,
    conn: Option<Conn>,
}

/// Every connection, by id and by 4-tuple.
#[derive(Default)]
pub struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_tuple: HashMap<TupleKey, u32>,
    counts: [usize; 5],
    buffers: usize,
}

fn class_index(c: Class) -> usize {
    match c {
        Class::HalfOpen => 0,
        Class::Open => 1,
        Class::TimeWait => 2,
        Class::Other => 3,
        Class::Waiting => 4,
    }
}

impl Table {
    /// Takes `make(id)` as a new connection between `local` and `remote` (which must not
    /// be in the table).
    pub fn insert(
        &mut self,
        local: IpEndpoint,
        remote: IpEndpoint,
        make: impl FnOnce(ConnId) -> Conn,
    ) -> ConnId {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    conn: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        let id = ConnId {
            index,
            generation: slot.generation,
        };
        let conn = make(id);
        self.counts[class_index(Class::of(conn.state, conn.opened))] += 1;
        self.buffers += conn.buffers;
        slot.conn = Some(conn);
        self.by_tuple.insert(TupleKey::new(local, remote), index);
        id
    }

    /// Removes a connection; its id is never valid again.
    pub fn remove(&mut self, id: ConnId) -> Option<Conn> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let conn = slot.conn.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(id.index);
        self.by_tuple
            .remove(&TupleKey::new(conn.local, conn.remote));
        self.counts[class_index(Class::of(conn.state, conn.opened))] -= 1;
        self.buffers -= conn.buffers;
        Some(conn)
    }

    pub fn get(&self, id: ConnId) -> Option<&Conn> {
        let slot = self.slots.get(id.index as usize)?;
        (slot.generation == id.generation)
            .then_some(slot.conn.as_ref())
            .flatten()
    }

    pub fn get_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.conn.as_mut()
    }

    /// The live connection in slot `index` (timers name connections by index).
    pub fn at(&self, index: u32) -> Option<ConnId> {
        let slot = self.slots.get(index as usize)?;
        slot.conn.as_ref().map(|c| c.id)
    }

    pub fn find(&self, local: IpEndpoint, remote: IpEndpoint) -> Option<ConnId> {
        let index = *self.by_tuple.get(&TupleKey::new(local, remote))?;
        self.at(index)
    }

    /// Records a state change, keeping the class counts right.
    pub fn set_state(&mut self, id: ConnId, state: TcpState, now: Instant) {
        let Some(c) = self.get_mut(id) else { return };
        let (from, to) = (Class::of(c.state, c.opened), Class::of(state, c.opened));
        c.state = state;
        c.since = now;
        self.counts[class_index(from)] -= 1;
        self.counts[class_index(to)] += 1;
    }

    /// Records whether the layer above holds the connection (told it opened, not yet
    /// that it closed), keeping the class counts right.
    pub fn set_opened(&mut self, id: ConnId, opened: bool) {
        let Some(c) = self.get_mut(id) else { return };
        let (from, to) = (Class::of(c.state, c.opened), Class::of(c.state, opened));
        c.opened = opened;
        self.counts[class_index(from)] -= 1;
        self.counts[class_index(to)] += 1;
    }

    pub fn count(&self, class: Class) -> usize {
        self.counts[class_index(class)]
    }

    /// Connections in the table, whatever their state.
    pub fn len(&self) -> usize {
        self.by_tuple.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_tuple.is_empty()
    }

    /// Bytes of socket buffers held by all connections.
    pub fn buffers(&self) -> usize {
        self.buffers
    }

    /// The ids of every connection (for the rare whole-table look: shutdown, tests).
    pub fn ids(&self) -> Vec<ConnId> {
        self.slots
            .iter()
            .filter_map(|s| s.conn.as_ref().map(|c| c.id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::socket::tcp;
    use smoltcp::wire::Ipv4Address;

    fn conn(id: ConnId, port: u16, state: TcpState) -> Conn {
        Conn {
            id,
            local: IpEndpoint::new(Ipv4Address::new(10, 0, 0, 1).into(), 80),
            remote: IpEndpoint::new(Ipv4Address::new(10, 0, 0, 2).into(), port),
            solo: SoloSet::new(tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; 16]),
                tcp::SocketBuffer::new(vec![0; 16]),
            )),
            state,
            since: Instant::ZERO,
            opened: false,
            finishing: false,
            wake: None,
            touched: false,
            egress: false,
            buffers: 100,
            view: View::default(),
        }
    }

    #[test]
    fn ids_are_not_reused_and_counts_follow_states() {
        let mut t = Table::default();
        let l = IpEndpoint::new(Ipv4Address::new(10, 0, 0, 1).into(), 80);
        let r = |p| IpEndpoint::new(Ipv4Address::new(10, 0, 0, 2).into(), p);
        let a = t.insert(l, r(1), |id| conn(id, 1, TcpState::SynReceived));
        let b = t.insert(l, r(2), |id| conn(id, 2, TcpState::SynReceived));
        assert_eq!(t.count(Class::HalfOpen), 2);
        assert_eq!(t.buffers(), 200);
        t.set_state(a, TcpState::Established, Instant::ZERO);
        assert_eq!((t.count(Class::HalfOpen), t.count(Class::Waiting)), (1, 1));
        t.set_opened(a, true);
        assert_eq!((t.count(Class::Waiting), t.count(Class::Open)), (0, 1));
        assert_eq!(t.find(l, r(1)), Some(a));
        assert!(t.remove(a).is_some());
        assert!(t.get(a).is_none() && t.remove(a).is_none());
        let c = t.insert(l, r(3), |id| conn(id, 3, TcpState::SynReceived));
        assert_eq!(c.index(), a.index(), "the slot is reused");
        assert_ne!(c, a, "but not the id");
        assert!(t.get(a).is_none());
        assert_eq!(t.find(l, r(1)), None);
        assert_eq!((t.len(), t.count(Class::Open)), (2, 0));
        t.remove(b);
        t.remove(c);
        assert!(t.is_empty() && t.buffers() == 0);
    }
}
