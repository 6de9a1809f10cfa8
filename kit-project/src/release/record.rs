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
use crate::project::Project;

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

/// The largest release record kit reads: 64 KiB (kit writes a few hundred
/// bytes).
pub const MAX_RECORD_BYTES: usize = 64 << 10;

/// One release record: the current release of a service in an
/// environment. Keys kit does not know are ignored (a newer kit may add
/// optional ones, see docs/releases.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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
    /// The CI build number that made it (ordered within one source
    /// repository: a lower one than the current record's is refused).
    #[serde(default)]
    pub build_number: Option<u64>,
    /// The source repository that was built (`owner/name`, a URL...).
    #[serde(default)]
    pub source_repository: Option<String>,
    /// For a rollback: the revision whose images it restores.
    #[serde(default)]
    pub restores: Option<u64>,
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
        let number = |s: &mut String, key: &str, value: Option<u64>| {
            if let Some(n) = value {
                s.push_str(&format!("{key}: {n}\n"));
            }
        };
        let text = |s: &mut String, key: &str, value: &Option<String>| {
            if let Some(v) = value {
                field(s, key, v);
            }
        };
        text(&mut s, "source_commit", &self.source_commit);
        text(&mut s, "source_repository", &self.source_repository);
        number(&mut s, "build_number", self.build_number);
        text(&mut s, "build_url", &self.build_url);
        number(&mut s, "restores", self.restores);
        text(&mut s, "message", &self.message);
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

    /// Reads a record from its text; `origin` names it in errors. The
    /// record is checked as kit writes it: at most [`MAX_RECORD_BYTES`],
    /// revision 1 or more, valid image references, cluster names kit
    /// accepts. A record is input anyone with write access to the config
    /// repository can change, so an error gives the line and column and
    /// what is wrong, never the record's text (a link or a hand edit may
    /// make it hold anything).
    pub fn parse(text: &str, origin: &Path) -> Result<Record, ProjectError> {
        let invalid = |message: String| ProjectError::Invalid {
            path: origin.to_owned(),
            message,
        };
        if text.len() > MAX_RECORD_BYTES {
            return Err(invalid(format!(
                "not a release record: larger than {} KiB",
                MAX_RECORD_BYTES >> 10
            )));
        }
        let record: Record = serde_saphyr::from_str(text).map_err(|e| {
            invalid(match e.location() {
                Some(l) => format!(
                    "not a valid release record (line {}, column {}); kit writes these files itself: restore it from the history (git log -p -- FILE)",
                    l.line(),
                    l.column()
                ),
                None => "not a valid release record; kit writes these files itself: restore it from the history (git log -p -- FILE)".into(),
            })
        })?;
        if record.revision == 0 {
            return Err(invalid("not a valid release record: revision 0".into()));
        }
        validate_image(&record.image)
            .map_err(|e| invalid(format!("its image is not valid: {}", e.reason)))?;
        for (cluster, image) in &record.clusters {
            if !crate::project::is_safe_name(cluster) {
                return Err(invalid("it names a cluster kit does not accept".into()));
            }
            validate_image(image).map_err(|e| {
                invalid(format!(
                    "the image of cluster {cluster} is not valid: {}",
                    e.reason
                ))
            })?;
        }
        Ok(record)
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
    /// The image `service` runs with on `cluster` of `environment`: its
    /// release record's (the cluster's own when it has one), else
    /// kit.yaml's `image:`.
    pub fn released_image(
        &self,
        environment: &str,
        service: &str,
        cluster: &str,
    ) -> Result<Option<String>, ProjectError> {
        Ok(match self.record(environment, service)? {
            Some(r) => Some(r.image_for(cluster).to_owned()),
            None => self
                .file
                .services
                .get(service)
                .and_then(|s| s.image.clone()),
        })
    }

    /// The current record of `service` in `environment`, if any (read from
    /// the project directory). Only a regular file is read (a symbolic
    /// link, which a pull request can add, is refused without following
    /// it), of at most [`MAX_RECORD_BYTES`].
    pub fn record(&self, environment: &str, service: &str) -> Result<Option<Record>, ProjectError> {
        let path = self.dir.join(record_path(environment, service));
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ProjectError::Io { path, source }),
        };
        if !meta.is_file() {
            return Err(ProjectError::UnsafePath {
                path,
                reason: "a release record must be a regular file (not a link)".into(),
            });
        }
        if meta.len() > MAX_RECORD_BYTES as u64 {
            return Err(ProjectError::UnsafePath {
                path,
                reason: format!("it is larger than {} KiB", MAX_RECORD_BYTES >> 10),
            });
        }
        let text = std::fs::read(&path).map_err(|source| ProjectError::Io {
            path: path.clone(),
            source,
        })?;
        let text = String::from_utf8(text).map_err(|_| ProjectError::Invalid {
            path: path.clone(),
            message: "not a valid release record: not UTF-8 text".into(),
        })?;
        Record::parse(&text, &path).map(Some)
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

/// The repository of an image reference (registry and path, without tag
/// or digest): `registry.example.com/shop/web` of
/// `registry.example.com/shop/web:1.4@sha256:...`.
///
/// ```
/// use kit_project::release::image_repository;
/// assert_eq!(image_repository("localhost:5000/web:1.2"), "localhost:5000/web");
/// assert_eq!(image_repository("web@sha256:00"), "web");
/// ```
pub fn image_repository(image: &str) -> &str {
    let name_tag = image.split_once('@').map_or(image, |(n, _)| n);
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    match name_tag[last_slash..].rfind(':') {
        Some(i) => &name_tag[..last_slash + i],
        None => name_tag,
    }
}

/// The tag of an image reference, if it has one.
pub fn image_tag(image: &str) -> Option<&str> {
    let name_tag = image.split_once('@').map_or(image, |(n, _)| n);
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    name_tag[last_slash..]
        .rfind(':')
        .map(|i| &name_tag[last_slash + i + 1..])
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
            source_repository: Some("shop/web".into()),
            build_number: Some(42),
            build_url: Some("https://ci.example.com/b/42".into()),
            restores: None,
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
    fn a_bad_record_is_refused_without_echoing_its_text() {
        let origin = Path::new("releases/prod/web.yaml");
        for text in [
            "aws_secret_access_key = TOPSECRET\n",
            "revision: TOPSECRET\nimage: a:1\ntime: t\nauthor: a\naction: release\n",
            "revision: 1\nimage: \"TOPSECRET x\"\ntime: t\nauthor: a\naction: release\n",
            "revision: 1\nimage: a:1\nclusters:\n  \"TOPSECRET\\n\": a:1\ntime: t\nauthor: a\naction: release\n",
            "<<<<<<< HEAD\nrevision: 2\n=======\nTOPSECRET\n",
        ] {
            let e = Record::parse(text, origin).unwrap_err().to_string();
            assert!(!e.contains("TOPSECRET"), "{e}");
            assert!(e.starts_with("releases/prod/web.yaml: "), "{e}");
        }
        // Keys a newer kit may add are read past.
        let newer = format!("{}future_key: 1\n", record().to_yaml());
        assert_eq!(Record::parse(&newer, origin).unwrap(), record());
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
