//! Report renderers: human text and the JSON contract.

pub mod human;
pub mod json;
pub mod lint;
pub mod markdown;
pub mod probe;

use std::io::IsTerminal;

/// `s` in the ANSI style `code` (e.g. `1` bold, `31` red) when `color`.
pub fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// Whether to colour stdout.
pub fn use_color(choice: crate::cli::ColorChoice) -> bool {
    match choice {
        crate::cli::ColorChoice::Always => true,
        crate::cli::ColorChoice::Never => false,
        crate::cli::ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// The width to wrap human output to: `COLUMNS` when set, else the terminal's width
/// when stdout is a terminal, else None (piped: one line per message, for grep).
pub fn width() -> Option<usize> {
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c >= 20)
    {
        return Some(c);
    }
    if std::io::stdout().is_terminal() {
        return terminal_size::terminal_size_of(std::io::stdout())
            .map(|(w, _)| usize::from(w.0))
            .filter(|w| *w >= 20);
    }
    None
}
