//! Keeping secret values out of messages.
//!
//! Rendered documents hold secrets, so anything a message takes from them (a
//! key, an object name, a kind) may be a secret. The rule, one place: a
//! piece of text is shown as `<redacted>` when it equals a secret value or
//! contains one of at least [`MIN_CONTAINED`] characters.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

/// Secret values shorter than this are masked only when a piece of text
/// equals them (masking every `1` or `a` inside names would garble messages
/// without protecting anything).
pub const MIN_CONTAINED: usize = 4;

/// The secret values of a run, for masking messages.
///
/// ```
/// use kit_project::Masker;
/// let m = Masker::new(["hunter2".to_string(), "1".to_string()]);
/// assert_eq!(m.show("hunter2"), "<redacted>");
/// assert_eq!(m.show("db-hunter2-x"), "<redacted>");
/// assert_eq!(m.show("1"), "<redacted>");
/// assert_eq!(m.show("web-1"), "web-1");
/// assert_eq!(format!("{m:?}"), "Masker(2 secret values)");
/// ```
#[derive(Clone, Default)]
pub struct Masker {
    values: HashSet<Arc<str>>,
    /// The values of at least [`MIN_CONTAINED`] characters, checked inside
    /// text (counted once, here).
    long: Vec<Arc<str>>,
}

/// Debug output says how many values, never which.
impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Masker({} secret values)", self.values.len())
    }
}

impl Masker {
    /// A masker for these secret values (empty values are ignored).
    pub fn new<S: Into<Arc<str>>>(values: impl IntoIterator<Item = S>) -> Self {
        let given = values.into_iter();
        let mut values: HashSet<Arc<str>> = HashSet::with_capacity(given.size_hint().0);
        values.extend(given.map(Into::into).filter(|v: &Arc<str>| !v.is_empty()));
        let long = values
            .iter()
            .filter(|v| v.chars().count() >= MIN_CONTAINED)
            .cloned()
            .collect();
        Masker { values, long }
    }

    /// Whether `text` must not be shown.
    pub fn hides(&self, text: &str) -> bool {
        !self.values.is_empty()
            && (self.values.contains(text)
                || self
                    .long
                    .iter()
                    .any(|v| v.len() <= text.len() && text.contains(&**v)))
    }

    /// `text`, or `<redacted>` when it is or contains a secret.
    pub fn show<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.hides(text) {
            Cow::Borrowed("<redacted>")
        } else {
            Cow::Borrowed(text)
        }
    }
}
