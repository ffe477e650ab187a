//! The explain corpus (tests/data/explain-corpus.toml): every STS family in every
//! SDK's wrapper, every other family in its printers' wordings, each wrapped as
//! users paste it (plain, a JSON log line, and one of klog / logfmt / a native
//! stack trace / UTF-16 / a localized prefix / literal escapes), plus the STS
//! texts cut mid-message. Reports top-1 and top-3 per SDK and per family; fails
//! under 95 % top-1 or 100 % top-3. Run with `--nocapture` to see the table.

use irsa_rules::explain::{explain_bytes, Explanation};
use irsa_rules::Scope;
use serde::Deserialize;
use std::collections::BTreeMap;

const CORPUS: &str = include_str!("data/explain-corpus.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    wrapper: Vec<Wrapper>,
    sts: Vec<Sts>,
    text: Vec<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapper {
    sdk: String,
    #[allow(dead_code)]
    source: String,
    template: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sts {
    family: String,
    code: String,
    #[serde(default)]
    modelled: bool,
    message: String,
    status: u16,
    expect: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Text {
    sdk: String,
    family: String,
    expect: String,
    text: String,
}

/// One case: the bytes pasted, and what is expected.
struct Case {
    sdk: String,
    family: String,
    expect: String,
    wrapping: &'static str,
    bytes: Vec<u8>,
    code: Option<String>,
}

/// The class an SDK gives a modelled STS error: the model's shape name.
fn shape(code: &str) -> String {
    if code.ends_with("Exception") {
        code.to_string()
    } else {
        format!("{code}Exception")
    }
}

fn render(w: &Wrapper, s: &Sts) -> String {
    const RID: &str = "4b7e5b5c-7d3e-4ef2-a1f3-0bd0c9bd8d2d";
    if w.sdk == "rust" && !s.modelled {
        // smithy-rs: an unmodelled error is `unhandled error (Code)` with its metadata.
        return format!(
            "an error occurred while loading credentials: service error: unhandled error ({}): Error {{ code: \"{}\", message: \"{}\", aws_request_id: \"{RID}\" }}",
            s.code, s.code, s.message
        );
    }
    let modelled = match (w.sdk.as_str(), s.modelled) {
        ("botocore", true) => format!("botocore.errorfactory.{}", shape(&s.code)),
        ("botocore", false) => "botocore.exceptions.ClientError".into(),
        ("java-v1", false) => "AWSSecurityTokenServiceException".into(),
        ("java-v2", false) => "StsException".into(),
        ("dotnet", true) => format!("Model.{}", shape(&s.code)),
        ("dotnet", false) => "AmazonSecurityTokenServiceException".into(),
        ("js-v3", false) => s.code.clone(),
        (_, _) => shape(&s.code),
    };
    let go2 = if s.modelled {
        format!("{}: {}", s.code, s.message)
    } else {
        format!("api error {}: {}", s.code, s.message)
    };
    let retry = if s.code == "InvalidIdentityToken" {
        "exceeded maximum number of attempts, 3, "
    } else {
        ""
    };
    let reason = if s.status == 403 {
        "Forbidden"
    } else {
        "Bad Request"
    };
    w.template
        .replace("{modelled}", &modelled)
        .replace("{go2}", &go2)
        .replace("{retry}", retry)
        .replace("{code}", &s.code)
        .replace("{message}", &s.message)
        .replace("{status}", &s.status.to_string())
        .replace("{reason}", reason)
        .replace("{rid}", RID)
}

fn utf16(s: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    for u in s.encode_utf16() {
        v.extend(u.to_le_bytes());
    }
    v
}

fn go_quote(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}

/// A native trace around the text, as the SDK's language prints it.
fn native(sdk: &str, text: &str) -> String {
    match sdk {
        "java-v1" | "java-v2" | "java" => format!(
            "Exception in thread \"main\" {text}\n\tat com.example.orders.Worker.poll(Worker.java:42)\n\tat com.example.orders.Main.main(Main.java:17)"
        ),
        "botocore" | "cli" => format!(
            "Traceback (most recent call last):\n  File \"/app/worker.py\", line 31, in <module>\n    client.get_caller_identity()\n  File \"/usr/local/lib/python3.12/site-packages/botocore/client.py\", line 1023, in _make_api_call\n    raise error_class(parsed_response, operation_name)\n{}",
            text.trim_start()
        ),
        "dotnet" => format!("{text}\n   at Orders.Worker.RunAsync() in /src/Worker.cs:line 42"),
        _ => format!("2024-05-01T10:00:00.123Z ERROR orders-worker: request failed\n{text}"),
    }
}

/// The wrappings of a text: plain, a JSON log line, and one more (rotating).
fn wrappings(i: usize, sdk: &str, text: &str) -> Vec<(&'static str, Vec<u8>)> {
    let json = serde_json::json!({
        "level": "error",
        "ts": "2024-05-01T10:00:00.123Z",
        "logger": "orders",
        "msg": "request failed",
        "error": text,
    })
    .to_string();
    let third: (&'static str, Vec<u8>) = match i % 6 {
        0 => (
            "klog",
            format!("E0501 10:00:00.123456       1 worker.go:88] \"request failed\" err=\"{}\" attempt=3", go_quote(text)).into_bytes(),
        ),
        1 => (
            "logfmt",
            format!("time=2024-05-01T10:00:00Z level=error msg=\"request failed\" err=\"{}\"", go_quote(text)).into_bytes(),
        ),
        2 => ("native-trace", native(sdk, text).into_bytes()),
        3 => ("utf-16", utf16(text)),
        4 => ("localized-prefix", format!("エラー: {}", text.trim_start()).into_bytes()),
        _ => ("literal-escapes", go_quote(text).into_bytes()),
    };
    vec![
        ("plain", text.as_bytes().to_vec()),
        ("json-line", json.into_bytes()),
        third,
    ]
}

fn cases() -> Vec<Case> {
    let c: Corpus = toml::from_str(CORPUS).expect("corpus parses");
    let mut out = Vec::new();
    let mut i = 0;
    for s in &c.sts {
        for w in &c.wrapper {
            let text = render(w, s);
            for (wrapping, bytes) in wrappings(i, &w.sdk, &text) {
                out.push(Case {
                    sdk: w.sdk.clone(),
                    family: s.family.clone(),
                    expect: s.expect.clone(),
                    wrapping,
                    bytes,
                    code: Some(s.code.clone()),
                });
            }
            // Cut short (a log viewer's column limit): 70 % of the message kept.
            if let Some(at) = text.find(&s.message) {
                let keep = at
                    + s.message
                        .char_indices()
                        .nth(s.message.chars().count() * 7 / 10)
                        .map_or(0, |(b, _)| b);
                out.push(Case {
                    sdk: w.sdk.clone(),
                    family: s.family.clone(),
                    expect: s.expect.clone(),
                    wrapping: "cut",
                    bytes: format!("{}…", &text[..keep]).into_bytes(),
                    code: None,
                });
            }
            i += 1;
        }
    }
    for t in &c.text {
        for (wrapping, bytes) in wrappings(i, &t.sdk, &t.text) {
            out.push(Case {
                sdk: t.sdk.clone(),
                family: t.family.clone(),
                expect: t.expect.clone(),
                wrapping,
                bytes,
                code: None,
            });
        }
        i += 1;
    }
    out
}

#[derive(Default)]
struct Score {
    n: usize,
    top1: usize,
    top3: usize,
}

impl Score {
    fn add(&mut self, r: &Explanation, expect: &str) {
        self.n += 1;
        let ids: Vec<&str> = r.causes.iter().map(|c| c.cause.id()).collect();
        self.top1 += usize::from(ids.first() == Some(&expect));
        self.top3 += usize::from(ids.iter().take(3).any(|c| *c == expect));
    }
    fn pct(a: usize, n: usize) -> f64 {
        if n == 0 {
            100.0
        } else {
            a as f64 * 100.0 / n as f64
        }
    }
}

/// Prints one top-1/top-3 table.
fn table<K: std::fmt::Display>(title: &str, rows: &BTreeMap<K, Score>) {
    let width = rows
        .keys()
        .map(|k| k.to_string().len())
        .max()
        .unwrap_or(8)
        .max(title.len());
    println!(
        "\n{title:<width$} {:>5} {:>7} {:>7}",
        "cases", "top-1", "top-3"
    );
    for (k, s) in rows {
        println!(
            "{:<width$} {:>5} {:>6.1}% {:>6.1}%",
            k.to_string(),
            s.n,
            Score::pct(s.top1, s.n),
            Score::pct(s.top3, s.n)
        );
    }
}

#[test]
fn corpus_top1_and_top3() {
    let cases = cases();
    assert!(cases.len() >= 450, "{} cases", cases.len());
    let mut by_sdk: BTreeMap<String, Score> = BTreeMap::new();
    let mut by_family: BTreeMap<String, Score> = BTreeMap::new();
    let mut by_wrapping: BTreeMap<&str, Score> = BTreeMap::new();
    let mut total = Score::default();
    let mut misses = Vec::new();
    let mut code_misses = Vec::new();
    let mut family_hits = 0;
    for c in &cases {
        let r = explain_bytes(&c.bytes, None, &Scope::default());
        total.add(&r, &c.expect);
        by_sdk.entry(c.sdk.clone()).or_default().add(&r, &c.expect);
        by_family
            .entry(c.family.clone())
            .or_default()
            .add(&r, &c.expect);
        by_wrapping
            .entry(c.wrapping)
            .or_default()
            .add(&r, &c.expect);
        family_hits += usize::from(r.family.as_ref().is_some_and(|f| f.id == c.family));
        let top = r.causes.first().map(|x| x.cause.id()).unwrap_or("(none)");
        if top != c.expect {
            let text = String::from_utf8_lossy(&c.bytes)
                .chars()
                .take(160)
                .collect::<String>();
            misses.push(format!(
                "[{} / {} / {}] expected {}, got {top}: {text:?}",
                c.sdk, c.family, c.wrapping, c.expect
            ));
        }
        if let Some(code) = &c.code {
            if r.extracted.code.as_deref() != Some(code.as_str()) && c.wrapping != "cut" {
                code_misses.push(format!(
                    "[{} / {}] code {:?}, expected {code}",
                    c.sdk, c.wrapping, r.extracted.code
                ));
            }
        }
    }
    println!("\nexplain corpus: {} cases", total.n);
    table("SDK", &by_sdk);
    table("family", &by_family);
    table("wrapping", &by_wrapping);
    let top1 = Score::pct(total.top1, total.n);
    let top3 = Score::pct(total.top3, total.n);
    println!(
        "\nall: top-1 {top1:.1}%, top-3 {top3:.1}%, family recognised {:.1}%",
        Score::pct(family_hits, total.n)
    );
    for m in &misses {
        println!("miss: {m}");
    }
    for m in &code_misses {
        println!("code: {m}");
    }
    assert!(
        top1 >= 95.0,
        "top-1 {top1:.1}% < 95 %:\n{}",
        misses.join("\n")
    );
    assert!(
        top3 >= 100.0,
        "top-3 {top3:.1}% < 100 %:\n{}",
        misses.join("\n")
    );
    assert!(
        code_misses.is_empty(),
        "codes not extracted:\n{}",
        code_misses.join("\n")
    );
}

#[test]
fn every_sdk_and_family_is_in_the_corpus() {
    let cases = cases();
    for sdk in [
        "go-v1", "go-v2", "botocore", "cli", "java-v1", "java-v2", "js-v2", "js-v3", "dotnet",
        "ruby", "php", "rust", "cpp",
    ] {
        assert!(cases.iter().any(|c| c.sdk == sdk), "no case for {sdk}");
    }
    let cat = irsa_rules::explain::catalog::catalog();
    let missing: Vec<&str> = cat
        .families
        .iter()
        .filter(|f| !cases.iter().any(|c| c.family == f.id))
        .map(|f| f.id)
        .collect();
    // Families seen only through their catalog examples are listed here on purpose.
    let example_only = [
        "sts-invalid-session-name",
        "sts-idp-rejected-claim",
        "sts-token-malformed",
        "pod-identity-agent-wrong-address",
        "eks-auth-token-expired",
        "eks-association-exists",
        "iam-trust-policy-resource",
        "iam-provider-exists",
        "k8s-namespace-not-found",
        "oidc-issuer-unreachable",
        "sts-regional-config-invalid",
        "paraphrase-oidc-provider",
        "paraphrase-audience",
        "paraphrase-token-file",
        "paraphrase-annotation",
    ];
    let unexpected: Vec<&&str> = missing
        .iter()
        .filter(|m| !example_only.contains(m))
        .collect();
    assert!(
        unexpected.is_empty(),
        "families without corpus texts: {unexpected:?}"
    );
}
