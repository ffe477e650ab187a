//! Input ergonomics around the loader: decoding files written by other shells
//! (UTF-16 from Windows PowerShell's `>`), naming YAML tab indentation, files whose
//! subject the user names on the command line (`--snapshot role=NAME:FILE`), and the
//! one-liners that wrap an output whose subject is unknown in an envelope.

use std::path::PathBuf;

/// Why a file is not text we can read.
pub const NOT_TEXT: &str =
    "not UTF-8 or UTF-16 text (a binary or compressed file?): save the command's output as text";

/// Decodes a file's bytes: UTF-8, or UTF-16 (little or big endian, with a byte order
/// mark or recognised by its zero bytes, as Windows PowerShell 5's `>` writes it).
pub fn decode(bytes: Vec<u8>) -> Result<String, &'static str> {
    let bytes = match String::from_utf8(bytes) {
        Ok(s) => return Ok(s),
        Err(e) => e.into_bytes(),
    };
    let little = match bytes.as_slice() {
        [0xFF, 0xFE, ..] => Some(true),
        [0xFE, 0xFF, ..] => Some(false),
        _ => utf16_without_bom(&bytes),
    };
    let Some(little) = little else {
        return Err(NOT_TEXT);
    };
    if !bytes.len().is_multiple_of(2) {
        return Err(NOT_TEXT);
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| {
            if little {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        })
        .collect();
    String::from_utf16(&units).map_err(|_| NOT_TEXT)
}

/// UTF-16 without a byte order mark: JSON and YAML are mostly ASCII, so every other
/// byte is zero. Returns the byte order, or None when the bytes do not look so.
fn utf16_without_bom(bytes: &[u8]) -> Option<bool> {
    if bytes.len() < 4 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let pairs = bytes.len() / 2;
    let zero_odd = bytes.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    let zero_even = bytes.iter().step_by(2).filter(|b| **b == 0).count();
    if zero_odd * 10 >= pairs * 9 && zero_even == 0 {
        Some(true)
    } else if zero_even * 10 >= pairs * 9 && zero_odd == 0 {
        Some(false)
    } else {
        None
    }
}

/// The loader's YAML error message, naming a tab in the indentation of the line the
/// parser stopped at (YAML indents with spaces only; a tab there reads as "found
/// character that cannot start any token").
pub fn yaml_error(text: &str, line: Option<usize>, parser_message: &str) -> String {
    let tab_line = line
        .and_then(|l| text.lines().nth(l.saturating_sub(1)))
        .filter(|l| {
            l.chars()
                .take_while(|c| c.is_whitespace())
                .any(|c| c == '\t')
        });
    match tab_line {
        Some(_) => format!(
            "invalid YAML: a tab character indents this line; YAML indents with spaces only \
             (replace the tabs with spaces, e.g. `expand -t 2`) ({parser_message})"
        ),
        None => format!("invalid YAML: {parser_message}"),
    }
}

/// `role=NAME:FILE` (a `--snapshot` value): the role that FILE's output is about.
/// NAME is a role name (`[\w+=,.@-]`, at most 64 characters) or a role ARN.
pub fn parse_role_path(value: &str) -> Option<Result<(String, PathBuf), String>> {
    let rest = value.strip_prefix("role=")?;
    let (name, file) = if rest.starts_with("arn:") {
        // An ARN holds colons: the file is after the one that follows `:role/…`.
        let after = rest.find(":role/")? + ":role/".len();
        let colon = rest[after..].find(':')? + after;
        (
            rest[after..colon].rsplit('/').next().unwrap_or_default(),
            &rest[colon + 1..],
        )
    } else {
        rest.split_once(':')?
    };
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !valid {
        return Some(Err(format!(
            "`{name}` is not an IAM role name (letters, digits and _+=,.@-, at most 64)"
        )));
    }
    if file.is_empty() {
        return Some(Err("no file after `role=NAME:`".into()));
    }
    Some(Ok((name.to_string(), PathBuf::from(file))))
}

/// The AWS CLI command whose output names no role (`list-attached-role-policies`,
/// `list-role-policies`, a bare policy document), for the hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleLess {
    /// `aws iam list-attached-role-policies`.
    AttachedPolicies,
    /// `aws iam list-role-policies`.
    InlinePolicies,
    /// A policy document (the trust policy).
    PolicyDocument,
}

impl RoleLess {
    /// The command that printed it, for a role.
    pub fn command(self, role: &str) -> String {
        match self {
            RoleLess::AttachedPolicies => {
                format!("aws iam list-attached-role-policies --role-name {role} --output json")
            }
            RoleLess::InlinePolicies => {
                format!("aws iam list-role-policies --role-name {role} --output json")
            }
            RoleLess::PolicyDocument => format!(
                "aws iam get-role --role-name {role} --query Role.AssumeRolePolicyDocument --output json"
            ),
        }
    }

    /// The ways to name the role: `--snapshot role=ROLE:FILE`, or a POSIX shell
    /// one-liner that re-runs the command into an envelope naming it.
    pub fn hints(self, path: &str) -> (String, String) {
        let role = "<ROLE>";
        let envelope_file = match path.rsplit_once('.') {
            Some((stem, _)) => format!("{stem}.envelope.json"),
            None => format!("{path}.envelope.json"),
        };
        (
            format!("--snapshot role={role}:{path}"),
            format!(
                "ROLE={role}; printf '{{\"command\": \"%s\", \"output\": %s}}\\n' \"{}\" \"$({})\" > {envelope_file}",
                self.command("$ROLE"),
                self.command("\"$ROLE\""),
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str, little: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(if little { [0xFF, 0xFE] } else { [0xFE, 0xFF] });
        }
        for u in s.encode_utf16() {
            out.extend(if little {
                u.to_le_bytes()
            } else {
                u.to_be_bytes()
            });
        }
        out
    }

    #[test]
    fn decodes_utf8_and_every_utf16() {
        let text = "{\"Account\": \"111122223333\", \"note\": \"é ✔\"}";
        assert_eq!(decode(text.as_bytes().to_vec()).unwrap(), text);
        for little in [true, false] {
            let with_bom = decode(utf16(text, little, true)).unwrap();
            assert_eq!(with_bom.trim_start_matches('\u{feff}'), text);
            assert_eq!(decode(utf16(text, little, false)).unwrap(), text);
        }
    }

    #[test]
    fn binary_is_named_not_decoded() {
        assert_eq!(
            decode(vec![0x1f, 0x8b, 0x08, 0x00, 0xff, 0x10]),
            Err(NOT_TEXT)
        );
        // Odd length after a BOM.
        assert_eq!(decode(vec![0xFF, 0xFE, 0x41]), Err(NOT_TEXT));
        // Unpaired surrogate.
        assert_eq!(decode(vec![0xFF, 0xFE, 0x00, 0xD8]), Err(NOT_TEXT));
    }

    #[test]
    fn names_tabs_in_yaml_indentation() {
        let text = "metadata:\n\tname: x\n";
        let m = yaml_error(text, Some(2), "found character that cannot start any token");
        assert!(m.contains("a tab character indents this line"), "{m}");
        let m = yaml_error("a: [\n", Some(2), "did not find expected node content");
        assert_eq!(m, "invalid YAML: did not find expected node content");
    }

    #[test]
    fn role_paths() {
        assert_eq!(
            parse_role_path("role=app:policies.json"),
            Some(Ok(("app".into(), PathBuf::from("policies.json"))))
        );
        assert_eq!(
            parse_role_path("role=arn:aws:iam::111122223333:role/team/app:dir/p.json"),
            Some(Ok(("app".into(), PathBuf::from("dir/p.json"))))
        );
        assert!(matches!(parse_role_path("role=bad name:x"), Some(Err(_))));
        assert!(matches!(parse_role_path("role=app:"), Some(Err(_))));
        assert_eq!(parse_role_path("snapshot/dir"), None);
    }

    #[test]
    fn the_envelope_one_liner_writes_an_envelope() {
        let (flag, line) = RoleLess::AttachedPolicies.hints("snap/attached.json");
        assert_eq!(flag, "--snapshot role=<ROLE>:snap/attached.json");
        assert!(line.starts_with("ROLE=<ROLE>; printf"), "{line}");
        assert!(line.ends_with("> snap/attached.envelope.json"), "{line}");
        // Run it with a stand-in `aws` that prints what the real one would.
        let dir = std::env::temp_dir().join(format!("irsa-oneliner-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::create_dir_all(dir.join("snap")).unwrap();
        let aws = dir.join("bin/aws");
        std::fs::write(
            &aws,
            "#!/bin/sh\necho \"{\\\"AttachedPolicies\\\": [{\\\"PolicyName\\\": \\\"p\\\"}]}\"\n",
        )
        .unwrap();
        let run = std::process::Command::new("chmod")
            .arg("+x")
            .arg(&aws)
            .status();
        if run.is_err() {
            return;
        }
        let line = line.replace("ROLE=<ROLE>", "ROLE=app");
        let path = format!(
            "{}:{}",
            dir.join("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let st = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .current_dir(&dir)
            .env("PATH", path)
            .status()
            .unwrap();
        assert!(st.success());
        let written = std::fs::read_to_string(dir.join("snap/attached.envelope.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(
            v["command"],
            "aws iam list-attached-role-policies --role-name app --output json"
        );
        assert_eq!(v["output"]["AttachedPolicies"][0]["PolicyName"], "p");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
