//! A static match allocates nothing: counted by a global allocator around `find`.

use crate::router::{Captures, Tree};

fn allocations_during(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

#[test]
fn static_matches_do_not_allocate() {
    let mut tree = Tree::new();
    for (i, pattern) in [
        "/",
        "/users",
        "/users/settings",
        "/repos/{owner}/{repo}",
        "/a/b/c/d/e",
    ]
    .iter()
    .enumerate()
    {
        tree.insert(pattern, i).unwrap();
    }
    let mut captures = Captures::new();
    // The counter itself must work: building a String allocates.
    assert!(allocations_during(|| drop(String::from("counted"))) > 0);
    // Warm up once, then count.
    assert_eq!(
        tree.find("/users/settings", &mut captures, |_| true),
        Some(&2)
    );
    for (path, expected) in [
        ("/", 0),
        ("/users", 1),
        ("/users/settings", 2),
        ("/a/b/c/d/e", 4),
    ] {
        let mut found = None;
        let count =
            allocations_during(|| found = tree.find(path, &mut captures, |_| true).copied());
        assert_eq!(found, Some(expected), "{path}");
        assert_eq!(count, 0, "{path} allocated {count} times");
    }
    let count = allocations_during(|| {
        assert!(
            tree.find("/nope/nothing", &mut captures, |_| true)
                .is_none()
        )
    });
    assert_eq!(count, 0, "a miss allocated {count} times");
}
