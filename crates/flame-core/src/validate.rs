//! [`Valid`]: a typed body, form or query checked with the `validator` crate before the
//! handler runs (feature `validate`).
//!
//! `Valid<Json<T>>`, `Valid<Form<T>>` and `Valid<Query<T>>` are plain handler arguments, as
//! their inner types are; `T` derives `validator::Validate`. Input that cannot be read is
//! refused as the inner argument refuses it (400, 413, 415, 422); input that reads but
//! breaks a rule is refused with 422 and the framework's [`ErrorBody`](crate::ErrorBody),
//! code `validation_failed`, one [`FieldError`] per broken rule, and the handler does not
//! run:
//!
//! ```json
//! {"error":{"code":"validation_failed","message":"2 fields are not valid","fields":[
//!   {"path":"items[0].name","code":"length","message":"must be 1 to 40 characters long"},
//!   {"path":"owner.email","code":"email","message":"must be an e-mail address"}]}}
//! ```
//!
//! Paths are the Rust field names, as `validator` reports them, joined with `.` for nested
//! structs (`#[validate(nested)]`) and with `[i]` for list items; a rule on the whole struct
//! (`#[validate(schema(...))]`) reports the struct's own path (empty at the top). Fields are
//! sorted by path. A rule's own `message` wins; otherwise the message is made from the rule
//! and its parameters.
//!
//! ```
//! use flame_core::{Flame, Json, Valid};
//! use validator::Validate;
//!
//! #[derive(serde::Deserialize, Validate)]
//! struct NewTodo {
//!     #[validate(length(min = 1, max = 200))]
//!     title: String,
//! }
//!
//! let mut f = Flame::new();
//! f.post("/todos", |Valid(Json(todo)): Valid<Json<NewTodo>>| todo.title);
//! assert!(f.check().is_ok());
//! ```

use std::borrow::Cow;

use futures_util::future::BoxFuture;
use http::StatusCode;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

use crate::bind::{Form, Query, form_value, json_value, prepare_with, query_value, take_bound};
use crate::context::Context;
use crate::error::HttpError;
use crate::error_format::FieldError;
use crate::handler::{Dependency, HandlerArg, Prepare};
use crate::return_value::Json;

/// A [`Json<T>`], [`Form<T>`] or [`Query<T>`] argument whose `T` passed its
/// `validator::Validate` rules: see the [module](self) for the answer when it does not.
///
/// ```
/// use flame_core::{Flame, Query, Valid};
/// use validator::Validate;
///
/// #[derive(serde::Deserialize, Validate)]
/// struct Page {
///     #[validate(range(min = 1, max = 100))]
///     per_page: u32,
/// }
///
/// let mut f = Flame::new();
/// f.get("/items", |Valid(Query(page)): Valid<Query<Page>>| format!("{} per page", page.per_page));
/// ```
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Valid<T>(pub T);

/// Turns `validator`'s errors into the framework's 422 answer.
///
/// ```
/// use flame_core::ReturnError;
/// use flame_core::validate::validation_error;
/// use validator::Validate;
///
/// #[derive(Validate)]
/// struct Signup {
///     #[validate(email)]
///     email: String,
/// }
///
/// let errors = Signup { email: "nope".into() }.validate().unwrap_err();
/// let error = validation_error(&errors);
/// assert_eq!(error.status(), 422);
/// assert_eq!(error.fields()[0].path, "email");
/// assert_eq!(error.fields()[0].code, "email");
/// ```
pub fn validation_error(errors: &ValidationErrors) -> HttpError {
    let fields = field_errors(errors);
    let message = match fields.len() {
        1 => "1 field is not valid".to_owned(),
        n => format!("{n} fields are not valid"),
    };
    HttpError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
        .with_code("validation_failed")
        .with_fields(fields)
}

/// Every broken rule in `errors`, with its path, sorted by path.
///
/// ```
/// use flame_core::validate::field_errors;
/// use validator::Validate;
///
/// #[derive(Validate)]
/// struct Item {
///     #[validate(length(min = 1))]
///     name: String,
/// }
///
/// #[derive(Validate)]
/// struct Order {
///     #[validate(nested)]
///     items: Vec<Item>,
/// }
///
/// let order = Order { items: vec![Item { name: "tea".into() }, Item { name: String::new() }] };
/// let fields = field_errors(&order.validate().unwrap_err());
/// assert_eq!(fields[0].path, "items[1].name");
/// assert_eq!(fields[0].message, "must be at least 1 characters long");
/// ```
pub fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut fields = Vec::new();
    collect(errors, "", &mut fields);
    fields.sort_by(|a, b| a.path.cmp(&b.path));
    fields
}

fn collect(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (name, kind) in errors.errors() {
        // `__all__` holds the struct-level (schema) rules: they belong to the struct itself.
        let path = if name == "__all__" {
            prefix.to_owned()
        } else if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        match kind {
            ValidationErrorsKind::Field(rules) => {
                out.extend(rules.iter().map(|rule| {
                    FieldError::new(path.clone(), rule.code.clone(), message_for(rule))
                }))
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(inner, &format!("{path}[{index}]"), out);
                }
            }
        }
    }
}

/// The rule's own message, or one made from its code and parameters.
fn message_for(rule: &ValidationError) -> Cow<'static, str> {
    if let Some(message) = &rule.message {
        return message.clone();
    }
    let param = |name: &str| rule.params.get(name).map(ToString::to_string);
    let bounds = |unit: &str| match (param("equal"), param("min"), param("max")) {
        (Some(equal), _, _) => format!("must be exactly {equal}{unit}"),
        (None, Some(min), Some(max)) => format!("must be {min} to {max}{unit}"),
        (None, Some(min), None) => format!("must be at least {min}{unit}"),
        (None, None, Some(max)) => format!("must be at most {max}{unit}"),
        (None, None, None) => "has the wrong size".to_owned(),
    };
    match rule.code.as_ref() {
        "length" => bounds(" characters long").into(),
        "range" => match (param("exclusive_min"), param("exclusive_max")) {
            (Some(min), _) if param("max").is_none() => format!("must be more than {min}").into(),
            (_, Some(max)) if param("min").is_none() => format!("must be less than {max}").into(),
            _ => bounds("").into(),
        },
        "email" => "must be an e-mail address".into(),
        "url" => "must be a URL".into(),
        "required" => "is required".into(),
        "regex" => "does not have the expected format".into(),
        "must_match" => match param("other") {
            Some(other) => format!("must match {}", other.trim_matches('"')).into(),
            None => "must match".into(),
        },
        "contains" => match param("needle") {
            Some(needle) => format!("must contain {needle}").into(),
            None => "does not contain what it must".into(),
        },
        "does_not_contain" => match param("needle") {
            Some(needle) => format!("must not contain {needle}").into(),
            None => "contains what it must not".into(),
        },
        "non_control_character" => "must not contain control characters".into(),
        "ip" | "ip_v4" | "ip_v6" => "must be an IP address".into(),
        _ => "is not valid".into(),
    }
}

fn check<T: Validate>(value: T) -> Result<T, HttpError> {
    match value.validate() {
        Ok(()) => Ok(value),
        Err(errors) => Err(validation_error(&errors)),
    }
}

fn prepare_valid_json<T: DeserializeOwned + Validate + Send + 'static>(
    ctx: &Context,
) -> BoxFuture<'static, bool> {
    prepare_with(ctx, |c| async move {
        let value = check(json_value::<T>(&c).await?)?;
        Ok(Valid(Json(value)))
    })
}

fn prepare_valid_form<T: DeserializeOwned + Validate + Send + 'static>(
    ctx: &Context,
) -> BoxFuture<'static, bool> {
    prepare_with(ctx, |c| async move {
        let value = check(form_value::<T>(&c).await?)?;
        Ok(Valid(Form(value)))
    })
}

fn prepare_valid_query<T: DeserializeOwned + Validate + Send + 'static>(
    ctx: &Context,
) -> BoxFuture<'static, bool> {
    prepare_with(ctx, |c| async move {
        let value = check(query_value::<T>(&c)?)?;
        Ok(Valid(Query(value)))
    })
}

macro_rules! valid_arg {
    ($($inner:ident => $prepare:ident),* $(,)?) => {$(
        impl<T: DeserializeOwned + Validate + Send + 'static> HandlerArg for Valid<$inner<T>> {
            const PREPARE: Option<Prepare> = Some($prepare::<T>);

            fn dependency() -> Option<Dependency> {
                None
            }

            fn resolve(ctx: &Context, ordinal: usize, name: &dyn Fn() -> Cow<'static, str>) -> Self {
                take_bound(ctx, ordinal, name)
            }
        }
    )*};
}

valid_arg!(
    Json => prepare_valid_json,
    Form => prepare_valid_form,
    Query => prepare_valid_query,
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn messages_come_from_the_rule_and_its_parameters() {
        let mut rule = ValidationError::new("length");
        rule.params = HashMap::from([
            (Cow::Borrowed("min"), serde_json::json!(1)),
            (Cow::Borrowed("max"), serde_json::json!(40)),
        ]);
        assert_eq!(message_for(&rule), "must be 1 to 40 characters long");
        let mut rule = ValidationError::new("range");
        rule.params = HashMap::from([(Cow::Borrowed("max"), serde_json::json!(10))]);
        assert_eq!(message_for(&rule), "must be at most 10");
        let rule = ValidationError::new("email").with_message("use your work address".into());
        assert_eq!(message_for(&rule), "use your work address");
        assert_eq!(message_for(&ValidationError::new("mine")), "is not valid");
    }
}
