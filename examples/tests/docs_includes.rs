//! Every `{{#include file:anchor}}` in the book names a file and an anchor that exist, so the
//! book's code is always code that compiles and is tested.

use std::path::Path;

#[test]
fn every_include_in_the_book_resolves() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/src");
    let mut checked = 0;
    for entry in std::fs::read_dir(&docs).unwrap() {
        let page = entry.unwrap().path();
        if page.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let text = std::fs::read_to_string(&page).unwrap();
        for include in text.split("{{#include ").skip(1) {
            let target = include.split("}}").next().unwrap().trim();
            let (file, anchor) = target
                .split_once(':')
                .map_or((target, None), |(f, a)| (f, Some(a)));
            let path = page.parent().unwrap().join(file);
            let source = std::fs::read_to_string(&path)
                .unwrap_or_else(|err| panic!("{}: include {file}: {err}", page.display()));
            if let Some(anchor) = anchor {
                assert!(
                    source.contains(&format!("ANCHOR: {anchor}")),
                    "{}: no anchor {anchor} in {file}",
                    page.display()
                );
                assert!(
                    source.contains(&format!("ANCHOR_END: {anchor}")),
                    "{}: no end of {anchor} in {file}",
                    page.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} includes found");
}
