//! Release records: which image runs where, kept in the project's git
//! repository as one small file per environment and service that only kit
//! writes: `releases/<environment>/<service>.yaml`. The format is a public
//! interface, documented in `docs/releases.md`.
//!
//! Images resolve, for a target, in this order: the record's image for the
//! target's cluster (`clusters:`), else the record's `image`, else
//! `kit.yaml`'s `services.<service>.image`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kit_core::yaml::write_string_scalar;
use serde::Deserialize;

use crate::error::ProjectError;
use crate::project::{Project, read_yaml};

/// The folder of release records inside a project.
pub const RELEASES_DIR: &str = "releases";

/// What made a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Action {
    /// A new image.
    Release,
    /// An earlier revision again.
    Rollback,
    /// Another environment's image.
    Promote,
    /// A pin set or lifted (the revision does not change).
    Pin,
}

impl Action {
    /// The action's name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Release => "release",
            Action::Rollback => "rollback",
            Action::Promote => "promote",
            Action::Pin => "pin",
        }
    }
}

/// Why a service may not be released: who pinned it, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// Why.
    pub reason: String,
    /// Who.
    pub by: String,
    /// When (UTC, RFC 3339).
    pub time: String,
}

/// One release record: the current release of a service in an
/// environment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// 1 for the first release, one more for each release, rollback or
    /// promotion.
    pub revision: u64,
    /// The image (an OCI reference with a tag, a digest, or both).
    pub image: String,
    /// Images for single clusters, overriding `image` there.
    #[serde(default)]
    pub clusters: BTreeMap<String, String>,
    /// When (UTC, RFC 3339).
    pub time: String,
    /// Who released it.
    pub author: String,
    /// The commit of the service's source that was built.
    #[serde(default)]
    pub source_commit: Option<String>,
    /// The CI build that made it.
    #[serde(default)]
    pub build_url: Option<String>,
    /// Why.
    #[serde(default)]
    pub message: Option<String>,
    /// What made this record.
    pub action: Action,
    /// Set while the service is pinned.
    #[serde(default)]
    pub pinned: Option<Pin>,
}

impl Record {
    /// The image for `cluster`.
    pub fn image_for(&self, cluster: &str) -> &str {
        self.clusters.get(cluster).unwrap_or(&self.image)
    }

    /// The record as kit writes it: fixed key order, every string written
    /// so that it reads back exactly.
    pub fn to_yaml(&self) -> String {
        let mut s = String::from(
            "# Written by kit (kit release, rollback, promote, pin). Do not edit by hand.\n# Format: docs/releases.md\n",
        );
        let field = |s: &mut String, key: &str, value: &str| {
            s.push_str(key);
            s.push_str(": ");
            write_string_scalar(s, value, false);
            s.push('\n');
        };
        s.push_str(&format!("revision: {}\n", self.revision));
        field(&mut s, "image", &self.image);
        if !self.clusters.is_empty() {
            s.push_str("clusters:\n");
            for (c, image) in &self.clusters {
                s.push_str("  ");
                write_string_scalar(&mut s, c, false);
                s.push_str(": ");
                write_string_scalar(&mut s, image, false);
                s.push('\n');
            }
        }
        field(&mut s, "time", &self.time);
        field(&mut s, "author", &self.author);
        for (key, value) in [
            ("source_commit", &self.source_commit),
            ("build_url", &self.build_url),
            ("message", &self.message),
        ] {
            if let Some(v) = value {
                field(&mut s, key, v);
            }
        }
        s.push_str(&format!("action: {}\n", self.action.name()));
        if let Some(p) = &self.pinned {
            s.push_str("pinned:\n");
            for (key, value) in [("reason", &p.reason), ("by", &p.by), ("time", &p.time)] {
                s.push_str("  ");
                field(&mut s, key, value);
            }
        }
        s
    }

    /// Reads a record from its text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Record, ProjectError> {
        serde_saphyr::from_str(text).map_err(|e| ProjectError::Invalid {
            path: origin.to_owned(),
            message: e
                .to_string()
                .replace("<input>", &origin.display().to_string()),
        })
    }
}

/// The record path of a service in an environment, relative to the
/// project.
pub fn record_path(environment: &str, service: &str) -> PathBuf {
    Path::new(RELEASES_DIR)
        .join(environment)
        .join(format!("{service}.yaml"))
}

impl Project {
    /// The current record of `service` in `environment`, if any (read from
    /// the project directory).
    pub fn record(&self, environment: &str, service: &str) -> Result<Option<Record>, ProjectError> {
        let path = self.dir.join(record_path(environment, service));
        if !path.exists() {
            return Ok(None);
        }
        let record: Record = read_yaml(&path)?;
        Ok(Some(record))
    }
}

/// Why an image reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {image:?}: {reason}")]
pub struct ImageError {
    /// The reference, as given.
    pub image: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Checks an OCI image reference: `[registry[:port]/]repository[:tag][@sha256:HEX]`,
/// with a tag, a digest or both (a bare name would mean "whatever `latest`
/// is", which is not a release). The repository is lowercase
/// (`[a-z0-9]` separated by `.`, `_`, `__` or dashes, in `/`-separated
/// parts); a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; a digest is
/// `sha256:` and 64 lowercase hex digits.
///
/// ```
/// use kit_project::release::validate_image;
/// assert!(validate_image("registry.example.com:5000/shop/web:1.4.0").is_ok());
/// assert!(validate_image("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").is_ok());
/// assert!(validate_image("Shop/Web:1").is_err());
/// assert!(validate_image("web").is_err());
/// assert!(validate_image("web:1 \n").is_err());
/// ```
pub fn validate_image(image: &str) -> Result<(), ImageError> {
    let bad = |reason| {
        Err(ImageError {
            image: image.into(),
            reason,
        })
    };
    if image.is_empty() || image.len() > 4096 {
        return bad("it is empty or longer than 4096 characters");
    }
    if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains white space or a control character");
    }
    let (name_tag, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let hex = d.strip_prefix("sha256:");
        if !hex.is_some_and(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }) {
            return bad("the digest must be sha256: and 64 lowercase hex digits");
        }
    }
    // A tag follows the last ':' after the last '/'.
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_tag[..last_slash + i],
            Some(&name_tag[last_slash + i + 1..]),
        ),
        None => (name_tag, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !ok {
            return bad("the tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
        }
    }
    if tag.is_none() && digest.is_none() {
        return bad("it needs a tag (:1.4.0) or a digest (@sha256:...)");
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // A first part with '.', ':' or "localhost" is a registry host.
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        let host = parts.remove(0);
        let (h, port) = host.split_once(':').unwrap_or((host, ""));
        let host_ok = !h.is_empty()
            && h.split('.').all(|l| {
                !l.is_empty()
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if !host_ok || (!port.is_empty() && !port.bytes().all(|b| b.is_ascii_digit())) {
            return bad("the registry must be a host name with an optional numeric port");
        }
    }
    let component_ok = |c: &str| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_lowercase() | b[0].is_ascii_digit()
            && b[b.len() - 1].is_ascii_lowercase() | b[b.len() - 1].is_ascii_digit()
            && b.iter()
                .all(|&x| x.is_ascii_lowercase() || x.is_ascii_digit() || b"._-".contains(&x))
            && !c.contains("..")
            && !c.contains("___")
    };
    if parts.is_empty() || !parts.iter().all(|p| component_ok(p)) {
        return bad(
            "the repository must be lowercase letters and digits separated by '.', '_', '__', '-' or '/'",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            revision: 3,
            image: "registry.example.com/shop/web:1.5.0".into(),
            clusters: [(
                "c2".to_string(),
                "registry.example.com/shop/web:1.4.9".to_string(),
            )]
            .into(),
            time: "2026-11-25T23:20:00Z".into(),
            author: "Jane <jane@example.com>".into(),
            source_commit: Some("0123abc".into()),
            build_url: Some("https://ci.example.com/b/42".into()),
            message: Some("fix: \"quotes\"\nand lines".into()),
            action: Action::Release,
            pinned: Some(Pin {
                reason: "incident #12".into(),
                by: "ops".into(),
                time: "2026-11-25T23:30:00Z".into(),
            }),
        }
    }

    #[test]
    fn records_read_back_exactly() {
        let r = record();
        let text = r.to_yaml();
        assert_eq!(Record::parse(&text, Path::new("r.yaml")).unwrap(), r);
        assert_eq!(r.image_for("c2"), "registry.example.com/shop/web:1.4.9");
        assert_eq!(r.image_for("c1"), "registry.example.com/shop/web:1.5.0");
    }

    #[test]
    fn image_references() {
        for ok in [
            "nginx:1.27",
            "library/nginx:1.27",
            "localhost:5000/web:dev",
            "ghcr.io/org/app__x/y-z:v1.2.3-rc.1",
            "gcr.io/google-samples/node-hello:1.0",
            "web:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(validate_image(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("web", "needs a tag"),
            ("Web:1", "lowercase"),
            ("registry.example.com/Shop/web:1", "lowercase"),
            ("web:1 ", "white space"),
            ("web:1\nkind: Secret", "white space"),
            ("web:.1", "tag"),
            ("web@sha256:abc", "digest"),
            ("web@md5:0123456789abcdef0123456789abcdef", "digest"),
            ("-web:1", "lowercase"),
            ("bad host!/web:1", "white space"),
            ("exa_mple.com/web:1", "registry"),
        ] {
            let e = validate_image(bad).unwrap_err();
            assert!(e.reason.contains(why), "{bad}: {}", e.reason);
        }
    }
}
