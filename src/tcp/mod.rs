//! The words every part of taplab uses for TCP: flag sets ([`TcpFlags`]), options as
//! they sit in a header ([`TcpOption`], walked by [`options()`]), and connection states and
//! ends ([`TcpState`], [`Side`]), and an end changing state ([`StateChange`]), reported by
//! a socket or inferred from segments.
//!
//! These are plain values, parsed from and printed to the spellings the project needs:
//! Wireshark's (`[SYN, ACK]`, `SYN_RCVD`), tcpdump's and packetdrill's (`S.`). Header
//! parsing itself is smoltcp's (`smoltcp::wire::TcpPacket`); this module only adds what
//! smoltcp leaves out — the flag bits as one set, and an option walker that keeps going
//! where smoltcp's parser gives up, names TFO, MD5 and AccECN, and tells each option's
//! offset so the knobs layer can edit it in place. [`TupleKey`] is a connection's
//! 4-tuple as the tables looked up per frame key it.

pub mod change;
pub mod flags;
pub mod options;
pub mod state;
pub mod tuple;

pub use change::{Cause, Inferred, StateChange, endpoint_text};
pub use flags::TcpFlags;
pub use options::{TcpOption, options};
pub use state::{Side, TcpState};
pub use tuple::TupleKey;
