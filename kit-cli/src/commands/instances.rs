//! `kit status -e ENVIRONMENT` for an environment of instances: the live
//! instances, found on each cluster from their inventories (the parents
//! labelled with the project, the environment and an instance), with the
//! services and images each runs, its age and its last apply.

use kit_project::Project;

use crate::diagnostics::Failure;
use crate::exit::Code;
use crate::flags::{ListFormat, StatusArgs};
use crate::kube::inventory::{live_instances, project_source};
use crate::kube::workloads::{health, images, read};
use crate::kube::{Kube, find_program};

/// One instance on one cluster.
#[derive(Debug, serde::Serialize)]
struct Row {
    environment: String,
    instance: String,
    cluster: String,
    context: String,
    /// When its inventory was created (UTC, RFC 3339).
    created: Option<String>,
    /// When kit last applied it (UTC, RFC 3339).
    applied_at: Option<String>,
    /// Seconds since `created`.
    age_seconds: Option<u64>,
    services: Vec<Service>,
    /// Why the cluster could not be read.
    unreachable: Option<String>,
}

/// One service of an instance.
#[derive(Debug, serde::Serialize)]
struct Service {
    service: String,
    images: Vec<String>,
    /// Ready over desired, summed over its workloads.
    ready: String,
}

/// Whether `kit status` lists instances: `-e` names an environment of
/// instances.
pub fn lists_instances(args: &StatusArgs) -> Result<bool, Failure> {
    let Some(e) = &args.environment.environment else {
        return Ok(false);
    };
    let project = Project::load(&args.project.project)?;
    project.environment(e)?;
    Ok(project.instances_of(e).is_some())
}

/// The live instances of `-e`'s environment on each of its clusters (or
/// `-c`'s): (output, exit code), 11 when a cluster could not be read (the
/// others are still listed), else 0.
pub fn status(args: &StatusArgs) -> Result<(Vec<u8>, u8), Failure> {
    let project = Project::load(&args.project.project)?;
    let ename = args
        .environment
        .environment
        .as_deref()
        .expect("lists_instances checked it");
    let clusters = project.clusters_of(ename, &args.cluster.clusters)?;
    let program = find_program(&args.kubectl.kubectl)?;
    let source = project_source(&project);
    let mut reads = Vec::new();
    for cluster in &clusters {
        let context = project.context(ename, cluster).ok_or_else(|| {
            Failure::new(
                Code::Usage,
                format!("cluster '{ename}/{cluster}' has no context in kit.yaml"),
            )
            .with_hint("kit status reads each cluster of an environment of instances through its `context:`")
        })?;
        let base = project
            .inventory(ename, None, cluster)
            .map_err(|e| Failure::from(kit_project::RenderError::from(e)))?
            .expect("an environment of instances needs the project's name");
        reads.push((cluster.clone(), context.to_owned(), base));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let read_cluster = |(cluster, context, base): &(String, String, _)| {
        let kube = Kube {
            program: &program,
            context,
        };
        let mut rows = Vec::new();
        for live in live_instances(kube, base, source.as_deref()).map_err(|f| f.message)? {
            let workloads = read(kube, Some(&live.inventory), ename, cluster)?;
            let services = workloads
                .present
                .iter()
                .map(|svc| {
                    let ws = workloads
                        .workloads
                        .get(svc)
                        .map(Vec::as_slice)
                        .unwrap_or(&[]);
                    let mut imgs: Vec<String> = ws.iter().flat_map(images).collect();
                    imgs.sort();
                    imgs.dedup();
                    let (ready, want) = ws.iter().fold((0, 0), |(a, b), w| {
                        let (r, d, _) = health(w);
                        (a + r, b + d)
                    });
                    Service {
                        service: svc.clone(),
                        images: imgs,
                        ready: format!("{ready}/{want}"),
                    }
                })
                .collect();
            let created = live.created.clone();
            rows.push(Row {
                environment: ename.to_owned(),
                instance: live.inventory.instance.clone().unwrap_or_default(),
                cluster: cluster.clone(),
                context: context.clone(),
                age_seconds: created
                    .as_deref()
                    .and_then(kit_project::release::time::parse_utc)
                    .map(|t| now.saturating_sub(t)),
                created,
                applied_at: live.applied_at,
                services,
                unreachable: None,
            });
        }
        Ok::<_, String>(rows)
    };
    let results = crate::fleet::run(&reads, args.fleet.parallel, |_| false, read_cluster);
    let mut rows = Vec::new();
    let mut code = 0;
    for ((cluster, context, _), r) in reads.iter().zip(results) {
        match r.expect("nothing stops reading") {
            Ok(found) => rows.extend(found),
            Err(why) => {
                code = Code::Unreachable as u8;
                rows.push(Row {
                    environment: ename.to_owned(),
                    instance: String::new(),
                    cluster: cluster.clone(),
                    context: context.clone(),
                    created: None,
                    applied_at: None,
                    age_seconds: None,
                    services: Vec::new(),
                    unreachable: Some(why),
                });
            }
        }
    }
    rows.sort_by(|a, b| (&a.instance, &a.cluster).cmp(&(&b.instance, &b.cluster)));
    let out = match args.format.format() {
        ListFormat::Json => serde_json::to_string_pretty(&rows).expect("rows serialize") + "\n",
        ListFormat::Table => table(&rows),
    };
    Ok((out.into_bytes(), code))
}

/// `3d4h`, `5h12m`, `42m`, `30s`: the two largest units, as kubectl writes
/// ages.
fn age(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m"),
        (0, _, 0) => format!("{h}h"),
        (0, _, _) => format!("{h}h{m}m"),
        (_, 0, _) => format!("{d}d"),
        _ => format!("{d}d{h}h"),
    }
}

fn table(rows: &[Row]) -> String {
    let p = |s: &str| kit_env::layout::printable(s).to_string();
    let head = ["INSTANCE", "CLUSTER", "AGE", "LAST APPLY", "SERVICES"].map(String::from);
    let cells: Vec<[String; 5]> = std::iter::once(head)
        .chain(rows.iter().map(|r| match &r.unreachable {
            Some(why) => [
                "-".into(),
                p(&r.cluster),
                "-".into(),
                "-".into(),
                format!("unreachable: {}", p(why)),
            ],
            None => [
                p(&r.instance),
                p(&r.cluster),
                r.age_seconds.map_or("-".into(), age),
                r.applied_at.as_deref().map_or("-".into(), p),
                if r.services.is_empty() {
                    "-".into()
                } else {
                    r.services
                        .iter()
                        .map(|s| {
                            format!(
                                "{}={} ({})",
                                p(&s.service),
                                if s.images.is_empty() {
                                    "-".into()
                                } else {
                                    p(&s.images.join(","))
                                },
                                s.ready
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                },
            ],
        }))
        .collect();
    crate::output::columns(&cells)
}

#[cfg(test)]
mod tests {
    use super::age;

    #[test]
    fn ages_read_like_kubectls() {
        let cases = [
            (30, "30s"),
            (42 * 60 + 5, "42m"),
            (5 * 3600, "5h"),
            (5 * 3600 + 12 * 60, "5h12m"),
            (3 * 86_400 + 4 * 3600, "3d4h"),
            (2 * 86_400 + 59, "2d"),
        ];
        for (secs, want) in cases {
            assert_eq!(age(secs), want, "{secs}");
        }
    }
}
