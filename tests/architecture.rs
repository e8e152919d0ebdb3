//! The module graph as ARCHITECTURE.md draws it: its "Module dependencies" table lists, for each
//! top-level module of the library, the modules it may use. This test reads every `crate::` path
//! in `src/` (the binary's `cli/` aside, which may use anything) and fails on an edge the table
//! does not allow, on a module the table does not list, and on a cycle in the table itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The table: `| `module` | `a`, `b` |`, `—` for none, `*` for every module.
fn allowed() -> (Graph, BTreeSet<String>) {
    let text = std::fs::read_to_string("ARCHITECTURE.md").expect("ARCHITECTURE.md");
    let section = text
        .split("## Module dependencies")
        .nth(1)
        .expect("a '## Module dependencies' section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut graph = Graph::new();
    let mut anything = BTreeSet::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let module = cells[0].trim_matches('`').to_string();
        let uses = cells.get(1).copied().unwrap_or("");
        if uses == "*" {
            anything.insert(module.clone());
        }
        let set = uses
            .split(',')
            .map(|u| u.trim().trim_matches('`').to_string())
            .filter(|u| !u.is_empty() && u != "—" && u != "*")
            .collect();
        graph.insert(module, set);
    }
    (graph, anything)
}

/// The names each file's `crate::` paths start with, by the file's top-level module.
fn used() -> Graph {
    let mut graph = Graph::new();
    let mut files = Vec::new();
    collect(Path::new("src"), &mut files);
    for file in files {
        let rel = file.strip_prefix("src").expect("under src");
        let first = rel
            .components()
            .next()
            .expect("a component")
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        if first == "main.rs" || first == "lib.rs" || first == "cli" {
            continue;
        }
        let module = first.trim_end_matches(".rs").to_string();
        let text = std::fs::read_to_string(&file).expect("source");
        // Comments out (a `//` inside a string cuts a line short: it can hide an edge, never
        // invent one), then the whole file as one line, so multi-line imports read whole.
        let code: String = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            !code.contains("super::super"),
            "{}: reach other modules by crate:: paths, not super::super",
            file.display()
        );
        let uses = graph.entry(module.clone()).or_default();
        for name in crate_paths(&code) {
            if name != module {
                uses.insert(name);
            }
        }
    }
    graph
}

/// `crate::a::…` and `crate::{a, b::{c, d}, e}` → a, b, e: the first name of each path.
fn crate_paths(code: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            let name = ident(rest);
            if !name.is_empty() {
                out.push(name);
            }
            continue;
        };
        // The items at the group's top level, however nested their own groups are.
        let (mut depth, mut start) = (0usize, 0usize);
        for (at, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    out.push(ident(&group[start..at]));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(ident(&group[start..at]));
                    start = at + 1;
                }
                _ => {}
            }
        }
    }
    out.retain(|n| !n.is_empty() && n != "self");
    out
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_use_crate_edge_is_one_the_architecture_allows() {
    let (allowed, anything) = allowed();
    let used = used();
    let mut wrong = Vec::new();
    for (module, uses) in &used {
        let Some(may) = allowed.get(module) else {
            wrong.push(format!("{module} is not in ARCHITECTURE.md's module table"));
            continue;
        };
        if anything.contains(module) {
            continue;
        }
        for u in uses {
            if !allowed.contains_key(u) {
                // `crate::compile`, `crate::Workload`: a re-export at the crate root would
                // hide which module is used.
                wrong.push(format!(
                    "{module} uses crate::{u}, an item of the crate root: name its module"
                ));
            } else if !may.contains(u) {
                wrong.push(format!("{module} uses {u}, which the table does not allow"));
            }
        }
    }
    for module in allowed.keys() {
        if !used.contains_key(module) {
            wrong.push(format!(
                "the table lists {module}, which src/ does not have"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_allowed_graph_has_no_cycle() {
    let (allowed, anything) = allowed();
    // Repeatedly remove modules whose allowed uses are all removed; what is left is a cycle.
    let mut left: Graph = allowed
        .into_iter()
        .filter(|(m, _)| !anything.contains(m))
        .collect();
    loop {
        let ready: Vec<String> = left
            .iter()
            .filter(|(_, uses)| uses.iter().all(|u| !left.contains_key(u)))
            .map(|(m, _)| m.clone())
            .collect();
        if ready.is_empty() {
            break;
        }
        for m in ready {
            left.remove(&m);
        }
    }
    assert!(left.is_empty(), "a cycle among {:?}", left.keys());
}

#[test]
fn the_path_reader_sees_grouped_and_nested_paths() {
    assert_eq!(
        crate_paths("use crate::{rng::Rng, stats, self};"),
        ["rng", "stats"]
    );
    assert_eq!(
        crate_paths("use crate::{\n    a::{b, c::{d}},\n    e::F,\n    g,\n};"),
        ["a", "e", "g"]
    );
    assert_eq!(crate_paths("let w: crate::Workload = todo;"), ["Workload"]);
    assert_eq!(
        crate_paths("let x = crate::limits::MAX_LENGTH + crate::fmt::trim(1.0, 2);"),
        ["limits", "fmt"]
    );
}
