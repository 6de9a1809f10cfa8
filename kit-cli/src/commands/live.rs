//! `kit status --live`: per service and cluster, the released image against
//! what runs, and whether it is healthy. Objects are found by the project's
//! inventory id when kit.yaml has a `name:` (so another project's objects
//! never count), else by kit's target labels. One cluster that cannot be
//! read is a row of its own; the others are still shown.

use kit_project::Project;

use crate::diagnostics::Failure;
use crate::exit::Code;
use crate::flags::{ListFormat, StatusArgs};
use crate::kube::workloads::{health, images, read};
use crate::kube::{Kube, find_program};

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

/// `kit status --live`: (output, exit code). Exit 0: everything runs what
/// is released and is healthy; 1: drift (other images, objects missing,
/// or objects of services the cluster no longer runs); 8: a workload is
/// not ready; 11: a cluster could not be read. The highest wins:
/// unreachable, then drift, then unhealthy.
pub fn status(args: &StatusArgs) -> Result<(Vec<u8>, u8), Failure> {
    let project = Project::load(&args.project.project)?;
    let targets = project.plan(&kit_project::Selection::All {
        environment: args.environment.environment.clone(),
    })?;
    for c in &args.cluster.clusters {
        if !targets.targets.iter().any(|t| &t.cluster == c) {
            return Err(Failure::new(
                Code::Input,
                format!("no environment has a cluster '{c}'"),
            ));
        }
    }
    let program = find_program(&args.kubectl.kubectl)?;
    let mut clusters: Vec<(String, String)> = Vec::new();
    for t in &targets.targets {
        let c = (t.environment.clone(), t.cluster.clone());
        if !clusters.contains(&c)
            && (args.cluster.clusters.is_empty() || args.cluster.clusters.contains(&c.1))
        {
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
            .inventory(&env, None, &cluster)
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
    let out = match args.format.format() {
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
    crate::output::columns(&table)
}
