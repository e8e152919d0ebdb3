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
    // The section's first table (the ones after it describe the insides of modules).
    let table = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'));
    for line in table.filter(|l| l.starts_with("| `")) {
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

#[test]
fn every_allowed_edge_is_used() {
    let (allowed, anything) = allowed();
    let used = used();
    let mut unused = Vec::new();
    for (module, may) in &allowed {
        if anything.contains(module) {
            continue;
        }
        for m in may {
            if !used.get(module).is_some_and(|u| u.contains(m)) {
                unused.push(format!("{module} → {m}"));
            }
        }
    }
    assert!(
        unused.is_empty(),
        "ARCHITECTURE.md allows edges no code uses (take them out of the table):\n{}",
        unused.join("\n")
    );
}

/// Every path after `prefix` (`crate::` or `super::`) in `code`, as its segments, with groups
/// expanded: `crate::a::{b::C, d}` → [a, b, C], [a, d].
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    /// One path tree starting at `s`; returns the paths and how much of `s` it used.
    fn tree(s: &str) -> (Vec<Vec<String>>, usize) {
        let mut at = 0;
        let mut segs: Vec<String> = Vec::new();
        loop {
            let rest = &s[at..];
            let trimmed = rest.trim_start();
            at += rest.len() - trimmed.len();
            if let Some(group) = trimmed.strip_prefix('{') {
                at += 1;
                let mut out = Vec::new();
                let mut inner = group;
                loop {
                    let (sub, used) = tree(inner);
                    out.extend(
                        sub.into_iter()
                            .map(|p| segs.iter().cloned().chain(p).collect()),
                    );
                    at += used;
                    inner = &inner[used..];
                    let t = inner.trim_start();
                    at += inner.len() - t.len();
                    match t.chars().next() {
                        Some(',') => {
                            at += 1;
                            inner = &t[1..];
                        }
                        Some('}') => {
                            at += 1;
                            return (out, at);
                        }
                        _ => return (out, at),
                    }
                }
            }
            let name: String = trimmed
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '*')
                .collect();
            at += name.len();
            if !name.is_empty() {
                segs.push(name);
            }
            if s[at..].starts_with("::") {
                at += 2;
            } else {
                return (vec![segs], at);
            }
        }
    }
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        // `super::` inside `crate::a::super::` cannot occur; a longer word ending in the
        // prefix (`mysuper::`) is not one.
        let before = rest[..i].chars().next_back();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let (paths, used) = tree(rest);
        out.extend(paths.into_iter().filter(|p| !p.is_empty()));
        rest = &rest[used..];
    }
    out
}

/// The children of folder `dir` that are modules: `x.rs` and `x/` (not `mod.rs`).
fn children(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("folder")
        .filter_map(|e| {
            let p = e.expect("entry").path();
            let name = p.file_stem()?.to_string_lossy().into_owned();
            let module = p.is_dir() || p.extension().is_some_and(|e| e == "rs");
            (module && name != "mod").then_some(name)
        })
        .collect()
}

/// Inside every folder of `src/`, the edges between its children: a file `a.rs` (or a
/// subfolder `a/`) uses `b` when any file in it names `super::b`, `crate::<folder>::b` or a
/// path through them. The folder's `mod.rs` is the folder itself, not a child.
fn folder_graphs() -> BTreeMap<String, Graph> {
    let mut files = Vec::new();
    collect(Path::new("src"), &mut files);
    let mut graphs: BTreeMap<String, Graph> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix("src").expect("under src");
        let mut module: Vec<String> = rel
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if module.last().is_some_and(|m| m == "mod") {
            module.pop();
        }
        if module == ["main"] || module == ["lib"] {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("source");
        let code: String = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ");
        let parent = &module[..module.len() - 1];
        let mut targets: Vec<Vec<String>> = paths_after(&code, "crate::");
        for p in paths_after(&code, "super::") {
            targets.push(parent.iter().cloned().chain(p).collect());
        }
        for target in targets {
            // The deepest folder both lie in, and the child of it each lies in.
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common == 0 || common >= module.len() || common >= target.len() {
                continue;
            }
            let folder = module[..common].join("/");
            let dir = Path::new("src").join(&folder);
            if !dir.is_dir() {
                continue;
            }
            let kids = children(&dir);
            let (from, to) = (&module[common], &target[common]);
            if kids.contains(from) && kids.contains(to) {
                graphs
                    .entry(folder)
                    .or_default()
                    .entry(from.clone())
                    .or_default()
                    .insert(to.clone());
            }
        }
    }
    graphs
}

/// A cycle in `g`, as the nodes along it, if there is one.
fn cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        n: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(g, m, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(g, n, &mut Vec::new(), &mut done))
}

/// The nodes of `g` that lie on a circle through `n`: those `n` reaches and that reach it.
fn circle_through(g: &Graph, n: &str) -> BTreeSet<String> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(x) = todo.pop() {
            for y in g.get(&x).into_iter().flatten() {
                if seen.insert(y.clone()) {
                    todo.push(y.clone());
                }
            }
        }
        seen
    };
    let ahead = reach(n);
    if !ahead.contains(n) {
        return BTreeSet::new();
    }
    ahead.into_iter().filter(|m| reach(m).contains(n)).collect()
}

#[test]
fn no_folder_has_an_import_circle() {
    let mut circles = Vec::new();
    for (folder, g) in folder_graphs() {
        let mut said: BTreeSet<String> = BTreeSet::new();
        for n in g.keys() {
            let on = circle_through(&g, n);
            if !on.is_empty() && !said.contains(n) {
                let c = cycle(
                    &on.iter()
                        .map(|m| (m.clone(), g[m].intersection(&on).cloned().collect()))
                        .collect(),
                )
                .unwrap_or_default();
                circles.push(format!(
                    "src/{folder}: {} (e.g. {})",
                    on.iter().cloned().collect::<Vec<_>>().join(", "),
                    c.join(" → ")
                ));
                said.extend(on);
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles inside folders (move what both need into a leaf file):\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_folder_reader_sees_paths_and_circles() {
    assert_eq!(
        paths_after("use super::{a::B, c};  x = crate::d::e::F;", "super::"),
        [vec!["a", "B"], vec!["c"]]
    );
    assert_eq!(
        paths_after("use crate::{a::{b, c::D}, e};", "crate::"),
        [vec!["a", "b"], vec!["a", "c", "D"], vec!["e"]]
    );
    let g: Graph = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), BTreeSet::from([v.to_string()])))
        .collect();
    assert_eq!(cycle(&g).map(|c| c.join(" ")), Some("a b c a".to_string()));
    let acyclic: Graph = [("a", "b"), ("b", "c")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), BTreeSet::from([v.to_string()])))
        .collect();
    assert_eq!(cycle(&acyclic), None);
    // The engine's layers are seen: the wire is used by the request layer.
    let engine = &folder_graphs()["engine"];
    assert!(
        engine.get("request").is_some_and(|u| u.contains("wire")),
        "{engine:?}"
    );
}
