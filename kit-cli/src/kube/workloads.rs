//! What a cluster runs of the project: its workloads by service, their
//! health (ready over desired, rollout state) and images, read with one
//! `kubectl get` per cluster (by the inventory id when the project has a
//! name, else by kit's target labels).

use std::collections::{BTreeMap, BTreeSet};

use kit_project::inventory::Inventory;
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
            // The parent names the kinds the inventory holds; most are
            // among the workloads, services and config maps, so those are
            // listed meanwhile (one round trip instead of two), and only
            // kinds beyond them after. Secrets only when the inventory holds
            // some: listing them in every namespace is a permission many
            // roles do not have.
            let selector = format!("{}={}", kit_project::inventory::PART_OF_LABEL, inv.id);
            let first = format!("{WORKLOADS},{SPECULATIVE}");
            let (parent, listed) = std::thread::scope(|scope| {
                let parent = scope.spawn(|| applyset::read_parent(kube, inv, None));
                let listed = list_items(kube, &first, &selector);
                (
                    parent.join().expect("reading the parent does not panic"),
                    listed,
                )
            });
            let known: BTreeSet<String> = first.split(',').map(as_the_parent_names).collect();
            let extra: Vec<String> = match parent {
                Ok(Some(p)) => p
                    .group_kinds
                    .iter()
                    .map(|gk| applyset::resource_of_gk(gk))
                    .filter(|r| r != "namespace" && !known.contains(r))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                Ok(None) => Vec::new(),
                Err(f) => return Err(f.message),
            };
            let mut items = listed?;
            if !extra.is_empty() {
                items.extend(list_items(kube, &extra.join(","), &selector)?);
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
