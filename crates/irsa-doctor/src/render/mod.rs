//! Report renderers: human text and the JSON contract.

pub mod human;
pub mod json;
pub mod lint;
pub mod probe;

use std::io::IsTerminal;

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
