//! The data policy that app and website show and that consent refers to.
//!
//! The one source of truth is `assets/policy.md`; it is compiled in here so the
//! server, the desktop app and the agent always show the same text and version.
//! Its first line is `<!-- policy-version: ID -->`.

/// The policy file as written, with its version comment.
const SOURCE: &str = include_str!("../../assets/policy.md");

/// The current policy version id.
pub fn version() -> &'static str {
    split(SOURCE).0
}

/// The current policy text, Markdown, without the version comment.
pub fn text_markdown() -> &'static str {
    split(SOURCE).1
}

/// Splits a policy file into its version id and its text.
fn split(source: &str) -> (&str, &str) {
    let (first, rest) = source.split_once('\n').unwrap_or((source, ""));
    let version = first
        .trim()
        .strip_prefix("<!-- policy-version:")
        .and_then(|s| s.strip_suffix("-->"))
        .map(str::trim);
    match version {
        Some(v) => (v, rest.trim_start()),
        None => ("unversioned", source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_policy_has_a_version_and_text() {
        assert_eq!(version(), "2026-12-01");
        assert!(text_markdown().starts_with("# Vitals data policy"));
        assert!(text_markdown().contains("Europe/Warsaw"));
    }

    #[test]
    fn split_handles_missing_header() {
        assert_eq!(split("# Text\nmore"), ("unversioned", "# Text\nmore"));
        assert_eq!(split("<!-- policy-version: v2 -->\nbody"), ("v2", "body"));
    }
}
