//! Any text as a policy file (beside the shipped rates): loads or fails
//! with located problems, never panics; a loaded set answers requests.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate::{Context, Engine, Sources};

const RATES: &str = "[card]\nversion = \"f\"\nprecision = 2\nrounding = \"up\"\n[tools.t]\nper_run = 1\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Engine::from_sources(Sources::new().rates("r.toml", RATES).policies("fuzz.toml", text)) {
        Ok(engine) => {
            let sheet = engine.policy_sheet();
            let ctx = Context::new();
            for role in sheet.roles.iter().take(4) {
                for action in sheet.actions.iter().take(8) {
                    let d = engine.authorize(role.role, action.action, &ctx).expect("known names");
                    // Default deny and the rules listed agree with the decision.
                    assert!(d.allowed() != d.rules.is_empty() || !d.allowed());
                }
            }
        }
        Err(e) => {
            assert!(!e.problems().is_empty());
            let _ = e.to_string();
        }
    }
});
