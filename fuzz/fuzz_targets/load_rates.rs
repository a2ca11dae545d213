//! Any text as a rate file: loads or fails with located problems, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate::{Engine, Sources};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Engine::from_sources(Sources::new().rates("fuzz.toml", text)) {
        Ok(engine) => {
            // A loaded card must answer its own sheet and a tool-only run.
            let sheet = engine.rate_sheet();
            for tool in sheet.tools.iter().take(4) {
                let run = tollgate::Run { tool: Some(tool.tool.clone()), items: vec![] };
                let _ = engine.estimate(&run);
            }
        }
        Err(e) => {
            assert!(!e.problems().is_empty());
            for p in e.problems() {
                let _ = (p.to_string(), p.help(), p.code());
            }
        }
    }
});
