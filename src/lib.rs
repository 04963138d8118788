//! taplab: a user-space TCP/IP stack (smoltcp) on a Linux TAP device, serving a small
//! lab website over HTTP so that every packet a browser exchanges with it comes from code
//! one can read, configure and step through.
//!
//! # Map of the crate
//! [`server_stack::ServerStack`] builds the server side in one place, for `serve`, `lab`
//! and `lab --script` alike; they differ only in the device at the bottom and the clock.
//! Frames flow up and down this chain:
//!
//! ```text
//! browser/curl ─ kernel ─ tap0       (lab: the virtual wire device::sim; script: an in-memory wire)
//!   device::tap::TapDevice            frames in/out of the tap fd (a smoltcp Device)
//!    └ device::capture::Capture      the capture point: --pcap, /tcpinfo's table, the live listing
//!       └ device::faults::Faults      serve --loss (smoltcp's FaultInjector), absent without it
//!          └ device::knobs::KnobsLayer  rewrites what smoltcp cannot set: ISN, MSS, options
//!             └ stack::Stack          one smoltcp Interface; a socket per connection, made
//!                │                    when stack::admission admits its SYN; stack::guard
//!                │                    (RFC 5961, PAWS, repairs) sees every segment first
//!                └ server::Server     one http::HttpConnection per open connection
//!                   └ http            pure HTTP/1.1: bytes in → response bytes out, from a Site
//! ```
//!
//! Where does the SYN-ACK get its ISN, and where is it in the listing? smoltcp picks one;
//! [`device::knobs::KnobsLayer`] replaces it as the SYN-ACK leaves (`--isn N|random|keyed`,
//! [`knobs::IsnMode`]; keyed, RFC 6528, is the default) and translates every later
//! number. The listing's `[SYN, ACK] Seq=0` counts from it ([`trace::tcp`]: each
//! direction's base is its SYN's sequence number); `taplab trace --absolute` and
//! `/tcpinfo` ([`tcpinfo`], `server.isn`) show the ISN itself.
//!
//! Every module, one line each:
//! - [`cli`]: the command line (clap) and the subcommands; `main.rs` only calls
//!   [`cli::main`].
//! - [`clock`]: time is passed in, never read behind the caller's back (a real clock for
//!   `serve`, a virtual one for the lab and the script).
//! - [`device`]: smoltcp Devices and the middlewares on them (the chain above), the lab's
//!   virtual wire (`device::sim`), and `device::frame`, which finds the TCP segment in a
//!   frame for every middleware and observer.
//! - [`http`]: pure HTTP/1.1: request bytes in, response bytes out, from a `Site` (the
//!   files of www/); knows nothing of TCP.
//! - [`knobs`]: the TCP knobs (one `TcpKnobs` value) and their flags.
//! - [`lab`]: `taplab lab`: the same server stack and a browser-like client
//!   (`lab::client`) on two ends of a virtual wire, driven by a virtual clock; scenarios,
//!   their checks and sweeps — deterministic experiments.
//! - [`live`]: the live listing of `serve --trace` and `serve --step`.
//! - [`network`]: the addresses, MACs and port of both ends, for all three commands.
//! - [`ratelog`]: log lines a peer can provoke, summarised per second.
//! - [`script`]: `taplab lab --script FILE`, a packetdrill-style scripted peer that drives
//!   the same server stack in memory and in virtual time and checks every segment it sends.
//! - [`serve`]: `taplab serve`: the event loop on a real tap.
//! - [`server`]: the web server: joins each of the stack's connections to an
//!   `http::HttpConnection` and reports their state changes.
//! - [`server_stack`]: the one constructor of the server side (the chain above).
//! - [`stack`]: one smoltcp Interface, a socket per admitted connection
//!   (`stack::admission`), the edge guard (`stack::guard`), the connection table and
//!   timers.
//! - [`step`]: step mode (`serve --step`): each frame waits for a key.
//! - [`tcp`]: the TCP vocabulary every layer shares: flags, options (one walker), states,
//!   sides, and the one [`tcp::StateChange`] (a socket's real one, or one inferred).
//! - [`tcpinfo`]: `/tcpinfo`, what each connection looked like on the wire (the page's
//!   own handshake).
//! - [`trace`]: `taplab trace`: each frame becomes a typed row (flags, options, analysis
//!   marks, HTTP heads as data); the listing prints it as Wireshark does, the timeline
//!   infers both ends' states, picture/ladder draw an SVG, `trace::graph` the TCP stream
//!   graphs. Streamed and bounded: the live trace and the lab use it too.

pub mod cli;
pub mod clock;
pub mod device;
pub mod http;
pub mod knobs;
pub mod lab;
pub mod live;
pub mod network;
pub mod ratelog;
pub mod script;
pub mod serve;
pub mod server;
pub mod server_stack;
pub mod stack;
pub mod step;
pub mod tcp;
pub mod tcpinfo;
pub mod trace;

#[cfg(test)]
mod testutil;
