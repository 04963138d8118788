//! The `script` target's seeds: the repository's example scripts (scripts/examples/, each
//! with its `// flags:` line), and one with a syntax error.

use std::path::Path;

/// The `script` target's seeds.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/examples");
    let mut names: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(d) => d.flatten().map(|e| e.path()).collect(),
        Err(e) => panic!("cannot read {}: {e}", dir.display()),
    };
    names.retain(|p| p.extension().is_some_and(|x| x == "pkt"));
    names.sort();
    let mut out: Vec<(String, Vec<u8>)> = names
        .iter()
        .filter_map(|p| {
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            Some((stem, std::fs::read(p).ok()?))
        })
        .collect();
    out.push((
        "syntax-error".into(),
        b"0 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,wscale>\n".to_vec(),
    ));
    out
}
