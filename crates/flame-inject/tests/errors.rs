//! The text of a missing value, as Flamego words it: the handler's ordinal, its name, the type.

use std::borrow::Cow;

use flame_inject::{InjectError, Injector, Invoke};

#[derive(Clone)]
struct MyService;

#[derive(Clone)]
struct Other;

fn index(_: MyService) {}

#[test]
fn try_invoke_returns_flamegos_text_for_the_first_missing_argument() {
    let mut injector = Injector::new();
    injector.map(Other);
    let err = match injector.try_invoke(|_: Other, _: MyService| ()) {
        Ok(()) => panic!("MyService was never mapped"),
        Err(err) => err,
    };
    let text = err.to_string();
    assert!(
        text.starts_with("unable to invoke the 0th handler ["),
        "{text}"
    );
    assert!(
        text.ends_with("]: value not found for type errors::MyService"),
        "{text}"
    );
}

#[test]
fn try_invoke_names_a_function_by_its_path() {
    let err = match Injector::new().try_invoke(index) {
        Ok(()) => panic!("MyService was never mapped"),
        Err(err) => err,
    };
    assert_eq!(
        err.to_string(),
        "unable to invoke the 0th handler [errors::index]: \
         value not found for type errors::MyService",
    );
}

#[test]
fn try_invoke_succeeds_once_the_value_is_mapped() {
    let mut injector = Injector::new();
    injector.map(MyService);
    assert_eq!(injector.try_invoke(index), Ok(()));
}

#[test]
fn the_error_carries_the_ordinal_the_handler_and_the_type() {
    let err = Injector::new().invoke_with_position(7);
    match err {
        InjectError::ValueNotFound {
            ordinal,
            handler,
            type_name,
            ..
        } => {
            assert_eq!(ordinal, 7);
            assert_eq!(handler, "errors::index");
            assert_eq!(type_name, "errors::MyService");
        }
        other => panic!("unexpected error: {other}"),
    }
}

#[test]
fn the_ordinal_is_spelled_in_english() {
    let cases = [
        (0, "0th"),
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (10, "10th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (23, "23rd"),
        (101, "101st"),
        (111, "111th"),
        (112, "112th"),
        (113, "113th"),
    ];
    for (position, word) in cases {
        let text = Injector::new().invoke_with_position(position).to_string();
        assert_eq!(
            text,
            format!(
                "unable to invoke the {word} handler [errors::index]: \
                 value not found for type errors::MyService"
            ),
        );
    }
}

/// Resolves `index` as the handler at `position` of a chain, as flame-core does for each
/// handler, and hands back the error.
trait AtPosition {
    fn invoke_with_position(&self, position: usize) -> InjectError;
}

impl AtPosition for Injector {
    fn invoke_with_position(&self, position: usize) -> InjectError {
        match index.invoke_with(self, position, &|| Cow::Borrowed("errors::index")) {
            Ok(()) => panic!("MyService was never mapped"),
            Err(err) => err,
        }
    }
}
