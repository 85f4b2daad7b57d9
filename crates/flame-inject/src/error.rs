//! Errors of the injector, worded as Flamego words them.

use std::borrow::Cow;

/// What went wrong while resolving a handler's arguments.
///
/// The `Display` text is Flamego's, so people who know Flamego recognise it at once:
///
/// ```
/// use flame_inject::InjectError;
///
/// let err = InjectError::ValueNotFound {
///     ordinal: 0,
///     handler: "examples::hello::index".into(),
///     type_name: "examples::hello::MyService",
/// };
/// assert_eq!(
///     err.to_string(),
///     "unable to invoke the 0th handler [examples::hello::index]: \
///      value not found for type examples::hello::MyService",
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InjectError {
    /// An argument's type was mapped neither in the injector nor in any of its parents.
    #[error("unable to invoke the {} handler [{handler}]: value not found for type {type_name}", crate::error::ordinal(*.ordinal))]
    ValueNotFound {
        /// The 0-based position of the handler in its chain.
        ordinal: usize,
        /// The handler's name: its path for named handlers, its type name for closures.
        handler: Cow<'static, str>,
        /// The missing type, as `std::any::type_name` spells it.
        type_name: &'static str,
    },
}

/// The English ordinal of `n`, as Flamego prints handler positions: 0th, 1st, 2nd, 3rd, 4th,
/// 11th, 12th, 13th, 21st, 101st, 111th.
///
/// Not public API: reachable only as `flame_inject::__private::ordinal` for flame-core's
/// startup check; `tests/errors.rs` pins the words through [`InjectError`]'s text.
pub fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}
