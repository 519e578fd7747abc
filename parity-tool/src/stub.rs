//! `parity stub <go file>`: appends a `stub!` for every test of that Go file that has no
//! port, stub or not_applicable decision yet, creating the module file and its `mod`
//! declarations when they are missing. Existing text is never rewritten, only appended to.

use crate::check::Inputs;
use crate::goscan::Kind;
use crate::layout::Layout;
use anyhow::{bail, Context, Result};
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use syn::spanned::Spanned;

#[derive(Debug, Default)]
pub struct StubOutcome {
    pub go_file: String,
    /// The Rust module file the stubs went to, relative to the root.
    pub rust_file: String,
    pub added: Vec<String>,
    /// Files created or given a new `mod` line.
    pub touched: Vec<String>,
}

/// Resolves `arg` (`filestore_test.go`, `server/filestore_test.go`, `filestore_test`) to a
/// Go test file of the index.
pub fn resolve_go_file(inputs: &Inputs, arg: &str) -> Result<String> {
    let arg = arg.trim_start_matches("./");
    let wanted = if arg.ends_with(".go") {
        arg.to_string()
    } else {
        format!("{arg}.go")
    };
    let files: BTreeSet<&str> = inputs.tests.iter().map(|t| t.path.as_str()).collect();
    if files.contains(wanted.as_str()) {
        return Ok(wanted);
    }
    let matches: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| f.rsplit('/').next() == Some(wanted.as_str()))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.to_string()),
        [] => bail!(
            "expected a Go test file of the index (go-tests-index/tests.tsv), e.g. server/filestore_test.go; \
             found no file named {wanted}"
        ),
        many => bail!(
            "{wanted} is ambiguous: it could be {}; pass the path",
            many.join(" or ")
        ),
    }
}

/// Adds the stubs for `go_file` (already resolved). With `all_kinds`, benchmarks and fuzz
/// functions get stubs too; otherwise only `Test*` functions do.
pub fn stub_file(
    layout: &Layout,
    inputs: &Inputs,
    go_file: &str,
    all_kinds: bool,
) -> Result<StubOutcome> {
    let claimed: HashSet<&str> = inputs
        .scan
        .annotations
        .iter()
        .map(|a| a.go_test.as_str())
        .collect();
    let mut todo: Vec<_> = inputs
        .tests
        .iter()
        .filter(|t| t.path == go_file && (all_kinds || t.kind == Kind::Test))
        .filter(|t| {
            let id = t.id();
            !claimed.contains(id.as_str()) && !inputs.not_applicable.contains_key(&id)
        })
        .collect();
    todo.sort_by_key(|t| t.line);

    let stem = go_file
        .strip_suffix(".go")
        .with_context(|| format!("expected a .go file, found {go_file}"))?;
    let components: Vec<&str> = stem.split('/').collect();
    for c in &components {
        if !is_rust_ident(c) {
            bail!("{go_file}: `{c}` cannot be a Rust module name; port this file by hand");
        }
    }
    let rust_path = layout.ported_dir().join(format!("{stem}.rs"));
    let mut outcome = StubOutcome {
        go_file: go_file.to_string(),
        rust_file: layout.display(&rust_path),
        ..Default::default()
    };
    if todo.is_empty() {
        return Ok(outcome);
    }

    // Declare the module chain: main.rs -> server/mod.rs -> ... -> the file's module.
    let mut parent_module_file = layout.ported_dir().join("main.rs");
    let mut dir = layout.ported_dir();
    for (i, name) in components.iter().enumerate() {
        ensure_mod_decl(&parent_module_file, name, &mut outcome.touched, layout)?;
        if i + 1 == components.len() {
            break;
        }
        let sibling = dir.join(format!("{name}.rs"));
        dir = dir.join(name);
        parent_module_file = if sibling.exists() {
            sibling
        } else {
            let mod_rs = dir.join("mod.rs");
            if !mod_rs.exists() {
                let go_dir = components[..=i].join("/");
                create_file(
                    &mod_rs,
                    &format!("//! Ports of `{go_dir}/*_test.go`.\n"),
                    &mut outcome.touched,
                    layout,
                )?;
            }
            mod_rs
        };
    }

    if !rust_path.exists() {
        create_file(
            &rust_path,
            &format!(
                "//! Ports of `{go_file}` (nats-server {}).\n",
                inputs.upstream.tag
            ),
            &mut outcome.touched,
            layout,
        )?;
    }
    let mut text = std::fs::read_to_string(&rust_path)
        .with_context(|| format!("cannot read {}", rust_path.display()))?;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push('\n');
    for t in &todo {
        text.push_str(&format!("ported::stub!(\"{}\");\n", t.id()));
        outcome.added.push(t.id());
    }
    std::fs::write(&rust_path, text)
        .with_context(|| format!("cannot write {}", rust_path.display()))?;
    Ok(outcome)
}

fn create_file(path: &Path, text: &str, touched: &mut Vec<String>, layout: &Layout) -> Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)
            .with_context(|| format!("cannot create directory {}", d.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    touched.push(layout.display(path));
    Ok(())
}

/// Makes sure `module_file` declares `mod name;`, inserting the line after its last `mod`
/// item (or at the end). Returns whether it changed the file.
fn ensure_mod_decl(
    module_file: &Path,
    name: &str,
    touched: &mut Vec<String>,
    layout: &Layout,
) -> Result<bool> {
    let text = match std::fs::read_to_string(module_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", module_file.display())),
    };
    let file = syn::parse_file(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}: expected a Rust file that parses, to add `mod {name};`: {e}",
            layout.display(module_file),
            e.span().start().line
        )
    })?;
    let mut last_mod_line = None;
    for item in &file.items {
        if let syn::Item::Mod(m) = item {
            if m.ident == name {
                return Ok(false);
            }
            if m.content.is_none() {
                last_mod_line = Some(item.span().end().line);
            }
        }
    }
    let mut lines: Vec<&str> = text.lines().collect();
    let decl = format!("mod {name};");
    match last_mod_line {
        Some(l) if l > 0 && l <= lines.len() => lines.insert(l, &decl),
        _ => lines.push(&decl),
    }
    let mut new_text = lines.join("\n");
    new_text.push('\n');
    std::fs::write(module_file, new_text)
        .with_context(|| format!("cannot write {}", module_file.display()))?;
    touched.push(layout.display(module_file));
    Ok(true)
}

fn is_rust_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && syn::parse_str::<syn::Ident>(s).is_ok()
}

/// Removes the line holding exactly `stub!("<id>");` from `file`. Used by `parity na`.
pub fn remove_stub_line(root: &Path, rel_file: &str, line: usize, id: &str) -> Result<bool> {
    let path: PathBuf = root.join(rel_file);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines: Vec<&str> = text.lines().collect();
    let Some(l) = lines.get(line.wrapping_sub(1)) else {
        return Ok(false);
    };
    let t = l.trim();
    let expected = [
        format!("ported::stub!(\"{id}\");"),
        format!("stub!(\"{id}\");"),
    ];
    if !expected.iter().any(|e| e == t) {
        return Ok(false);
    }
    lines.remove(line - 1);
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    std::fs::write(&path, out).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}
