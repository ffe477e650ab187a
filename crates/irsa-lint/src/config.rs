//! `irsa-doctor.toml`: per-rule severity overrides (like ruff's `[lint]` and
//! cargo-deny's per-check levels), paths left out, and whether gaps decide the exit
//! status.
//!
//! ```toml
//! [lint]
//! exclude = ["test/fixtures/"]   # path prefixes, relative to the config file
//! allow-gaps = false             # true: "not checked" does not make the run exit 2
//!
//! [lint.rules]
//! IRSA208 = "error"              # a code or a rule name; error | warning | info | off
//! trust-aud = "off"
//! ```

use irsa_rules::{rule_by_code, Severity};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The config file's name, looked up from the current directory upwards.
pub const FILE_NAME: &str = "irsa-doctor.toml";

/// A rule's level as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Report at this severity.
    Severity(Severity),
    /// Do not report.
    Off,
}

/// The lint configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// Rule code → level.
    pub rules: BTreeMap<&'static str, Level>,
    /// Path prefixes not read.
    pub exclude: Vec<String>,
    /// Gaps do not decide the exit status.
    pub allow_gaps: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    lint: Option<LintSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct LintSection {
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    allow_gaps: bool,
    #[serde(default)]
    rules: BTreeMap<String, String>,
}

/// A config file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Parses the text of an `irsa-doctor.toml`.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| {
            ConfigError(
                e.message().to_string()
                    + &e.span()
                        .map(|s| {
                            let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                            format!(" (line {line})")
                        })
                        .unwrap_or_default(),
            )
        })?;
        let Some(lint) = file.lint else {
            return Ok(Config::default());
        };
        let mut rules = BTreeMap::new();
        for (code, level) in lint.rules {
            let Some(rule) = rule_by_code(&code) else {
                return Err(ConfigError(format!(
                    "[lint.rules]: `{code}` is not a rule (`irsa-doctor rules` lists them)"
                )));
            };
            let level = match level.as_str() {
                "off" => Level::Off,
                other => match Severity::parse(other) {
                    Some(s) => Level::Severity(s),
                    None => {
                        return Err(ConfigError(format!(
                            "[lint.rules]: {code} = \"{level}\": the level is one of error, warning, info, off"
                        )))
                    }
                },
            };
            rules.insert(rule.meta().code, level);
        }
        Ok(Config {
            rules,
            exclude: lint.exclude,
            allow_gaps: lint.allow_gaps,
        })
    }

    /// The level of a rule's findings (`None`: as the rule decides).
    pub fn level(&self, code: &str) -> Option<Level> {
        self.rules.get(code).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_by_code_or_name() {
        let c = Config::parse("[lint]\nexclude = [\"vendor/\"]\nallow-gaps = true\n[lint.rules]\nIRSA208 = \"error\"\ntrust-aud = \"off\"\n").unwrap();
        assert_eq!(c.level("IRSA208"), Some(Level::Severity(Severity::Error)));
        assert_eq!(c.level("IRSA204"), Some(Level::Off));
        assert_eq!(c.level("IRSA203"), None);
        assert_eq!(c.exclude, vec!["vendor/"]);
        assert!(c.allow_gaps);
    }

    #[test]
    fn mistakes_are_named() {
        let e = Config::parse("[lint.rules]\nIRSA999 = \"error\"\n").unwrap_err();
        assert!(e.0.contains("IRSA999"), "{e}");
        let e = Config::parse("[lint.rules]\nIRSA208 = \"fatal\"\n").unwrap_err();
        assert!(e.0.contains("error, warning, info, off"), "{e}");
        let e = Config::parse("[lint]\nexlude = []\n").unwrap_err();
        assert!(e.0.contains("exlude"), "{e}");
        assert!(Config::parse("").unwrap().rules.is_empty());
    }
}
