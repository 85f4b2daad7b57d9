//! Services submitted from anywhere in the program and mapped by `map_services`.

use flame_inject::{Injector, ServiceConstructor};

#[derive(Clone, Debug, PartialEq)]
struct Clock(u64);

#[derive(Clone, Debug, PartialEq)]
struct Greeting(&'static str);

flame_inject::__private::inventory::submit! {
    ServiceConstructor::new("services::clock", |injector| { injector.map(Clock(1)); })
}

flame_inject::__private::inventory::submit! {
    ServiceConstructor::new("services::greeting", |injector| { injector.map(Greeting("hi")); })
}

#[test]
fn every_submitted_constructor_is_listed() {
    let mut names: Vec<&str> = ServiceConstructor::all()
        .map(ServiceConstructor::name)
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["services::clock", "services::greeting"]);
}

#[test]
fn map_services_maps_every_submitted_service() {
    let mut injector = Injector::new();
    assert_eq!(injector.get::<Clock>(), None);
    injector.map_services();
    assert_eq!(injector.get::<Clock>(), Some(Clock(1)));
    assert_eq!(injector.get::<Greeting>(), Some(Greeting("hi")));
}

#[test]
fn one_constructor_can_be_run_on_its_own() {
    let clock = ServiceConstructor::all().find(|c| c.name() == "services::clock");
    let mut injector = Injector::new();
    if let Some(clock) = clock {
        clock.construct(&mut injector);
    }
    assert_eq!(injector.get::<Clock>(), Some(Clock(1)));
    assert_eq!(injector.get::<Greeting>(), None);
}
