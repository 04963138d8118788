//! Writes the seed corpus: `corpus/<target>/seed-<name>` for every seed of
//! `taplab_fuzz::seeds`, replacing the old seeds (files named `seed-*`) and leaving what
//! the fuzzer found alone. Run from anywhere: `cargo run --example make-seeds`.

use std::path::Path;

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let seeds = taplab_fuzz::seeds::all();
    for target in ["frames", "http", "trace", "script"] {
        let dir = corpus.join(target);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!("make-seeds: cannot create {}: {e}", dir.display());
            std::process::exit(1);
        }
        let old = std::fs::read_dir(&dir).into_iter().flatten().flatten();
        for entry in old.filter(|e| e.file_name().to_string_lossy().starts_with("seed-")) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    for (target, name, input) in &seeds {
        let path = corpus.join(target).join(format!("seed-{name}"));
        if let Err(e) = std::fs::write(&path, input) {
            eprintln!("make-seeds: cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    println!(
        "make-seeds: {} seeds written under {}",
        seeds.len(),
        corpus.display()
    );
}
