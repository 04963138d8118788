//! TCP stream graphs of the lab (`taplab lab … --graph KIND=OUT`) and of a lab capture
//! read back (`taplab trace FILE --graph …`): byte-identical per seed with golden hashes,
//! the same points from the lab and from its pcap, their points equal to tshark's numbers
//! for the same frames, every SVG well-formed (xmllint) and rendered (rsvg-convert) to
//! target/test-artifacts/ for a look.
//!
//! The golden hashes are `tests/golden/graphs/SCENARIO.txt`, one line per graph: KIND and
//! the FNV-1a-64 hash of its SVG. `TAPLAB_BLESS=1 cargo test --release --test graphs`
//! rewrites them. No root and no network: the lab runs in the taplab process. The tests
//! that need tshark, xmllint or rsvg-convert are `#[ignore]`d (scripts/test.sh installs
//! the tools and runs them); the rest runs anywhere.

mod graph_check;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_taplab");
const KINDS: [&str; 5] = ["tcptrace", "stevens", "throughput", "rtt", "window"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn artifacts() -> PathBuf {
    let d = repo().join("target/test-artifacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let p = std::env::temp_dir().join(format!(
            "taplab-graphs-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(repo())
        .env_remove("RUST_LOG")
        .output()
        .expect("run taplab")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "taplab {args:?}: {}\n{}",
        out.status,
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn fnv1a64(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// `--graph KIND=DIR/KIND.EXT` for every kind.
fn graph_args(dir: &Scratch, ext: &str) -> Vec<String> {
    KINDS
        .iter()
        .flat_map(|k| {
            [
                "--graph".to_string(),
                format!("{k}={}", dir.file(&format!("{k}.{ext}"))),
            ]
        })
        .collect()
}

/// Runs `lab SCENARIO --seed SEED` drawing every kind; returns "KIND hash" lines.
fn lab_graphs(scenario: &str, seed: &str, dir: &Scratch) -> String {
    let mut args = vec!["lab", scenario, "--seed", seed];
    let g = graph_args(dir, "svg");
    args.extend(g.iter().map(String::as_str));
    ok(&args);
    KINDS
        .iter()
        .map(|k| {
            let svg = std::fs::read(dir.file(&format!("{k}.svg"))).unwrap();
            format!("{k} {}\n", fnv1a64(&svg))
        })
        .collect()
}

/// Compares `lines` with `tests/golden/graphs/NAME.txt` (`TAPLAB_BLESS=1` writes it).
fn matches_golden(name: &str, lines: &str) {
    let golden = repo().join(format!("tests/golden/graphs/{name}.txt"));
    if std::env::var_os("TAPLAB_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, lines).unwrap();
    } else {
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e} (TAPLAB_BLESS=1 writes it)", golden.display()));
        assert_eq!(
            lines,
            want,
            "(TAPLAB_BLESS=1 rewrites {})",
            golden.display()
        );
    }
}

/// The graph each congestion scenario is shown with in the README (docs/graph-SCENARIO.svg).
const SCENARIO_GRAPHS: [(&str, &str); 6] = [
    ("slow-start", "tcptrace"),
    ("fast-retransmit", "tcptrace"),
    ("rto-backoff", "tcptrace"),
    ("congestion-avoidance", "window"),
    ("window-limited", "throughput"),
    ("nagle-delayed-ack", "tcptrace"),
];

/// The congestion scenarios' pictures are held byte-identical (their default seed); the
/// README's copies in docs/ are the same bytes.
#[test]
fn congestion_scenario_graphs_match_their_golden_hashes_and_the_readmes_pictures() {
    let dir = Scratch::new();
    for (scenario, kind) in SCENARIO_GRAPHS {
        let out = dir.file(&format!("{scenario}.svg"));
        ok(&["lab", scenario, "--graph", &format!("{kind}={out}")]);
        let svg = std::fs::read(&out).unwrap();
        matches_golden(scenario, &format!("{kind} {}\n", fnv1a64(&svg)));
        let docs = repo().join(format!("docs/graph-{scenario}.svg"));
        if std::env::var_os("TAPLAB_BLESS").is_some() {
            std::fs::write(&docs, &svg).unwrap();
        }
        assert_eq!(
            std::fs::read(&docs).ok(),
            Some(svg),
            "{} differs from the run's (TAPLAB_BLESS=1 rewrites it)",
            docs.display()
        );
    }
}

/// Every congestion scenario's README picture is well-formed and renders.
#[test]
#[ignore = "needs xmllint and rsvg-convert: run scripts/test.sh"]
fn congestion_scenario_graphs_are_valid_svg_and_render() {
    let dir = Scratch::new();
    for (scenario, kind) in SCENARIO_GRAPHS {
        let out = dir.file(&format!("{scenario}.svg"));
        ok(&["lab", scenario, "--graph", &format!("{kind}={out}")]);
        graph_check::valid_and_rendered(Path::new(&out), &format!("lab-{scenario}-{kind}"));
    }
}

#[test]
fn lab_graphs_are_byte_identical_per_seed_and_match_their_golden_hashes() {
    let (a, b) = (Scratch::new(), Scratch::new());
    let first = lab_graphs("retransmission", "1", &a);
    let again = lab_graphs("retransmission", "1", &b);
    assert_eq!(first, again, "the same seed drew other bytes");
    matches_golden("retransmission", &first);
    // Another seed of a lossy run is another run: other pictures.
    let (c, d) = (Scratch::new(), Scratch::new());
    let lossy1 = lab_graphs("lossy", "1", &c);
    let lossy2 = lab_graphs("lossy", "2", &d);
    assert_ne!(lossy1.lines().next(), lossy2.lines().next());
}

/// Every kind of graph of a lossless and a lossy run is well-formed and renders.
#[test]
#[ignore = "needs xmllint and rsvg-convert: run scripts/test.sh"]
fn lab_graphs_of_every_kind_are_valid_svg_and_render() {
    for scenario in ["retransmission", "lossy"] {
        let dir = Scratch::new();
        lab_graphs(scenario, "1", &dir);
        for k in KINDS {
            graph_check::valid_and_rendered(
                &dir.0.join(format!("{k}.svg")),
                &format!("lab-{scenario}-{k}"),
            );
        }
    }
}

/// The runs whose graph points are checked: lossy, one loss, a zero window.
const POINT_RUNS: [(&str, &str); 3] = [
    ("lossy", "3"),
    ("retransmission", "1"),
    ("zero-window", "1"),
];

/// `lab SCENARIO --seed SEED` writing its pcap and its tcptrace and window points into
/// `dir`; returns (pcap, tcptrace CSV, window CSV).
fn lab_points(scenario: &str, seed: &str, dir: &Scratch) -> (String, String, String) {
    let pcap = dir.file("run.pcap");
    let (t, w) = (dir.file("t.csv"), dir.file("w.csv"));
    let tg = format!("tcptrace={t}");
    let wg = format!("window={w}");
    ok(&[
        "lab", scenario, "--seed", seed, "--pcap", &pcap, "--graph", &tg, "--graph", &wg,
    ]);
    let (tc, wc) = (
        std::fs::read_to_string(&t).unwrap(),
        std::fs::read_to_string(&w).unwrap(),
    );
    (pcap, tc, wc)
}

#[test]
fn trace_of_a_lab_pcap_draws_the_labs_points() {
    for (scenario, seed) in POINT_RUNS {
        let dir = Scratch::new();
        let (pcap, tc, wc) = lab_points(scenario, seed, &dir);
        // `taplab trace` of the pcap draws the same points (its source line aside).
        let (t2, w2) = (dir.file("t2.csv"), dir.file("w2.csv"));
        let tg2 = format!("tcptrace={t2}");
        let wg2 = format!("window={w2}");
        ok(&["trace", &pcap, "--graph", &tg2, "--graph", &wg2]);
        assert_eq!(
            std::fs::read_to_string(&t2).unwrap(),
            tc,
            "{scenario}: trace and lab differ"
        );
        assert_eq!(
            std::fs::read_to_string(&w2).unwrap(),
            wc,
            "{scenario}: trace and lab differ"
        );
    }
}

#[test]
#[ignore = "needs tshark: run scripts/test.sh"]
fn lab_graph_points_are_tsharks_numbers_for_the_runs_own_pcap() {
    let mut report = String::new();
    for (scenario, seed) in POINT_RUNS {
        let dir = Scratch::new();
        let (pcap, tc, wc) = lab_points(scenario, seed, &dir);
        report += &graph_check::check(Path::new(&pcap), &tc, &wc);
        report.push('\n');
    }
    std::fs::write(artifacts().join("graphs-lab-vs-tshark.txt"), &report).unwrap();
    eprintln!("{report}");
}

#[test]
fn trace_graph_flags_are_checked_with_one_line_answers() {
    let dir = Scratch::new();
    let pcap = dir.file("h.pcap");
    ok(&["lab", "handshake", "--pcap", &pcap]);
    let svg = dir.file("x.svg");
    let bad: [(&[&str], &str); 5] = [
        (
            &["--graph", "sequence=x.svg"],
            "is not a graph: use one of tcptrace, stevens, throughput, rtt, window",
        ),
        (&["--graph", "tcptrace"], "is not KIND=OUT.svg"),
        (&["--direction", "client"], "--graph"),
        (
            &["--graph", "rtt=x.svg", "--direction", "up"],
            "is not a direction",
        ),
        (
            &["--graph", &format!("rtt={svg}"), "--stream", "7"],
            "there is no stream 7",
        ),
    ];
    for (args, want) in bad {
        let mut a = vec!["trace", pcap.as_str()];
        a.extend_from_slice(args);
        let out = run(&a);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // The lab's --graph draws scenarios, not scripts.
    let out = run(&[
        "lab",
        "--script",
        "scripts/examples/handshake.pkt",
        "--graph",
        &format!("rtt={svg}"),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("taplab trace FILE --graph"),
        "{}",
        text(&out.stderr)
    );
    // A file that cannot be written: one line, after the listing.
    let out = run(&["trace", &pcap, "--graph", "rtt=/nonexistent/dir/r.svg"]);
    let err = text(&out.stderr);
    assert!(!out.status.success() && err.lines().count() == 1, "{err}");
    assert!(
        err.contains("cannot write the graph /nonexistent/dir/r.svg"),
        "{err}"
    );
    // The listing is unchanged by --graph, and --in-flight only adds to data segments.
    let plain = ok(&["trace", &pcap]);
    let with = ok(&[
        "trace",
        &pcap,
        "--graph",
        &format!("tcptrace={svg}"),
        "--in-flight",
    ]);
    assert_eq!(plain.lines().count(), with.lines().count());
    let mut added = 0;
    for (p, w) in plain.lines().zip(with.lines()) {
        let rest = w.strip_prefix(p).unwrap_or_else(|| panic!("{p}\n{w}"));
        if rest.is_empty() {
            continue;
        }
        let n = rest
            .trim_start_matches(' ')
            .strip_prefix("[Bytes in flight: ")
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or_else(|| panic!("{w}"));
        assert!(n.parse::<u32>().is_ok_and(|n| n > 0), "{w}");
        added += 1;
    }
    assert_eq!(added, 4, "{with}");
    assert!(
        with.contains("GET / HTTP/1.1 [Bytes in flight: 120]"),
        "{with}"
    );
}
