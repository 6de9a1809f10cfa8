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

/// What one cluster's delete removes, in order.
struct Plan {
    context: String,
    objects: Vec<ObjectRef>,
    namespaces: Vec<String>,
    parent: Option<kit_project::inventory::Inventory>,
}

pub fn delete(args: &DeleteArgs) -> Result<u8, Failure> {
    let project = Project::load(&args.project.project)?;
    if project.file.name.is_none() {
        return Err(no_name_for("kit delete"));
    }
    let env = project.environment(args.environment.required())?;
    let clusters: Vec<String> = if args.cluster.clusters.is_empty() {
        env.clusters.keys().cloned().collect()
    } else {
        // Unknown clusters are errors listing the choices.
        project.select(&Selection::Clusters {
            environment: Some(args.environment.required().to_owned()),
            clusters: args.cluster.clusters.clone(),
            services: Vec::new(),
        })?;
        args.cluster.clusters.clone()
    };
    let program = find_program(&args.kubectl.program.kubectl)?;
    if clusters.len() > 1 && args.kubectl.context.is_some() {
        return Err(Failure::new(
            Code::Usage,
            "--context works for a run on one cluster; this run has several",
        ));
    }
    let source = project_source(&project);
    let services: BTreeSet<&str> = args.service.services.iter().map(String::as_str).collect();
    let mut plans = Vec::new();
    for cluster in &clusters {
        let context = args
            .kubectl
            .context
            .clone()
            .or_else(|| project.context(args.environment.required(), cluster).map(str::to_owned))
            .ok_or_else(|| {
                Failure::new(
                    Code::Usage,
                    format!(
                        "cluster '{}/{cluster}' has no context in kit.yaml, and no --context was given",
                        args.environment.required()
                    ),
                )
            })?;
        let inv = project
            .inventory(args.environment.required(), cluster)
            .map_err(|e| Failure::from(kit_project::RenderError::from(e)))?
            .expect("the project has a name");
        let kube = Kube {
            program: &program,
            context: &context,
        };
        let Some(parent) = applyset::read_parent(kube, &inv, source.as_deref())? else {
            eprintln!(
                "kit: {}/{cluster}: no inventory of {} (context {context}): nothing to delete",
                args.environment.required(),
                inv.project
            );
            continue;
        };
        let mut kinds = parent.group_kinds.clone();
        kinds.insert("Namespace".into());
        let members = applyset::members(kube, &inv, &kinds)?;
        let whole = services.is_empty();
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
        if whole {
            namespaces.extend(applyset::created_namespaces(kube, &inv)?);
        }
        plans.push(Plan {
            context,
            objects,
            namespaces: namespaces.into_iter().collect(),
            parent: whole.then_some(inv),
        });
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
        let code = applyset::delete(kube, &p.objects, "deleting")?;
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
