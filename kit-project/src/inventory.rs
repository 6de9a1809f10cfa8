//! What kit applied, per project, environment and cluster: an inventory
//! following kubectl's ApplySet specification (KEP-3659), so that kubectl
//! and other tools understand it.
//!
//! - The **parent** is a ConfigMap named `kit.<project>.<environment>.<cluster>`
//!   (`kit.<project>.<environment>.<instance>.<cluster>` for an instance of
//!   an environment, so each instance is a set of its own) in the project's
//!   inventory namespace (`inventory_namespace:` in
//!   kit.yaml, default `default`). It carries the label
//!   `applyset.kubernetes.io/id` (derived from its own name and namespace,
//!   as the specification requires), the annotation
//!   `applyset.kubernetes.io/tooling: kit/<version>`, and the group-kinds
//!   and namespaces its members span
//!   (`applyset.kubernetes.io/contains-group-kinds`,
//!   `applyset.kubernetes.io/additional-namespaces`).
//! - Every object kit renders for a project with a `name:` carries
//!   `applyset.kubernetes.io/part-of: <id>` and `kit.dev/project: <name>`.
//!   Another project's objects carry another id, whatever else their labels
//!   say: prune and delete never see them.
//!
//! This module only computes names, ids and manifests; running kubectl is
//! the caller's.
//!
//! ```
//! let inv = kit_project::inventory::Inventory::new("shop", "default", "production", "eu-1").unwrap();
//! assert_eq!(inv.parent, "kit.shop.production.eu-1");
//! assert!(inv.id.starts_with("applyset-") && inv.id.ends_with("-v1"));
//! ```

use std::collections::BTreeSet;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The label every member carries: the id of its set.
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";
/// The label that makes an object a set's parent.
pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
/// Which tool manages the set (`kit/<version>`).
pub const TOOLING_ANNOTATION: &str = "applyset.kubernetes.io/tooling";
/// The group-kinds of the members (`Deployment.apps,Service`), sorted.
pub const GROUP_KINDS_ANNOTATION: &str = "applyset.kubernetes.io/contains-group-kinds";
/// The members' namespaces other than the parent's, sorted.
pub const NAMESPACES_ANNOTATION: &str = "applyset.kubernetes.io/additional-namespaces";
/// The project's name, on every object kit applies for it.
pub const PROJECT_LABEL: &str = "kit.dev/project";
/// On the parent: where the project's files come from (its git remote and
/// folder), to tell two projects that chose the same name apart.
pub const SOURCE_ANNOTATION: &str = "kit.dev/source";
/// On a Namespace kit created (never on one it found): the id of the set
/// it was created for. Only such namespaces are ever deleted, by
/// `kit delete`.
pub const CREATED_BY_LABEL: &str = "kit.dev/created-by";
/// On an instance's parent: when kit last applied the instance to the
/// cluster (UTC, RFC 3339), what `kit status` and `kit delete
/// --older-than` read.
pub const APPLIED_AT_ANNOTATION: &str = "kit.dev/applied-at";
/// The label of every object of an instance (and of its parent).
pub use crate::contract::INSTANCE_LABEL;
/// The inventory namespace when kit.yaml names none.
pub const DEFAULT_NAMESPACE: &str = "default";
/// The tooling value kit writes.
pub const TOOLING: &str = concat!("kit/v", env!("CARGO_PKG_VERSION"));

/// One project's set on one cluster of one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// The project's name.
    pub project: String,
    /// The environment.
    pub environment: String,
    /// The instance of the environment, if the set is one's.
    pub instance: Option<String>,
    /// The cluster.
    pub cluster: String,
    /// The parent ConfigMap's name.
    pub parent: String,
    /// Its namespace.
    pub namespace: String,
    /// The set's id (`applyset-<base64url(sha256)>-v1`).
    pub id: String,
}

/// Why an inventory cannot be named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} '{value}' cannot name the inventory's ConfigMap ({rule})")]
pub struct InventoryNameError {
    /// What the bad part is (`project name`, `environment`...).
    pub what: &'static str,
    /// The bad part.
    pub value: String,
    /// The rule it breaks.
    pub rule: &'static str,
}

const LABEL_RULE: &str =
    "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63";

/// A DNS label (RFC 1123): what a project name must be.
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// The ApplySet id of a parent: `applyset-` + the unpadded URL-safe base64
/// of sha256(`<name>.<namespace>.<kind>.<group>`) + `-v1`.
pub fn applyset_id(name: &str, namespace: &str, kind: &str, group: &str) -> String {
    let digest = Sha256::digest(format!("{name}.{namespace}.{kind}.{group}").as_bytes());
    format!(
        "applyset-{}-v1",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

/// `Kind.group` (`Deployment.apps`; `Service` for the core group), as the
/// specification writes group-kinds.
pub fn group_kind(api_version: &str, kind: &str) -> String {
    match api_version.rsplit_once('/') {
        Some((group, _)) => format!("{kind}.{group}"),
        None => kind.to_owned(),
    }
}

impl Inventory {
    /// The set of `project` on `cluster` of `environment`, its parent in
    /// `namespace`.
    pub fn new(
        project: &str,
        namespace: &str,
        environment: &str,
        cluster: &str,
    ) -> Result<Inventory, InventoryNameError> {
        let bad = |what, value: &str, rule| InventoryNameError {
            what,
            value: value.to_owned(),
            rule,
        };
        if !is_dns_label(project) {
            return Err(bad("project name", project, LABEL_RULE));
        }
        if !is_dns_label(namespace) {
            return Err(bad("inventory namespace", namespace, LABEL_RULE));
        }
        for (what, v) in [("environment", environment), ("cluster", cluster)] {
            // Each becomes a dot-separated part of a DNS subdomain.
            if !is_dns_label(v) {
                return Err(bad(what, v, LABEL_RULE));
            }
        }
        let parent = format!("kit.{project}.{environment}.{cluster}");
        let id = applyset_id(&parent, namespace, "ConfigMap", "");
        Ok(Inventory {
            project: project.into(),
            environment: environment.into(),
            instance: None,
            cluster: cluster.into(),
            parent,
            namespace: namespace.into(),
            id,
        })
    }

    /// The set of instance `instance` of the same environment on the same
    /// cluster: its own parent and id.
    ///
    /// ```
    /// let base = kit_project::inventory::Inventory::new("shop", "default", "preview", "eu-1").unwrap();
    /// let pr = base.clone().of_instance("pr-7").unwrap();
    /// assert_eq!(pr.parent, "kit.shop.preview.pr-7.eu-1");
    /// assert_ne!(pr.id, base.id);
    /// ```
    pub fn of_instance(mut self, instance: &str) -> Result<Inventory, InventoryNameError> {
        if !is_dns_label(instance) {
            return Err(InventoryNameError {
                what: "instance",
                value: instance.into(),
                rule: LABEL_RULE,
            });
        }
        self.parent = format!(
            "kit.{}.{}.{instance}.{}",
            self.project, self.environment, self.cluster
        );
        if self.parent.len() > 253 {
            return Err(InventoryNameError {
                what: "instance",
                value: instance.into(),
                rule: "the inventory's name kit.<project>.<environment>.<instance>.<cluster> has at most 253 characters",
            });
        }
        self.id = applyset_id(&self.parent, &self.namespace, "ConfigMap", "");
        self.instance = Some(instance.into());
        Ok(self)
    }

    /// The labels kit adds to every member.
    pub fn member_labels(&self) -> [(&'static str, &str); 2] {
        [(PART_OF_LABEL, &self.id), (PROJECT_LABEL, &self.project)]
    }

    /// The parent's manifest, listing `group_kinds` and `namespaces` (the
    /// parent's own namespace is left out, as the specification says);
    /// `source`: where the project comes from, when known. An instance's
    /// parent also carries [`INSTANCE_LABEL`] and, as
    /// [`APPLIED_AT_ANNOTATION`], `applied_at` (when given).
    pub fn parent_manifest(
        &self,
        group_kinds: &BTreeSet<String>,
        namespaces: &BTreeSet<String>,
        source: Option<&str>,
        applied_at: Option<&str>,
    ) -> String {
        let join = |s: &mut dyn Iterator<Item = &String>| {
            s.map(String::as_str).collect::<Vec<_>>().join(",")
        };
        let gks = join(&mut group_kinds.iter());
        let nss = join(&mut namespaces.iter().filter(|n| **n != self.namespace));
        let q = |s: &str| serde_json::to_string(s).expect("strings serialize");
        let mut out = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n  namespace: {}\n  labels:\n    {ID_LABEL}: {}\n    {PROJECT_LABEL}: {}\n    kit.dev/environment: {}\n    kit.dev/cluster: {}\n  annotations:\n    {TOOLING_ANNOTATION}: {}\n    {GROUP_KINDS_ANNOTATION}: {}\n    {NAMESPACES_ANNOTATION}: {}\n",
            q(&self.parent),
            q(&self.namespace),
            q(&self.id),
            q(&self.project),
            q(&self.environment),
            q(&self.cluster),
            q(TOOLING),
            q(&gks),
            q(&nss),
        );
        if let Some(s) = source {
            out.push_str(&format!("    {SOURCE_ANNOTATION}: {}\n", q(s)));
        }
        if let Some(instance) = &self.instance {
            if let Some(t) = applied_at {
                out.push_str(&format!("    {APPLIED_AT_ANNOTATION}: {}\n", q(t)));
            }
            // A label of the parent, after its annotations: inserted
            // before `annotations:`.
            let at = out.find("  annotations:\n").expect("written above");
            out.insert_str(at, &format!("    {INSTANCE_LABEL}: {}\n", q(instance)));
        }
        out
    }
}

/// A git remote's address as one string for every way of writing it:
/// `https://github.com/org/repo.git`, `git@github.com:org/repo` and
/// `ssh://git@github.com/org/repo` are all `github.com/org/repo`.
pub fn normalize_remote(url: &str) -> String {
    let mut s = url.trim();
    if let Some((_, rest)) = s.split_once("://") {
        s = rest;
    } else if let Some((host, path)) = s.split_once(':')
        && !host.contains('/')
    {
        // scp-like `user@host:path`.
        let host = host.rsplit('@').next().unwrap_or(host);
        let path = path.trim_start_matches('/');
        return normalize_tail(&format!("{}/{path}", host.to_ascii_lowercase()));
    }
    let s = s.rsplit_once('@').map_or(s, |(_, r)| r);
    let (host, path) = s.split_once('/').unwrap_or((s, ""));
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    normalize_tail(&format!("{host}/{path}"))
}

fn normalize_tail(s: &str) -> String {
    let s = s.trim_end_matches('/');
    s.strip_suffix(".git").unwrap_or(s).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_specification() {
        // sha256("kit.shop.production.eu-1.default.ConfigMap.") in
        // unpadded URL-safe base64, between the spec's prefix and suffix.
        let inv = Inventory::new("shop", "default", "production", "eu-1").unwrap();
        let digest = Sha256::digest(b"kit.shop.production.eu-1.default.ConfigMap.");
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        assert_eq!(inv.id, format!("applyset-{b64}-v1"));
        assert_eq!(b64.len(), 43);
        // A label value: at most 63 characters.
        assert!(inv.id.len() <= 63, "{}", inv.id);
        assert_ne!(
            inv.id,
            Inventory::new("shop2", "default", "production", "eu-1")
                .unwrap()
                .id
        );
    }

    #[test]
    fn names_that_cannot_name_a_configmap_are_refused() {
        let e = Inventory::new("Shop", "default", "p", "c").unwrap_err();
        assert_eq!(e.what, "project name");
        assert!(Inventory::new("shop.x", "default", "p", "c").is_err());
        assert!(Inventory::new("shop", "default", "prod_1", "c").is_err());
        assert!(Inventory::new("shop", "default", "p", "c").is_ok());
    }

    #[test]
    fn group_kinds_and_remotes() {
        assert_eq!(group_kind("apps/v1", "Deployment"), "Deployment.apps");
        assert_eq!(group_kind("v1", "Service"), "Service");
        for u in [
            "https://github.com/org/repo.git",
            "git@github.com:org/repo",
            "ssh://git@GitHub.com/org/repo.git/",
            "https://token@github.com/org/repo",
        ] {
            assert_eq!(normalize_remote(u), "github.com/org/repo", "{u}");
        }
        assert_eq!(normalize_remote("/srv/git/config.git"), "/srv/git/config");
    }

    #[test]
    fn the_parent_lists_kinds_and_other_namespaces_sorted() {
        let inv = Inventory::new("shop", "default", "p", "c").unwrap();
        let gks: BTreeSet<String> = ["Service", "Deployment.apps"].map(String::from).into();
        let nss: BTreeSet<String> = ["shop", "default", "a"].map(String::from).into();
        let m = inv.parent_manifest(&gks, &nss, Some("github.com/org/repo/deploy"), Some("t"));
        assert!(
            m.contains("    applyset.kubernetes.io/contains-group-kinds: \"Deployment.apps,Service\"\n    applyset.kubernetes.io/additional-namespaces: \"a,shop\"\n    kit.dev/source: \"github.com/org/repo/deploy\"\n"),
            "{m}"
        );
        assert!(!m.contains("instance") && !m.contains("applied-at"), "{m}");
        let m = inv.of_instance("pr-7").unwrap().parent_manifest(
            &gks,
            &nss,
            None,
            Some("2026-12-07T18:00:00Z"),
        );
        assert!(
            m.contains(
                "    kit.dev/cluster: \"c\"\n    kit.dev/instance: \"pr-7\"\n  annotations:\n"
            ),
            "{m}"
        );
        assert!(
            m.ends_with("    kit.dev/applied-at: \"2026-12-07T18:00:00Z\"\n"),
            "{m}"
        );
        assert!(m.contains("  name: \"kit.shop.p.pr-7.c\"\n"), "{m}");
    }
}
