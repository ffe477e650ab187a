//! A YAML/JSON document tree that keeps where every node is, so a finding can point
//! at the exact line and column of the value it is about.
//!
//! One parser for both: JSON is read as YAML 1.2 (a superset of JSON for every
//! document `terraform show -json`, `cdk synth` and `kubectl -o json` print), by
//! saphyr-parser, which reports the span of every event. Plain scalars follow the
//! YAML 1.2 core schema (`true`, `null`, `42`, `1.5`); quoted and block scalars are
//! strings. CloudFormation's YAML short forms (`!Ref x`, `!Sub s`, `!GetAtt A.B`, …)
//! become the long form (`{"Ref": x}`, `{"Fn::Sub": s}`, `{"Fn::GetAtt": ["A", "B"]}`)
//! as CloudFormation itself reads them.

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use std::borrow::Cow;
use std::collections::HashMap;

/// A position in a file: 1-based line and column (columns count Unicode scalar
/// values), and the 0-based character index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// 0-based character index in the text parsed.
    pub index: usize,
}

/// A node of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What it holds.
    pub kind: Kind,
    /// Where it starts.
    pub start: Pos,
    /// Where it ends (exclusive).
    pub end: Pos,
    /// How a scalar was written (quoted strings are never numbers).
    pub quoted: bool,
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order (keys are nodes: their position matters too).
    Map(Vec<(Node, Node)>),
}

/// A document that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Deeper nesting is refused (no real manifest comes close; a hostile one would
/// otherwise exhaust the stack).
const MAX_DEPTH: usize = 256;

/// Aliases may copy at most this many nodes, plus ten per node written out: real
/// manifests reuse a few blocks (`<<: *defaults`), while a "billion laughs" document
/// (aliases of aliases, each level ten times the last) would otherwise expand to
/// billions of nodes and exhaust the memory of a CI runner. The same defence as
/// Kubernetes' YAML decoder (go-yaml v3 `allowedAliasRatio`: "document contains
/// excessive aliasing"), with a simpler bound.
const ALIAS_NODES_FREE: usize = 100_000;
/// Nodes an alias may copy per node written out (see [`ALIAS_NODES_FREE`]).
const ALIAS_NODES_PER_NODE: usize = 10;

/// The CloudFormation short-form tags and the long-form key each stands for
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html>).
const CFN_TAGS: &[(&str, &str)] = &[
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("Sub", "Fn::Sub"),
    ("GetAtt", "Fn::GetAtt"),
    ("Join", "Fn::Join"),
    ("Select", "Fn::Select"),
    ("Split", "Fn::Split"),
    ("If", "Fn::If"),
    ("Equals", "Fn::Equals"),
    ("And", "Fn::And"),
    ("Or", "Fn::Or"),
    ("Not", "Fn::Not"),
    ("FindInMap", "Fn::FindInMap"),
    ("Base64", "Fn::Base64"),
    ("Cidr", "Fn::Cidr"),
    ("GetAZs", "Fn::GetAZs"),
    ("ImportValue", "Fn::ImportValue"),
    ("Transform", "Fn::Transform"),
    ("ToJsonString", "Fn::ToJsonString"),
    ("Length", "Fn::Length"),
];

impl Node {
    /// The string, if this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar as text (strings, numbers and booleans), as Kubernetes and
    /// CloudFormation coerce them.
    pub fn scalar_text(&self) -> Option<Cow<'_, str>> {
        match &self.kind {
            Kind::Str(s) => Some(Cow::Borrowed(s)),
            Kind::Bool(b) => Some(Cow::Owned(b.to_string())),
            Kind::Int(i) => Some(Cow::Owned(i.to_string())),
            Kind::Float(f) => Some(Cow::Owned(f.to_string())),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            Kind::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    /// The value of a key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value of a key of a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// A value down a path of keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |n, k| n.get(k))
    }

    /// A string down a path of keys.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).and_then(Node::as_str)
    }

    /// The sequence item at `i`.
    pub fn item(&self, i: usize) -> Option<&Node> {
        self.as_seq()?.get(i)
    }

    /// The value as JSON (mapping keys as text; positions dropped).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => {
                let mut o = serde_json::Map::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = k
                        .scalar_text()
                        .map(|c| c.into_owned())
                        .unwrap_or_else(|| k.to_json().to_string());
                    o.insert(key, v.to_json());
                }
                Value::Object(o)
            }
        }
    }

    /// Every node of the tree, depth first, keys before their values.
    pub fn walk(&self) -> Walk<'_> {
        Walk { stack: vec![self] }
    }

    /// Moves every position of the tree through `f` (for documents embedded in a
    /// string of another document).
    pub fn remap(&mut self, f: &dyn Fn(Pos) -> Pos) {
        self.start = f(self.start);
        self.end = f(self.end);
        match &mut self.kind {
            Kind::Seq(items) => items.iter_mut().for_each(|n| n.remap(f)),
            Kind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                k.remap(f);
                v.remap(f);
            }),
            _ => {}
        }
    }
}

/// Depth-first iterator over a tree.
pub struct Walk<'a> {
    stack: Vec<&'a Node>,
}

impl<'a> Iterator for Walk<'a> {
    type Item = &'a Node;
    fn next(&mut self) -> Option<&'a Node> {
        let n = self.stack.pop()?;
        match &n.kind {
            Kind::Seq(items) => self.stack.extend(items.iter().rev()),
            Kind::Map(entries) => {
                for (k, v) in entries.iter().rev() {
                    self.stack.push(v);
                    self.stack.push(k);
                }
            }
            _ => {}
        }
        Some(n)
    }
}

fn pos(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line(),
        column: m.col() + 1,
        index: m.index(),
    }
}

/// Parses every document of a YAML stream (or one JSON document). Empty documents
/// are returned as `null` nodes.
pub fn parse(text: &str) -> Result<Vec<Node>, ParseError> {
    let mut b = Builder {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        written: 0,
        copied: 0,
    };
    let mut docs = Vec::new();
    loop {
        let (ev, span) = b.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => return Ok(docs),
            Event::DocumentStart(_) => {
                let (ev, span) = b.next()?;
                if matches!(ev, Event::DocumentEnd) {
                    docs.push(null_at(span));
                } else {
                    docs.push(b.node(ev, span, 0)?);
                }
            }
            other => {
                return Err(ParseError {
                    line: span.start.line(),
                    column: span.start.col() + 1,
                    message: format!("unexpected YAML event {other:?}"),
                })
            }
        }
    }
}

fn null_at(span: Span) -> Node {
    Node {
        kind: Kind::Null,
        start: pos(&span.start),
        end: pos(&span.start),
        quoted: false,
    }
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    /// Anchored nodes, and how many nodes each holds.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes written out in the text.
    written: usize,
    /// Nodes copied by aliases.
    copied: usize,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), ParseError> {
        match self.parser.next_event() {
            Some(Ok(x)) => Ok(x),
            Some(Err(e)) => Err(ParseError {
                line: e.marker().line(),
                column: e.marker().col() + 1,
                message: e.info().to_string(),
            }),
            None => Err(ParseError {
                line: 0,
                column: 0,
                message: "unexpected end of input".into(),
            }),
        }
    }

    fn node(&mut self, ev: Event<'a>, span: Span, depth: usize) -> Result<Node, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError {
                line: span.start.line(),
                column: span.start.col() + 1,
                message: format!("nested deeper than {MAX_DEPTH} levels"),
            });
        }
        let start = pos(&span.start);
        let written_before = self.written;
        let copied_before = self.copied;
        if !matches!(ev, Event::Alias(_)) {
            self.written += 1;
        }
        let (node, anchor, tag) = match ev {
            Event::Scalar(value, style, anchor, tag) => {
                let quoted = style != ScalarStyle::Plain;
                let kind = if quoted || tag.as_ref().is_some_and(|t| is_str_tag(t)) {
                    Kind::Str(value.into_owned())
                } else {
                    resolve_plain(&value)
                };
                (
                    Node {
                        kind,
                        start,
                        end: pos(&span.end),
                        quoted,
                    },
                    anchor,
                    tag,
                )
            }
            Event::SequenceStart(anchor, tag) => {
                let mut items = Vec::new();
                let end = loop {
                    let (ev, sp) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break pos(&sp.end);
                    }
                    items.push(self.node(ev, sp, depth + 1)?);
                };
                (
                    Node {
                        kind: Kind::Seq(items),
                        start,
                        end,
                        quoted: false,
                    },
                    anchor,
                    tag,
                )
            }
            Event::MappingStart(anchor, tag) => {
                let mut entries: Vec<(Node, Node)> = Vec::new();
                let mut keys: HashMap<String, Pos> = HashMap::new();
                let end = loop {
                    let (ev, sp) = self.next()?;
                    if matches!(ev, Event::MappingEnd) {
                        break pos(&sp.end);
                    }
                    let key = self.node(ev, sp, depth + 1)?;
                    // YAML forbids a key twice in a mapping, and readers disagree on
                    // which one wins (kubectl refuses it, most JSON readers keep the
                    // last): a second `StringEquals` silently dropping a condition
                    // must not be linted as one reading of it.
                    if let Some(text) = key.scalar_text().filter(|_| !is_merge_key(&key)) {
                        if let Some(first) = keys.insert(text.to_string(), key.start) {
                            return Err(ParseError {
                                line: key.start.line,
                                column: key.start.column,
                                message: format!(
                                    "duplicate key `{text}` (first at line {}, column {}): YAML forbids it, and tools disagree on which one wins",
                                    first.line, first.column
                                ),
                            });
                        }
                    }
                    let (ev, sp) = self.next()?;
                    let value = self.node(ev, sp, depth + 1)?;
                    // `<<: *base` merges the aliased mapping's keys (YAML merge key).
                    if is_merge_key(&key) {
                        merge_into(&mut entries, value);
                    } else {
                        entries.push((key, value));
                    }
                };
                (
                    Node {
                        kind: Kind::Map(entries),
                        start,
                        end,
                        quoted: false,
                    },
                    anchor,
                    tag,
                )
            }
            Event::Alias(id) => {
                let (mut n, size) = self.anchors.get(&id).cloned().ok_or(ParseError {
                    line: start.line,
                    column: start.column,
                    message: "alias to an unknown anchor".into(),
                })?;
                self.copied += size;
                if self.copied
                    > ALIAS_NODES_FREE
                        .saturating_add(self.written.saturating_mul(ALIAS_NODES_PER_NODE))
                {
                    return Err(ParseError {
                        line: start.line,
                        column: start.column,
                        message: format!(
                            "aliases would copy {} nodes into a document of {} written (a \"billion laughs\" document?): refused",
                            self.copied, self.written
                        ),
                    });
                }
                // The alias stands where it is written.
                let shift = |_: Pos| start;
                n.remap(&shift);
                return Ok(n);
            }
            other => {
                return Err(ParseError {
                    line: start.line,
                    column: start.column,
                    message: format!("unexpected YAML event {other:?}"),
                })
            }
        };
        let node = match tag {
            Some(t) => apply_tag(&t, node),
            None => node,
        };
        if anchor > 0 {
            // Its size: the nodes written inside it and those its own aliases copied.
            let size = (self.written - written_before) + (self.copied - copied_before);
            self.anchors.insert(anchor, (node.clone(), size.max(1)));
        }
        Ok(node)
    }
}

fn is_merge_key(key: &Node) -> bool {
    key.as_str() == Some("<<") && !key.quoted
}

fn merge_into(entries: &mut Vec<(Node, Node)>, value: Node) {
    let sources: Vec<Node> = match value.kind {
        Kind::Map(_) => vec![value],
        Kind::Seq(items) => items,
        _ => return,
    };
    for src in sources {
        if let Kind::Map(m) = src.kind {
            for (k, v) in m {
                if !entries.iter().any(|(x, _)| x.kind == k.kind) {
                    entries.push((k, v));
                }
            }
        }
    }
}

fn is_str_tag(t: &Tag) -> bool {
    t.is_yaml_core_schema() && t.suffix == "str"
}

/// `!Ref x` → `{"Ref": x}`, `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`; other tags
/// are dropped (the value stays).
fn apply_tag(tag: &Tag, node: Node) -> Node {
    if tag.handle != "!" {
        return node;
    }
    let Some((_, long)) = CFN_TAGS.iter().find(|(short, _)| *short == tag.suffix) else {
        return node;
    };
    let (start, end) = (node.start, node.end);
    let value = match (&node.kind, tag.suffix.as_str()) {
        (Kind::Str(s), "GetAtt") => match s.split_once('.') {
            Some((res, attr)) => Node {
                kind: Kind::Seq(vec![
                    Node {
                        kind: Kind::Str(res.to_string()),
                        ..node.clone()
                    },
                    Node {
                        kind: Kind::Str(attr.to_string()),
                        ..node.clone()
                    },
                ]),
                ..node
            },
            None => node,
        },
        _ => node,
    };
    let key = Node {
        kind: Kind::Str((*long).to_string()),
        start,
        end: start,
        quoted: true,
    };
    Node {
        kind: Kind::Map(vec![(key, value)]),
        start,
        end,
        quoted: false,
    }
}

/// The YAML 1.2 core schema for plain scalars
/// (<https://yaml.org/spec/1.2.2/#1032-tag-resolution>).
fn resolve_plain(s: &str) -> Kind {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "true" | "True" | "TRUE" => return Kind::Bool(true),
        "false" | "False" | "FALSE" => return Kind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Kind::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Kind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Kind::Float(f64::NAN),
        _ => {}
    }
    let digits = |t: &str, radix: u32| !t.is_empty() && t.chars().all(|c| c.is_digit(radix));
    if let Some(h) = s.strip_prefix("0x") {
        if digits(h, 16) {
            if let Ok(i) = i64::from_str_radix(h, 16) {
                return Kind::Int(i);
            }
        }
    }
    if let Some(o) = s.strip_prefix("0o") {
        if digits(o, 8) {
            if let Ok(i) = i64::from_str_radix(o, 8) {
                return Kind::Int(i);
            }
        }
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits(unsigned, 10) {
        if let Ok(i) = s.parse::<i64>() {
            return Kind::Int(i);
        }
    }
    let looks_float = !unsigned.is_empty()
        && unsigned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        && unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && unsigned.chars().any(|c| c.is_ascii_digit());
    if looks_float {
        if let Ok(f) = s.parse::<f64>() {
            return Kind::Float(f);
        }
    }
    Kind::Str(s.to_string())
}

/// Maps positions inside a JSON string scalar's value back to the file: for a
/// double-quoted scalar written on one line, each character of the value is found
/// after its escape sequence in the source (`\"`, `\n`, `\u0041` …).
pub struct EmbeddedMap {
    /// Source column (1-based) of each character of the value, and one past the end.
    columns: Vec<usize>,
    line: usize,
    start_column: usize,
    base_index: usize,
}

impl EmbeddedMap {
    /// Builds the map for the scalar `node` of `source` (the text it was parsed
    /// from). `None` when the scalar is not a one-line double-quoted string.
    pub fn new(source: &str, node: &Node) -> Option<EmbeddedMap> {
        let value = node.as_str()?;
        let raw: Vec<char> = source
            .chars()
            .skip(node.start.index)
            .take(node.end.index.saturating_sub(node.start.index))
            .collect();
        if raw.first() != Some(&'"') || raw.contains(&'\n') {
            return None;
        }
        let mut columns = Vec::with_capacity(value.chars().count() + 1);
        let mut i = 1;
        while i < raw.len().saturating_sub(1) {
            columns.push(node.start.column + i);
            if raw[i] == '\\' {
                let step = match raw.get(i + 1) {
                    Some('u') => {
                        // A surrogate pair is two escapes for one character.
                        let hi = raw
                            .get(i + 2..i + 6)
                            .map(|h| h.iter().collect::<String>())
                            .and_then(|h| u32::from_str_radix(&h, 16).ok());
                        if hi.is_some_and(|h| (0xD800..0xDC00).contains(&h))
                            && raw.get(i + 6) == Some(&'\\')
                        {
                            12
                        } else {
                            6
                        }
                    }
                    Some('x') => 4,
                    Some('U') => 10,
                    _ => 2,
                };
                i += step;
            } else {
                i += 1;
            }
        }
        columns.push(node.start.column + i);
        (columns.len() == value.chars().count() + 1).then_some(EmbeddedMap {
            columns,
            line: node.start.line,
            start_column: node.start.column,
            base_index: node.start.index,
        })
    }

    /// The file position of a position inside the value.
    pub fn map(&self, inner: Pos) -> Pos {
        let column = self
            .columns
            .get(inner.index)
            .or(self.columns.last())
            .copied()
            .unwrap_or(1);
        Pos {
            line: self.line,
            column,
            index: self.base_index + (column - self.start_column),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        parse(text).unwrap().remove(0)
    }

    #[test]
    fn positions_of_yaml_values() {
        let n = one("metadata:\n  name: lbc\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/x\n");
        let (k, v) = n
            .at(&["metadata", "annotations"])
            .unwrap()
            .entry("eks.amazonaws.com/role-arn")
            .unwrap();
        assert_eq!((k.start.line, k.start.column), (4, 5));
        assert_eq!((v.start.line, v.start.column), (4, 33));
        assert_eq!(v.as_str(), Some("arn:aws:iam::111122223333:role/x"));
    }

    #[test]
    fn json_is_read_with_positions() {
        let n = one("{\n  \"a\": [1, \"2\", true, null],\n\t\"b\": 1.5\n}");
        let a = n.get("a").unwrap().as_seq().unwrap();
        assert_eq!(a[0].kind, Kind::Int(1));
        assert_eq!(a[1].kind, Kind::Str("2".into()));
        assert_eq!(a[2].kind, Kind::Bool(true));
        assert!(a[3].is_null());
        assert_eq!((a[1].start.line, a[1].start.column), (2, 12));
        assert_eq!(n.get("b").unwrap().kind, Kind::Float(1.5));
    }

    #[test]
    fn core_schema() {
        assert_eq!(resolve_plain("0x1f"), Kind::Int(31));
        assert_eq!(resolve_plain("-12"), Kind::Int(-12));
        assert_eq!(resolve_plain("1e3"), Kind::Float(1000.0));
        assert_eq!(resolve_plain("yes"), Kind::Str("yes".into()));
        assert_eq!(resolve_plain("1.29"), Kind::Float(1.29));
        assert_eq!(resolve_plain("e"), Kind::Str("e".into()));
        assert_eq!(
            one("v: \"1000\"").get("v").unwrap().kind,
            Kind::Str("1000".into())
        );
    }

    #[test]
    fn cloudformation_short_forms() {
        let n = one("a: !Ref Cluster\nb: !GetAtt Cluster.OpenIdConnectIssuerUrl\nc: !Sub '${AWS::AccountId}'\nd: !Join ['', [a, !Ref B]]\n");
        assert_eq!(n.to_json()["a"], serde_json::json!({"Ref": "Cluster"}));
        assert_eq!(
            n.to_json()["b"],
            serde_json::json!({"Fn::GetAtt": ["Cluster", "OpenIdConnectIssuerUrl"]})
        );
        assert_eq!(
            n.to_json()["c"],
            serde_json::json!({"Fn::Sub": "${AWS::AccountId}"})
        );
        assert_eq!(
            n.to_json()["d"],
            serde_json::json!({"Fn::Join": ["", ["a", {"Ref": "B"}]]})
        );
    }

    #[test]
    fn anchors_and_merge_keys() {
        let n = one("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\nref: *b\n");
        assert_eq!(
            n.to_json(),
            serde_json::json!({"base": {"x": 1}, "other": {"x": 1, "y": 2}, "ref": {"x": 1}})
        );
    }

    #[test]
    fn duplicate_keys_are_refused_with_both_places() {
        let e = parse("Condition:\n  StringEquals: {a: 1}\n  StringEquals: {b: 2}\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 3), "{e:?}");
        assert!(e
            .message
            .contains("duplicate key `StringEquals` (first at line 2, column 3)"));
        let e = parse(r#"{"a": 1, "a": 2}"#).unwrap_err();
        assert!(e.message.contains("duplicate key `a`"));
        // The same key in sibling mappings, and merge keys, are fine.
        assert!(parse("a: {x: 1}\nb: {x: 1}\nc: &c {y: 1}\nd: {<<: *c, <<: *c, z: 1}\n").is_ok());
    }

    #[test]
    fn multi_document_streams() {
        let docs = parse("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert!(docs[1].is_null());
        assert_eq!(docs[2].get("b").unwrap().start.line, 5);
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.line >= 1, "{e:?}");
        let e = parse("a: 1\n b: 2\n").unwrap_err();
        assert_eq!(e.line, 2, "{e:?}");
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let text = "[".repeat(10_000);
        assert!(parse(&text).is_err());
    }

    #[test]
    fn alias_bombs_are_refused_reuse_is_not() {
        // Nine levels of ten aliases each: 10^9 nodes if expanded.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let t = std::time::Instant::now();
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("billion laughs"), "{e:?}");
        assert!(e.line > 1);
        // Refused early, not after expanding most of it.
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        // Merge keys reusing a block many times stay fine.
        let mut text = String::from("defaults: &d {a: 1, b: 2, c: {d: 3, e: [1, 2, 3]}}\n");
        for i in 0..2_000 {
            text.push_str(&format!("k{i}: {{<<: *d, name: n{i}}}\n"));
        }
        let doc = parse(&text).unwrap().remove(0);
        assert_eq!(doc.at(&["k1999", "c", "d"]).unwrap().kind, Kind::Int(3));
    }

    #[test]
    fn embedded_positions_follow_escapes() {
        let src = r#"{"p": "{\"a\":\"x\\\"y\",\n\"b\":\"z\"}"}"#;
        let doc = one(src);
        let s = doc.get("p").unwrap();
        let map = EmbeddedMap::new(src, s).unwrap();
        let mut inner = one(s.as_str().unwrap());
        inner.remap(&|p| map.map(p));
        let b = inner.get("b").unwrap();
        // `"z"` starts at this column of the file.
        let col = src.find(r#"\"z\""#).unwrap() + 1;
        assert_eq!((b.start.line, b.start.column), (1, col));
    }
}
