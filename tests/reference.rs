//! The language reference table (`llmw::check::reference`, what the language server's hover and
//! completion say) against the checker's own field lists and `docs/language.md`: every field a
//! block takes has an entry, and every entry's name is in the language guide.

use llmw::check::reference::{fields_of, functions_for, item, Kind, ITEMS};

#[test]
fn every_field_of_every_block_has_its_one_line_doc() {
    for block in [
        "", "target", "phase", "requests", "class", "session", "on_error", "abort",
    ] {
        let fields = fields_of(block);
        assert!(!fields.is_empty(), "{block:?}");
        for name in fields {
            let it = item(name).unwrap_or_else(|| panic!("{name} (in {block:?}) has no entry"));
            assert!(!it.doc.is_empty(), "{name}");
        }
    }
    for field in [
        "arrival",
        "concurrency",
        "input",
        "prefix",
        "prompts",
        "sample",
    ] {
        for name in functions_for(field) {
            assert!(item(name).is_some(), "{name} (for {field}) has no entry");
        }
    }
}

#[test]
fn every_entry_is_in_the_language_guide() {
    let guide = std::fs::read_to_string("docs/language.md").expect("docs/language.md");
    for it in ITEMS {
        if it.kind == Kind::Unit {
            // A unit is written after a number: `500ms`, `8/s`, `2x`.
            let used = (0..10).any(|d| guide.contains(&format!("{d}{}", it.name)));
            assert!(
                used,
                "docs/language.md never writes a quantity in {}",
                it.name
            );
            continue;
        }
        let quoted = [
            format!("`{}", it.name),
            format!("{}(", it.name),
            format!("{} =", it.name),
        ];
        assert!(
            quoted.iter().any(|q| guide.contains(q.as_str())),
            "docs/language.md does not document `{}`",
            it.name
        );
    }
    let names: std::collections::BTreeSet<&str> = ITEMS.iter().map(|i| i.name).collect();
    assert_eq!(names.len(), ITEMS.len(), "each name once");
}
