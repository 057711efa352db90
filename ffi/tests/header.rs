//! Checks that `include/sansraft.h` matches what cbindgen generates from this crate.
//!
//! Run with `SANSRAFT_BLESS=1` to rewrite the header after changing the C API.

use std::fs;
use std::path::Path;

#[test]
fn checked_in_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = crate_dir.parent().expect("the ffi crate sits in the repository root");
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml"))
        .expect("cbindgen.toml at the repository root parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header from ffi/src");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("cbindgen writes UTF-8");

    let header_path = root.join("include/sansraft.h");
    if std::env::var_os("SANSRAFT_BLESS").is_some_and(|value| value == "1") {
        fs::write(&header_path, &generated).expect("include/sansraft.h is writable");
        return;
    }
    let checked_in = fs::read_to_string(&header_path).unwrap_or_default();
    if checked_in != generated {
        let line = first_difference(&checked_in, &generated);
        panic!(
            "include/sansraft.h is stale: it differs from the generated header from line {line} \
             on. Regenerate it with `SANSRAFT_BLESS=1 cargo test -p sansraft-ffi --test header` \
             and commit the result."
        );
    }
}

/// Returns the 1-based number of the first line that differs.
fn first_difference(old: &str, new: &str) -> usize {
    let mut old_lines = old.lines();
    let mut new_lines = new.lines();
    let mut line = 1;
    loop {
        match (old_lines.next(), new_lines.next()) {
            (Some(a), Some(b)) if a == b => line += 1,
            (None, None) => return line,
            _ => return line,
        }
    }
}
