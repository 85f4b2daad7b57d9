//! The injector through its public API: mapping, replacing, trait objects, parents, invoking.

use std::any::TypeId;
use std::sync::Arc;

use flame_inject::Injector;

#[derive(Clone, Debug, PartialEq)]
struct Name(&'static str);

#[derive(Clone, Debug, PartialEq)]
struct Port(u16);

trait Store: Send + Sync {
    fn kind(&self) -> &'static str;
}

struct Memory;

impl Store for Memory {
    fn kind(&self) -> &'static str {
        "memory"
    }
}

struct Disk;

impl Store for Disk {
    fn kind(&self) -> &'static str {
        "disk"
    }
}

#[test]
fn a_mapped_value_is_handed_out_by_its_type() {
    let mut injector = Injector::new();
    injector.map(Name("flame")).map(Port(8080));
    assert_eq!(injector.get::<Name>(), Some(Name("flame")));
    assert_eq!(injector.get::<Port>(), Some(Port(8080)));
    assert_eq!(injector.get_ref::<Port>(), Some(&Port(8080)));
    assert!(injector.contains::<Name>());
    assert!(injector.contains_type(TypeId::of::<Port>()));
}

#[test]
fn a_type_never_mapped_is_absent() {
    let injector = Injector::new();
    assert_eq!(injector.get::<Name>(), None);
    assert!(!injector.contains::<Name>());
}

#[test]
fn mapping_a_type_again_replaces_the_earlier_value() {
    let mut injector = Injector::new();
    injector.map(Name("first"));
    injector.map(Name("second"));
    assert_eq!(injector.get::<Name>(), Some(Name("second")));
}

#[test]
fn map_to_keys_by_the_trait_object_type() {
    let mut injector = Injector::new();
    injector.map_to::<dyn Store>(Arc::new(Memory));
    let store = injector.get::<Arc<dyn Store>>().map(|s| s.kind());
    assert_eq!(store, Some("memory"));
    // The concrete type was not mapped, only the trait object.
    assert!(!injector.contains::<Arc<Memory>>());
    assert!(!injector.contains::<Memory>());
}

#[test]
fn map_to_again_replaces_the_implementation() {
    let mut injector = Injector::new();
    injector.map_to::<dyn Store>(Arc::new(Memory));
    injector.map_to::<dyn Store>(Arc::new(Disk));
    let kind = injector.invoke(|store: Arc<dyn Store>| store.kind());
    assert_eq!(kind, "disk");
}

#[test]
fn a_child_falls_back_to_its_parent() {
    let mut app = Injector::new();
    app.map(Name("app")).map(Port(80));
    let mut request = Injector::with_parent(Arc::new(app));
    request.map(Port(8080));

    assert_eq!(request.get::<Port>(), Some(Port(8080)), "the child shadows");
    assert_eq!(
        request.get::<Name>(),
        Some(Name("app")),
        "the parent fills in"
    );
    assert!(request.parent().is_some());
}

#[test]
fn the_parent_does_not_see_its_child() {
    let app = Arc::new(Injector::new());
    let mut request = Injector::with_parent(Arc::clone(&app));
    request.map(Port(1));
    assert_eq!(app.get::<Port>(), None);
}

#[test]
fn the_fallback_walks_the_whole_chain() {
    let mut root = Injector::new();
    root.map(Name("root"));
    let middle = Injector::with_parent(Arc::new(root));
    let mut leaf = Injector::new();
    assert!(leaf.parent().is_none());
    leaf.set_parent(Arc::new(middle));
    assert_eq!(leaf.get::<Name>(), Some(Name("root")));
    assert!(leaf.get_erased(TypeId::of::<Name>()).is_some());
}

#[test]
fn an_erased_value_copied_between_injectors_keeps_its_type() {
    let mut from = Injector::new();
    from.map(Port(9));
    let shared = from.get_erased(TypeId::of::<Port>()).cloned();
    let mut to = Injector::new();
    if let Some(shared) = shared {
        to.map_erased(TypeId::of::<Port>(), shared);
    }
    assert_eq!(to.get::<Port>(), Some(Port(9)));
}

#[test]
fn an_erased_value_under_the_wrong_id_is_never_handed_out() {
    let mut injector = Injector::new();
    injector.map_erased(TypeId::of::<Port>(), Arc::new(Name("not a port")));
    assert_eq!(injector.get::<Port>(), None);
}

#[test]
fn invoke_resolves_every_argument_by_type() {
    let mut injector = Injector::new();
    injector.map(Name("flame")).map(Port(3000));
    let said = injector.invoke(|name: Name, port: Port| format!("{}:{}", name.0, port.0));
    assert_eq!(said, "flame:3000");
}

#[test]
fn invoke_takes_no_arguments_and_many() {
    let injector = Injector::new();
    assert_eq!(injector.invoke(|| 1), 1);

    let mut injector = Injector::new();
    injector
        .map(1_u8)
        .map(2_u16)
        .map(3_u32)
        .map(4_u64)
        .map(5_i8)
        .map(6_i16)
        .map(7_i32)
        .map(8_i64);
    #[allow(clippy::too_many_arguments)]
    fn sum(a: u8, b: u16, c: u32, d: u64, e: i8, f: i16, g: i32, h: i64) -> i64 {
        i64::from(a)
            + i64::from(b)
            + i64::from(c)
            + d as i64
            + i64::from(e)
            + i64::from(f)
            + i64::from(g)
            + h
    }
    assert_eq!(injector.invoke(sum), 36);
}

#[test]
fn invoke_sees_values_from_the_parent() {
    let mut app = Injector::new();
    app.map(Name("from the app"));
    let request = Injector::with_parent(Arc::new(app));
    assert_eq!(request.invoke(|name: Name| name.0), "from the app");
}

#[test]
#[should_panic(expected = "value not found for type injector::Port")]
fn invoke_panics_with_flamegos_words_when_a_value_is_missing() {
    let mut injector = Injector::new();
    injector.map(Name("flame"));
    injector.invoke(|_: Name, _: Port| ());
}

#[test]
fn an_injector_lists_the_type_names_it_maps_itself_once_each() {
    let mut app = Injector::new();
    app.map(Name("app"))
        .map_to::<dyn Store>(Arc::new(Memory))
        .map(Name("again"))
        .map_to::<dyn Store>(Arc::new(Disk));
    let names = app.mapped_type_names();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[0], std::any::type_name::<Name>());
    assert_eq!(names[1], std::any::type_name::<Arc<dyn Store>>());

    let mut request = Injector::with_parent(Arc::new(app));
    assert!(request.mapped_type_names().is_empty(), "not the parent's");
    request.map(Port(1));
    assert_eq!(request.mapped_type_names(), [std::any::type_name::<Port>()]);
}

#[test]
fn a_value_mapped_by_type_id_alone_is_listed_unnamed_until_mapped_by_type() {
    let mut injector = Injector::new();
    injector.map_erased(TypeId::of::<Port>(), Arc::new(Port(1)));
    assert_eq!(injector.mapped_type_names(), ["(a value mapped by TypeId)"]);
    injector.map(Port(2));
    assert_eq!(
        injector.mapped_type_names(),
        [std::any::type_name::<Port>()]
    );
}
