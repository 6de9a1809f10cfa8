//! `kit status --live`: per service and cluster, the released image against
//! what runs, and whether it is healthy. Objects are found by the project's
//! inventory id when kit.yaml has a `name:` (so another project's objects
//! never count), else by kit's target labels. One cluster that cannot be
//! read is a row of its own; the others are still shown.

use std::collections::{BTreeMap, BTreeSet};

use kit_project::Project;
use kit_project::inventory::Inventory;
use serde_json::Value;

use super::applyset::{self, Kube};
use super::kubectl::find_program;
use super::release::StatusArgs;
use crate::diagnostics::Failure;
use crate::exit::Code;
use crate::flags::ListFormat;

/// One row.
#[derive(Debug, serde::Serialize)]
struct Row {
    environment: String,
    cluster: String,
    service: String,
    context: String,
    released: Option<String>,
    live: Vec<String>,
    /// Ready over desired, summed over the service's workloads (`2/2`).
    ready: Option<String>,
    state: &'static str,
    /// Why the state is not `ok`, in words.
    reason: Option<String>,
}

/// Workload kinds whose health kit reads.
const WORKLOADS: &str =
    "deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch,pods";
/// What a service without workloads is judged by, without an inventory.
const OTHERS: &str = "services,configmaps,secrets";

/// A workload's health: (ready, desired, problem).
fn health(item: &Value) -> (u64, u64, Option<String>) {
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
pub(super) fn images(item: &Value) -> Vec<String> {
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
pub(super) struct Live {
    /// service -> its workloads.
    pub(super) workloads: BTreeMap<String, Vec<Value>>,
    /// Services with any object at all.
    present: BTreeSet<String>,
}

pub(super) fn read(
    kube: Kube<'_>,
    inv: Option<&Inventory>,
    env: &str,
    cluster: &str,
) -> Result<Live, String> {
    let (kinds, selector) = match inv {
        Some(inv) => {
            let mut kinds: BTreeSet<String> = WORKLOADS.split(',').map(str::to_owned).collect();
            match applyset::read_parent(kube, inv, None) {
                Ok(Some(p)) => {
                    kinds.extend(p.group_kinds.iter().map(|gk| applyset::resource_of_gk(gk)))
                }
                Ok(None) => {}
                Err(f) => return Err(f.message),
            }
            kinds.remove("namespace");
            (
                kinds.into_iter().collect::<Vec<_>>().join(","),
                format!("{}={}", kit_project::inventory::PART_OF_LABEL, inv.id),
            )
        }
        None => {
            let [e, c, _] = kit_project::TARGET_LABELS;
            (
                format!("{WORKLOADS},{OTHERS}"),
                format!("{e}={env},{c}={cluster}"),
            )
        }
    };
    let said = kube
        .capture(
            &[
                "get",
                &kinds,
                "--all-namespaces",
                "-l",
                &selector,
                "-o",
                "json",
            ],
            None,
        )
        .map_err(|f| f.message)?;
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
    let list: Value = serde_json::from_str(&said.stdout)
        .map_err(|e| format!("kubectl get -o json gave no JSON: {e}"))?;
    let service_label = kit_project::TARGET_LABELS[2];
    let mut live = Live::default();
    for item in list["items"].as_array().into_iter().flatten() {
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

/// `kit status --live`: (output, exit code). Exit 0: everything runs what
/// is released and is healthy; 1: drift (other images, objects missing,
/// or objects of services the cluster no longer runs); 8: a workload is
/// not ready; 11: a cluster could not be read. The highest wins:
/// unreachable, then drift, then unhealthy.
pub fn status(args: &StatusArgs) -> Result<(Vec<u8>, u8), Failure> {
    let project = Project::load(&args.project.project)?;
    let targets = project.plan(&kit_project::Selection::All {
        environment: args.environment.clone(),
    })?;
    for c in &args.clusters {
        if !targets.targets.iter().any(|t| &t.cluster == c) {
            return Err(Failure::new(
                Code::Input,
                format!("no environment has a cluster '{c}'"),
            ));
        }
    }
    let program = find_program(&args.kubectl)?;
    let mut clusters: Vec<(String, String)> = Vec::new();
    for t in &targets.targets {
        let c = (t.environment.clone(), t.cluster.clone());
        if !clusters.contains(&c) && (args.clusters.is_empty() || args.clusters.contains(&c.1)) {
            clusters.push(c);
        }
    }
    // Every cluster named before any is read; then read, up to
    // --parallel at once.
    let mut reads = Vec::new();
    for (env, cluster) in clusters {
        let context = project.context(&env, &cluster).ok_or_else(|| {
            Failure::new(
                Code::Usage,
                format!("cluster '{env}/{cluster}' has no context in kit.yaml"),
            )
            .with_hint("kit status --live reads each cluster through its `context:`")
        })?;
        let inv = project
            .inventory(&env, &cluster)
            .map_err(|e| Failure::from(kit_project::RenderError::from(e)))?;
        reads.push((env, cluster, context, inv));
    }
    let lives = crate::fleet::run(
        &reads,
        args.fleet.parallel,
        |_| false,
        |(env, cluster, context, inv)| {
            let kube = Kube {
                program: &program,
                context,
            };
            read(kube, inv.as_ref(), env, cluster)
        },
    );
    let mut rows: Vec<Row> = Vec::new();
    for ((env, cluster, context, _), live) in reads.iter().zip(lives) {
        let (env, cluster, context) = (env.clone(), cluster.clone(), *context);
        let live = live.expect("nothing stops reading");
        let services: Vec<&str> = targets
            .targets
            .iter()
            .filter(|t| t.environment == env && t.cluster == cluster)
            .map(|t| t.service.as_str())
            .collect();
        let row = |service: &str, released: Option<String>| Row {
            environment: env.clone(),
            cluster: cluster.clone(),
            service: service.to_owned(),
            context: context.to_owned(),
            released,
            live: Vec::new(),
            ready: None,
            state: "ok",
            reason: None,
        };
        let released = |svc: &str| -> Result<Option<String>, Failure> {
            Ok(project.released_image(&env, svc, &cluster)?)
        };
        let live = match live {
            Ok(l) => l,
            Err(why) => {
                for svc in &services {
                    rows.push(Row {
                        state: "unreachable",
                        reason: Some(why.clone()),
                        ..row(svc, released(svc)?)
                    });
                }
                continue;
            }
        };
        for svc in &services {
            let mut r = row(svc, released(svc)?);
            let workloads = live.workloads.get(*svc).map(Vec::as_slice).unwrap_or(&[]);
            let mut imgs: Vec<String> = workloads.iter().flat_map(images).collect();
            imgs.sort();
            imgs.dedup();
            r.live = imgs;
            let (mut ready, mut want, mut problems) = (0, 0, Vec::new());
            for w in workloads {
                let (a, b, p) = health(w);
                ready += a;
                want += b;
                problems.extend(p);
            }
            if want > 0 || !workloads.is_empty() {
                r.ready = Some(format!("{ready}/{want}"));
            }
            let image_ok = |img: &String| workloads.iter().all(|w| images(w).contains(img));
            (r.state, r.reason) = if !live.present.contains(*svc) {
                (
                    "missing",
                    Some("nothing of it runs on the cluster".to_owned()),
                )
            } else if let Some(img) = &r.released
                && !workloads.is_empty()
                && !image_ok(img)
            {
                (
                    "drift",
                    Some("the images running are not the released one".to_owned()),
                )
            } else if !problems.is_empty() {
                ("unhealthy", Some(problems.join("; ")))
            } else {
                ("ok", None)
            };
            rows.push(r);
        }
        // Services the cluster no longer runs (removed from kit.yaml or
        // disabled there) whose objects are still on it: prune deletes them.
        for svc in live
            .present
            .iter()
            .filter(|s| !services.contains(&s.as_str()))
        {
            rows.push(Row {
                state: "left behind",
                reason: Some(
                    "not in kit.yaml for this cluster: kit apply --prune deletes it".into(),
                ),
                live: live
                    .workloads
                    .get(svc)
                    .into_iter()
                    .flatten()
                    .flat_map(images)
                    .collect(),
                ..row(svc, None)
            });
        }
    }
    let has = |s: &str| rows.iter().any(|r| r.state == s);
    let code = if has("unreachable") {
        Code::Unreachable as u8
    } else if has("drift") || has("missing") || has("left behind") {
        1
    } else if has("unhealthy") {
        Code::NotReady as u8
    } else {
        0
    };
    let out = match args.format.format {
        ListFormat::Json => serde_json::to_string_pretty(&rows).expect("rows serialize") + "\n",
        ListFormat::Table => table(&rows),
    };
    Ok((out.into_bytes(), code))
}

fn table(rows: &[Row]) -> String {
    let p = |s: &str| kit_env::layout::printable(s).to_string();
    let head = [
        "ENVIRONMENT",
        "CLUSTER",
        "SERVICE",
        "RELEASED",
        "LIVE",
        "READY",
        "STATE",
    ]
    .map(String::from);
    let table: Vec<[String; 7]> = std::iter::once(head)
        .chain(rows.iter().map(|r| {
            [
                p(&r.environment),
                p(&r.cluster),
                p(&r.service),
                r.released.as_deref().map_or("-".into(), p),
                if r.live.is_empty() {
                    "-".into()
                } else {
                    p(&r.live.join(","))
                },
                r.ready.clone().unwrap_or_else(|| "-".into()),
                match &r.reason {
                    Some(why) if r.state != "ok" => format!("{}: {}", r.state, p(why)),
                    _ => r.state.to_owned(),
                },
            ]
        }))
        .collect();
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            table
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in &table {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
