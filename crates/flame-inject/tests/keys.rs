//! Keyed values: one type injected twice under different slots.

use std::sync::Arc;

use flame_inject::{Injector, Key, Slot};

struct DatabaseUrl;

impl Slot for DatabaseUrl {
    type Value = String;
}

struct CacheUrl;

impl Slot for CacheUrl {
    type Value = String;
}

#[test]
fn two_slots_of_the_same_type_do_not_collide() {
    let mut injector = Injector::new();
    injector.map(Key::<DatabaseUrl>::new("postgres://db".into()));
    injector.map(Key::<CacheUrl>::new("redis://cache".into()));
    let urls = injector.invoke(|db: Key<DatabaseUrl>, cache: Key<CacheUrl>| {
        format!("{} {}", *db, cache.into_inner())
    });
    assert_eq!(urls, "postgres://db redis://cache");
}

#[test]
fn a_slot_is_not_its_plain_type() {
    let mut injector = Injector::new();
    injector.map(Key::<DatabaseUrl>::new("postgres://db".into()));
    assert!(!injector.contains::<String>());
    assert!(!injector.contains::<Key<CacheUrl>>());
}

#[test]
fn a_keyed_value_falls_back_to_the_parent_and_can_be_shadowed() {
    let mut app = Injector::new();
    app.map(Key::<DatabaseUrl>::new("app".into()))
        .map(Key::<CacheUrl>::new("app cache".into()));
    let mut request = Injector::with_parent(Arc::new(app));
    request.map(Key::<DatabaseUrl>::new("request".into()));
    let db = request.get::<Key<DatabaseUrl>>().map(Key::into_inner);
    let cache = request.get::<Key<CacheUrl>>().map(Key::into_inner);
    assert_eq!(db.as_deref(), Some("request"));
    assert_eq!(cache.as_deref(), Some("app cache"));
}

#[test]
fn a_missing_slot_is_named_in_the_error() {
    let err = match Injector::new().try_invoke(|_: Key<CacheUrl>| ()) {
        Ok(()) => panic!("the slot was never mapped"),
        Err(err) => err.to_string(),
    };
    // `type_name` spells the module Key lives in, which is not API; the slot is what matters.
    assert!(err.contains("]: value not found for type "), "{err}");
    assert!(err.ends_with("Key<keys::CacheUrl>"), "{err}");
}

#[test]
fn a_key_prints_its_slot_and_value() {
    let key = Key::<DatabaseUrl>::new("postgres://db".into());
    assert_eq!(
        format!("{key:?}"),
        r#"Key<keys::DatabaseUrl>("postgres://db")"#
    );
}
