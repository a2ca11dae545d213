//! The shipped rate and policy files as the library embeds them: copied
//! into `OUT_DIR` with their comment lines emptied. Comments are for the
//! people who edit the files; compiled in, they only cost the WebAssembly
//! module bytes. Each emptied line keeps its newline, so every line and
//! column of the embedded text is the file's. A file with a multi-line
//! string (where a line starting with `#` may be text) is copied as it is.

use std::error::Error;
use std::fs;
use std::path::Path;

fn main() -> Result<(), Box<dyn Error>> {
    let out = std::env::var("OUT_DIR")?;
    for folder in ["rates", "policies"] {
        println!("cargo::rerun-if-changed={folder}");
        fs::create_dir_all(Path::new(&out).join(folder))?;
        for entry in fs::read_dir(folder)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                println!("cargo::rerun-if-changed={}", path.display());
                let text = fs::read_to_string(&path)?;
                let embedded =
                    if text.contains("\"\"\"") || text.contains("'''") { text } else { without_comments(&text) };
                fs::write(Path::new(&out).join(&path), embedded)?;
            }
        }
    }
    Ok(())
}

/// Every line whose first non-blank character is `#`, emptied.
fn without_comments(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| match line.trim_start().starts_with('#') {
            true if line.ends_with('\n') => "\n",
            true => "",
            false => line,
        })
        .collect()
}
