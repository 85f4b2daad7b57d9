//! Templates as an injected service (flamego/template), on minijinja: [`templater`] loads
//! templates from a directory and maps a [`Template`] and a per-request [`Data`] into every
//! request.
//!
//! ```
//! use flame_core::{Flame, StatusCode};
//! use flame_extra::template::{templater, Data, Template, TemplateOptions};
//!
//! let mut f = Flame::new();
//! f.use_(templater(TemplateOptions::default())); // templates/*.tmpl and templates/*.html
//! f.get("/", |t: Template, data: Data| {
//!     data.set("name", "Joe");
//!     t.html(StatusCode::OK, "home", &data) // templates/home.tmpl or templates/home.html
//! });
//! assert!(f.check().is_ok());
//! ```
//!
//! # Names, escaping, errors
//!
//! A template is named by its path under the directory without its extension (`"home"`,
//! `"users/show"`), as in Flamego; the first of [`TemplateOptions::extensions`] that exists
//! wins, and a name given with its extension is taken as it is. Templates may `{% extends %}`
//! and `{% include %}` each other by the same names. Paths that climb out of the directory
//! (`..`) are not found.
//!
//! Templates ending in `.html`, `.htm`, `.xml` or `.tmpl` are auto-escaped for HTML: a
//! `{{ value }}` holding `<script>` renders `&lt;script&gt;`; mark trusted markup with
//! `{{ value|safe }}`. Other extensions (`.txt`) are not escaped.
//!
//! A missing template or a failed render (an undefined filter, a syntax error) answers `500`
//! through flame's error reply and is logged at `error` with the template's name and
//! minijinja's error. In [development](flame_core::Env::Development) the body's message says
//! what went wrong (the template's name and the error, never the data); in production and
//! test it is `Internal Server Error`, as flame's recovery does. Templates are read from disk
//! when first used and read again when their file changes, so edits show without a restart.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use flame_core::{BoxedHandler, Context, Env, HttpError, Reply, ReturnError as _, StatusCode};
use http::HeaderValue;
use minijinja::{AutoEscape, Environment};
use parking_lot::Mutex;
use serde::Serialize;

/// Where [`templater`] finds templates; defaults as Flamego's.
///
/// ```
/// use flame_extra::template::TemplateOptions;
///
/// let options = TemplateOptions {
///     directory: "views".into(),
///     ..TemplateOptions::default()
/// };
/// assert_eq!(options.extensions, [".tmpl", ".html"]);
/// ```
#[derive(Clone, Debug)]
pub struct TemplateOptions {
    /// The directory templates are read from; default `templates` (relative to the working
    /// directory).
    pub directory: PathBuf,
    /// The extensions tried, in order, for a name given without one; default
    /// `[".tmpl", ".html"]`.
    pub extensions: Vec<String>,
}

impl Default for TemplateOptions {
    fn default() -> Self {
        Self {
            directory: PathBuf::from("templates"),
            extensions: vec![".tmpl".to_owned(), ".html".to_owned()],
        }
    }
}

/// Why a template did not render.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// minijinja's error: the template is missing, does not parse, or failed while rendering.
    #[error("template {name:?}: {source}")]
    Render {
        /// The template's name as asked for.
        name: String,
        /// What minijinja said.
        #[source]
        source: minijinja::Error,
    },
    /// The data could not be turned into template values.
    #[error("template {name:?}: the data does not serialize: {message}")]
    Data {
        /// The template's name as asked for.
        name: String,
        /// What serde said.
        message: String,
    },
}

/// The templates, mapped into every request by [`templater`]: renders a template with data
/// into a reply for the handler to return.
///
/// ```
/// use flame_core::{Flame, StatusCode};
/// use flame_extra::template::Template;
///
/// #[derive(serde::Serialize)]
/// struct Page { title: &'static str }
///
/// let mut f = Flame::new();
/// f.get("/about", |t: Template| t.html(StatusCode::OK, "about", &Page { title: "About" }));
/// ```
#[derive(Clone)]
pub struct Template {
    env: Arc<Environment<'static>>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Template")
    }
}

impl Template {
    /// Renders `name` with `data` into a `text/html; charset=utf-8` reply with `status`, for
    /// the handler to return (a middleware writes it with [`Reply::write_to`]); a missing
    /// template or a failed render is a 500 (see the [module docs](self)).
    ///
    /// ```
    /// use flame_core::{Flame, StatusCode};
    /// use flame_extra::template::{Data, Template};
    ///
    /// let mut f = Flame::new();
    /// f.get("/missing", |t: Template, data: Data| t.html(StatusCode::NOT_FOUND, "404", &data));
    /// ```
    pub fn html<T: Serialize + ?Sized>(&self, status: StatusCode, name: &str, data: &T) -> Reply {
        match self.render(name, data) {
            Ok(body) => {
                Reply::with_content_type(body, HeaderValue::from_static("text/html; charset=utf-8"))
                    .with_status(status)
            }
            Err(err) => {
                tracing::error!(template = name, error = %err, "template failed");
                HttpError::internal(error_message(flame_core::env(), &err)).into_error_reply()
            }
        }
    }

    /// Renders `name` with `data` to a string, for bodies that are not a response (an
    /// email, a fragment pushed over SSE).
    ///
    /// ```
    /// use flame_core::Flame;
    /// use flame_extra::template::Template;
    ///
    /// let mut f = Flame::new();
    /// f.get("/preview", |t: Template| {
    ///     t.render("email", &serde_json::json!({"name": "Joe"})).unwrap_or_default()
    /// });
    /// ```
    pub fn render<T: Serialize + ?Sized>(
        &self,
        name: &str,
        data: &T,
    ) -> Result<String, TemplateError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|source| TemplateError::Render {
                name: name.to_owned(),
                source,
            })?;
        let value = serde_json::to_value(data).map_err(|err| TemplateError::Data {
            name: name.to_owned(),
            message: err.to_string(),
        })?;
        template
            .render(minijinja::Value::from(minijinja::value::Serde(&value)))
            .map_err(|source| TemplateError::Render {
                name: name.to_owned(),
                source,
            })
    }
}

/// The data of one request's template, as Flamego's `template.Data`: middleware and the
/// handler set values, the handler passes it to [`Template::html`]. A fresh one is mapped
/// into every request; clones share it.
///
/// ```
/// use flame_core::{Context, Flame, StatusCode};
/// use flame_extra::template::{templater, Data, Template, TemplateOptions};
///
/// let mut f = Flame::new();
/// f.use_(templater(TemplateOptions::default()));
/// f.use_(|data: Data| data.set("site", "flame")); // for every page
/// f.get("/", |t: Template, data: Data| {
///     data.set("name", "Joe");
///     t.html(StatusCode::OK, "home", &data)
/// });
/// ```
#[derive(Clone, Debug, Default)]
pub struct Data(Arc<Mutex<serde_json::Map<String, serde_json::Value>>>);

impl Data {
    /// Sets `key` to `value`; a value that does not serialize is logged and set to `null`.
    ///
    /// ```
    /// # use flame_extra::template::Data;
    /// let data = Data::default();
    /// data.set("tags", ["rust", "web"]);
    /// assert_eq!(data.get("tags"), Some(serde_json::json!(["rust", "web"])));
    /// ```
    pub fn set(&self, key: impl Into<String>, value: impl Serialize) {
        let key = key.into();
        let value = serde_json::to_value(value).unwrap_or_else(|err| {
            tracing::warn!(%key, error = %err, "template data does not serialize");
            serde_json::Value::Null
        });
        self.0.lock().insert(key, value);
    }

    /// The value of `key`, if set.
    ///
    /// ```
    /// # use flame_extra::template::Data;
    /// let data = Data::default();
    /// data.set("name", "Joe");
    /// assert_eq!(data.get("name"), Some(serde_json::json!("Joe")));
    /// ```
    pub fn get(&self, key: &str) -> Option<serde_json::Value> {
        self.0.lock().get(key).cloned()
    }
}

impl Serialize for Data {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.lock().serialize(serializer)
    }
}

/// The template middleware: loads templates from `options.directory` and maps a
/// [`Template`] and a fresh [`Data`] into every request.
///
/// ```
/// use flame_core::Flame;
/// use flame_extra::template::{templater, TemplateOptions};
///
/// let mut f = Flame::new();
/// f.use_(templater(TemplateOptions { directory: "views".into(), ..Default::default() }));
/// ```
pub fn templater(options: TemplateOptions) -> BoxedHandler {
    if !options.directory.is_dir() {
        tracing::warn!(directory = %options.directory.display(), "the template directory does not exist");
    }
    let env = Arc::new(environment(options));
    BoxedHandler::new(move |c: Context| {
        c.map(Template { env: env.clone() });
        c.map(Data::default());
    })
    .provides::<Template>()
    .provides::<Data>()
}

fn environment(options: TemplateOptions) -> Environment<'static> {
    let TemplateOptions {
        directory,
        extensions,
    } = options;
    let mut env = Environment::new();
    let load = minijinja::path_loader(directory.clone());
    let loader_extensions = extensions.clone();
    env.set_loader(
        move |name| match file_name(name, &loader_extensions, |f| load(f)) {
            Ok(Some((_, source))) => Ok(Some(source)),
            Ok(None) => Ok(None),
            Err(err) => Err(err),
        },
    );
    env.set_auto_escape_callback(move |name| {
        let file = resolve(&directory, name, &extensions);
        auto_escape(&file)
    });
    env
}

/// Loads the first of `name` + each extension that `load` finds (or `name` itself when it
/// carries one of the extensions).
fn file_name<T, E>(
    name: &str,
    extensions: &[String],
    mut load: impl FnMut(&str) -> Result<Option<T>, E>,
) -> Result<Option<(String, T)>, E> {
    if extensions.iter().any(|ext| name.ends_with(ext.as_str())) {
        return Ok(load(name)?.map(|found| (name.to_owned(), found)));
    }
    for ext in extensions {
        let file = format!("{name}{ext}");
        if let Some(found) = load(&file)? {
            return Ok(Some((file, found)));
        }
    }
    Ok(None)
}

/// The file a template name stands for, to choose its escaping; the name itself when none
/// exists (it will not load either).
fn resolve(directory: &Path, name: &str, extensions: &[String]) -> String {
    let exists = |file: &str| Ok::<_, ()>(directory.join(file).is_file().then_some(()));
    match file_name(name, extensions, exists) {
        Ok(Some((file, ()))) => file,
        _ => name.to_owned(),
    }
}

fn auto_escape(file: &str) -> AutoEscape {
    if file.ends_with(".tmpl") {
        // Flamego's templates are HTML templates, whatever their extension.
        return AutoEscape::Html;
    }
    minijinja::default_auto_escape_callback(file)
}

/// What a failed render's 500 says: the error in development, nothing in production.
fn error_message(env: Env, err: &TemplateError) -> String {
    match env {
        Env::Development => err.to_string(),
        _ => "Internal Server Error".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exts() -> Vec<String> {
        TemplateOptions::default().extensions
    }

    #[test]
    fn a_name_takes_the_first_extension_that_exists() {
        let on_disk = ["home.html", "about.tmpl", "about.html"];
        let load = |f: &str| Ok::<_, ()>(on_disk.contains(&f).then_some(()));
        assert_eq!(
            file_name("home", &exts(), load).unwrap().unwrap().0,
            "home.html"
        );
        assert_eq!(
            file_name("about", &exts(), load).unwrap().unwrap().0,
            "about.tmpl"
        );
        assert_eq!(
            file_name("about.html", &exts(), load).unwrap().unwrap().0,
            "about.html"
        );
        assert!(file_name("nope", &exts(), load).unwrap().is_none());
    }

    #[test]
    fn html_and_tmpl_are_escaped_and_text_is_not() {
        assert_eq!(auto_escape("a.html"), AutoEscape::Html);
        assert_eq!(auto_escape("a.tmpl"), AutoEscape::Html);
        assert_eq!(auto_escape("a.txt"), AutoEscape::None);
    }

    #[test]
    fn the_error_text_shows_in_development_only() {
        let err = TemplateError::Data {
            name: "home".to_owned(),
            message: "boom".to_owned(),
        };
        assert!(error_message(Env::Development, &err).contains("boom"));
        for env in [Env::Production, Env::Test] {
            assert_eq!(error_message(env, &err), "Internal Server Error");
        }
    }
}
