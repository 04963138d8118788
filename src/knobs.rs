//! TCP knobs: one [`TcpKnobs`] value says how our side of every connection behaves on the
//! wire — initial sequence number, MSS, window scaling, who closes first and how, Nagle,
//! delayed ACK, timestamps, SACK.
//!
//! Flags enter through [`KnobArgs`] (clap; the same words on `serve` and, later, `lab`),
//! are checked by [`KnobArgs::into_knobs`], and leave as settings for three places:
//! - smoltcp itself, where it has an API ([`TcpKnobs::rx_buffer`] makes the window shift,
//!   Nagle, ACK delay, timestamps, close/abort) — applied by the stack;
//! - the rewriting layer `device::knobs`, where smoltcp has no setter (ISN, MSS, stripping
//!   the peer's window-scale or SACK-permitted option);
//! - the HTTP layer's close policy ([`ClosePolicy`]).

use std::fmt;
use std::time::Duration;

/// Our initial sequence number on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsnMode {
    /// The same 32-bit number for every connection.
    Fixed(u32),
    /// Whatever smoltcp's random source chose (no rewriting).
    Random,
    /// RFC 6528: a 4 µs clock plus a keyed hash of the 4-tuple.
    Keyed,
}

/// Who sends the first FIN.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClosePolicy {
    /// The server closes after every response (HTTP/1.0 style).
    ServerFirst,
    /// The server never closes first; it waits for the client's FIN.
    ClientFirst,
    /// Keep-alive; the server closes a connection idle this long (Apache's KeepAliveTimeout).
    Idle(Duration),
}

/// Where our FIN goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinMode {
    /// On the last data segment when it can (smoltcp's way when close() follows the data).
    Piggyback,
    /// In a segment of its own, right after the last data segment.
    Separate,
}

/// Window scaling as we offer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wscale {
    Shift(u8),
    /// No window scaling in either direction: the peer's option is stripped from its SYN.
    Off,
}

/// The congestion controller (smoltcp's own, RFC 5681 Reno or RFC 9438 CUBIC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CongestionControl {
    /// No congestion window: only the peer's receive window limits what is in flight.
    None,
    Reno,
    Cubic,
}

impl CongestionControl {
    pub fn name(self) -> &'static str {
        match self {
            CongestionControl::None => "none",
            CongestionControl::Reno => "reno",
            CongestionControl::Cubic => "cubic",
        }
    }

    /// smoltcp's name for it.
    pub fn to_smoltcp(self) -> smoltcp::socket::tcp::CongestionControl {
        use smoltcp::socket::tcp::CongestionControl as C;
        match self {
            CongestionControl::None => C::None,
            CongestionControl::Reno => C::Reno,
            CongestionControl::Cubic => C::Cubic,
        }
    }
}

/// Every knob, resolved. `Default` is `taplab serve` with no knob flags.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpKnobs {
    pub isn: IsnMode,
    /// The MSS we advertise and the most we send; None: from the MTU.
    pub mss: Option<u16>,
    pub mtu: usize,
    pub wscale: Option<Wscale>,
    /// Receive buffer (= the most window we can offer); None: the default for the shift.
    pub window: Option<usize>,
    pub close: ClosePolicy,
    pub fin: FinMode,
    /// After the client's FIN, wait this long in CLOSE-WAIT before ours.
    pub close_wait: Duration,
    /// End connections with RST instead of FIN.
    pub abort: bool,
    pub nagle: bool,
    /// None: ACK at once.
    pub ack_delay: Option<Duration>,
    pub timestamps: bool,
    pub sack: bool,
    /// The congestion controller.
    pub cc: CongestionControl,
}

/// The receive buffer when nothing says otherwise: request-sized, 16 KiB (an HTTP server
/// receives requests; `--window` asks for more), which smoltcp turns into window shift 0.
pub const DEFAULT_WINDOW: usize = 16 * 1024;

impl Default for TcpKnobs {
    fn default() -> Self {
        TcpKnobs {
            isn: IsnMode::Keyed,
            mss: None,
            mtu: 1500,
            wscale: None,
            window: None,
            close: ClosePolicy::Idle(Duration::from_secs(5)),
            fin: FinMode::Piggyback,
            close_wait: Duration::ZERO,
            abort: false,
            nagle: false,
            ack_delay: Some(Duration::from_millis(10)),
            timestamps: true,
            sack: true,
            // CUBIC: what the seeds' servers ran (Linux's default since 2.6.19, Windows'
            // since 10 1709), and it recovers from loss without stalling the transfer.
            cc: CongestionControl::Cubic,
        }
    }
}

/// The window shift smoltcp derives from a receive buffer of `capacity` bytes:
/// bits(capacity) − 16, at most 14.
pub fn shift_for_buffer(capacity: usize) -> u8 {
    let bits = usize::BITS - capacity.leading_zeros();
    (bits.saturating_sub(16) as u8).min(14)
}

/// The smallest receive buffer that makes smoltcp advertise `shift`.
pub fn buffer_for_shift(shift: u8) -> usize {
    if shift == 0 {
        65535
    } else {
        1usize << (15 + shift as usize)
    }
}

/// The largest receive buffer a socket may have: RFC 7323's largest window (shift 14).
/// Buffers are allocated zeroed, so the kernel backs only the pages data reaches.
pub const MAX_WINDOW: usize = 1 << 30;

impl TcpKnobs {
    /// The MSS our MTU allows for IPv4 (IP 20 + TCP 20 bytes of headers).
    pub fn mtu_mss(&self) -> usize {
        self.mtu - 40
    }

    /// The receive buffer size, which is what sets smoltcp's window shift.
    pub fn rx_buffer(&self) -> usize {
        match (self.window, self.wscale) {
            (Some(w), _) => w,
            (None, Some(Wscale::Shift(s))) => buffer_for_shift(s),
            (None, Some(Wscale::Off)) => 65535,
            (None, None) => DEFAULT_WINDOW,
        }
    }

    /// The window shift we advertise when the peer offers scaling (None: we do not scale).
    pub fn advertised_shift(&self) -> Option<u8> {
        match self.wscale {
            Some(Wscale::Off) => None,
            _ => Some(shift_for_buffer(self.rx_buffer())),
        }
    }

    /// Checks combinations that cannot hold; the error says what would.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(mss) = self.mss {
            let max = self.mtu_mss();
            if (mss as usize) > max {
                return Err(format!(
                    "--mss {mss} does not fit in --mtu {} (at most {max}): lower --mss or raise --mtu",
                    self.mtu
                ));
            }
            if mss < 64 {
                return Err(format!("--mss {mss} is too small: use 64 or more"));
            }
        }
        let rx = self.rx_buffer();
        if rx > MAX_WINDOW {
            return Err(format!(
                "--window {rx} is more than the largest window TCP can use ({MAX_WINDOW} bytes, shift 14)"
            ));
        }
        if rx < 1024 {
            return Err(format!("--window {rx} is too small: use 1024 or more"));
        }
        match (self.window, self.wscale) {
            (Some(w), Some(Wscale::Off)) if w > 65535 => Err(format!(
                "--window {w} needs window scaling but --wscale off forbids it: use --window 65535 or less"
            )),
            (Some(w), Some(Wscale::Shift(s))) if shift_for_buffer(w) != s => {
                let lo = buffer_for_shift(s);
                let hi = (1usize << (16 + s as usize)) - 1;
                Err(format!(
                    "--window {w} makes smoltcp advertise shift {} but --wscale {s} asks for {s}: \
                     use a --window between {lo} and {hi}",
                    shift_for_buffer(w)
                ))
            }
            _ => Ok(()),
        }
    }

    /// The knobs in force, for `/tcpinfo`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "isn": match self.isn {
                IsnMode::Fixed(n) => n.to_string(),
                IsnMode::Random => "random".into(),
                IsnMode::Keyed => "keyed".into(),
            },
            "mss": self.mss.map_or(self.mtu_mss(), |m| m as usize),
            "mtu": self.mtu,
            "wscale": self.advertised_shift(),
            "window": self.rx_buffer(),
            "close": match self.close {
                ClosePolicy::ServerFirst => "server-first".to_string(),
                ClosePolicy::ClientFirst => "client-first".to_string(),
                ClosePolicy::Idle(d) => format!("idle:{}", d.as_secs_f64()),
            },
            "fin": match self.fin { FinMode::Piggyback => "piggyback", FinMode::Separate => "separate" },
            "close_wait_ms": self.close_wait.as_millis() as u64,
            "abort": self.abort,
            "nagle": self.nagle,
            "ack_delay_ms": self.ack_delay.map_or(0, |d| d.as_millis() as u64),
            "timestamps": self.timestamps,
            "sack": self.sack,
            "cc": self.cc.name(),
            "summary": self.to_string(),
        })
    }
}

impl fmt::Display for TcpKnobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let isn = match self.isn {
            IsnMode::Fixed(n) => n.to_string(),
            IsnMode::Random => "random".into(),
            IsnMode::Keyed => "keyed".into(),
        };
        let mss = self.mss.map_or_else(
            || format!("{} (from MTU)", self.mtu_mss()),
            |m| m.to_string(),
        );
        let ws = match self.advertised_shift() {
            Some(s) => s.to_string(),
            None => "off".into(),
        };
        let close = match self.close {
            ClosePolicy::ServerFirst => "server-first".to_string(),
            ClosePolicy::ClientFirst => "client-first".to_string(),
            ClosePolicy::Idle(d) => format!("idle:{}", d.as_secs_f64()),
        };
        let onoff = |b: bool| if b { "on" } else { "off" };
        write!(
            f,
            "isn {isn}, mss {mss}, mtu {}, wscale {ws}, window {}, close {close}, fin {}, \
             close-wait {} ms, abort {}, nagle {}, ack-delay {} ms, timestamps {}, sack {}, cc {}",
            self.mtu,
            self.rx_buffer(),
            match self.fin {
                FinMode::Piggyback => "piggyback",
                FinMode::Separate => "separate",
            },
            self.close_wait.as_millis(),
            onoff(self.abort),
            onoff(self.nagle),
            self.ack_delay.map_or(0, |d| d.as_millis()),
            onoff(self.timestamps),
            onoff(self.sack),
            self.cc.name(),
        )
    }
}

/// The knob flags, shared by every subcommand that runs a stack.
#[derive(clap::Args, Debug, Clone)]
pub struct KnobArgs {
    /// Our initial sequence number: a fixed N (0..4294967295), smoltcp's `random`, or `keyed` (RFC 6528)
    #[arg(long, default_value = "keyed", value_parser = parse_isn, value_name = "N|random|keyed")]
    pub isn: IsnMode,
    /// The MSS we advertise, and the largest payload we send [default: from the MTU]
    #[arg(long, value_name = "N")]
    pub mss: Option<u16>,
    /// Device MTU (IP bytes per frame, up to a tap's 65521); also set on the tap when taplab creates it
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u16).range(1280..=65521))]
    pub mtu: u16,
    /// Window-scale shift we advertise (0..14), made real by the receive buffer size; `off`: no scaling either way
    #[arg(long, value_parser = parse_wscale, value_name = "0..14|off")]
    pub wscale: Option<Wscale>,
    /// Our receive window (receive buffer) in bytes [default: 16384, or the smallest that gives --wscale]
    #[arg(long, value_name = "BYTES")]
    pub window: Option<usize>,
    /// Who sends the first FIN: `server-first`, `client-first`, or `idle:SECS` (server FIN after SECS idle)
    #[arg(long, value_parser = parse_close, value_name = "server-first|client-first|idle:SECS")]
    pub close: Option<ClosePolicy>,
    /// Close an idle keep-alive connection after SECS (same as --close idle:SECS; 0: --close server-first)
    #[arg(long, value_parser = parse_secs, value_name = "SECS", conflicts_with = "close")]
    pub keep_alive_timeout: Option<Duration>,
    /// Our FIN on the last data segment (`piggyback`) or in its own segment right after the last data segment (`separate`)
    #[arg(long, default_value = "piggyback", value_parser = parse_fin, value_name = "piggyback|separate")]
    pub fin: FinMode,
    /// After the client's FIN, linger MS in CLOSE-WAIT before our FIN (0: ACK and FIN share a segment)
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub close_wait: u64,
    /// End connections with RST instead of FIN
    #[arg(long)]
    pub abort: bool,
    /// Nagle's algorithm (hold small segments while data is unacknowledged)
    #[arg(long, default_value = "off", value_parser = parse_onoff, value_name = "on|off", action = clap::ArgAction::Set)]
    pub nagle: bool,
    /// Delayed-ACK timeout in ms (0: ACK at once)
    #[arg(long, default_value_t = 10, value_name = "MS")]
    pub ack_delay: u64,
    /// TCP timestamps (RFC 7323) when the peer offers them
    #[arg(long, default_value = "on", value_parser = parse_onoff, value_name = "on|off", action = clap::ArgAction::Set)]
    pub timestamps: bool,
    /// Selective acknowledgement (RFC 2018) when the peer offers it
    #[arg(long, default_value = "on", value_parser = parse_onoff, value_name = "on|off", action = clap::ArgAction::Set)]
    pub sack: bool,
    /// Congestion control: smoltcp's `reno` (RFC 5681), `cubic` (RFC 9438) or `none`
    #[arg(long, default_value = "cubic", value_parser = parse_cc, value_name = "none|reno|cubic")]
    pub cc: CongestionControl,
}

impl KnobArgs {
    pub fn into_knobs(self) -> Result<TcpKnobs, String> {
        let close = match (self.close, self.keep_alive_timeout) {
            (Some(c), _) => c,
            (None, Some(d)) if d.is_zero() => ClosePolicy::ServerFirst,
            (None, Some(d)) => ClosePolicy::Idle(d),
            (None, None) => TcpKnobs::default().close,
        };
        let knobs = TcpKnobs {
            isn: self.isn,
            mss: self.mss,
            mtu: self.mtu as usize,
            wscale: self.wscale,
            window: self.window,
            close,
            fin: self.fin,
            close_wait: Duration::from_millis(self.close_wait),
            abort: self.abort,
            nagle: self.nagle,
            ack_delay: (self.ack_delay > 0).then(|| Duration::from_millis(self.ack_delay)),
            timestamps: self.timestamps,
            sack: self.sack,
            cc: self.cc,
        };
        knobs.validate()?;
        Ok(knobs)
    }
}

pub fn parse_isn(s: &str) -> Result<IsnMode, String> {
    match s {
        "random" => Ok(IsnMode::Random),
        "keyed" => Ok(IsnMode::Keyed),
        n => n
            .parse::<u32>()
            .map(IsnMode::Fixed)
            .map_err(|_| format!("`{s}` is not a 32-bit number, `random` or `keyed`")),
    }
}

pub fn parse_wscale(s: &str) -> Result<Wscale, String> {
    match s {
        "off" => Ok(Wscale::Off),
        n => match n.parse::<u8>() {
            Ok(v) if v <= 14 => Ok(Wscale::Shift(v)),
            _ => Err(format!(
                "`{s}` is not a shift 0..14 or `off` (RFC 7323 allows at most 14)"
            )),
        },
    }
}

fn parse_close(s: &str) -> Result<ClosePolicy, String> {
    match s {
        "server-first" => Ok(ClosePolicy::ServerFirst),
        "client-first" => Ok(ClosePolicy::ClientFirst),
        _ => match s.strip_prefix("idle:") {
            Some(secs) => match parse_secs(secs) {
                Ok(d) if !d.is_zero() => Ok(ClosePolicy::Idle(d)),
                _ => Err(format!(
                    "`{s}`: idle needs a number of seconds above 0, e.g. idle:5"
                )),
            },
            None => Err(format!(
                "`{s}` is not `server-first`, `client-first` or `idle:SECS`"
            )),
        },
    }
}

pub fn parse_cc(s: &str) -> Result<CongestionControl, String> {
    match s {
        "none" => Ok(CongestionControl::None),
        "reno" => Ok(CongestionControl::Reno),
        "cubic" => Ok(CongestionControl::Cubic),
        _ => Err(format!("`{s}` is not `none`, `reno` or `cubic`")),
    }
}

fn parse_fin(s: &str) -> Result<FinMode, String> {
    match s {
        "piggyback" => Ok(FinMode::Piggyback),
        "separate" => Ok(FinMode::Separate),
        _ => Err(format!("`{s}` is not `piggyback` or `separate`")),
    }
}

pub fn parse_onoff(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("`{s}` is not `on` or `off`")),
    }
}

pub fn parse_secs(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86400.0).contains(&v) => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!(
            "`{s}` is not a number of seconds between 0 and 86400"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        k: KnobArgs,
    }

    fn knobs(args: &[&str]) -> Result<TcpKnobs, String> {
        let mut v = vec!["t"];
        v.extend_from_slice(args);
        T::try_parse_from(v)
            .map_err(|e| e.to_string())?
            .k
            .into_knobs()
    }

    #[test]
    fn defaults() {
        assert_eq!(knobs(&[]).unwrap(), TcpKnobs::default());
        assert_eq!(TcpKnobs::default().advertised_shift(), Some(0));
        assert_eq!(TcpKnobs::default().rx_buffer(), 16 * 1024);
    }

    #[test]
    fn shift_follows_buffer_size_as_smoltcp_computes_it() {
        assert_eq!(shift_for_buffer(65535), 0);
        assert_eq!(shift_for_buffer(65536), 1);
        assert_eq!(shift_for_buffer(256 * 1024), 3);
        assert_eq!(shift_for_buffer(256 * 1024 - 1), 2);
        for s in 0..=14 {
            assert_eq!(shift_for_buffer(buffer_for_shift(s)), s, "shift {s}");
        }
    }

    #[test]
    fn every_value_class_parses() {
        let k = knobs(&[
            "--isn",
            "1000",
            "--mss",
            "536",
            "--wscale",
            "2",
            "--close",
            "server-first",
            "--fin",
            "separate",
            "--close-wait",
            "300",
            "--abort",
            "--nagle",
            "on",
            "--ack-delay",
            "0",
            "--timestamps",
            "off",
            "--sack",
            "off",
        ])
        .unwrap();
        assert_eq!(k.isn, IsnMode::Fixed(1000));
        assert_eq!(k.mss, Some(536));
        assert_eq!(k.advertised_shift(), Some(2));
        assert_eq!(k.rx_buffer(), 128 * 1024);
        assert_eq!(k.close, ClosePolicy::ServerFirst);
        assert_eq!(k.fin, FinMode::Separate);
        assert_eq!(k.close_wait, Duration::from_millis(300));
        assert!(k.abort && k.nagle && !k.timestamps && !k.sack);
        assert_eq!(k.ack_delay, None);
        assert_eq!(knobs(&["--isn", "random"]).unwrap().isn, IsnMode::Random);
        assert_eq!(
            knobs(&["--wscale", "off"]).unwrap().advertised_shift(),
            None
        );
        assert_eq!(
            knobs(&["--close", "idle:2.5"]).unwrap().close,
            ClosePolicy::Idle(Duration::from_millis(2500))
        );
        assert_eq!(
            knobs(&["--close", "client-first"]).unwrap().close,
            ClosePolicy::ClientFirst
        );
        assert_eq!(
            knobs(&["--keep-alive-timeout", "0"]).unwrap().close,
            ClosePolicy::ServerFirst
        );
    }

    #[test]
    fn impossible_combinations_are_refused_with_what_would_work() {
        let e = knobs(&["--wscale", "2", "--window", "100000"]).unwrap_err();
        assert!(e.contains("between 131072 and 262143"), "{e}");
        assert!(knobs(&["--wscale", "2", "--window", "200000"]).is_ok());
        let e = knobs(&["--wscale", "off", "--window", "100000"]).unwrap_err();
        assert!(e.contains("65535"), "{e}");
        let e = knobs(&["--mss", "1461"]).unwrap_err();
        assert!(e.contains("1460"), "{e}");
        assert!(knobs(&["--mss", "1460"]).is_ok());
        assert!(knobs(&["--mss", "8000", "--mtu", "9000"]).is_ok());
        assert!(knobs(&["--wscale", "15"]).is_err());
        assert_eq!(
            knobs(&["--wscale", "14"]).unwrap().advertised_shift(),
            Some(14)
        );
        assert!(
            knobs(&["--window", "2000000000"])
                .unwrap_err()
                .contains("shift 14")
        );
        assert!(knobs(&["--isn", "4294967296"]).is_err());
        assert!(knobs(&["--close", "idle:0"]).is_err());
        assert!(knobs(&["--close", "sometimes"]).is_err());
        assert!(knobs(&["--close", "server-first", "--keep-alive-timeout", "3"]).is_err());
        assert!(knobs(&["--nagle", "yes"]).is_err());
    }
}
