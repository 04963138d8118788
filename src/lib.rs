//! taplab: a user-space TCP/IP stack (smoltcp) on a Linux TAP device, serving a small
//! lab website over HTTP so that every packet a browser exchanges with it comes from code
//! one can read, configure and step through.
//!
//! # Map of the crate
//! Frames flow up and down this chain (see `shared/docs/DESIGN.md`):
//!
//! ```text
//! browser/curl ─ kernel ─ tap0
//!   device::tap::TapDevice          frames in/out of the tap fd (smoltcp Device)
//!    └ device::knobs::KnobsLayer    rewrites what smoltcp cannot set: ISN, MSS, options
//!       └ device::gate::SynGate     drops SYNs while the listening pool is empty
//!          └ stack::Stack           smoltcp Interface + SocketSet + listening pool; no HTTP
//!             └ server::Server      one http::HttpConnection per established socket
//!                └ http             pure HTTP/1.1: bytes in → response bytes out, from a Site
//! ```
//!
//! - [`knobs`]: the TCP knobs (one `TcpKnobs` value) and their flags.
//! - [`tcp`]: the TCP vocabulary every layer shares: flag sets, options, states, sides.
//!
//! - [`clock`]: time is passed in, never read behind the caller's back.
//! - [`serve`]: the `taplab serve` event loop that joins the pieces to a real tap.
//! - [`lab`]: `taplab lab`, the same server stack and a browser-like client on two ends of
//!   a virtual wire (`device::sim`), driven by a virtual clock: deterministic experiments.
//! - [`script`]: `taplab lab --script FILE`, a packetdrill-style scripted peer that drives the
//!   same server stack in memory and in virtual time and checks every segment it sends.
//! - [`trace`]: `taplab trace`: captures in, Wireshark's listing and each TCP stream's
//!   inferred states out; incremental, so the live server can use it too.
//! - [`cli`]: flag parsing (clap); `main.rs` only calls [`cli::main`].

pub mod cli;
pub mod clock;
pub mod device;
pub mod http;
pub mod knobs;
pub mod lab;
pub mod live;
pub mod script;
pub mod serve;
pub mod server;
pub mod stack;
pub mod step;
pub mod tcp;
pub mod tcpinfo;
pub mod trace;

#[cfg(test)]
mod testutil;
