//! The inventory on a cluster (kubectl's ApplySet, see
//! [`kit_project::inventory`]): reading its parent, listing its members,
//! pruning and deleting them. Only objects carrying this inventory's id are
//! ever listed, so another project's objects are never seen, whatever their
//! other labels say.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kit_project::inventory::{
    self, CREATED_BY_LABEL, GROUP_KINDS_ANNOTATION, ID_LABEL, Inventory, NAMESPACES_ANNOTATION,
    SOURCE_ANNOTATION, TOOLING_ANNOTATION,
};
use kit_project::{ObjectRef, Project};

use crate::diagnostics::Failure;
use crate::exit::Code;

use super::Kube;

/// The parent as it is on the cluster.
#[derive(Debug, Default)]
pub struct Parent {
    pub group_kinds: BTreeSet<String>,
    pub namespaces: BTreeSet<String>,
}

fn split_list(v: Option<&str>) -> BTreeSet<String> {
    v.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn ownership(inv: &Inventory, context: &str, why: String) -> Failure {
    Failure::new(
        Code::Inventory,
        format!(
            "the inventory ConfigMap {}/{} on context {context} {why}; kit changes nothing there",
            inv.namespace, inv.parent
        ),
    )
}

/// Reads the parent of `inv`; `None` when it does not exist yet. Refuses
/// one that another tool manages, whose id does not match its name, or that
/// another project (by `source`, when both are known) wrote.
pub fn read_parent(
    kube: Kube<'_>,
    inv: &Inventory,
    source: Option<&str>,
) -> Result<Option<Parent>, Failure> {
    let said = kube.capture(
        &[
            "get",
            "configmap",
            &inv.parent,
            "--namespace",
            &inv.namespace,
            "--ignore-not-found",
            "-o",
            "json",
        ],
        None,
    )?;
    if said.code != 0 {
        return Err(Failure::new(
            Code::Input,
            format!(
                "cannot read the inventory ConfigMap {}/{} on context {}: {}",
                inv.namespace,
                inv.parent,
                kube.context,
                said.why()
            ),
        )
        .with_hint("check the context and your access (kubectl get configmaps -n NAMESPACE)"));
    }
    if said.stdout.trim().is_empty() {
        return Ok(None);
    }
    let v: serde_json::Value = serde_json::from_str(&said.stdout).map_err(|e| {
        Failure::new(
            Code::Input,
            format!("kubectl get -o json gave no JSON: {e}"),
        )
    })?;
    check_parent(kube, &v, inv, source).map(Some)
}

/// Refuses a parent (as JSON) that another tool manages, whose id does not
/// match its name, or that another project wrote.
pub fn check_parent(
    kube: Kube<'_>,
    v: &serde_json::Value,
    inv: &Inventory,
    source: Option<&str>,
) -> Result<Parent, Failure> {
    let label = |k: &str| v["metadata"]["labels"][k].as_str();
    let note = |k: &str| v["metadata"]["annotations"][k].as_str();
    let tooling = note(TOOLING_ANNOTATION).unwrap_or("");
    if !tooling.starts_with("kit/") {
        return Err(ownership(
            inv,
            kube.context,
            format!(
                "is not kit's (tooling {:?})",
                kit_env::layout::printable(tooling).to_string()
            ),
        )
        .with_hint("choose another `name:` or `inventory_namespace:` in kit.yaml"));
    }
    if label(ID_LABEL) != Some(inv.id.as_str()) {
        return Err(ownership(
            inv,
            kube.context,
            "has an id that does not match its name".into(),
        )
        .with_hint("someone edited its applyset.kubernetes.io/id label: restore it, or delete the ConfigMap after checking what it lists"));
    }
    if let (Some(theirs), Some(ours)) = (note(SOURCE_ANNOTATION), source)
        && theirs != ours
    {
        return Err(ownership(
            inv,
            kube.context,
            format!(
                "belongs to the project of {} (this one is {})",
                kit_env::layout::printable(theirs),
                kit_env::layout::printable(ours)
            ),
        )
        .with_hint(format!(
            "two projects chose the name '{}': give this one another `name:` in kit.yaml (if the project moved, remove the old source: kubectl annotate configmap -n {} {} {SOURCE_ANNOTATION}-)",
            inv.project, inv.namespace, inv.parent
        )));
    }
    Ok(Parent {
        group_kinds: split_list(note(GROUP_KINDS_ANNOTATION)),
        namespaces: split_list(note(NAMESPACES_ANNOTATION)),
    })
}

/// The group-kinds and namespaces of `objects`.
pub fn scope_of(objects: &[ObjectRef]) -> (BTreeSet<String>, BTreeSet<String>) {
    let gks = objects
        .iter()
        .map(|o| inventory::group_kind(&o.api_version, &o.kind))
        .collect();
    let nss = objects.iter().filter_map(|o| o.namespace.clone()).collect();
    (gks, nss)
}

/// `Kind.group` as kubectl takes a resource type (`deployment.apps`).
pub fn resource_of_gk(gk: &str) -> String {
    match gk.split_once('.') {
        Some((kind, group)) => format!("{}.{group}", kind.to_ascii_lowercase()),
        None => gk.to_ascii_lowercase(),
    }
}

/// An object of the inventory, live.
#[derive(Debug, Clone)]
pub struct Member {
    pub object: ObjectRef,
    /// Its `kit.dev/service` label.
    pub service: Option<String>,
    /// Whether it is a Namespace kit created (only those are deleted, and
    /// only by `kit delete`).
    pub created_namespace: bool,
}

/// Every live object of `group_kinds` carrying `inv`'s id.
pub fn members(
    kube: Kube<'_>,
    inv: &Inventory,
    group_kinds: &BTreeSet<String>,
) -> Result<Vec<Member>, Failure> {
    if group_kinds.is_empty() {
        return Ok(Vec::new());
    }
    let kinds = group_kinds
        .iter()
        .map(|g| resource_of_gk(g))
        .collect::<Vec<_>>()
        .join(",");
    let selector = format!("{}={}", inventory::PART_OF_LABEL, inv.id);
    let said = kube.list(&kinds, &selector)?;
    if said.code != 0 {
        return Err(Failure::new(
            Code::Input,
            format!(
                "cannot list the objects of inventory {}/{} on context {}: {}",
                inv.namespace,
                inv.parent,
                kube.context,
                said.why()
            ),
        ));
    }
    let list: serde_json::Value = serde_json::from_str(&said.stdout).map_err(|e| {
        Failure::new(
            Code::Input,
            format!("kubectl get -o json gave no JSON: {e}"),
        )
    })?;
    let mut out = Vec::new();
    for item in list["items"].as_array().into_iter().flatten() {
        let field = |p: &str| item.pointer(p).and_then(|v| v.as_str()).map(str::to_owned);
        let (Some(api_version), Some(kind), Some(name)) = (
            field("/apiVersion"),
            field("/kind"),
            field("/metadata/name"),
        ) else {
            continue;
        };
        // The label selector chose them; the id is checked again all the
        // same (the specification asks tools to verify before deleting).
        if item["metadata"]["labels"][inventory::PART_OF_LABEL].as_str() != Some(inv.id.as_str()) {
            continue;
        }
        let created_namespace = kind == "Namespace"
            && item["metadata"]["labels"][CREATED_BY_LABEL].as_str() == Some(inv.id.as_str());
        out.push(Member {
            object: ObjectRef {
                api_version,
                kind,
                namespace: field("/metadata/namespace"),
                name,
            },
            service: item["metadata"]["labels"]["kit.dev/service"]
                .as_str()
                .map(str::to_owned),
            created_namespace,
        });
    }
    out.sort_by(|a, b| a.object.cmp(&b.object));
    Ok(out)
}

/// Namespaces kit created for `inv` (marked so), whether rendered or made
/// by `--create-namespace`.
pub fn created_namespaces(kube: Kube<'_>, inv: &Inventory) -> Result<Vec<String>, Failure> {
    let selector = format!("{CREATED_BY_LABEL}={}", inv.id);
    let said = kube.capture(&["get", "namespaces", "-l", &selector, "-o", "name"], None)?;
    if said.code != 0 {
        return Err(Failure::new(
            Code::Input,
            format!(
                "cannot list namespaces on context {}: {}",
                kube.context,
                said.why()
            ),
        ));
    }
    Ok(said
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("namespace/"))
        .map(str::to_owned)
        .collect())
}

/// Group, kind, namespace and name: an object whatever version names it.
pub fn identity(o: &ObjectRef) -> (String, Option<String>, String) {
    (
        inventory::group_kind(&o.api_version, &o.kind),
        o.namespace.clone(),
        o.name.clone(),
    )
}

/// Deletes `objects`, one kubectl per namespace, saying each with `verb`
/// (`pruning`, `deleting`); returns 0 or the first failing kubectl's code.
pub fn delete(kube: Kube<'_>, objects: &[ObjectRef], verb: &str) -> Result<i32, Failure> {
    let mut by_ns: BTreeMap<Option<&str>, Vec<String>> = BTreeMap::new();
    for o in objects {
        crate::output::say!(
            "kit: {verb} {} (context {})",
            crate::output::shown(o),
            kube.context
        );
        let res = resource_of_gk(&inventory::group_kind(&o.api_version, &o.kind));
        by_ns
            .entry(o.namespace.as_deref())
            .or_default()
            .push(format!("{res}/{}", o.name));
    }
    for (ns, names) in by_ns {
        let mut args: Vec<&str> = vec!["delete", "--ignore-not-found"];
        if let Some(ns) = ns {
            args.extend(["--namespace", ns]);
        }
        args.extend(names.iter().map(String::as_str));
        let said = kube.capture(&args, None)?;
        crate::output::err(&said.stderr);
        crate::output::out(said.stdout.as_bytes())?;
        if said.code != 0 {
            return Ok(said.code);
        }
    }
    Ok(0)
}

/// The error for a command that needs the project's `name:`.
pub fn no_name_for(what: &str) -> Failure {
    Failure::new(
        Code::Usage,
        format!("{what} needs the project's identity: kit.yaml has no `name:`"),
    )
    .with_hint("add `name: <project>` (a DNS label, unique per cluster) to kit.yaml and apply once: kit then keeps an inventory of what it applied on each cluster, and prunes and deletes only from it")
}

/// Where the project's files come from, to tell two projects that chose
/// one name apart: its git remote's address and its folder in the
/// repository (`None` outside a git checkout or without a remote).
pub fn project_source(project: &Project) -> Option<String> {
    let repo = kit_project::release::git::Repo::open(&project.dir).ok()?;
    let url = repo.remote_url()?;
    let folder = repo.repo_path(Path::new(""));
    let folder = folder.trim_end_matches('/');
    let base = kit_project::inventory::normalize_remote(&url);
    Some(if folder.is_empty() {
        base
    } else {
        format!("{base}/{folder}")
    })
}

/// One instance's inventory found on a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveInstance {
    /// Its inventory (parent and id, recomputed from the instance's name,
    /// so a ConfigMap that only looks like one is never taken for it).
    pub inventory: Inventory,
    /// When the parent was created (UTC, RFC 3339), as the API server says.
    pub created: Option<String>,
    /// When kit last applied the instance ([`inventory::APPLIED_AT_ANNOTATION`]).
    pub applied_at: Option<String>,
}

/// The instances of `environment` with an inventory on the cluster of
/// `base` (an inventory of the environment without instance, on that
/// cluster): the parents labelled with the project, the environment and an
/// instance, each checked as [`read_parent`] checks (kit's, id matching its
/// name, the same project source), in name order. A label that is not an
/// instance name is skipped with a warning.
pub fn live_instances(
    kube: Kube<'_>,
    base: &Inventory,
    source: Option<&str>,
) -> Result<Vec<LiveInstance>, Failure> {
    let selector = format!(
        "{}={},{}={},{}",
        inventory::PROJECT_LABEL,
        base.project,
        kit_project::TARGET_LABELS[0],
        base.environment,
        inventory::INSTANCE_LABEL
    );
    let said = kube.capture(
        &[
            "get",
            "configmaps",
            "--namespace",
            &base.namespace,
            "-l",
            &selector,
            "-o",
            "json",
        ],
        None,
    )?;
    if said.code != 0 {
        return Err(Failure::new(
            Code::Input,
            format!(
                "cannot list the inventories of {}'s instances on context {}: {}",
                base.environment,
                kube.context,
                said.why()
            ),
        )
        .with_hint("check the context and your access (kubectl get configmaps -n NAMESPACE)"));
    }
    let list: serde_json::Value = serde_json::from_str(&said.stdout).map_err(|e| {
        Failure::new(
            Code::Input,
            format!("kubectl get -o json gave no JSON: {e}"),
        )
    })?;
    let mut out = Vec::new();
    for item in list["items"].as_array().into_iter().flatten() {
        let meta = &item["metadata"];
        let Some(name) = meta["labels"][inventory::INSTANCE_LABEL].as_str() else {
            continue;
        };
        let inv = match kit_project::check_instance_name(name)
            .ok()
            .and_then(|()| base.clone().of_instance(name).ok())
        {
            Some(inv) if meta["name"].as_str() == Some(inv.parent.as_str()) => inv,
            _ => {
                eprintln!(
                    "warning: ConfigMap {}/{} on context {} is labelled as an instance of {} but is not one's inventory: skipped",
                    base.namespace,
                    kit_env::layout::printable(meta["name"].as_str().unwrap_or("")),
                    kube.context,
                    base.environment
                );
                continue;
            }
        };
        // The same checks as before any change to it.
        check_parent(kube, item, &inv, source)?;
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        out.push(LiveInstance {
            created: text(&meta["creationTimestamp"]),
            applied_at: text(&meta["annotations"][inventory::APPLIED_AT_ANNOTATION]),
            inventory: inv,
        });
    }
    out.sort_by(|a, b| a.inventory.parent.cmp(&b.inventory.parent));
    Ok(out)
}
