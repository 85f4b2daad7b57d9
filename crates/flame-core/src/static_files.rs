//! [`Static`]: serving files from a directory, as Flamego's `Static` does.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderValue, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, LOCATION,
};
use http::{Method, StatusCode};
use percent_encoding::percent_decode_str;

use crate::context::Context;
use crate::handler::{Invocable, Invocation};

/// Options of the [`Static`] middleware, with Flamego's names.
///
/// ```
/// use flame_core::StaticOptions;
///
/// let options = StaticOptions::new("assets").prefix("/static").index("home.html");
/// assert_eq!(options.directory.to_str(), Some("assets"));
/// ```
#[derive(Debug, Clone)]
pub struct StaticOptions {
    /// The directory files are served from. Default `public`.
    pub directory: PathBuf,
    /// A URL prefix the files live under, e.g. `/static`; normalised as Flamego does, to a
    /// leading slash and no trailing one (`"public/"` serves under `/public`). Default: none.
    pub prefix: String,
    /// The file served for a directory. Default `index.html`.
    pub index: String,
    /// Whether to send an `ETag` and answer `If-None-Match` with 304. Default true.
    pub set_etag: bool,
    /// A `Cache-Control: max-age` to send, if any. Default none.
    pub max_age: Option<Duration>,
}

impl Default for StaticOptions {
    fn default() -> Self {
        Self::new("public")
    }
}

impl StaticOptions {
    /// Serve `directory` at the root, with the defaults.
    pub fn new(directory: impl Into<PathBuf>) -> Self {
        Self {
            directory: directory.into(),
            prefix: String::new(),
            index: "index.html".to_owned(),
            set_etag: true,
            max_age: None,
        }
    }

    /// Serves under the URL prefix `prefix`, normalised to a leading slash and no trailing
    /// one, as Flamego does.
    ///
    /// ```
    /// use flame_core::StaticOptions;
    ///
    /// assert_eq!(StaticOptions::new("public").prefix("public").prefix, "/public");
    /// assert_eq!(StaticOptions::new("public").prefix("/assets/").prefix, "/assets");
    /// ```
    #[must_use]
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = normalize_prefix(prefix);
        self
    }

    /// Serves `index` for directories.
    #[must_use]
    pub fn index(mut self, index: &str) -> Self {
        self.index = index.to_owned();
        self
    }

    /// Sends `Cache-Control: public, max-age=...`.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Turns ETags off.
    #[must_use]
    pub fn without_etag(mut self) -> Self {
        self.set_etag = false;
        self
    }
}

/// Middleware that serves files for `GET` and `HEAD` requests.
///
/// A request for a missing file (or any other method) goes on down the chain, so routes and
/// the not-found handler still answer. Directories are served by their index file (and a
/// directory path without a trailing slash is redirected to one). Paths are percent-decoded
/// once and any `..`, backslash or NUL refuses the request to this middleware, so nothing
/// outside the directory is ever read. `ETag`/`If-None-Match` and `Last-Modified`/
/// `If-Modified-Since` give 304s.
///
/// ```
/// use flame_core::{Flame, StaticOptions};
///
/// let mut f = Flame::new();
/// f.use_(flame_core::static_files(StaticOptions::new("public").prefix("/assets")));
/// ```
#[derive(Debug, Clone)]
pub struct Static {
    options: Arc<StaticOptions>,
}

/// The [`Static`] middleware.
pub fn static_files(mut options: StaticOptions) -> Static {
    options.prefix = normalize_prefix(&options.prefix);
    Static {
        options: Arc::new(options),
    }
}

/// Flamego's rule: a given prefix gets a leading slash and loses its trailing one; none stays
/// none.
fn normalize_prefix(prefix: &str) -> String {
    if prefix.is_empty() {
        return String::new();
    }
    format!("/{}", prefix.trim_matches('/'))
}

/// Go's `path.Clean` for an absolute URL path: no empty or `.` segments, `..` resolved.
fn clean_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    format!("/{}", segments.join("/"))
}

/// Go's `html.EscapeString` set, as `http.Redirect` uses for its body.
fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// Maps a URL path to a path relative to the static directory, or `None` when the request is
/// not for this middleware or tries to leave the directory.
fn relative_path(options: &StaticOptions, url_path: &str) -> Option<PathBuf> {
    let rest = if options.prefix.is_empty() {
        url_path
    } else {
        let rest = url_path.strip_prefix(options.prefix.as_str())?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        rest
    };
    let decoded = percent_decode_str(rest).decode_utf8().ok()?;
    if decoded.contains(['\\', '\0']) {
        return None;
    }
    let mut relative = PathBuf::new();
    for component in Path::new(decoded.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(relative)
}

fn etag_for(len: u64, modified: Option<SystemTime>) -> String {
    let nanos = modified
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("\"{len:x}-{nanos:x}\"")
}

impl Invocable for Static {
    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("flame_core::Static")
    }

    fn call(&self, ctx: &Context, _ordinal: usize) -> Invocation {
        if !matches!(*ctx.method(), Method::GET | Method::HEAD) {
            return Invocation::Ready;
        }
        let Some(relative) = relative_path(&self.options, ctx.uri().path()) else {
            return Invocation::Ready;
        };
        let options = self.options.clone();
        let ctx = ctx.clone();
        Invocation::Pending(Box::pin(
            async move { serve(&ctx, &options, relative).await },
        ))
    }
}

async fn serve(ctx: &Context, options: &StaticOptions, relative: PathBuf) {
    let mut path = options.directory.join(&relative);
    let Ok(mut metadata) = tokio::fs::metadata(&path).await else {
        return;
    };
    if metadata.is_dir() {
        let url_path = ctx.uri().path();
        if !url_path.ends_with('/') {
            // Flamego answers with Go's `http.Redirect(w, r, path.Clean(p)+"/", 302)`: the
            // cleaned path, no query, and for GET a short HTML body.
            let location = format!("{}/", clean_path(url_path).trim_end_matches('/'));
            if let Ok(value) = HeaderValue::try_from(location.as_str()) {
                let writer = ctx.response_writer();
                {
                    let mut headers = writer.headers_mut();
                    headers.insert(LOCATION, value);
                    headers.insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static("text/html; charset=utf-8"),
                    );
                }
                writer.write_header(StatusCode::FOUND);
                if *ctx.method() == Method::GET {
                    writer.write(format!(
                        "<a href=\"{}\">Found</a>.\n\n",
                        escape_html(&location)
                    ));
                }
            }
            return;
        }
        path.push(&options.index);
        match tokio::fs::metadata(&path).await {
            Ok(index) if index.is_file() => metadata = index,
            _ => return,
        }
    }
    if !metadata.is_file() {
        return;
    }
    let modified = metadata.modified().ok();
    let etag = options.set_etag.then(|| etag_for(metadata.len(), modified));
    let writer = ctx.response_writer();
    let not_modified = match (&etag, ctx.headers().get(IF_NONE_MATCH)) {
        (Some(etag), Some(candidates)) => candidates
            .to_str()
            .is_ok_and(|list| list.split(',').any(|c| c.trim() == etag || c.trim() == "*")),
        (_, None) => match (modified, ctx.headers().get(IF_MODIFIED_SINCE)) {
            (Some(modified), Some(since)) => since
                .to_str()
                .ok()
                .and_then(|since| httpdate::parse_http_date(since).ok())
                .is_some_and(|since| {
                    modified
                        .duration_since(since)
                        .map_or(true, |d| d.as_secs() == 0)
                }),
            _ => false,
        },
        (None, Some(_)) => false,
    };
    {
        let mut headers = writer.headers_mut();
        if let Some(etag) = etag
            .as_deref()
            .and_then(|etag| HeaderValue::try_from(etag).ok())
        {
            headers.insert(ETAG, etag);
        }
        if let Some(modified) =
            modified.and_then(|m| HeaderValue::try_from(httpdate::fmt_http_date(m)).ok())
        {
            headers.insert(LAST_MODIFIED, modified);
        }
        if let Some(max_age) = options.max_age
            && let Ok(value) =
                HeaderValue::try_from(format!("public, max-age={}", max_age.as_secs()))
        {
            headers.insert(CACHE_CONTROL, value);
        }
    }
    if not_modified {
        writer.write_header(StatusCode::NOT_MODIFIED);
        return;
    }
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(err) => {
            tracing::warn!(path = %path.display(), %err, "static file vanished while serving");
            return;
        }
    };
    let mime = mime_guess::from_path(&path).first_or_octet_stream();
    {
        let mut headers = writer.headers_mut();
        if let Ok(content_type) = HeaderValue::try_from(mime.essence_str()) {
            headers.insert(CONTENT_TYPE, content_type);
        }
        headers.insert(CONTENT_LENGTH, HeaderValue::from(metadata.len()));
    }
    let body = if *ctx.method() == Method::HEAD {
        Body::empty()
    } else {
        Body::from_stream(tokio_util::io::ReaderStream::new(file))
    };
    let mut response = axum::response::Response::new(body);
    *response.status_mut() = StatusCode::OK;
    writer.write_response(response);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused() {
        let options = StaticOptions::new("public");
        for path in [
            "/../secret",
            "/a/../../b",
            "/%2e%2e/secret",
            "/%2E%2E%2Fsecret",
            "/a%5c..%5cb",
            "/x%00y",
            "/%ff",
        ] {
            assert!(
                relative_path(&options, path).is_none(),
                "{path} must be refused"
            );
        }
        assert_eq!(
            relative_path(&options, "/css/site.css"),
            Some(PathBuf::from("css/site.css"))
        );
        assert_eq!(relative_path(&options, "/"), Some(PathBuf::new()));
    }

    #[test]
    fn prefixes_and_paths_are_normalised_as_flamego_does() {
        assert_eq!(normalize_prefix(""), "");
        assert_eq!(normalize_prefix("public"), "/public");
        assert_eq!(normalize_prefix("/public/"), "/public");
        assert_eq!(normalize_prefix("a/b/"), "/a/b");
        assert_eq!(clean_path("/a//b/./c"), "/a/b/c");
        assert_eq!(clean_path("/"), "/");
    }

    #[test]
    fn prefix_matches_whole_segments() {
        let options = StaticOptions::new("public").prefix("/static");
        assert_eq!(
            relative_path(&options, "/static/a.txt"),
            Some(PathBuf::from("a.txt"))
        );
        assert!(relative_path(&options, "/staticky/a.txt").is_none());
        assert!(relative_path(&options, "/other").is_none());
    }
}
