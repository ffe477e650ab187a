//! A paste → the errors in it. Logs arrive as JSON lines (the error under any
//! key), logfmt, klog, zap's console format, Java stack traces with `Caused by:`
//! chains, Python tracebacks, .NET `--->` chains, Go errors with literal `\n\t`,
//! with localized prefixes, or as plain text wrapped across lines. Each record
//! (one log event, one exception with its causes) becomes one error; frames are
//! kept for telling the SDK but dropped from the text that is matched; repeated
//! records are counted once.

/// One error in the paste.
#[derive(Debug, Clone)]
pub struct Record {
    /// 1-based line where it starts.
    pub line: usize,
    /// Its message text: wrappers removed, escapes decoded, frames dropped.
    pub text: String,
    /// Everything it spans, frames included (to recognise the SDK by its classes).
    pub raw: String,
    /// How many times it occurs in the paste.
    pub repeated: usize,
}

/// Splits a paste into records.
pub fn records(input: &str) -> Vec<Record> {
    let mut out = Out::default();
    let mut cur: Option<Record> = None;
    let mut in_traceback = false;
    let mut chained = false;
    let mut glue_next = false;
    for (i, line) in input.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let indented = line.starts_with(|c: char| c.is_whitespace());
        // Python tracebacks: frames and source lines are indented; the first
        // unindented line is the exception, which ends the traceback.
        if trimmed == "Traceback (most recent call last):" {
            if !(chained && cur.is_some()) {
                flush(&mut out, &mut cur);
                cur = Some(Record::at(i + 1));
            }
            push_raw(&mut cur, line, i);
            in_traceback = true;
            chained = false;
            continue;
        }
        if in_traceback {
            push_raw(&mut cur, line, i);
            if !indented {
                in_traceback = false;
                push_text(&mut cur, &plain(trimmed), i);
            }
            continue;
        }
        if trimmed.starts_with("During handling of the above exception")
            || trimmed.starts_with("The above exception was the direct cause")
        {
            push_raw(&mut cur, line, i);
            chained = true;
            continue;
        }
        if is_frame(trimmed) {
            push_raw(&mut cur, line, i);
            continue;
        }
        let (pieces, structured) = pieces(trimmed);
        let start = !glue_next && (structured || (!indented && is_record_start(trimmed)));
        glue_next = is_numbered_sub_exception(trimmed);
        if start || cur.is_none() {
            flush(&mut out, &mut cur);
            cur = Some(Record::at(i + 1));
        }
        push_raw(&mut cur, line, i);
        for p in pieces {
            push_text(&mut cur, &p, i);
        }
    }
    flush(&mut out, &mut cur);
    out.records
}

/// Records so far, and where each distinct text is (repeats are counted).
#[derive(Default)]
struct Out {
    records: Vec<Record>,
    seen: std::collections::HashMap<String, usize>,
}

impl Record {
    fn at(line: usize) -> Record {
        Record {
            line,
            text: String::new(),
            raw: String::new(),
            repeated: 1,
        }
    }
}

fn push_raw(cur: &mut Option<Record>, line: &str, i: usize) {
    let r = cur.get_or_insert_with(|| Record::at(i + 1));
    if !r.raw.is_empty() {
        r.raw.push('\n');
    }
    r.raw.push_str(line);
}

fn push_text(cur: &mut Option<Record>, piece: &str, i: usize) {
    let r = cur.get_or_insert_with(|| Record::at(i + 1));
    for l in piece.lines() {
        let t = l.trim();
        if t.is_empty() || is_frame(t) {
            continue;
        }
        if !r.text.is_empty() {
            r.text.push('\n');
        }
        r.text.push_str(t);
    }
}

fn flush(out: &mut Out, cur: &mut Option<Record>) {
    let Some(r) = cur.take() else { return };
    if r.text.trim().is_empty() {
        return;
    }
    let key = super::catalog::normalise(&r.text);
    match out.seen.get(&key) {
        Some(&i) => out.records[i].repeated += 1,
        None => {
            out.seen.insert(key, out.records.len());
            out.records.push(r);
        }
    }
}

/// The message pieces of one line, and whether the line is a structured log
/// record (JSON, logfmt, klog, zap console) — which always starts a record.
fn pieces(line: &str) -> (Vec<String>, bool) {
    if let Some(v) = json_value(line) {
        let mut out = Vec::new();
        strings(&v, &mut out);
        return (out, true);
    }
    // zap console / controller-runtime: text, a tab, then a JSON object.
    if let Some(i) = line.find(['{', '[']) {
        if i > 0 {
            if let Some(v) = json_value(&line[i..]) {
                let mut out = vec![plain(&line[..i])];
                strings(&v, &mut out);
                return (out, true);
            }
        }
    }
    if let Some(rest) = klog_message(line) {
        let mut out = Vec::new();
        let rest = rest.trim_start();
        let after = match quoted(rest) {
            Some((msg, used)) => {
                out.push(msg);
                &rest[used..]
            }
            None => "",
        };
        let pairs = logfmt(after);
        if pairs.is_empty() && out.is_empty() {
            out.push(plain(rest));
        } else {
            out.extend(pairs.into_iter().map(|(_, v)| v));
        }
        return (out, true);
    }
    let pairs = logfmt(line);
    if pairs.len() >= 2
        && pairs.iter().any(|(k, _)| {
            matches!(
                k.as_str(),
                "level"
                    | "lvl"
                    | "msg"
                    | "message"
                    | "err"
                    | "error"
                    | "time"
                    | "ts"
                    | "caller"
                    | "logger"
            )
        })
    {
        return (pairs.into_iter().map(|(_, v)| v).collect(), true);
    }
    (vec![plain(line)], false)
}

fn json_value(s: &str) -> Option<serde_json::Value> {
    let s = s.trim();
    let closes =
        (s.starts_with('{') && s.ends_with('}')) || (s.starts_with('[') && s.ends_with(']'));
    if !closes {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
}

/// Every string in a JSON value (the error may sit under any key, at any depth),
/// with literal escapes that survived double encoding decoded too.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(plain(s)),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Decodes literal `\n`, `\t`, `\"`, `\\` (Go errors printed with `%q`, or JSON
/// escaped twice).
pub fn plain(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('n') => {
                chars.next();
                out.push('\n');
            }
            Some('t') => {
                chars.next();
                out.push('\t');
            }
            Some('r') => {
                chars.next();
            }
            Some('"') => {
                chars.next();
                out.push('"');
            }
            Some('\\') => {
                chars.next();
                out.push('\\');
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// `key=value` / `key="quoted value"` pairs (logfmt, klog structured logging).
fn logfmt(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let ks = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.' | b'-')) {
            i += 1;
        }
        if i == ks || i >= b.len() || b[i] != b'=' {
            // Not a pair: skip the word.
            while i < b.len() && b[i] != b' ' {
                i += 1;
            }
            continue;
        }
        let key = line[ks..i].to_string();
        i += 1;
        if i < b.len() && b[i] == b'"' {
            match quoted(&line[i..]) {
                Some((v, used)) => {
                    out.push((key, v));
                    i += used;
                }
                None => {
                    out.push((key, plain(&line[i + 1..])));
                    break;
                }
            }
        } else {
            let vs = i;
            while i < b.len() && b[i] != b' ' {
                i += 1;
            }
            out.push((key, line[vs..i].to_string()));
        }
    }
    out
}

/// A double-quoted string at the start of `s`: its decoded value and the bytes used.
fn quoted(s: &str) -> Option<(String, usize)> {
    let mut chars = s.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    let mut escaped = false;
    for (i, c) in chars {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            return Some((plain(&s[1..i]), i + 1));
        }
    }
    None
}

/// klog's header: `E0416 21:11:11.123456    1 file.go:123] message`.
fn klog_message(line: &str) -> Option<&str> {
    let b = line.as_bytes();
    if b.len() < 22 || !matches!(b[0], b'I' | b'W' | b'E' | b'F') {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(1..5)
        && b[5] == b' '
        && digits(6..8)
        && b[8] == b':'
        && digits(9..11)
        && b[11] == b':')
    {
        return None;
    }
    let close = line.find("] ")?;
    Some(&line[close + 2..])
}

/// Stack frames and trace decoration: kept out of the matched text.
fn is_frame(t: &str) -> bool {
    if let Some(rest) = t.strip_prefix("at ") {
        let rest = rest.strip_prefix("async ").unwrap_or(rest);
        let name_end = rest.find([' ', '(']).unwrap_or(rest.len());
        let name = &rest[..name_end];
        let framed = rest[name_end..].trim_start().starts_with('(');
        return rest.starts_with('/')
            || rest.starts_with("<anonymous>")
            || (framed && (name.contains('.') || name.contains('_') || name.contains('$')));
    }
    if t.starts_with("... ") && (t.ends_with(" more") || t.contains("common frames omitted")) {
        return true;
    }
    if t.starts_with("--- End of ") {
        return true;
    }
    if t.starts_with("File \"") && t.contains("\", line ") {
        return true;
    }
    if t.starts_with("goroutine ") && t.ends_with(':') {
        return true;
    }
    // Go frames: `/go/pkg/mod/…/controller.go:329 +0x1f4`, `pkg.(*T).Method(...)`.
    let path = t.split(" +0x").next().unwrap_or(t);
    if let Some((file, line)) = path.rsplit_once(':') {
        if file.ends_with(".go")
            && !line.is_empty()
            && line.bytes().all(|b| b.is_ascii_digit())
            && !file.contains(' ')
        {
            return true;
        }
    }
    !t.contains(' ') && t.ends_with(')') && (t.contains(".(*") || t.ends_with("(...)"))
}

/// .NET's `Exception 1 of 4:` (the exception follows on the next line).
fn is_numbered_sub_exception(t: &str) -> bool {
    let Some(rest) = t.strip_prefix("Exception ") else {
        return false;
    };
    let mut parts = rest.trim_end_matches(':').split(" of ");
    matches!((parts.next(), parts.next()), (Some(a), Some(b)) if !a.is_empty() && !b.is_empty()
        && a.bytes().all(|x| x.is_ascii_digit()) && b.bytes().all(|x| x.is_ascii_digit()))
}

/// Words that head an error line in other languages (a log viewer's or an
/// operator's prefix before the SDK's English text).
const LOCALIZED_HEADS: &[&str] = &[
    "错误",
    "錯誤",
    "エラー",
    "오류",
    "에러",
    "Fehler",
    "Erreur",
    "Errore",
    "Erro",
    "Ошибка",
    "Hata",
];

/// Whether an unindented line begins a new error rather than continuing one.
fn is_record_start(t: &str) -> bool {
    let t = strip_localized_prefix(t);
    let b = t.as_bytes();
    // Timestamps: 2024-04-16T…, 2024/04/16 …, 21:11:11, [2024-…].
    let t0 = t.trim_start_matches('[');
    let tb = t0.as_bytes();
    if tb.len() >= 10
        && tb[..4].iter().all(u8::is_ascii_digit)
        && matches!(tb[4], b'-' | b'/')
        && tb[5..7].iter().all(u8::is_ascii_digit)
    {
        return true;
    }
    if tb.len() >= 8
        && tb[..2].iter().all(u8::is_ascii_digit)
        && tb[2] == b':'
        && tb[3..5].iter().all(u8::is_ascii_digit)
        && tb[5] == b':'
    {
        return true;
    }
    for level in [
        "ERROR", "WARN", "WARNING", "INFO", "DEBUG", "FATAL", "CRITICAL", "[ERROR]", "[WARN]",
        "[INFO]", "[error]", "[warn]",
    ] {
        if let Some(rest) = t.strip_prefix(level) {
            if rest.starts_with([' ', ':', '\t', ']']) {
                return true;
            }
        }
    }
    for head in [
        "Traceback",
        "Exception in thread",
        "Unhandled exception",
        "Unhandled Exception",
        "Uncaught ",
        "panic:",
        "fatal error:",
        "Error:",
        "error:",
        "ERROR:",
        "An error occurred (",
        "Error executing ",
        "Aws::",
        "Error from server",
        "Error creating",
        "failed to ",
        "Failed to ",
        "operation error ",
    ] {
        if t.starts_with(head) {
            return true;
        }
    }
    if t.starts_with("Caused by") || t.starts_with("caused by") {
        return false;
    }
    // An exception or error class, or a CamelCase error code, followed by `:`
    // (`software.amazon.…StsException:`, `botocore.exceptions.ClientError:`,
    // `WebIdentityErr:`, `AccessDenied:`).
    let head_end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '$' | ':')))
        .unwrap_or(t.len());
    let head = t[..head_end].trim_end_matches(':');
    if head_end < t.len() && !b.is_empty() && t[..head_end].ends_with(':') && !head.is_empty() {
        let last = head.rsplit(['.', ':']).next().unwrap_or(head);
        let capitals = last.chars().filter(char::is_ascii_uppercase).count();
        let starts_upper = last.starts_with(|c: char| c.is_ascii_uppercase());
        if starts_upper && (capitals >= 2 || last.ends_with("Error") || last.ends_with("Exception"))
        {
            return true;
        }
    }
    false
}

/// Drops a leading localized error word (`エラー:`, `错误：`, `Fehler:`) so the
/// SDK text behind it is seen.
pub fn strip_localized_prefix(t: &str) -> &str {
    for head in LOCALIZED_HEADS {
        if let Some(rest) = t.strip_prefix(head) {
            let rest = rest.trim_start_matches([':', '：', ' ', '-', '—']);
            if rest.len() < t.len() {
                return rest;
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        records(s).into_iter().map(|r| r.text).collect()
    }

    #[test]
    fn go_wrapped_error_with_literal_escapes_is_one_record() {
        let r = texts("WebIdentityErr: failed to retrieve credentials\\ncaused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\\n\\tstatus code: 403, request id: 4b7e");
        assert_eq!(r.len(), 1);
        assert!(r[0].contains("\ncaused by: AccessDenied"), "{r:?}");
    }

    #[test]
    fn json_logfmt_klog_zap() {
        let r = texts(concat!(
            "{\"level\":\"error\",\"msg\":\"Reconciler error\",\"error\":\"WebIdentityErr: x\\ncaused by: InvalidIdentityToken: Incorrect token audience\"}\n",
            "time=2024-04-16T21:11:11Z level=error msg=\"fetch failed\" err=\"operation error STS: AssumeRoleWithWebIdentity, https response error StatusCode: 403\"\n",
            "E0416 21:11:11.123456       1 controller.go:329] \"Reconciler error\" err=\"NoCredentialProviders: no valid providers in chain\" controller=\"x\"\n",
            "2024-04-16T21:11:11.123Z\tERROR\tcontroller\tReconciler error\t{\"error\": \"AccessDenied: Not authorized\"}\n",
        ));
        assert_eq!(r.len(), 4, "{r:#?}");
        assert!(r[0].contains("caused by: InvalidIdentityToken"));
        assert!(r[1].contains("StatusCode: 403"));
        assert!(r[2].contains("NoCredentialProviders"));
        assert!(r[3].contains("AccessDenied: Not authorized"));
    }

    #[test]
    fn java_trace_with_caused_by_is_one_record_without_frames() {
        let r = records(concat!(
            "com.amazonaws.SdkClientException: Unable to load AWS credentials from any provider in the chain\n",
            "\tat com.amazonaws.auth.AWSCredentialsProviderChain.getCredentials(AWSCredentialsProviderChain.java:136)\n",
            "\t... 12 more\n",
            "Caused by: com.amazonaws.services.securitytoken.model.InvalidIdentityTokenException: Incorrect token audience (Service: AWSSecurityTokenService; Status Code: 400; Error Code: InvalidIdentityToken)\n",
            "\tat com.amazonaws.http.AmazonHttpClient.handleErrorResponse(AmazonHttpClient.java:1879)\n",
        ));
        assert_eq!(r.len(), 1);
        assert!(!r[0].text.contains("AmazonHttpClient.java"));
        assert!(r[0].raw.contains("AmazonHttpClient.java"));
        assert!(r[0].text.contains("Caused by:"));
    }

    #[test]
    fn python_traceback_chain_is_one_record() {
        let r = texts(concat!(
            "Traceback (most recent call last):\n",
            "  File \"/app/main.py\", line 3, in <module>\n",
            "    boto3.client('sts').get_caller_identity()\n",
            "FileNotFoundError: [Errno 2] No such file or directory: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token'\n",
            "\n",
            "During handling of the above exception, another exception occurred:\n",
            "\n",
            "Traceback (most recent call last):\n",
            "  File \"/app/main.py\", line 5, in <module>\n",
            "botocore.exceptions.NoCredentialsError: Unable to locate credentials\n",
            "ERROR another record\n",
        ));
        assert_eq!(r.len(), 2, "{r:#?}");
        assert!(
            r[0].contains("FileNotFoundError") && r[0].contains("Unable to locate credentials")
        );
        assert!(!r[0].contains("main.py"));
    }

    #[test]
    fn wrapped_plain_text_and_repeats() {
        let r = records("An error occurred (ValidationError) when calling the AssumeRoleWithWebIdentity\noperation: Request ARN is invalid\nAn error occurred (ValidationError) when calling the AssumeRoleWithWebIdentity\noperation: Request ARN is invalid\n");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].repeated, 2);
        let r = records("Unable to find credentials\n\nException 1 of 2:\nAmazon.Runtime.AmazonClientException: The webIdentityTokenFile must be an absolute path.\n   at Amazon.Runtime.X.Y()\n\nException 2 of 2:\nAmazon.Runtime.AmazonServiceException: Unable to get IAM security credentials from EC2 Instance Metadata Service.\n");
        assert_eq!(r.len(), 1, "{r:#?}");
    }

    #[test]
    fn localized_prefix_starts_a_record() {
        assert!(is_record_start(
            "エラー: WebIdentityErr: failed to retrieve credentials"
        ));
        assert!(is_record_start("错误：An error occurred (AccessDenied)"));
        assert!(!is_record_start("operation: Request ARN is invalid"));
        assert!(!is_record_start("caused by: AccessDenied: x"));
        assert!(is_record_start(
            "software.amazon.awssdk.services.sts.model.StsException: Not authorized"
        ));
    }
}
