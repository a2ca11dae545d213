//! Human-readable output: plain aligned tables.

use tollgate::{Bounds, Decimal, Estimate, RateSheet};

/// A table: header plus rows, columns padded to their widest cell.
/// Columns listed in `right` are right-aligned (numbers).
fn table(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut out = String::from(" ");
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w.saturating_sub(cell.chars().count());
            out.push(' ');
            if right.contains(&i) {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            }
            out.push(' ');
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().iter().map(String::as_str).collect()));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn num(d: Decimal) -> String {
    d.normalize().to_string()
}

/// `5` when exact, `5 – 9` for a range.
fn bounds(b: Bounds) -> String {
    if b.low == b.high {
        num(b.low)
    } else {
        format!("{} – {}", num(b.low), num(b.high))
    }
}

pub fn estimate(e: &Estimate) -> String {
    let rows: Vec<Vec<String>> = e
        .lines
        .iter()
        .map(|l| {
            vec![
                l.item.map_or_else(|| "tool".to_string(), |i| i.to_string()),
                l.model.to_string(),
                serde_json::to_value(l.component).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
                format!("{} × {}", bounds(l.quantity), l.unit),
                bounds(l.rate),
                num(l.low),
                num(l.high),
            ]
        })
        .collect();
    let mut out = format!("Estimate (rates {})\n\n", e.rates_version);
    out.push_str(&table(&["item", "model", "component", "quantity", "rate", "low", "high"], &rows, &[4, 5, 6]));
    out.push('\n');
    out.push_str(&format!("  total    {} credits\n", bounds(e.total)));
    out.push_str(&format!("  charged  {} credits\n", bounds(e.charged)));
    out
}

pub fn rates(s: &RateSheet) -> String {
    let mut out =
        format!("Rates {} (charged amounts: {} decimals, rounding {})\n", s.rates_version, s.precision, s.rounding);
    if !s.text.is_empty() {
        let mut rows = Vec::new();
        for m in &s.text {
            let per = if m.partial_batch == "round_up" {
                format!("{} tokens, whole batches", m.batch)
            } else {
                format!("{} tokens", m.batch)
            };
            rows.push(vec![
                m.model.clone(),
                m.label.clone(),
                per,
                num(m.input),
                num(m.output),
                num(m.cached_input),
                num(m.cache_write),
            ]);
            for t in &m.tiers {
                rows.push(vec![
                    String::new(),
                    format!("  prompts over {} tokens", num(t.above)),
                    String::new(),
                    num(t.input),
                    num(t.output),
                    num(t.cached_input),
                    num(t.cache_write),
                ]);
            }
        }
        out.push_str("\nText — credits per batch of tokens\n\n");
        out.push_str(&table(
            &["model", "label", "batch", "input", "output", "cached input", "cache write"],
            &rows,
            &[3, 4, 5, 6],
        ));
    }
    if !s.image.is_empty() {
        let rows: Vec<Vec<String>> = s
            .image
            .iter()
            .map(|r| {
                vec![
                    r.model.clone(),
                    r.label.clone(),
                    r.quality.clone(),
                    r.size.clone(),
                    num(r.per_asset),
                    if r.default { "default".into() } else { String::new() },
                ]
            })
            .collect();
        out.push_str("\nImage — credits per image\n\n");
        out.push_str(&table(&["model", "label", "quality", "size", "credits", ""], &rows, &[4]));
    }
    if !s.video.is_empty() {
        let rows: Vec<Vec<String>> = s
            .video
            .iter()
            .map(|r| {
                vec![
                    r.model.clone(),
                    r.label.clone(),
                    r.resolution.clone(),
                    num(r.per_second),
                    r.audio_per_second.map_or_else(|| "—".into(), num),
                    num(r.min_seconds),
                    r.increment_seconds.map_or_else(|| "—".into(), num),
                    if r.default { "default".into() } else { String::new() },
                ]
            })
            .collect();
        out.push_str("\nVideo — credits per second\n\n");
        out.push_str(&table(
            &["model", "label", "resolution", "per second", "audio / s", "min s", "step s", ""],
            &rows,
            &[3, 4, 5, 6],
        ));
    }
    if !s.tools.is_empty() {
        let rows: Vec<Vec<String>> =
            s.tools.iter().map(|t| vec![t.tool.clone(), t.label.clone(), num(t.per_run)]).collect();
        out.push_str("\nTools — credits per standard run\n\n");
        out.push_str(&table(&["tool", "label", "credits"], &rows, &[2]));
    }
    out
}

pub fn decision(d: &tollgate::Decision) -> String {
    let verdict = if d.allowed() { "allowed" } else { "denied" };
    format!("{verdict}: {}\n", d.message())
}

pub fn limit(c: &tollgate::LimitCheck) -> String {
    match &c.reason {
        Some(reason) => format!("denied: {} at {}\n", reason.message, reason.billing_link),
        None => format!(
            "allowed: {} {} of {} on plan `{}` ({} more fits)\n",
            c.limit,
            num(c.current),
            c.max,
            c.plan,
            c.remaining
        ),
    }
}

pub fn top_up(t: &tollgate::TopUpQuote) -> String {
    format!(
        "top-up: {} credits ({} blocks) for {} {}\n",
        num(t.credits),
        t.blocks,
        t.price.amount.round_dp(2),
        t.price.currency
    )
}

pub fn quote(q: &tollgate::Quote) -> String {
    let mut out = estimate(&q.estimate);
    out.push('\n');
    if q.reasons.is_empty() {
        out.push_str("allowed: every check passed\n");
    }
    for r in &q.reasons {
        let code = serde_json::to_value(r.code).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        out.push_str(&format!("denied: {} at {} [{code}]\n", r.message, r.billing_link));
    }
    out
}

/// The texts diagnostics quote: the sources as loaded, each indexed into
/// lines once per report (not once per diagnostic), and never read again
/// from disk (an embedded file's name, `roles.toml`, is no path, and a file
/// of that name in the current folder is another text).
struct Quoted {
    files: Vec<(String, codespan_reporting::files::SimpleFile<String, String>)>,
}

impl Quoted {
    fn new(sources: &tollgate::Sources) -> Quoted {
        let file = |(name, text): (&str, &str)| {
            (name.to_string(), codespan_reporting::files::SimpleFile::new(name.to_string(), text.to_string()))
        };
        Quoted { files: sources.files().map(file).collect() }
    }

    fn get(&self, name: &str) -> Option<&codespan_reporting::files::SimpleFile<String, String>> {
        self.files.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }
}

/// One diagnostic per problem: `error[code]: message`, the source line with
/// a caret under the span, and the help as a note, quoting the loaded text
/// (`Quoted`); for a name it does not hold, the position alone is shown.
fn diagnostic(
    quoted: &Quoted,
    severity: codespan_reporting::diagnostic::Severity,
    code: &str,
    message: &str,
    location: Option<&tollgate::Location>,
    help: &str,
) -> String {
    use codespan_reporting::diagnostic::{Diagnostic, Label};
    use codespan_reporting::files::SimpleFile;
    use codespan_reporting::term::{self, Config};

    let mut d = Diagnostic::new(severity).with_code(code).with_message(message);
    d = d.with_notes(vec![format!("help: {help}")]);
    let config = Config::default();
    if let Some(at) = location {
        if let Some(file) = quoted.get(at.file()) {
            let span = at.span();
            let len = file.source().len();
            // A zero-width span still gets a caret.
            let span = if span.is_empty() { span.start..(span.start + 1).min(len) } else { span };
            let labelled = d.clone().with_labels(vec![Label::primary((), span)]);
            if let Ok(s) = term::emit_into_string(&config, file, &labelled) {
                return s;
            }
        }
        let d = d.with_message(format!("{message} ({at})"));
        let file = SimpleFile::new(String::new(), String::new());
        return term::emit_into_string(&config, &file, &d).unwrap_or_default();
    }
    let file = SimpleFile::new(String::new(), String::new());
    term::emit_into_string(&config, &file, &d).unwrap_or_default()
}

/// Strips the `file:line:col: ` prefix a message carries in its one-line form.
fn bare(message: &str, location: Option<&tollgate::Location>) -> String {
    match location {
        Some(at) => message.strip_prefix(&format!("{at}: ")).unwrap_or(message).to_string(),
        None => message.to_string(),
    }
}

pub fn validation(v: &tollgate::Validation, sources: &tollgate::Sources) -> String {
    use codespan_reporting::diagnostic::Severity;
    let mut out = String::new();
    let quoted = Quoted::new(sources);
    for p in &v.errors {
        let d = diagnostic(
            &quoted,
            Severity::Error,
            p.code(),
            &bare(&p.to_string(), p.location()),
            p.location(),
            &p.help(),
        );
        out.push_str(d.trim_end());
        out.push_str("\n\n");
    }
    for w in &v.warnings {
        out.push_str(
            diagnostic(&quoted, Severity::Warning, w.code, &w.message, w.location.as_ref(), w.help).trim_end(),
        );
        out.push_str("\n\n");
    }
    let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    out.push_str(&format!("{}, {}\n", plural(v.errors.len(), "error"), plural(v.warnings.len(), "warning")));
    out
}

/// Every rule, one line each: applies or not, effect, id, and why; then
/// each condition that was evaluated.
pub fn explanation(x: &tollgate::Explanation) -> String {
    let mut out = String::new();
    for r in &x.rules {
        let effect =
            serde_json::to_value(r.effect).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let mark = if r.applies { "applies" } else { "skipped" };
        out.push_str(&format!("  {mark:<8}{effect:<6}{:<32} {}\n", r.id, r.why));
        for c in &r.conditions {
            out.push_str(&format!("          {} {} -> {}\n", c.attr, c.test, c.outcome));
        }
    }
    out
}

/// A test report as JUnit XML (written with quick-xml): one `testsuite` per
/// test file, one `testcase` per case, a `failure` with what was expected
/// and what came out; a file that could not be read is a suite of one
/// case with an `error`.
pub fn junit(report: &tollgate::testing::TestReport) -> String {
    use quick_xml::events::{BytesDecl, Event};
    use quick_xml::Writer;
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let failures: usize = report.failures.len();
    let mut files: Vec<&str> = Vec::new();
    for case in &report.cases {
        if !files.contains(&case.file.as_str()) {
            files.push(&case.file);
        }
    }
    let total = report.cases.len() + report.errors.len();
    let result = (|| -> std::io::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.create_element("testsuites")
            .with_attribute(("name", "tollgate test"))
            .with_attribute(("tests", total.to_string().as_str()))
            .with_attribute(("failures", failures.to_string().as_str()))
            .with_attribute(("errors", report.errors.len().to_string().as_str()))
            .write_inner_content(|w| {
                for file in &files {
                    let cases: Vec<_> = report.cases.iter().filter(|c| c.file == *file).collect();
                    let failed = cases.iter().filter(|c| !c.passed).count();
                    w.create_element("testsuite")
                        .with_attribute(("name", *file))
                        .with_attribute(("tests", cases.len().to_string().as_str()))
                        .with_attribute(("failures", failed.to_string().as_str()))
                        .with_attribute(("errors", "0"))
                        .write_inner_content(|w| {
                            for case in cases {
                                let element = w
                                    .create_element("testcase")
                                    .with_attribute(("name", case.name.as_str()))
                                    .with_attribute(("classname", case.file.as_str()))
                                    .with_attribute(("file", case.at.as_str()));
                                let failure = report.failures.iter().find(|f| f.at == case.at && f.name == case.name);
                                match failure {
                                    Some(f) if !case.passed => {
                                        element.write_inner_content(|w| {
                                            let message = format!("expected {}, got {}", f.expected, f.got);
                                            w.create_element("failure")
                                                .with_attribute(("message", message.as_str()))
                                                .write_empty()?;
                                            Ok(())
                                        })?;
                                    }
                                    _ => {
                                        element.write_empty()?;
                                    }
                                }
                            }
                            Ok(())
                        })?;
                }
                for error in &report.errors {
                    let file = error.split(':').next().unwrap_or(error);
                    w.create_element("testsuite")
                        .with_attribute(("name", file))
                        .with_attribute(("tests", "1"))
                        .with_attribute(("failures", "0"))
                        .with_attribute(("errors", "1"))
                        .write_inner_content(|w| {
                            w.create_element("testcase")
                                .with_attribute(("name", "(the file)"))
                                .with_attribute(("classname", file))
                                .write_inner_content(|w| {
                                    w.create_element("error")
                                        .with_attribute(("message", error.as_str()))
                                        .write_empty()?;
                                    Ok(())
                                })?;
                            Ok(())
                        })?;
                }
                Ok(())
            })?;
        Ok(())
    })();
    match result {
        // Writing to a Vec cannot fail.
        Ok(()) => String::from_utf8_lossy(&w.into_inner()).into_owned() + "\n",
        Err(e) => format!("<!-- cannot write the report: {e} -->\n"),
    }
}

/// `rule coverage: 7 of 8 rules exercised`, and each rule no case exercised.
pub fn coverage(c: &tollgate::testing::Coverage) -> String {
    let mut out = format!("rule coverage: {} of {} rules exercised\n", c.exercised, c.rules);
    for r in &c.not_exercised {
        out.push_str(&format!("  not exercised: `{}` at {}\n", r.id, r.at));
    }
    out
}
