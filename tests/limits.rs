#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

//! Every input bound of `tollgate::limits`: just over it is an error that
//! names the bound (code `too_large`); at it, the input is accepted.

use tollgate::limits::*;
use tollgate::{parse_request, Engine, Item, Run, Sources, TextItem};

const CARD: &str = "[card]\nversion = \"v\"\nprecision = 2\nrounding = \"up\"\n";

fn load_error(sources: Sources) -> String {
    let err = Engine::from_sources(sources).unwrap_err();
    assert_eq!(err.problems()[0].code(), "too_large", "{err}");
    err.to_string()
}

fn rates(text: &str) -> Sources {
    Sources::new().rates("r.toml", text)
}

fn policies(text: &str) -> Sources {
    Sources::new().rates("r.toml", CARD).policies("p.toml", text)
}

#[test]
fn file_size() {
    let padding = "#".repeat(MAX_SOURCE_BYTES);
    let msg = load_error(rates(&format!("{CARD}{padding}")));
    assert!(msg.contains(&format!("bytes of the file exceeds the limit of {MAX_SOURCE_BYTES}")), "{msg}");
    assert!(msg.starts_with("r.toml:1:1: "), "{msg}");
}

#[test]
fn number_of_files() {
    let mut s = Sources::new().rates("card.toml", CARD);
    for i in 0..MAX_SOURCES {
        s = s.rates(&format!("t{i}.toml"), &format!("[tools.t{i}]\nper_run = 1\n"));
    }
    assert!(load_error(s).contains(&format!("files exceeds the limit of {MAX_SOURCES} (has {})", MAX_SOURCES + 1)));
}

#[test]
fn name_length() {
    let ok = "x".repeat(MAX_NAME_CHARS);
    assert!(Engine::from_sources(rates(&format!("{CARD}[tools.{ok}]\nper_run = 1\n"))).is_ok());
    let long = "x".repeat(MAX_NAME_CHARS + 1);
    let msg = load_error(rates(&format!("{CARD}[tools.{long}]\nper_run = 1\n")));
    assert!(msg.contains(&format!("characters of a name exceeds the limit of {MAX_NAME_CHARS}")), "{msg}");
}

#[test]
fn tiers_per_model() {
    let tiers: String = (1..=MAX_TIERS + 1).map(|i| format!("[[text.m.tiers]]\nabove = {i}\n")).collect();
    let msg = load_error(rates(&format!("{CARD}[text.m]\nbatch = 1\ninput = 1\noutput = 1\n{tiers}")));
    assert!(msg.contains(&format!("tiers exceeds the limit of {MAX_TIERS}")), "{msg}");
}

#[test]
fn models_of_a_kind() {
    // Split over files: one file of that many tools is above the file bound.
    let per_file = 20_001;
    let mut s = rates(CARD);
    let mut n = 0;
    while n <= MAX_MODELS {
        let text: String = (n..n + per_file).map(|i| format!("tools.t{i}.per_run = 1\n")).collect();
        s = s.rates(&format!("t{n}.toml"), &text);
        n += per_file;
    }
    let msg = load_error(s);
    assert!(msg.contains(&format!("tools exceeds the limit of {MAX_MODELS}")), "{msg}");
}

const HEAD: &str = "[roles]\na = {}\n[actions]\n\"x\" = {}\n[attributes]\nn = \"number\"\n";

#[test]
fn roles_actions_and_the_index() {
    let roles: String = (0..=MAX_ROLES).map(|i| format!("r{i} = {{}}\n")).collect();
    let msg = load_error(policies(&format!("[roles]\n{roles}")));
    assert!(msg.contains(&format!("roles exceeds the limit of {MAX_ROLES}")), "{msg}");

    let actions: String = (0..=MAX_ACTIONS).map(|i| format!("\"a{i}\" = {{}}\n")).collect();
    let msg = load_error(policies(&format!("[actions]\n{actions}")));
    assert!(msg.contains(&format!("actions exceeds the limit of {MAX_ACTIONS}")), "{msg}");

    // Within both bounds, but the role × action index would be too big.
    let roles: String = (0..MAX_ROLES).map(|i| format!("r{i} = {{}}\n")).collect();
    let actions: String = (0..=MAX_INDEX_CELLS / MAX_ROLES).map(|i| format!("\"a{i}\" = {{}}\n")).collect();
    let msg = load_error(policies(&format!("[roles]\n{roles}[actions]\n{actions}")));
    assert!(msg.contains(&format!("role × action index cells exceeds the limit of {MAX_INDEX_CELLS}")), "{msg}");
}

#[test]
fn rules() {
    // Written tight: 100,001 rules within the bytes of all files together.
    let rule = |i: usize| format!("[[rules]]\nid=\"r{i}\"\neffect=\"allow\"\nactions=[\"x\"]\n");
    let per_file = 20_001;
    let mut s = Sources::new().rates("r.toml", CARD).policies("head.toml", HEAD);
    let mut n = 0;
    while n <= MAX_RULES {
        s = s.policies(&format!("p{n}.toml"), &(n..n + per_file).map(rule).collect::<String>());
        n += per_file;
    }
    let msg = load_error(s);
    assert!(msg.contains(&format!("rules exceeds the limit of {MAX_RULES}")), "{}", &msg[..msg.len().min(300)]);
}

/// Files each within their own bound, together over the bound of all
/// files: refused before anything is parsed.
#[test]
fn bytes_of_all_files() {
    let big = format!("# {}\n", "x".repeat(3 * 1024 * 1024));
    let s = Sources::new().rates("r.toml", CARD).policies("a.toml", &big).policies("b.toml", &big);
    let msg = load_error(s);
    assert!(
        msg.contains(&format!("bytes of all rate and policy files exceeds the limit of {MAX_TOTAL_SOURCE_BYTES}")),
        "{msg}"
    );
}

#[test]
fn conditions_and_lists() {
    let when = vec!["{ attr = \"n\", gt = 1 }"; MAX_CONDITIONS + 1].join(", ");
    let msg = load_error(policies(&format!(
        "{HEAD}[[rules]]\nid = \"r\"\neffect = \"deny\"\nactions = [\"x\"]\nwhen = [{when}]\n"
    )));
    assert!(msg.contains(&format!("conditions of a rule exceeds the limit of {MAX_CONDITIONS}")), "{msg}");

    let values = (0..=MAX_LIST).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let msg = load_error(policies(&format!(
        "{HEAD}[[rules]]\nid = \"r\"\neffect = \"deny\"\nactions = [\"x\"]\nwhen = [{{ attr = \"n\", in = [{values}] }}]\n"
    )));
    assert!(msg.contains(&format!("values of an `in` list exceeds the limit of {MAX_LIST}")), "{msg}");

    let actions = vec!["\"x\""; MAX_LIST + 1].join(", ");
    let msg =
        load_error(policies(&format!("{HEAD}[[rules]]\nid = \"r\"\neffect = \"allow\"\nactions = [{actions}]\n")));
    assert!(msg.contains(&format!("actions of a rule exceeds the limit of {MAX_LIST}")), "{msg}");
}

#[test]
fn request_size_and_items() {
    let big = format!("{{\"tool\": \"{}\"}}", "x".repeat(MAX_REQUEST_BYTES));
    let err = parse_request::<Run>(&big).unwrap_err();
    assert_eq!(err.code, "too_large");
    assert!(err.message.contains(&format!("the limit is {MAX_REQUEST_BYTES}")), "{}", err.message);
    assert!(Run::from_json("big.json", &big).unwrap_err().message().contains("the limit is"));
    assert!(Run::from_toml("big.toml", &big).unwrap_err().message().contains("the limit is"));
    // The same answer from the size alone, before the text is read; at the
    // limit, accepted.
    assert_eq!(tollgate::check_request_size(big.len()).unwrap_err(), err);
    assert!(tollgate::check_request_size(MAX_REQUEST_BYTES).is_ok());

    let engine = Engine::embedded().unwrap();
    let item =
        Item::Text(TextItem { model: "gpt-4o".into(), input_tokens: Some(1000u64.into()), ..TextItem::default() });
    let at = Run { tool: None, items: vec![item.clone(); MAX_ITEMS] };
    assert_eq!(engine.estimate(&at).unwrap().lines.len(), MAX_ITEMS);
    let over = Run { tool: None, items: vec![item; MAX_ITEMS + 1] };
    let err = engine.estimate(&over).unwrap_err();
    assert_eq!(
        (err.code(), err.to_string()),
        ("too_large", format!("the run has {} items; the limit is {MAX_ITEMS}", MAX_ITEMS + 1))
    );
}
