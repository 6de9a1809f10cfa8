//! Choosing targets: one environment and some of its clusters and
//! services, or every enabled target.

use kit_env::Target;

use crate::error::ProjectError;
use crate::project::{Project, known};

/// Which targets a run covers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selection {
    /// One environment; one or more of its clusters; some services (none:
    /// every service enabled on each cluster). Environment and at least one
    /// cluster are required.
    Clusters {
        /// The environment.
        environment: Option<String>,
        /// Its clusters, in the order given.
        clusters: Vec<String>,
        /// Services; empty means every enabled service.
        services: Vec<String>,
    },
    /// Every enabled service of every cluster, of one environment when
    /// given, else of every environment (environments of instances left
    /// out: their instances are not in kit.yaml).
    All {
        /// Only this environment.
        environment: Option<String>,
    },
    /// One instance of an environment of instances: its base's clusters
    /// (all of them when none is given) and services, each target
    /// [`Target::in_instance`].
    Instance {
        /// The environment of instances.
        environment: String,
        /// The instance's name (a DNS label, see [`check_instance_name`]).
        instance: String,
        /// Only these clusters; empty means every cluster.
        clusters: Vec<String>,
        /// Services; empty means every enabled service.
        services: Vec<String>,
    },
}

/// Refuses an instance name that is not a DNS label: lowercase letters,
/// digits and `-`, starting with a letter (so it can end a namespace and
/// name a label value), at most 63 characters.
///
/// ```
/// assert!(kit_project::check_instance_name("pr-3071").is_ok());
/// assert!(kit_project::check_instance_name("PR_3071").is_err());
/// assert!(kit_project::check_instance_name("3071").is_err());
/// ```
pub fn check_instance_name(name: &str) -> Result<(), ProjectError> {
    let b = name.as_bytes();
    let reason = if b.is_empty() {
        Some("it is empty")
    } else if b.len() > 63 {
        Some("it is longer than 63 characters")
    } else if !b
        .iter()
        .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        Some("only lowercase letters, digits and '-'")
    } else if !b[0].is_ascii_lowercase() {
        Some("it must start with a lowercase letter")
    } else if b[b.len() - 1] == b'-' {
        Some("it must end with a letter or digit")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ProjectError::BadInstance {
            name: name.escape_debug().to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

impl Selection {
    /// Every enabled service of one cluster.
    ///
    /// ```
    /// let s = kit_project::Selection::cluster("production", "nerdearla-cluster");
    /// ```
    pub fn cluster(environment: &str, cluster: &str) -> Self {
        Selection::Clusters {
            environment: Some(environment.into()),
            clusters: vec![cluster.into()],
            services: Vec::new(),
        }
    }
}

impl Project {
    /// The targets of `selection`, grouped by cluster, in `kit.yaml` order of
    /// services (clusters in the order given), each once. Unknown names are
    /// errors listing the choices; naming a service disabled on a cluster is
    /// an error.
    pub fn select(&self, selection: &Selection) -> Result<Vec<Target>, ProjectError> {
        match selection {
            Selection::All { environment } => {
                if let Some(e) = environment.as_deref() {
                    self.refuse_instances(e)?;
                }
                self.all_targets(environment.as_deref())
            }
            Selection::Instance {
                environment,
                instance,
                clusters,
                services,
            } => {
                self.environment(environment)?;
                let Some(base) = self.instances_of(environment) else {
                    return Err(ProjectError::NoInstances {
                        environment: environment.clone(),
                        known: known(
                            self.file
                                .environments
                                .iter()
                                .filter(|(_, e)| e.instances.is_some())
                                .map(|(n, _)| n),
                        ),
                    });
                };
                check_instance_name(instance)?;
                let clusters = if clusters.is_empty() {
                    self.environment(environment)?
                        .clusters
                        .keys()
                        .cloned()
                        .collect()
                } else {
                    clusters.clone()
                };
                let mut out: Vec<Target> = Vec::new();
                for c in &clusters {
                    for t in self.cluster_targets(environment, c, services)? {
                        let t = t.in_instance(instance, base);
                        if !out.contains(&t) {
                            out.push(t);
                        }
                    }
                }
                Ok(out)
            }
            Selection::Clusters {
                environment,
                clusters,
                services,
            } => {
                let f = &self.file;
                let ename = environment
                    .as_deref()
                    .ok_or_else(|| ProjectError::Missing {
                        what: "an environment",
                        known: known(f.environments.keys()),
                    })?;
                let env = self.environment(ename)?;
                self.refuse_instances(ename)?;
                if clusters.is_empty() {
                    return Err(ProjectError::Missing {
                        what: "a cluster",
                        known: known(env.clusters.keys()),
                    });
                }
                let mut out: Vec<Target> = Vec::new();
                for c in clusters {
                    for t in self.cluster_targets(ename, c, services)? {
                        if !out.contains(&t) {
                            out.push(t);
                        }
                    }
                }
                Ok(out)
            }
        }
    }

    /// The environment called `name`; unknown names are errors listing the
    /// choices.
    pub fn environment(&self, name: &str) -> Result<&crate::model::Environment, ProjectError> {
        self.file
            .environments
            .get(name)
            .ok_or_else(|| ProjectError::UnknownEnvironment {
                name: name.into(),
                known: known(self.file.environments.keys()),
            })
    }

    /// The clusters of `environment` among `wanted` (all of them, in
    /// kit.yaml order, when `wanted` is empty); an unknown name is an
    /// error listing the choices.
    pub fn clusters_of(
        &self,
        environment: &str,
        wanted: &[String],
    ) -> Result<Vec<String>, ProjectError> {
        let env = self.environment(environment)?;
        if let Some(c) = wanted.iter().find(|c| !env.clusters.contains_key(*c)) {
            return Err(ProjectError::UnknownCluster {
                environment: environment.into(),
                name: c.clone(),
                known: known(env.clusters.keys()),
            });
        }
        Ok(env
            .clusters
            .keys()
            .filter(|c| wanted.is_empty() || wanted.contains(c))
            .cloned()
            .collect())
    }

    /// The service called `name`; unknown names are errors listing the
    /// choices.
    pub fn service(&self, name: &str) -> Result<&crate::model::Service, ProjectError> {
        self.file
            .services
            .get(name)
            .ok_or_else(|| ProjectError::UnknownService {
                name: name.into(),
                known: known(self.file.services.keys()),
            })
    }

    /// Refuses an environment of instances where no instance is named.
    fn refuse_instances(&self, environment: &str) -> Result<(), ProjectError> {
        match self.instances_of(environment) {
            Some(base) => Err(ProjectError::InstanceNeeded {
                environment: environment.into(),
                base: base.into(),
            }),
            None => Ok(()),
        }
    }

    fn cluster_targets(
        &self,
        ename: &str,
        cname: &str,
        services: &[String],
    ) -> Result<Vec<Target>, ProjectError> {
        let f = &self.file;
        let env = self.environment(ename)?;
        let cl = env
            .clusters
            .get(cname)
            .ok_or_else(|| ProjectError::UnknownCluster {
                environment: ename.into(),
                name: cname.into(),
                known: known(env.clusters.keys()),
            })?;
        let enabled = |s: &str| cl.services.get(s).is_none_or(|cs| cs.enabled);
        if services.is_empty() {
            return Ok(f
                .services
                .keys()
                .filter(|s| enabled(s))
                .map(|s| Target::new(ename, cname, s))
                .collect());
        }
        let mut out = Vec::new();
        for s in services {
            self.service(s)?;
            if !enabled(s) {
                return Err(ProjectError::Disabled {
                    service: s.clone(),
                    cluster: cname.into(),
                });
            }
            let t = Target::new(ename, cname, s);
            if !out.contains(&t) {
                out.push(t);
            }
        }
        Ok(out)
    }

    fn all_targets(&self, environment: Option<&str>) -> Result<Vec<Target>, ProjectError> {
        if let Some(e) = environment {
            self.environment(e)?;
        }
        let mut out = Vec::new();
        for (ename, env) in &self.file.environments {
            if environment.is_some_and(|e| e != ename) || env.instances.is_some() {
                continue;
            }
            for (cname, cl) in &env.clusters {
                for s in self.file.services.keys() {
                    if cl.services.get(s).is_none_or(|cs| cs.enabled) {
                        out.push(Target::new(ename, cname, s));
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::tests::demo;

    fn names(ts: &[Target]) -> Vec<String> {
        ts.iter().map(Target::to_string).collect()
    }

    #[test]
    fn one_cluster_means_every_enabled_service_in_kit_yaml_order() {
        let p = demo();
        let ts = p
            .select(&Selection::cluster("production", "other-cluster"))
            .unwrap();
        // worker is disabled on other-cluster.
        assert_eq!(
            names(&ts),
            [
                "production/other-cluster/myservicio",
                "production/other-cluster/envar-demo"
            ]
        );
    }

    #[test]
    fn repeated_clusters_and_services_are_grouped_and_deduplicated() {
        let p = demo();
        let ts = p
            .select(&Selection::Clusters {
                environment: Some("production".into()),
                clusters: vec![
                    "nerdearla-cluster".into(),
                    "other-cluster".into(),
                    "nerdearla-cluster".into(),
                ],
                services: vec!["myservicio".into(), "myservicio".into()],
            })
            .unwrap();
        assert_eq!(
            names(&ts),
            [
                "production/nerdearla-cluster/myservicio",
                "production/other-cluster/myservicio"
            ]
        );
    }

    #[test]
    fn all_covers_every_enabled_target_or_one_environment() {
        let p = demo();
        assert_eq!(
            p.select(&Selection::All { environment: None })
                .unwrap()
                .len(),
            3 + 2 + 3
        );
        let staging = p
            .select(&Selection::All {
                environment: Some("staging".into()),
            })
            .unwrap();
        assert!(staging.iter().all(|t| t.environment == "staging"));
        assert_eq!(staging.len(), 3);
    }

    #[test]
    fn wrong_names_are_errors_listing_the_choices() {
        let p = demo();
        let err = |s: Selection| p.select(&s).unwrap_err().to_string();
        assert_eq!(
            err(Selection::cluster("prod", "x")),
            "unknown environment 'prod' (known: production, staging, preview)"
        );
        assert_eq!(
            err(Selection::cluster("production", "x")),
            "unknown cluster 'x' in environment 'production' (known: nerdearla-cluster, other-cluster)"
        );
        assert_eq!(
            err(Selection::Clusters {
                environment: Some("production".into()),
                clusters: vec![],
                services: vec![],
            }),
            "a cluster is required (choose from: nerdearla-cluster, other-cluster)"
        );
        assert_eq!(
            err(Selection::Clusters {
                environment: Some("production".into()),
                clusters: vec!["other-cluster".into()],
                services: vec!["worker".into()],
            }),
            "service 'worker' is disabled on cluster 'other-cluster'"
        );
        assert_eq!(
            err(Selection::All {
                environment: Some("qa".into())
            }),
            "unknown environment 'qa' (known: production, staging, preview)"
        );
    }
}
