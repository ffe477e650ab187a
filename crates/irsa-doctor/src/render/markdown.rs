//! Markdown (the rule docs kept beside each rule) rendered for a terminal: headings
//! flush left (bold on a colour terminal), text indented and wrapped to the width,
//! lists with hanging indent, inline code kept in backticks (cyan in colour), links as
//! `text <url>` so they stay clickable and copyable, code blocks verbatim and flush left.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

/// Body indent under a heading.
const BODY: &str = "  ";

struct Out {
    color: bool,
    width: Option<usize>,
    text: String,
    /// The paragraph, heading or list item being gathered.
    block: String,
    /// Open lists: the next number of each (None: bulleted).
    lists: Vec<Option<u64>>,
    /// Link targets of the links being gathered, with the text start.
    links: Vec<(String, usize)>,
    in_heading: Option<HeadingLevel>,
    item_marker: Option<String>,
}

impl Out {
    fn paint(&self, code: &str, s: &str) -> String {
        super::paint(self.color, code, s)
    }

    fn blank_line(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with("\n\n") {
            self.text.push('\n');
        }
    }

    fn wrap(&self, s: &str, first: &str, rest: &str) -> String {
        let s = s.trim();
        match self.width {
            Some(w) if w > rest.len() + 10 => {
                let opts = textwrap::Options::new(w)
                    .initial_indent(first)
                    .subsequent_indent(rest)
                    .break_words(false)
                    // Never split a URL or a flag at its hyphens.
                    .word_splitter(textwrap::WordSplitter::NoHyphenation);
                textwrap::fill(s, opts)
            }
            _ => format!("{first}{s}"),
        }
    }

    fn flush_block(&mut self) {
        let block = std::mem::take(&mut self.block);
        if block.trim().is_empty() && self.item_marker.is_none() {
            return;
        }
        let depth = self.lists.len();
        let (first, rest) = match self.item_marker.take() {
            Some(marker) => {
                let pad = format!("{BODY}{}", "  ".repeat(depth.saturating_sub(1)));
                (
                    format!("{pad}{marker}"),
                    format!("{pad}{}", " ".repeat(marker.chars().count())),
                )
            }
            None if depth > 0 => {
                let pad = format!("{BODY}{}", "  ".repeat(depth));
                (pad.clone(), pad)
            }
            None => (BODY.to_string(), BODY.to_string()),
        };
        let wrapped = self.wrap(&block, &first, &rest);
        self.text.push_str(&wrapped);
        self.text.push('\n');
    }

    fn event(&mut self, e: Event<'_>) {
        match e {
            Event::Start(Tag::Heading { level, .. }) => {
                self.blank_line();
                self.in_heading = Some(level);
            }
            Event::End(TagEnd::Heading(_)) => {
                let h = std::mem::take(&mut self.block);
                let line = match self.in_heading.take() {
                    Some(HeadingLevel::H1) => self.paint("1;4", h.trim()),
                    _ => self.paint("1", h.trim()),
                };
                self.text.push_str(&line);
                self.text.push('\n');
            }
            Event::Start(Tag::Paragraph) if self.lists.is_empty() => self.blank_line(),
            Event::End(TagEnd::Paragraph) => self.flush_block(),
            Event::Start(Tag::List(start)) => {
                if !self.block.trim().is_empty() || self.item_marker.is_some() {
                    self.flush_block();
                }
                if self.lists.is_empty() {
                    self.blank_line();
                }
                self.lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                self.lists.pop();
            }
            Event::Start(Tag::Item) => {
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let m = format!("{n}. ");
                        *n += 1;
                        m
                    }
                    _ => "• ".to_string(),
                };
                self.item_marker = Some(marker);
            }
            Event::End(TagEnd::Item)
                if !self.block.trim().is_empty() || self.item_marker.is_some() =>
            {
                self.flush_block()
            }
            Event::Start(Tag::CodeBlock(_)) => {
                if !self.block.trim().is_empty() {
                    self.flush_block();
                }
                self.blank_line();
            }
            Event::End(TagEnd::CodeBlock) => {
                // Verbatim and flush left: a pasted heredoc only ends at an unindented line.
                let code = std::mem::take(&mut self.block);
                let painted = self.paint("36", code.trim_end_matches('\n'));
                self.text.push_str(&painted);
                self.text.push('\n');
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                self.links.push((dest_url.to_string(), self.block.len()));
            }
            Event::End(TagEnd::Link) => {
                if let Some((url, start)) = self.links.pop() {
                    let text = self.block[start..].to_string();
                    if text.trim() != url {
                        let shown = format!(" <{url}>");
                        let shown = self.paint("4", &shown);
                        self.block.push_str(&shown);
                    }
                }
            }
            Event::Start(Tag::Strong) if self.color => self.block.push_str("\x1b[1m"),
            Event::End(TagEnd::Strong) if self.color => self.block.push_str("\x1b[22m"),
            Event::Text(t) => self.block.push_str(&t),
            Event::Code(c) => {
                let s = if self.color {
                    self.paint("36", &c)
                } else {
                    format!("`{c}`")
                };
                self.block.push_str(&s);
            }
            Event::SoftBreak => self.block.push(' '),
            Event::HardBreak => self.block.push('\n'),
            Event::Rule => {
                self.blank_line();
                self.text.push_str(BODY);
                self.text
                    .push_str(&"─".repeat(self.width.unwrap_or(40).min(40)));
                self.text.push('\n');
            }
            Event::Html(h) | Event::InlineHtml(h) => self.block.push_str(&h),
            _ => {}
        }
    }
}

/// Renders Markdown for the terminal; `width` None: no wrapping (piped output).
pub fn render(md: &str, width: Option<usize>, color: bool) -> String {
    let mut out = Out {
        color,
        width,
        text: String::new(),
        block: String::new(),
        lists: Vec::new(),
        links: Vec::new(),
        in_heading: None,
        item_marker: None,
    };
    for e in Parser::new(md) {
        out.event(e);
    }
    if !out.block.trim().is_empty() {
        out.flush_block();
    }
    out.text
}

/// The links of a Markdown text: (text, url), in order.
pub fn links(md: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut open: Option<(String, String)> = None;
    for e in Parser::new(md) {
        match e {
            Event::Start(Tag::Link { dest_url, .. }) => {
                open = Some((String::new(), dest_url.to_string()));
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((text, _)) = open.as_mut() {
                    text.push_str(&t);
                }
            }
            Event::End(TagEnd::Link) => {
                if let Some(l) = open.take() {
                    found.push(l);
                }
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "## What it checks\nThe `sub` condition, **exactly**: a long sentence that goes on and on so that it must wrap at forty columns.\n\n## Articles\n- [How do I troubleshoot IRSA errors in Amazon EKS?](https://repost.aws/knowledge-center/eks-troubleshoot-irsa-errors)\n- second item\n\n```sh\ncat > f <<'EOF'\n{ \"a\": 1 }\nEOF\n```\n";

    #[test]
    fn headings_lose_their_hashes_and_links_keep_their_urls() {
        let out = render(DOC, None, false);
        assert!(out.starts_with("What it checks\n"), "{out}");
        assert!(!out.contains("##"), "{out}");
        assert!(out.contains("  The `sub` condition, exactly: a long sentence"));
        assert!(out.contains(
            "  • How do I troubleshoot IRSA errors in Amazon EKS? <https://repost.aws/knowledge-center/eks-troubleshoot-irsa-errors>"
        ), "{out}");
        assert!(out.contains("  • second item"));
        // Code blocks verbatim, flush left.
        assert!(out.lines().any(|l| l == "EOF"), "{out}");
        assert!(out.lines().any(|l| l == "cat > f <<'EOF'"), "{out}");
    }

    #[test]
    fn wraps_with_hanging_indent_and_never_breaks_a_url() {
        let out = render(DOC, Some(40), false);
        for l in out.lines() {
            let long_word = l.split_whitespace().any(|w| w.len() > 38);
            assert!(l.chars().count() <= 40 || long_word, "{l:?} in\n{out}");
        }
        // Hanging indent: the item's continuation lines align under its text.
        assert!(out.contains("  • How do I troubleshoot\n    IRSA"), "{out}");
        assert!(out.contains("<https://repost.aws/knowledge-center/eks-troubleshoot-irsa-errors>"));
    }

    #[test]
    fn colour_only_when_asked() {
        assert!(!render(DOC, None, false).contains('\x1b'));
        let c = render(DOC, None, true);
        assert!(c.contains("\x1b[1mWhat it checks\x1b[0m"), "{c}");
    }

    #[test]
    fn links_are_listed() {
        assert_eq!(
            links(DOC),
            vec![(
                "How do I troubleshoot IRSA errors in Amazon EKS?".to_string(),
                "https://repost.aws/knowledge-center/eks-troubleshoot-irsa-errors".to_string()
            )]
        );
    }
}
