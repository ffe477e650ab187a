//! The catalog of error-message families, as data: `data/explain/*.toml`, embedded
//! at build time. A family is one failure as the user sees it (one STS error, one
//! SDK provider's complaint, one kubectl error); its rows are the wordings that
//! print it — per SDK, per service, per tool — each with the upstream file or
//! documentation page it was read from. Adding a wording is adding a row.
//!
//! Row matching is on normalised text (lower case, single spaces, straight
//! quotes): `match` needles must all occur, each `any` group must have one needle
//! that occurs, no `not` needle may occur.

use crate::finding::Cause;
use std::sync::OnceLock;

// The catalog as static data, compiled from `data/explain/*.toml` by build.rs.
mod generated {
    #![allow(clippy::all)]
    use super::{CauseData, FamilyData, FileData, RegionsData, RowData, SdkData};
    include!(concat!(env!("OUT_DIR"), "/explain_catalog.rs"));
}

/// One data file, as build.rs compiled it.
#[derive(Debug)]
pub struct FileData {
    /// File name.
    pub name: &'static str,
    /// Its families.
    pub families: &'static [FamilyData],
    /// Its SDKs.
    pub sdks: &'static [SdkData],
    /// Its region table.
    pub regions: Option<RegionsData>,
}

/// A family as written in the data.
#[derive(Debug)]
pub struct FamilyData {
    /// Id.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// Tier name.
    pub tier: &'static str,
    /// Code.
    pub code: Option<&'static str>,
    /// Operation.
    pub operation: Option<&'static str>,
    /// Families that make this one redundant.
    pub unless: &'static [&'static str],
    /// Dynamic adjustment name.
    pub dynamic: Option<&'static str>,
    /// Causes.
    pub causes: &'static [CauseData],
    /// Rows.
    pub rows: &'static [RowData],
}

/// A cause as written in the data.
#[derive(Debug)]
pub struct CauseData {
    /// Cause id.
    pub cause: &'static str,
    /// Weight.
    pub weight: f64,
    /// Why.
    pub why: &'static str,
}

/// A row as written in the data.
#[derive(Debug)]
pub struct RowData {
    /// Printer.
    pub sdk: &'static str,
    /// All of.
    pub all: &'static [&'static str],
    /// One of each group.
    pub any: &'static [&'static [&'static str]],
    /// None of.
    pub not: &'static [&'static str],
    /// Confidence.
    pub confidence: f64,
    /// Source.
    pub source: &'static str,
    /// Example.
    pub example: Option<&'static str>,
}

/// An SDK as written in the data.
#[derive(Debug)]
pub struct SdkData {
    /// Id.
    pub id: &'static str,
    /// Name.
    pub name: &'static str,
    /// Markers.
    pub markers: &'static [&'static str],
    /// Source.
    pub source: &'static str,
}

/// The region table as written in the data.
#[derive(Debug)]
pub struct RegionsData {
    /// Regions enabled by default.
    pub enabled_by_default: &'static [&'static str],
    /// Source.
    pub source: &'static str,
}

/// How specific a family is. Within one error, a more specific match silences the
/// generic ones: a chain summary that quotes the web-identity provider's own reason
/// is explained by that reason, and a paraphrase only counts when nothing else did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// An AWS service's error (STS, IAM, EKS Auth, a later call's AccessDenied).
    Service,
    /// One credential provider's (or tool's) own message.
    Provider,
    /// A credential chain's summary ("no valid providers in chain").
    Chain,
    /// A free-text paraphrase, matched by keywords: never a confident answer.
    Keyword,
}

impl Tier {
    /// Name.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Service => "service",
            Tier::Provider => "provider",
            Tier::Chain => "chain",
            Tier::Keyword => "keyword",
        }
    }
}

/// Likelihood adjustments that depend on what was extracted, not on the wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dynamic {
    /// A later call denied: the causes depend on who was denied (the node's role,
    /// the IRSA role, static keys).
    DeniedPrincipal,
    /// `regional-sts` weighs more when the text names an opt-in region.
    OptInRegion,
    /// `china-region` weighs more when an STS host of a China region lacks `.cn`.
    ChinaHost,
}

/// One cause a family points to.
#[derive(Debug, Clone)]
pub struct CauseWeight {
    /// The cause.
    pub cause: Cause,
    /// Relative weight within the family.
    pub weight: f64,
    /// Why, in one line.
    pub why: &'static str,
}

/// One wording of a family.
#[derive(Debug, Clone)]
pub struct Row {
    /// Who prints it: an SDK id from `sdks.toml`, or `sts`, `iam`, `eks-auth`,
    /// `kubernetes`, `webhook`, `agent`, `network`, `any`.
    pub sdk: &'static str,
    /// Every needle must occur (indices into [`Catalog::needles`]).
    pub all: Vec<usize>,
    /// Each group must have one needle that occurs.
    pub any: Vec<Vec<usize>>,
    /// No needle may occur.
    pub not: Vec<usize>,
    /// How sure a match of this row makes the family (1.0 = the exact wording).
    pub confidence: f64,
    /// The upstream file (at a tag or commit) or documentation page.
    pub source: &'static str,
    /// A text in this wording (tested to match this family).
    pub example: Option<&'static str>,
}

/// A message family.
#[derive(Debug, Clone)]
pub struct Family {
    /// Stable id.
    pub id: &'static str,
    /// The message as users know it.
    pub title: &'static str,
    /// Specificity.
    pub tier: Tier,
    /// The error code this family carries, when the text does not print it.
    pub code: Option<&'static str>,
    /// The operation that fails.
    pub operation: Option<&'static str>,
    /// Families that, when matched too, make this one redundant.
    pub unless: &'static [&'static str],
    /// Adjustment from extracted facts.
    pub dynamic: Option<Dynamic>,
    /// Causes with weights.
    pub causes: Vec<CauseWeight>,
    /// Wordings.
    pub rows: Vec<Row>,
    /// The data file.
    pub file: &'static str,
}

/// An SDK (or tool) and the markers that identify its wrapper text.
#[derive(Debug, Clone)]
pub struct Sdk {
    /// Id (`go-v1`).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Case-sensitive substrings of its wrapper text; the first SDK with a marker wins.
    pub markers: &'static [&'static str],
    /// Where the wrapper's format was read.
    pub source: &'static str,
}

/// The loaded catalog.
#[derive(Debug)]
pub struct Catalog {
    /// Families, in file order.
    pub families: Vec<Family>,
    /// SDK wrappers, in precedence order.
    pub sdks: Vec<Sdk>,
    /// Regions enabled by default (every other `aws` region is opt-in).
    pub default_regions: &'static [&'static str],
    /// Where the region list comes from.
    pub regions_source: &'static str,
    /// Every distinct normalised needle.
    pub needles: Vec<String>,
    /// Finds them all in one pass; built on first use by a large input (its
    /// build costs more than a small paste's whole explanation).
    automaton: OnceLock<aho_corasick::AhoCorasick>,
}

impl Catalog {
    /// Display name of an SDK id (or the id itself).
    pub fn sdk_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.sdks
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name)
            .unwrap_or(id)
    }

    /// Distinct sources cited by rows.
    pub fn sources(&self) -> std::collections::BTreeSet<&'static str> {
        self.families
            .iter()
            .flat_map(|f| f.rows.iter().map(|r| r.source))
            .collect()
    }

    fn automaton(&self) -> &aho_corasick::AhoCorasick {
        self.automaton.get_or_init(|| {
            aho_corasick::AhoCorasick::builder()
                .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
                .build(&self.needles)
                .expect("needles are plain strings, well under the automaton's limits")
        })
    }
}

/// Normalises text for matching: lower case, typographic quotes made straight,
/// every run of whitespace one space.
pub fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        let c = match c {
            '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{201F}' => '"',
            '\u{00A0}' => ' ',
            c => c,
        };
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        for l in c.to_lowercase() {
            out.push(l);
        }
    }
    out
}

fn parse() -> Result<Catalog, String> {
    let mut families: Vec<Family> = Vec::new();
    let mut needles: Vec<String> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut intern = |n: &str| -> Result<usize, String> {
        let n = normalise(n);
        if n.is_empty() {
            return Err("an empty needle".into());
        }
        Ok(*index.entry(n.clone()).or_insert_with(|| {
            needles.push(n);
            needles.len() - 1
        }))
    };
    let mut sdks = Vec::new();
    let mut regions = None;
    for file in generated::FILES {
        let name = file.name;
        for s in file.sdks {
            sdks.push(Sdk {
                id: s.id,
                name: s.name,
                markers: s.markers,
                source: s.source,
            });
        }
        if let Some(r) = &file.regions {
            regions = Some(r);
        }
        for f in file.families {
            let tier = match f.tier {
                "service" => Tier::Service,
                "provider" => Tier::Provider,
                "chain" => Tier::Chain,
                "keyword" => Tier::Keyword,
                t => return Err(format!("{name}: family {}: unknown tier `{t}`", f.id)),
            };
            let dynamic = match f.dynamic {
                None => None,
                Some("denied-principal") => Some(Dynamic::DeniedPrincipal),
                Some("opt-in-region") => Some(Dynamic::OptInRegion),
                Some("china-host") => Some(Dynamic::ChinaHost),
                Some(d) => return Err(format!("{name}: family {}: unknown dynamic `{d}`", f.id)),
            };
            let mut causes = Vec::new();
            for c in f.causes {
                let cause = Cause::from_id(c.cause).ok_or_else(|| {
                    format!("{name}: family {}: unknown cause `{}`", f.id, c.cause)
                })?;
                if !(c.weight > 0.0 && c.weight <= 1.0) {
                    return Err(format!(
                        "{name}: family {}: weight {} out of (0, 1]",
                        f.id, c.weight
                    ));
                }
                causes.push(CauseWeight {
                    cause,
                    weight: c.weight,
                    why: c.why,
                });
            }
            if causes.is_empty() {
                return Err(format!("{name}: family {} names no cause", f.id));
            }
            let mut rows = Vec::new();
            for r in f.rows {
                if r.all.is_empty() && r.any.is_empty() {
                    return Err(format!("{name}: family {}: a row has no needle", f.id));
                }
                if r.source.trim().is_empty() {
                    return Err(format!("{name}: family {}: a row has no source", f.id));
                }
                if !(r.confidence > 0.0 && r.confidence <= 1.0) {
                    return Err(format!(
                        "{name}: family {}: confidence {} out of (0, 1]",
                        f.id, r.confidence
                    ));
                }
                let mut ids = |v: &[&str]| -> Result<Vec<usize>, String> {
                    v.iter()
                        .map(|n| intern(n).map_err(|e| format!("{name}: family {}: {e}", f.id)))
                        .collect()
                };
                let all = ids(r.all)?;
                let any = r
                    .any
                    .iter()
                    .map(|g| ids(g))
                    .collect::<Result<Vec<_>, _>>()?;
                let not = ids(r.not)?;
                rows.push(Row {
                    sdk: r.sdk,
                    all,
                    any,
                    not,
                    confidence: r.confidence,
                    source: r.source,
                    example: r.example,
                });
            }
            if rows.is_empty() {
                return Err(format!("{name}: family {} has no row", f.id));
            }
            if families.iter().any(|g| g.id == f.id) {
                return Err(format!("{name}: family id {} is not unique", f.id));
            }
            families.push(Family {
                id: f.id,
                title: f.title,
                tier,
                code: f.code,
                operation: f.operation,
                unless: f.unless,
                dynamic,
                causes,
                rows,
                file: name,
            });
        }
    }
    for f in &families {
        for u in f.unless {
            if !families.iter().any(|g| g.id == *u) {
                return Err(format!(
                    "family {}: `unless` names unknown family {u}",
                    f.id
                ));
            }
        }
        for r in &f.rows {
            if !sdks.iter().any(|s: &Sdk| s.id == r.sdk) {
                return Err(format!(
                    "family {}: row names unknown printer `{}` (add it to sdks.toml)",
                    f.id, r.sdk
                ));
            }
        }
    }
    let regions = regions.ok_or("no [regions] table")?;
    Ok(Catalog {
        families,
        sdks,
        default_regions: regions.enabled_by_default,
        regions_source: regions.source,
        needles,
        automaton: OnceLock::new(),
    })
}

/// The catalog, parsed once.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    // The data is compiled in and `catalog_parses` (tests/explain_catalog.rs) loads
    // it in every test run: a failure here cannot reach a release.
    CATALOG.get_or_init(|| parse().unwrap_or_else(|e| panic!("explain catalog: {e}")))
}

/// Parses the catalog, reporting the first data error (for tests and tools).
pub fn validate() -> Result<usize, String> {
    parse().map(|c| c.families.len())
}

/// How a needle was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// Whole.
    Exact,
    /// Its beginning, where the text was cut (`…`, `...`, `(truncated`, the end).
    Truncated,
}

/// Normalised text of one error, the catalog needles it contains, and the places
/// where it was cut.
#[derive(Debug)]
pub struct Hay {
    /// The normalised text.
    pub text: String,
    present: Vec<bool>,
    /// Where the text was cut; the first is its end.
    cuts: Vec<usize>,
    /// Whether the end itself is marked as a cut (`…` or `...` last).
    marked_end: bool,
}

impl Hay {
    /// Prepares `raw` (any case and spacing) for matching against `catalog`.
    /// `large`: the paste is large, so one automaton pass per text pays off.
    pub fn new(raw: &str, catalog: &Catalog, large: bool) -> Hay {
        let text = normalise(raw);
        let mut present = vec![false; catalog.needles.len()];
        if large {
            for m in catalog.automaton().find_overlapping_iter(&text) {
                present[m.pattern().as_usize()] = true;
            }
        } else {
            for (i, n) in catalog.needles.iter().enumerate() {
                present[i] = text.contains(n.as_str());
            }
        }
        let mut cuts = vec![text.len()];
        for marker in ["\u{2026}", "...", "(truncated", "[truncated", "<truncated"] {
            let mut from = 0;
            while let Some(i) = text[from..].find(marker) {
                cuts.push(from + i);
                from += i + marker.len();
            }
        }
        // Bounded work on logs full of ellipses: the end and the first cuts suffice.
        cuts.truncate(64);
        let marked_end =
            text.ends_with('\u{2026}') || text.ends_with("...") || text.ends_with("(truncated)");
        Hay {
            text,
            present,
            cuts,
            marked_end,
        }
    }

    /// Finds needle `id` whole, or — for needles of 20 bytes or more — its
    /// beginning just before a cut: 60 % of it (12 bytes at least) before a
    /// marked cut, 75 % (16 bytes) at the plain end of the text.
    pub fn find(&self, id: usize, catalog: &Catalog) -> Option<Hit> {
        if self.present[id] {
            return Some(Hit::Exact);
        }
        let needle = catalog.needles[id].as_str();
        // Short needles are never matched cut: too many texts end the same way.
        if needle.len() < 20 {
            return None;
        }
        for (i, &cut) in self.cuts.iter().enumerate() {
            // A marked cut (`…`, `(truncated`) may keep 60 % of the needle; the
            // plain end of the text must keep three quarters of it.
            let (share, floor) = if i == 0 && !self.marked_end {
                (3, 16)
            } else {
                (5, 12)
            };
            let min = if share == 3 {
                needle.len() * 3 / 4
            } else {
                needle.len() * 3 / 5
            }
            .max(floor);
            if let Some(hit) = cut_match(&self.text[..cut], needle, min) {
                return Some(hit);
            }
        }
        None
    }

    /// Whether needle `id` occurs whole.
    pub fn contains(&self, id: usize) -> bool {
        self.present[id]
    }

    /// Whether any needle occurs whole, or the text was visibly cut.
    pub fn worth_matching(&self) -> bool {
        self.marked_end || self.cuts.len() > 1 || self.present.iter().any(|p| *p)
    }
}

/// Whether `head` (the text up to a cut) ends with the first `min` or more bytes
/// of `needle`.
fn cut_match(head: &str, needle: &str, min: usize) -> Option<Hit> {
    let head = head.trim_end();
    let mut min = min;
    while !needle.is_char_boundary(min) {
        min += 1;
    }
    if min >= needle.len() {
        return None;
    }
    let start = &needle[..min];
    let mut from = head.len().saturating_sub(needle.len());
    while !head.is_char_boundary(from) {
        from += 1;
    }
    let tail = &head[from..];
    // The cut text is the needle's beginning when the tail, from some
    // occurrence of the needle's first `min` bytes on, is a prefix of it.
    let mut at = 0;
    while let Some(i) = tail[at..].find(start) {
        if needle.starts_with(&tail[at + i..]) {
            return Some(Hit::Truncated);
        }
        at += i + 1;
        while at < tail.len() && !tail.is_char_boundary(at) {
            at += 1;
        }
    }
    None
}

/// A row's match: its confidence, lowered when a needle was only found cut.
pub fn match_row(row: &Row, hay: &Hay, catalog: &Catalog) -> Option<f64> {
    if row.not.iter().any(|&n| hay.contains(n)) {
        return None;
    }
    let mut truncated = false;
    for &n in &row.all {
        match hay.find(n, catalog)? {
            Hit::Exact => {}
            Hit::Truncated => truncated = true,
        }
    }
    for group in &row.any {
        let mut hit = None;
        for &n in group {
            match hay.find(n, catalog) {
                Some(Hit::Exact) => {
                    hit = Some(Hit::Exact);
                    break;
                }
                Some(Hit::Truncated) => hit = Some(Hit::Truncated),
                None => {}
            }
        }
        if hit? == Hit::Truncated {
            truncated = true;
        }
    }
    Some(if truncated {
        row.confidence * 0.85
    } else {
        row.confidence
    })
}
