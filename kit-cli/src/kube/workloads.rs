//! What a cluster runs of the project: its workloads by service, their
//! health (ready over desired, rollout state) and images, read with one
//! `kubectl get` per cluster (the inventory's parent and members together
//! when the project has a name, else by kit's target labels).

use std::collections::{BTreeMap, BTreeSet};

use kit_project::inventory::{INSTANCE_LABEL, Inventory, PART_OF_LABEL, PROJECT_LABEL};
use serde_json::Value;

use super::{Kube, inventory as applyset};

/// Workload kinds whose health kit reads.
const WORKLOADS: &str =
    "deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch,pods";
/// What a service without workloads is judged by, without an inventory.
const OTHERS: &str = "services,configmaps,secrets";
/// Kinds listed with an inventory while its parent is read (see [`read`]).
const SPECULATIVE: &str = "services,configmaps";

/// A workload's health: (ready, desired, problem).
pub fn health(item: &Value) -> (u64, u64, Option<String>) {
    let kind = item["kind"].as_str().unwrap_or("");
    let name = item["metadata"]["name"].as_str().unwrap_or("?");
    let spec = &item["spec"];
    let status = &item["status"];
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let generation_seen = status["observedGeneration"].as_u64().unwrap_or(0)
        >= item["metadata"]["generation"].as_u64().unwrap_or(0);
    match kind {
        "Deployment" | "StatefulSet" => {
            let want = spec["replicas"].as_u64().unwrap_or(1);
            let ready = n(&status["readyReplicas"]);
            let updated = n(&status["updatedReplicas"]);
            let problem = if want == 0 {
                Some(format!("{kind} {name} is scaled to 0"))
            } else if !generation_seen || updated < want {
                Some(format!(
                    "{kind} {name}: rollout in progress ({updated}/{want} updated)"
                ))
            } else if ready < want {
                Some(format!("{kind} {name}: {ready}/{want} ready"))
            } else {
                None
            };
            (ready, want, problem)
        }
        "DaemonSet" => {
            let want = n(&status["desiredNumberScheduled"]);
            let ready = n(&status["numberReady"]);
            let problem = (ready < want || !generation_seen)
                .then(|| format!("DaemonSet {name}: {ready}/{want} ready"));
            (ready, want, problem)
        }
        "Job" => {
            let want = spec["completions"].as_u64().unwrap_or(1);
            let done = n(&status["succeeded"]);
            let failed = status["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Failed" && c["status"] == "True");
            let problem = if failed {
                Some(format!("Job {name} failed"))
            } else if done < want {
                Some(format!("Job {name}: {done}/{want} completed"))
            } else {
                None
            };
            (done, want, problem)
        }
        "CronJob" => {
            let suspended = spec["suspend"].as_bool().unwrap_or(false);
            (
                0,
                0,
                suspended.then(|| format!("CronJob {name} is suspended")),
            )
        }
        "Pod" => {
            let phase = status["phase"].as_str().unwrap_or("Pending");
            let ready = status["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let ok = phase == "Succeeded" || (phase == "Running" && ready);
            (
                u64::from(ok),
                1,
                (!ok).then(|| format!("Pod {name}: {phase}, not ready")),
            )
        }
        _ => (0, 0, None),
    }
}

/// The images of a workload's pod template (or pod).
pub fn images(item: &Value) -> Vec<String> {
    let pod = match item["kind"].as_str() {
        Some("CronJob") => &item["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        Some("Pod") => &item["spec"],
        _ => &item["spec"]["template"]["spec"],
    };
    pod["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str().map(str::to_owned))
        .collect()
}

/// What a cluster holds of the project, by service.
#[derive(Default)]
pub struct Live {
    /// service -> its workloads.
    pub workloads: BTreeMap<String, Vec<Value>>,
    /// Services with any object at all.
    pub present: BTreeSet<String>,
}

pub fn read(
    kube: Kube<'_>,
    inv: Option<&Inventory>,
    env: &str,
    cluster: &str,
) -> Result<Live, String> {
    let items = match inv {
        Some(inv) => {
            // One `kubectl get` when it can: the parent carries kit's
            // project, environment and cluster labels like every member, so
            // listing the workloads, services and config maps by those
            // labels finds the parent (a ConfigMap) and, beside it, the
            // members of the kinds most sets hold. Only objects with this
            // set's id count as members, whatever else their labels say;
            // kinds the parent names beyond those are listed after by that
            // id. Secrets only then, when the set holds some: listing them
            // in every namespace is a permission many roles do not have.
            let first = format!("{WORKLOADS},{SPECULATIVE}");
            let listed = list_items(kube, &first, &kit_selector(inv))?;
            let (parents, listed): (Vec<Value>, Vec<Value>) =
                listed.into_iter().partition(|v| is_parent(v, inv));
            let (parent, mut items) = match parents.first() {
                Some(p) => (
                    applyset::check_parent(kube, p, inv, None).map_err(|f| f.message)?,
                    listed
                        .into_iter()
                        .filter(|v| v["metadata"]["labels"][PART_OF_LABEL] == inv.id.as_str())
                        .collect(),
                ),
                // No parent with kit's labels: none at all, or one whose
                // labels were edited by hand. The parent is read by its
                // name and the members are listed by id, at once.
                None => match by_id(kube, inv, &first)? {
                    (Some(p), items) => (p, items),
                    (None, items) => (applyset::Parent::default(), items),
                },
            };
            let known: BTreeSet<String> = first.split(',').map(as_the_parent_names).collect();
            let extra: BTreeSet<String> = parent
                .group_kinds
                .iter()
                .map(|gk| applyset::resource_of_gk(gk))
                .filter(|r| r != "namespace" && !known.contains(r))
                .collect();
            if !extra.is_empty() {
                let extra: Vec<String> = extra.into_iter().collect();
                items.extend(list_items(kube, &extra.join(","), &id_selector(inv))?);
            }
            items
        }
        None => {
            let [e, c, _] = kit_project::TARGET_LABELS;
            list_items(
                kube,
                &format!("{WORKLOADS},{OTHERS}"),
                &format!("{e}={env},{c}={cluster}"),
            )?
        }
    };
    let service_label = kit_project::TARGET_LABELS[2];
    let mut live = Live::default();
    for item in &items {
        let Some(svc) = item["metadata"]["labels"][service_label].as_str() else {
            continue;
        };
        // Pods a controller made belong to their workload, not to the
        // service's own pods.
        let owned = item["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|o| !o.is_empty());
        live.present.insert(svc.to_owned());
        let kind = item["kind"].as_str().unwrap_or("");
        let workload = matches!(
            kind,
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob"
        ) || (kind == "Pod" && !owned);
        if workload {
            live.workloads
                .entry(svc.to_owned())
                .or_default()
                .push(item.clone());
        }
    }
    Ok(live)
}

/// The labels kit gives a set's parent and every member alike (project,
/// environment, cluster, and the instance or its absence), as a selector.
fn kit_selector(inv: &Inventory) -> String {
    let [e, c, _] = kit_project::TARGET_LABELS;
    let instance = match &inv.instance {
        Some(i) => format!("{INSTANCE_LABEL}={i}"),
        None => format!("!{INSTANCE_LABEL}"),
    };
    format!(
        "{PROJECT_LABEL}={},{e}={},{c}={},{instance}",
        inv.project, inv.environment, inv.cluster
    )
}

/// The members of the set, by its id.
fn id_selector(inv: &Inventory) -> String {
    format!("{PART_OF_LABEL}={}", inv.id)
}

/// Whether `v` is the set's parent ConfigMap (by kind, name and namespace;
/// [`applyset::check_parent`] then checks whose it is).
fn is_parent(v: &Value, inv: &Inventory) -> bool {
    v["kind"] == "ConfigMap"
        && v["metadata"]["name"] == inv.parent.as_str()
        && v["metadata"]["namespace"] == inv.namespace.as_str()
}

/// The parent read by name while the members of `kinds` are listed by id:
/// two `kubectl get` at once.
fn by_id(
    kube: Kube<'_>,
    inv: &Inventory,
    kinds: &str,
) -> Result<(Option<applyset::Parent>, Vec<Value>), String> {
    let (parent, listed) = std::thread::scope(|scope| {
        let parent = scope.spawn(|| applyset::read_parent(kube, inv, None));
        let listed = list_items(kube, kinds, &id_selector(inv));
        (
            parent.join().expect("reading the parent does not panic"),
            listed,
        )
    });
    Ok((parent.map_err(|f| f.message)?, listed?))
}

/// A resource of kit's fixed lists (`deployments.apps`, `services`) as
/// [`applyset::resource_of_gk`] names it from the parent (`deployment.apps`,
/// `service`): the lists hold only regular plurals.
fn as_the_parent_names(resource: &str) -> String {
    match resource.split_once('.') {
        Some((plural, group)) => format!("{}.{group}", plural.trim_end_matches('s')),
        None => resource.trim_end_matches('s').to_owned(),
    }
}

/// The objects of these kinds with this label selector, in every namespace.
fn list_items(kube: Kube<'_>, kinds: &str, selector: &str) -> Result<Vec<Value>, String> {
    let said = kube.list(kinds, selector).map_err(|f| f.message)?;
    if said.code != 0 {
        let why = said
            .stderr
            .lines()
            .rfind(|l| !l.trim().is_empty() && !l.starts_with("Warning:"))
            .unwrap_or("kubectl failed")
            .trim()
            .to_owned();
        return Err(kit_env::layout::printable(&why).to_string());
    }
    let mut list: Value = serde_json::from_str(&said.stdout)
        .map_err(|e| format!("kubectl get -o json gave no JSON: {e}"))?;
    Ok(match list["items"].take() {
        Value::Array(items) => items,
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_listed_first_are_named_as_the_parent_names_them() {
        let listed: Vec<String> = format!("{WORKLOADS},{SPECULATIVE}")
            .split(',')
            .map(as_the_parent_names)
            .collect();
        let from_parent: Vec<String> = [
            "Deployment.apps",
            "StatefulSet.apps",
            "DaemonSet.apps",
            "Job.batch",
            "CronJob.batch",
            "Pod",
            "Service",
            "ConfigMap",
        ]
        .iter()
        .map(|gk| applyset::resource_of_gk(gk))
        .collect();
        assert_eq!(listed, from_parent);
    }
}
