//! The page templates, embedded in the binary. Autoescaping is on for every template (all
//! end in `.html`): feed-derived text can never become markup; the one field that carries
//! markup, an episode's description, went through the allow-list sanitiser first.

use minijinja::{Environment, Value};

use crate::error::WebError;

pub(crate) struct Templates {
    env: Environment<'static>,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("digest.html", include_str!("../templates/digest.html")),
    ("archive.html", include_str!("../templates/archive.html")),
    ("feeds.html", include_str!("../templates/feeds.html")),
    ("feed.html", include_str!("../templates/feed.html")),
    ("episode.html", include_str!("../templates/episode.html")),
    ("search.html", include_str!("../templates/search.html")),
    ("discover.html", include_str!("../templates/discover.html")),
    ("settings.html", include_str!("../templates/settings.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("feedback.html", include_str!("../templates/feedback.html")),
];

impl Templates {
    pub fn new() -> Self {
        // Autoescape and the URL-friendly escaping of the digest's HTML.
        let mut env = podsift_digest::html_environment();
        for (name, source) in TEMPLATES {
            // The templates are part of the binary and covered by tests: a syntax error is a
            // bug caught there, and the page answers 503 rather than panicking.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!("template {name}: {e}");
            }
        }
        Self { env }
    }

    pub fn render(&self, name: &str, ctx: Value) -> Result<String, WebError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| WebError::Internal(format!("template {name}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
    }

    #[test]
    fn feed_text_is_escaped() {
        let t = Templates::new();
        let html = t
            .render(
                "error.html",
                minijinja::context! { status => 404, message => "<script>alert(1)</script>" },
            )
            .unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
    }
}
