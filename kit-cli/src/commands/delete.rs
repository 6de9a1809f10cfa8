//! `kit delete`: removes what kit applied for this project on an
//! environment's clusters, from each cluster's inventory: the objects, then
//! the namespaces kit created (never one it found), then the inventory
//! itself. Nothing outside the inventory is ever touched.

use std::collections::BTreeSet;

use kit_project::{ObjectRef, Project, Selection};

use crate::diagnostics::Failure;
use crate::exit::Code;
use crate::flags::DeleteArgs;
use crate::kube::inventory::{self as applyset, no_name_for, project_source};
use crate::kube::{Kube, find_program};

/// What one inventory's delete removes, in order.
struct Plan {
    context: String,
    objects: Vec<ObjectRef>,
    namespaces: Vec<String>,
    parent: Option<kit_project::inventory::Inventory>,
}

/// What deleting `inv` on the cluster of `kube` removes (`services`: only
/// theirs; empty: everything, its created namespaces and the parent too);
/// `None` when the cluster has no such inventory.
fn plan_of(
    kube: Kube<'_>,
    inv: &kit_project::inventory::Inventory,
    services: &BTreeSet<&str>,
    source: Option<&str>,
) -> Result<Option<Plan>, Failure> {
    let what = match &inv.instance {
        Some(i) => format!("{}:{i}/{}", inv.environment, inv.cluster),
        None => format!("{}/{}", inv.environment, inv.cluster),
    };
    let Some(parent) = applyset::read_parent(kube, inv, source)? else {
        eprintln!(
            "kit: {what}: no inventory of {} (context {}): nothing to delete",
            inv.project, kube.context
        );
        return Ok(None);
    };
    let mut kinds = parent.group_kinds.clone();
    kinds.insert("Namespace".into());
    let whole = services.is_empty();
    // The members and the namespaces created for the set, read at once.
    let (members, created) = std::thread::scope(|scope| {
        let created = whole.then(|| scope.spawn(|| applyset::created_namespaces(kube, inv)));
        let members = applyset::members(kube, inv, &kinds);
        let created = created.map(|c| c.join().expect("listing namespaces never panics"));
        (members, created)
    });
    let members = members?;
    let mut objects = Vec::new();
    let mut namespaces: BTreeSet<String> = BTreeSet::new();
    for m in members {
        if m.object.kind == "Namespace" {
            if whole && m.created_namespace {
                namespaces.insert(m.object.name.clone());
            }
            continue;
        }
        if whole || m.service.as_deref().is_some_and(|s| services.contains(s)) {
            objects.push(m.object);
        }
    }
    if let Some(created) = created {
        namespaces.extend(created?);
    }
    Ok(Some(Plan {
        context: kube.context.to_owned(),
        objects,
        namespaces: namespaces.into_iter().collect(),
        parent: whole.then(|| inv.clone()),
    }))
}

pub fn delete(args: &DeleteArgs) -> Result<u8, Failure> {
    let project = Project::load(&args.project.project)?;
    if project.file.name.is_none() {
        return Err(no_name_for("kit delete"));
    }
    let ename = args.environment.required();
    project.environment(ename)?;
    let instance = args.instance.instance.as_deref();
    // Which instances: the one named, the stale ones found on each cluster
    // (--older-than), or none (the environment itself).
    match (instance, &args.older_than, project.instances_of(ename)) {
        (Some(i), _, _) => {
            project.select(&Selection::Instance {
                environment: ename.to_owned(),
                instance: i.to_owned(),
                clusters: args.cluster.clusters.clone(),
                services: Vec::new(),
            })?;
        }
        (None, Some(_), None) => {
            // --older-than is about instances.
            return Err(kit_project::ProjectError::NoInstances {
                environment: ename.to_owned(),
                known: project
                    .file
                    .environments
                    .keys()
                    .filter(|e| project.instances_of(e).is_some())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            }
            .into());
        }
        (None, None, Some(_)) => {
            project.select(&Selection::All {
                environment: Some(ename.to_owned()),
            })?;
        }
        _ => {}
    }
    let older_than = match &args.older_than {
        Some(d) => Some(super::kubectl::parse_duration("--older-than", d)?),
        None => None,
    };
    let clusters = project.clusters_of(ename, &args.cluster.clusters)?;
    let program = find_program(&args.kubectl.program.kubectl)?;
    if clusters.len() > 1 && args.kubectl.context.is_some() {
        return Err(Failure::new(
            Code::Usage,
            "--context works for a run on one cluster; this run has several",
        ));
    }
    let source = project_source(&project);
    let services: BTreeSet<&str> = args.service.services.iter().map(String::as_str).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut plans = Vec::new();
    for cluster in &clusters {
        let context = args
            .kubectl
            .context
            .clone()
            .or_else(|| project.context(ename, cluster).map(str::to_owned))
            .ok_or_else(|| {
                Failure::new(
                    Code::Usage,
                    format!(
                        "cluster '{ename}/{cluster}' has no context in kit.yaml, and no --context was given"
                    ),
                )
            })?;
        let kube = Kube {
            program: &program,
            context: &context,
        };
        let base = project
            .inventory(ename, None, cluster)
            .map_err(|e| Failure::from(kit_project::RenderError::from(e)))?
            .expect("the project has a name");
        let inventories = match (instance, older_than) {
            (Some(i), _) => vec![
                base.of_instance(i)
                    .map_err(|e| Failure::from(kit_project::RenderError::from(e)))?,
            ],
            (None, Some(age)) => {
                let cutoff = now.saturating_sub(age.as_secs());
                let mut stale = Vec::new();
                for live in applyset::live_instances(kube, &base, source.as_deref())? {
                    // The last apply, else the creation: an instance never
                    // applied since is as old as its inventory.
                    let last = live
                        .applied_at
                        .as_deref()
                        .or(live.created.as_deref())
                        .and_then(kit_project::release::time::parse_utc);
                    match last {
                        Some(t) if t <= cutoff => stale.push(live.inventory),
                        Some(_) => {}
                        None => eprintln!(
                            "warning: {ename}/{cluster}: instance {} has no readable apply or creation time (context {context}): kept",
                            live.inventory.instance.as_deref().unwrap_or("")
                        ),
                    }
                }
                if stale.is_empty() {
                    eprintln!(
                        "kit: {ename}/{cluster}: no instance older than {} (context {context})",
                        args.older_than.as_deref().unwrap_or("")
                    );
                }
                stale
            }
            (None, None) => vec![base],
        };
        for inv in inventories {
            if let Some(plan) = plan_of(kube, &inv, &services, source.as_deref())? {
                plans.push(plan);
            }
        }
    }
    let mut out = String::new();
    let mut count = 0;
    for p in &plans {
        for o in &p.objects {
            out.push_str(&format!("kit delete: {o} (context {})\n", p.context));
        }
        for ns in &p.namespaces {
            out.push_str(&format!(
                "kit delete: v1 Namespace {ns} (created by kit; everything in it goes too) (context {})\n",
                p.context
            ));
        }
        if let Some(inv) = &p.parent {
            out.push_str(&format!(
                "kit delete: v1 ConfigMap {}/{} (the inventory) (context {})\n",
                inv.namespace, inv.parent, p.context
            ));
        }
        count += p.objects.len() + p.namespaces.len() + usize::from(p.parent.is_some());
    }
    if !args.yes {
        crate::output::out(out.as_bytes())?;
        if args.dry_run {
            return Ok(0);
        }
        eprintln!(
            "kit: nothing was deleted: {count} object(s) listed above; run again with --yes to delete them"
        );
        return Ok(1);
    }
    for p in &plans {
        let kube = Kube {
            program: &program,
            context: &p.context,
        };
        // Objects in a namespace that is deleted go with it: only the
        // others are deleted one by one (one kubectl run and its waits
        // less for an instance, whose objects all live in its namespaces).
        let outside: Vec<ObjectRef> = p
            .objects
            .iter()
            .filter(|o| {
                !o.namespace
                    .as_ref()
                    .is_some_and(|n| p.namespaces.contains(n))
            })
            .cloned()
            .collect();
        let code = applyset::delete(kube, &outside, "deleting")?;
        if code != 0 {
            return Ok(code.clamp(1, 255) as u8);
        }
        let ns: Vec<ObjectRef> = p
            .namespaces
            .iter()
            .map(|n| ObjectRef {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                namespace: None,
                name: n.clone(),
            })
            .collect();
        let code = applyset::delete(kube, &ns, "deleting")?;
        if code != 0 {
            return Ok(code.clamp(1, 255) as u8);
        }
        if let Some(inv) = &p.parent {
            let parent = [ObjectRef {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some(inv.namespace.clone()),
                name: inv.parent.clone(),
            }];
            let code = applyset::delete(kube, &parent, "deleting")?;
            if code != 0 {
                return Ok(code.clamp(1, 255) as u8);
            }
        }
    }
    Ok(0)
}
