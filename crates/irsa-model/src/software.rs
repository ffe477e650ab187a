//! What software a container holds, read from the outputs users can collect with
//! `kubectl exec` (or `collect` gathers): `aws --version`, `pip show` / `pip list` /
//! `pip freeze`, jar listings (`ls`, `find`, `jar tf`, `mvn dependency:list`),
//! `go version -m BINARY`, `npm ls` (text or `--json`), `package-lock.json`,
//! `package.json`, `gem list`, `Gemfile.lock`, `dotnet list package`,
//! `composer show`, `composer.lock`.
//!
//! Recognised by content, never by the command that produced it: one output may
//! hold several of these (`sh -c 'aws --version; pip list'`). Only packages an SDK
//! data file names are kept (`irsa_knowledge`), so a 2 000-line `pip list` costs
//! nothing downstream.

use irsa_knowledge::{knowledge, Component, Ecosystem, Version, VersionRange, VersionSpec};
use serde::Serialize;
use serde_json::Value;

/// Which kind of output was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SoftwareSource {
    /// `aws --version`.
    AwsVersion,
    /// `pip show`.
    PipShow,
    /// `pip list` (table or JSON).
    PipList,
    /// `pip freeze` / `pip list --format=freeze` / `requirements.txt` pins.
    PipFreeze,
    /// A listing of jar files (`ls`, `find`, `jar tf`), or `mvn dependency:list`.
    JarListing,
    /// `go version -m BINARY`.
    GoVersion,
    /// `npm ls` (tree or `--json`).
    NpmLs,
    /// `package-lock.json` / `npm-shrinkwrap.json`.
    PackageLock,
    /// `package.json` (version ranges).
    PackageJson,
    /// `gem list`.
    GemList,
    /// `Gemfile.lock`.
    GemfileLock,
    /// `dotnet list package`.
    DotnetList,
    /// `composer show` (list or one package).
    ComposerShow,
    /// `composer.lock`.
    ComposerLock,
}

impl SoftwareSource {
    /// The command or file, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            SoftwareSource::AwsVersion => "aws --version",
            SoftwareSource::PipShow => "pip show",
            SoftwareSource::PipList => "pip list",
            SoftwareSource::PipFreeze => "pip freeze",
            SoftwareSource::JarListing => "the jar listing",
            SoftwareSource::GoVersion => "go version -m",
            SoftwareSource::NpmLs => "npm ls",
            SoftwareSource::PackageLock => "package-lock.json",
            SoftwareSource::PackageJson => "package.json",
            SoftwareSource::GemList => "gem list",
            SoftwareSource::GemfileLock => "Gemfile.lock",
            SoftwareSource::DotnetList => "dotnet list package",
            SoftwareSource::ComposerShow => "composer show",
            SoftwareSource::ComposerLock => "composer.lock",
        }
    }
}

/// Software found in one exec output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Software {
    /// What was recognised (in the order found).
    pub sources: Vec<SoftwareSource>,
    /// AWS-relevant components found.
    pub components: Vec<Component>,
    /// The output lists everything installed in its scope (a jar directory, a Go
    /// binary's modules, a transitive .NET package list), so a required module that
    /// is absent is missing, not merely unseen.
    pub complete: bool,
    /// For `go version -m`: the binary examined.
    pub binary: Option<String>,
}

impl Software {
    fn empty() -> Software {
        Software {
            sources: vec![],
            components: vec![],
            complete: false,
            binary: None,
        }
    }

    /// Records that a format was recognised (even if it lists no AWS SDK).
    fn saw(&mut self, source: SoftwareSource) {
        if !self.sources.contains(&source) {
            self.sources.push(source);
        }
    }

    /// Records a component; formats too loose to recognise on their own (`a==b`,
    /// `a/b 1.0`) count as recognised only through an AWS-relevant component.
    fn add(
        &mut self,
        source: SoftwareSource,
        ecosystem: Ecosystem,
        name: &str,
        version: Option<VersionSpec>,
    ) {
        if !knowledge().is_relevant_package(ecosystem, name) {
            return;
        }
        self.saw(source);
        let c = Component {
            ecosystem,
            name: name.to_string(),
            version,
        };
        if !self.components.contains(&c) {
            self.components.push(c);
        }
    }

    fn exact(v: &str) -> Option<VersionSpec> {
        Version::parse(v).map(VersionSpec::Exact)
    }
}

/// Reads software evidence from an exec output. `None` when nothing in it is a
/// recognised format (the caller counts it as skipped).
pub fn parse(text: &str) -> Option<Software> {
    let text = text.trim_start_matches('\u{feff}');
    let trimmed = text.trim_start();
    let mut sw = Software::empty();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
            json_document(&v, &mut sw);
            return (!sw.sources.is_empty()).then_some(sw);
        }
    }
    aws_version(text, &mut sw);
    pip_show(text, &mut sw);
    pip_list(text, &mut sw);
    pip_freeze(text, &mut sw);
    jars(text, &mut sw);
    go_version(text, &mut sw);
    npm_tree(text, &mut sw);
    gems(text, &mut sw);
    dotnet(text, &mut sw);
    composer(text, &mut sw);
    (!sw.sources.is_empty()).then_some(sw)
}

// ---- JSON documents ----------------------------------------------------------

fn json_document(v: &Value, sw: &mut Software) {
    match v {
        // `pip list --format=json`.
        Value::Array(items)
            if !items.is_empty()
                && items
                    .iter()
                    .all(|i| i.get("name").is_some() && i.get("version").is_some()) =>
        {
            sw.saw(SoftwareSource::PipList);
            for i in items {
                if let (Some(n), Some(ver)) = (i["name"].as_str(), i["version"].as_str()) {
                    sw.add(
                        SoftwareSource::PipList,
                        Ecosystem::Pypi,
                        n,
                        Software::exact(ver),
                    );
                }
            }
        }
        Value::Object(m) if m.contains_key("lockfileVersion") => package_lock(m, sw),
        Value::Object(m) if m.contains_key("content-hash") || m.contains_key("packages-dev") => {
            sw.saw(SoftwareSource::ComposerLock);
            for p in m
                .get("packages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(n), Some(ver)) = (p["name"].as_str(), p["version"].as_str()) {
                    sw.add(
                        SoftwareSource::ComposerLock,
                        Ecosystem::Composer,
                        n,
                        Software::exact(ver),
                    );
                }
            }
        }
        // `npm ls --json`: nested `dependencies` with `version`.
        Value::Object(m)
            if m.get("dependencies")
                .and_then(Value::as_object)
                .is_some_and(|d| d.values().any(|x| x.get("version").is_some())) =>
        {
            npm_json_tree(m, SoftwareSource::NpmLs, sw, 0);
        }
        // `package.json`: requirements.
        Value::Object(m) if m.contains_key("dependencies") || m.contains_key("devDependencies") => {
            sw.saw(SoftwareSource::PackageJson);
            for (n, req) in m
                .get("dependencies")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let spec = req
                    .as_str()
                    .and_then(VersionRange::parse_npm)
                    .map(VersionSpec::Range);
                sw.add(SoftwareSource::PackageJson, Ecosystem::Npm, n, spec);
            }
        }
        _ => {}
    }
}

fn package_lock(m: &serde_json::Map<String, Value>, sw: &mut Software) {
    sw.complete = true;
    if let Some(pkgs) = m.get("packages").and_then(Value::as_object) {
        // lockfile v2/v3: "node_modules/a/node_modules/@scope/b": {"version": …}
        for (path, p) in pkgs {
            let Some(name) = path.rsplit_once("node_modules/").map(|(_, n)| n) else {
                continue;
            };
            if let Some(ver) = p.get("version").and_then(Value::as_str) {
                sw.add(
                    SoftwareSource::PackageLock,
                    Ecosystem::Npm,
                    name,
                    Software::exact(ver),
                );
            }
        }
    } else {
        npm_json_tree(m, SoftwareSource::PackageLock, sw, 0);
    }
    sw.saw(SoftwareSource::PackageLock);
}

fn npm_json_tree(
    m: &serde_json::Map<String, Value>,
    source: SoftwareSource,
    sw: &mut Software,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    sw.saw(source);
    for (n, d) in m
        .get("dependencies")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(ver) = d.get("version").and_then(Value::as_str) {
            sw.add(source, Ecosystem::Npm, n, Software::exact(ver));
        }
        if let Some(inner) = d.as_object() {
            npm_json_tree(inner, source, sw, depth + 1);
        }
    }
}

// ---- text formats --------------------------------------------------------------

/// `aws-cli/2.15.0 Python/3.11.6 Linux/… exe/x86_64…` or
/// `aws-cli/1.16.100 Python/2.7.16 Linux/… botocore/1.12.90`.
fn aws_version(text: &str, sw: &mut Software) {
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        let Some(v) = first.strip_prefix("aws-cli/") else {
            continue;
        };
        sw.add(
            SoftwareSource::AwsVersion,
            Ecosystem::Cli,
            "aws-cli",
            Software::exact(v),
        );
        for w in words {
            if let Some(b) = w.strip_prefix("botocore/") {
                sw.add(
                    SoftwareSource::AwsVersion,
                    Ecosystem::Pypi,
                    "botocore",
                    Software::exact(b),
                );
            }
        }
    }
}

/// `pip show`: `Name: boto3` / `Version: 1.9.100` blocks.
fn pip_show(text: &str, sw: &mut Software) {
    let mut name: Option<&str> = None;
    for line in text.lines() {
        // `pip show` of a package that is not installed says so: evidence of absence.
        if line.starts_with("WARNING: Package(s) not found:") {
            sw.saw(SoftwareSource::PipShow);
        }
        if let Some(n) = line.strip_prefix("Name: ") {
            sw.saw(SoftwareSource::PipShow);
            name = Some(n.trim());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("Version: "), name) {
            sw.add(
                SoftwareSource::PipShow,
                Ecosystem::Pypi,
                n,
                Software::exact(v.trim()),
            );
            name = None;
        }
    }
}

/// `pip list`: a `Package  Version` header, a dashes line, then `name version` rows.
fn pip_list(text: &str, sw: &mut Software) {
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let mut h = line.split_whitespace();
        if !(h.next() == Some("Package") && h.next() == Some("Version")) {
            continue;
        }
        if !lines
            .peek()
            .is_some_and(|l| l.trim_start().starts_with("---"))
        {
            continue;
        }
        lines.next();
        sw.saw(SoftwareSource::PipList);
        for row in lines.by_ref() {
            let mut w = row.split_whitespace();
            match (w.next(), w.next()) {
                (Some(n), Some(v)) if Version::parse(v).is_some() => sw.add(
                    SoftwareSource::PipList,
                    Ecosystem::Pypi,
                    n,
                    Software::exact(v),
                ),
                _ => break,
            }
        }
    }
}

/// `pip freeze`: `name==version` lines.
fn pip_freeze(text: &str, sw: &mut Software) {
    for line in text.lines() {
        let line = line.trim();
        let Some((n, v)) = line.split_once("==") else {
            continue;
        };
        let n = n.trim();
        if n.is_empty() || n.contains(char::is_whitespace) || n.starts_with('#') {
            continue;
        }
        sw.add(
            SoftwareSource::PipFreeze,
            Ecosystem::Pypi,
            n,
            Software::exact(v.trim()),
        );
    }
}

/// Jar file names anywhere in a line (`ls`, `find`, `jar tf`), and Maven
/// coordinates (`mvn dependency:list`: `group:artifact:jar:version:scope`).
fn jars(text: &str, sw: &mut Software) {
    let mut found: Vec<(String, String, bool)> = Vec::new(); // (artifact, version, v2 path)
    for line in text.lines() {
        for word in line.split_whitespace() {
            // Maven coordinates.
            let parts: Vec<&str> = word.split(':').collect();
            if parts.len() >= 4 && parts[2] == "jar" && Version::parse(parts[3]).is_some() {
                let v2 = parts[0] == "software.amazon.awssdk";
                found.push((parts[1].to_string(), parts[3].to_string(), v2));
                continue;
            }
            let Some(stem) = word.strip_suffix(".jar") else {
                continue;
            };
            let (dir, file) = match stem.rsplit_once('/') {
                Some((d, f)) => (d, f),
                None => ("", stem),
            };
            let Some((artifact, version)) = split_jar_name(file) else {
                continue;
            };
            let v2 =
                dir.contains("software/amazon/awssdk") || dir.contains("software.amazon.awssdk");
            found.push((artifact.to_string(), version.to_string(), v2));
        }
    }
    if found.is_empty() {
        return;
    }
    sw.saw(SoftwareSource::JarListing);
    sw.complete = true;
    // Java v2 artifacts carry bare names (`sts-2.20.1.jar`): they are the v2 SDK when
    // the listing holds its core (`sdk-core`/`aws-core`) at the same version, or
    // their path says so.
    let v2_versions: Vec<String> = found
        .iter()
        .filter(|(a, v, _)| (a == "sdk-core" || a == "aws-core") && v.starts_with("2."))
        .map(|(_, v, _)| v.clone())
        .collect();
    for (artifact, version, v2_path) in &found {
        let is_v2 = *v2_path || (version.starts_with("2.") && v2_versions.contains(version));
        let name = if is_v2 {
            format!("software.amazon.awssdk:{artifact}")
        } else {
            artifact.clone()
        };
        sw.add(
            SoftwareSource::JarListing,
            Ecosystem::Maven,
            &name,
            Software::exact(version),
        );
    }
}

/// `aws-java-sdk-core-1.11.563.jar` → (`aws-java-sdk-core`, `1.11.563`).
fn split_jar_name(file: &str) -> Option<(&str, &str)> {
    let bytes = file.as_bytes();
    for (i, _) in file.match_indices('-') {
        if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let (a, v) = (&file[..i], &file[i + 1..]);
            if !a.is_empty() && v.contains('.') {
                return Some((a, v));
            }
        }
    }
    None
}

/// `go version -m BINARY`:
/// ```text
/// /usr/local/bin/controller: go1.21.5
///         path    sigs.k8s.io/aws-load-balancer-controller
///         dep     github.com/aws/aws-sdk-go       v1.48.6 h1:…
///         =>      github.com/fork/aws-sdk-go      v1.48.7 h1:…
/// ```
fn go_version(text: &str, sw: &mut Software) {
    let mut in_binary = false;
    let mut last: Option<(String, String)> = None;
    for line in text.lines() {
        if !line.starts_with(char::is_whitespace) {
            if let Some((bin, rest)) = line.rsplit_once(": ") {
                if rest.trim().starts_with("go1") || rest.trim().starts_with("devel") {
                    in_binary = true;
                    sw.binary.get_or_insert_with(|| bin.trim().to_string());
                    sw.saw(SoftwareSource::GoVersion);
                    sw.complete = true;
                    continue;
                }
            }
            in_binary = false;
            continue;
        }
        if !in_binary {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["dep", module, version, ..] | ["mod", module, version, ..] => {
                if let Some((m, v)) = last.take() {
                    sw.add(
                        SoftwareSource::GoVersion,
                        Ecosystem::Go,
                        &m,
                        Software::exact(&v),
                    );
                }
                last = Some((module.to_string(), version.to_string()));
            }
            // A replacement applies to the previous dep: same module path, new version.
            ["=>", module, version, ..] => {
                if let Some((m, _)) = &last {
                    if m == module {
                        last = Some((m.clone(), version.to_string()));
                    } else {
                        // Replaced by a fork: its version says nothing about upstream's.
                        let m = m.clone();
                        last = None;
                        sw.add(SoftwareSource::GoVersion, Ecosystem::Go, &m, None);
                    }
                }
            }
            _ => {}
        }
    }
    if let Some((m, v)) = last {
        sw.add(
            SoftwareSource::GoVersion,
            Ecosystem::Go,
            &m,
            Software::exact(&v),
        );
    }
}

/// `npm ls` tree: `├── aws-sdk@2.500.0`, `│ └─┬ @aws-sdk/client-s3@3.400.0 deduped`.
fn npm_tree(text: &str, sw: &mut Software) {
    for line in text.lines() {
        let body = line.trim_start_matches(|c: char| {
            matches!(
                c,
                '│' | '├' | '└' | '─' | '┬' | '┼' | '|' | '`' | '+' | '-' | ' '
            )
        });
        if body.len() == line.len() {
            continue;
        }
        if line.starts_with(['├', '└', '│']) {
            sw.saw(SoftwareSource::NpmLs);
        }
        let word = body.split_whitespace().next().unwrap_or("");
        // The last `@` separates the version (`@aws-sdk/x@3.1.0`).
        let Some(at) = word.rfind('@').filter(|&i| i > 0) else {
            continue;
        };
        let (name, version) = (&word[..at], &word[at + 1..]);
        if Version::parse(version).is_none() || line.contains("UNMET") {
            continue;
        }
        sw.add(
            SoftwareSource::NpmLs,
            Ecosystem::Npm,
            name,
            Software::exact(version),
        );
    }
}

/// `gem list`: `aws-sdk-core (3.58.0, 3.50.0)`, `json (default: 2.6.3)`;
/// `Gemfile.lock`: `    aws-sdk-core (3.58.0)` under `specs:`.
fn gems(text: &str, sw: &mut Software) {
    let lockfile = text.contains("\n  specs:") || text.starts_with("GEM\n");
    let source = if lockfile {
        SoftwareSource::GemfileLock
    } else {
        SoftwareSource::GemList
    };
    for line in text.lines() {
        let t = line.trim();
        let Some((name, rest)) = t.split_once(" (") else {
            continue;
        };
        let Some(list) = rest.strip_suffix(')') else {
            continue;
        };
        if name.contains(char::is_whitespace) || name.is_empty() {
            continue;
        }
        if lockfile {
            sw.saw(SoftwareSource::GemfileLock);
        }
        if lockfile && line.len() - line.trim_start().len() != 4 {
            // In Gemfile.lock, 4 spaces = a resolved gem; 6 = a requirement.
            continue;
        }
        for v in list.split(',') {
            let v = v.trim().trim_start_matches("default:").trim();
            let v = v.split_whitespace().next().unwrap_or(v);
            if Version::parse(v).is_some() && !v.contains(['<', '>', '~', '=']) {
                sw.add(source, Ecosystem::Rubygems, name, Software::exact(v));
            }
        }
    }
}

/// `dotnet list package [--include-transitive]`:
/// `   > AWSSDK.Core        3.7.0      3.7.0` (requested, resolved) and, under
/// `Transitive Package`, `   > AWSSDK.SecurityToken   3.7.1` (resolved).
fn dotnet(text: &str, sw: &mut Software) {
    if !text.contains("Top-level Package") && !text.contains("Transitive Package") {
        return;
    }
    sw.saw(SoftwareSource::DotnetList);
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("> ") else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let Some(name) = fields.first() else { continue };
        // The resolved version is the last column.
        let Some(resolved) = fields.iter().rev().find(|f| Version::parse(f).is_some()) else {
            continue;
        };
        sw.add(
            SoftwareSource::DotnetList,
            Ecosystem::Nuget,
            name,
            Software::exact(resolved),
        );
    }
    if text.contains("Transitive Package") {
        sw.complete = true;
    }
}

/// `composer show`: `aws/aws-sdk-php   3.110.7  AWS SDK for PHP …`; `composer show
/// aws/aws-sdk-php`: `name     : aws/aws-sdk-php` … `versions : * 3.110.7`.
fn composer(text: &str, sw: &mut Software) {
    let mut detail_name: Option<&str> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(n) = t
            .strip_prefix("name")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix(':'))
        {
            detail_name = Some(n.trim());
            continue;
        }
        if let Some(v) = t
            .strip_prefix("versions")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix(':'))
        {
            if let Some(n) = detail_name.take() {
                let v = v.trim().trim_start_matches('*').trim();
                sw.add(
                    SoftwareSource::ComposerShow,
                    Ecosystem::Composer,
                    n,
                    Software::exact(v),
                );
            }
            continue;
        }
        let mut w = t.split_whitespace();
        if let (Some(n), Some(v)) = (w.next(), w.next()) {
            let v = v.trim_start_matches('v');
            if n.contains('/')
                && !n.contains("://")
                && !n.starts_with('/')
                && Version::parse(v).is_some()
                && n.split('/').count() == 2
                && v.starts_with(|c: char| c.is_ascii_digit())
            {
                sw.add(
                    SoftwareSource::ComposerShow,
                    Ecosystem::Composer,
                    n,
                    Software::exact(v),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &Software) -> Vec<String> {
        s.components
            .iter()
            .map(|c| {
                format!(
                    "{}:{}@{}",
                    c.ecosystem,
                    c.name,
                    c.version.as_ref().map(|v| v.text()).unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn jar_names_split() {
        assert_eq!(
            split_jar_name("aws-java-sdk-core-1.11.563"),
            Some(("aws-java-sdk-core", "1.11.563"))
        );
        assert_eq!(split_jar_name("sts-2.20.1"), Some(("sts", "2.20.1")));
        assert_eq!(
            split_jar_name("netty-codec-http2-4.1.86.Final"),
            Some(("netty-codec-http2", "4.1.86.Final"))
        );
        assert_eq!(split_jar_name("app"), None);
    }

    #[test]
    fn mixed_output() {
        let s = parse("aws-cli/1.16.100 Python/2.7.16 Linux/4.14 botocore/1.12.90\nboto3==1.9.100\nrequests==2.0\n").unwrap();
        assert_eq!(
            names(&s),
            vec![
                "cli:aws-cli@1.16.100",
                "pypi:botocore@1.12.90",
                "pypi:boto3@1.9.100"
            ]
        );
        assert!(parse("hello world\n").is_none());
    }
}
