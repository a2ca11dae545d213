//! Lists the golden vectors (`tests/vectors/`) for the WebAssembly tests,
//! which cannot read files at run time: `$OUT_DIR/vectors.rs` holds
//! `(name, request, expected answer)` for every vector, via `include_str!`.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json") && !n.ends_with(".expected.json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = String::from("pub const VECTORS: &[(&str, &str, &str)] = &[\n");
    for name in &names {
        let stem = name.trim_end_matches(".json");
        let input = dir.join(name);
        let expected = dir.join(format!("{stem}.expected.json"));
        let _ = writeln!(
            out,
            "    ({stem:?}, include_str!({:?}), include_str!({:?})),",
            input.display().to_string(),
            expected.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("vectors.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {e}", dest.display());
    }
}
