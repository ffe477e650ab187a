//! Embeds every data file (`data/sdks/*.toml`, `data/controllers/*.toml`,
//! `data/managed-policies/*.toml`), so a new SDK, controller or documented AWS managed
//! policy is added by adding a file: no list to edit.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // The crate's folder as cargo gives it to this run (not `env!`, the folder this
    // script was compiled in: a target directory reused by another checkout of the
    // repository would then read that checkout's data, or none once it is gone).
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("data");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut out = String::new();
    for (constant, dir) in [
        ("SDK_FILES", "sdks"),
        ("CONTROLLER_FILES", "controllers"),
        ("MANAGED_POLICY_FILES", "managed-policies"),
    ] {
        let dir = root.join(dir);
        println!("cargo:rerun-if-changed={}", dir.display());
        // A folder that cannot be read fails the build: embedding nothing would give a
        // tool that knows no SDK, controller or managed policy, and says so nowhere.
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        assert!(
            !files.is_empty(),
            "{} holds no .toml data file",
            dir.display()
        );
        files.sort();
        writeln!(out, "/// Embedded data files: (file name, text).").unwrap();
        writeln!(out, "pub const {constant}: &[(&str, &str)] = &[").unwrap();
        for f in files {
            println!("cargo:rerun-if-changed={}", f.display());
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            writeln!(
                out,
                "    ({name:?}, include_str!({:?})),",
                f.display().to_string()
            )
            .unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("data_files.rs");
    std::fs::write(dest, out).unwrap();
}
