//! From targets to variables: list the layers, pick the winner of each name,
//! fetch only the winners, each object once per run.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;
use tokio::task::JoinSet;

use crate::error::Error;
use crate::layout::{Layer, Layout, Target, changes_process_startup, is_valid_name, printable};
use crate::limit::Limiter;
use crate::secret::SecretValue;
use crate::store::SecretStore;

/// The default bound of store requests in flight. A run starts with
/// [`crate::START_IN_FLIGHT`] and doubles that while throughput grows, up to
/// the bound; a throttling answer halves it ([`crate::Stats::throttled`]).
pub const DEFAULT_CONCURRENCY: usize = 256;

/// Targeted services of one cluster from which the resolver lists the
/// cluster's folder once, recursively, instead of each service's layer and
/// the cluster's `common` on their own (for stores that answer over a
/// network; a store that reads in place lists layer by layer).
const CLUSTER_LISTING_FROM: usize = 2;

/// One resolved variable: its value and where it came from.
#[derive(Debug, Clone)]
pub struct Variable {
    /// The variable name (the key's last segment).
    pub name: String,
    /// The value.
    pub value: SecretValue,
    /// The layer that won.
    pub layer: Layer,
    /// The full key that won.
    pub key: String,
    /// Keys of less specific layers that this one overrode.
    pub overridden: Vec<String>,
}

/// The variables of one target, sorted by name.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The target.
    pub target: Target,
    /// Its variables, sorted by name.
    pub variables: Vec<Variable>,
    /// Keys that were skipped, and why (never values).
    pub warnings: Vec<String>,
}

type Cell<T> = Arc<OnceCell<T>>;

/// The hasher of the run's maps of object names (foldhash: seeded per
/// process, several times faster than SipHash on keys this long).
type Fast = foldhash::fast::RandomState;

/// A run's cache: one cell per object or folder name, filled once.
type Cache<T> = Mutex<HashMap<String, Cell<T>, Fast>>;

struct Inner {
    store: Arc<dyn SecretStore>,
    layout: Layout,
    limiter: Limiter,
    trim: bool,
    allowed: BTreeSet<String>,
    lists: Cache<Arc<Vec<String>>>,
    values: Cache<SecretValue>,
}

/// Resolves targets against a store, with a bounded number of requests in
/// flight, listing each layer and fetching each object at most once for the
/// resolver's lifetime (one run).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use kit_env::{Layout, MemoryStore, Resolver, Target};
/// let store = MemoryStore::new();
/// store.insert("production/common/REDIS_HOST", "redis");
/// store.insert("production/c1/web/REDIS_HOST", "redis-web");
/// let resolver = Resolver::new(Arc::new(store), Layout::new(""));
/// let r = resolver.resolve(&Target::new("production", "c1", "web")).await?;
/// assert_eq!(r.variables[0].value.expose(), "redis-web");
/// assert_eq!(r.variables[0].overridden, ["production/common/REDIS_HOST"]);
/// # Ok::<(), kit_env::Error>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<Inner>,
    progress: Option<Progress>,
}

/// A progress callback: (phase, done, total), phase `"listing"` or
/// `"fetching"`.
pub type Progress = Arc<dyn Fn(&'static str, usize, usize) + Send + Sync>;

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("store", &self.inner.store.describe())
            .field("layout", &self.inner.layout)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver over `store` with the given key layout: at most
    /// [`DEFAULT_CONCURRENCY`] requests in flight, values byte-exact. The
    /// `with_*` methods change that before the first resolution.
    pub fn new(store: Arc<dyn SecretStore>, layout: Layout) -> Self {
        Resolver {
            inner: Arc::new(Inner {
                store,
                layout,
                limiter: Limiter::new(DEFAULT_CONCURRENCY),
                trim: false,
                allowed: BTreeSet::new(),
                lists: Mutex::new(HashMap::default()),
                values: Mutex::new(HashMap::default()),
            }),
            progress: None,
        }
    }

    /// Allows secrets with these names even though they change how programs
    /// start ([`changes_process_startup`], e.g. `PATH`); without this they are
    /// errors. Call before the first resolution.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use kit_env::{Error, Layout, MemoryStore, Resolver, Target};
    /// let store = Arc::new(MemoryStore::new());
    /// store.insert("p/common/LD_PRELOAD", "/tmp/evil.so");
    /// let t = Target::new("p", "c", "s");
    /// let refused = Resolver::new(store.clone(), Layout::new("")).resolve(&t).await;
    /// assert!(matches!(refused, Err(Error::StartupVariable { .. })));
    /// let allowed = Resolver::new(store, Layout::new(""))
    ///     .with_allowed_names(["LD_PRELOAD"])
    ///     .resolve(&t)
    ///     .await?;
    /// assert_eq!(allowed.variables[0].name, "LD_PRELOAD");
    /// # Ok::<(), kit_env::Error>(()) }).unwrap();
    /// ```
    pub fn with_allowed_names<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        let inner = Arc::get_mut(&mut self.inner)
            .expect("with_allowed_names is called before the resolver is shared");
        inner.allowed.extend(names.into_iter().map(Into::into));
        self
    }

    /// At most `concurrency` requests in flight (at least 1; default
    /// [`DEFAULT_CONCURRENCY`]). Within it the number adapts: it starts at
    /// [`crate::START_IN_FLIGHT`] (or the bound, if lower), doubles while
    /// throughput grows and halves on a throttling answer. Call before the
    /// first resolution.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        let inner = Arc::get_mut(&mut self.inner)
            .expect("with_concurrency is called before the resolver is shared");
        inner.limiter = Limiter::new(concurrency);
        self
    }

    /// The most store requests that were in flight at once so far.
    pub fn peak_in_flight(&self) -> usize {
        self.inner.limiter.peak()
    }

    /// Turns trimming of trailing white space (spaces, tabs, line breaks)
    /// from values on or off; values are otherwise byte-exact. Call before
    /// the first resolution.
    pub fn with_trim(mut self, trim: bool) -> Self {
        let inner = Arc::get_mut(&mut self.inner)
            .expect("with_trim is called before the resolver is shared");
        inner.trim = trim;
        self
    }

    /// Calls `f(phase, done, total)` as layers are listed and objects
    /// fetched (for progress bars; never with keys or values).
    pub fn with_progress(
        mut self,
        f: impl Fn(&'static str, usize, usize) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    fn report(&self, phase: &'static str, done: usize, total: usize) {
        if let Some(f) = &self.progress {
            f(phase, done, total);
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn SecretStore> {
        &self.inner.store
    }

    /// Resolves one target.
    pub async fn resolve(&self, target: &Target) -> Result<Resolution, Error> {
        let mut all = self.resolve_many(std::slice::from_ref(target)).await?;
        Ok(all.remove(0))
    }

    /// Resolves many targets in one go: every distinct layer is listed once
    /// and every distinct winning object fetched once, all concurrently
    /// within the bound.
    pub async fn resolve_many(&self, targets: &[Target]) -> Result<Vec<Resolution>, Error> {
        for t in targets {
            Layout::validate(t)?;
        }
        let layout = &self.inner.layout;
        // What to list: each layer on its own, or, for a cluster with
        // several targeted services in a store across a network, the
        // cluster's folder once (one request or a few pages instead of one
        // per service).
        let mut services: HashMap<String, usize, Fast> = HashMap::default();
        if !self.inner.store.reads_in_place() {
            for t in targets {
                *services.entry(layout.cluster_prefix(t)).or_default() += 1;
            }
        }
        let whole_cluster = |t: &Target| {
            let folder = layout.cluster_prefix(t);
            (services.get(&folder).copied().unwrap_or(0) >= CLUSTER_LISTING_FROM).then_some(folder)
        };
        let listing_of = |t: &Target, layer: Layer| match layer {
            Layer::Cluster | Layer::Service => {
                whole_cluster(t).unwrap_or_else(|| layout.layer_prefix(t, layer))
            }
            _ => layout.layer_prefix(t, layer),
        };
        let listings: BTreeSet<String> = targets
            .iter()
            .flat_map(|t| t.layers().iter().map(|&l| listing_of(t, l)))
            .collect();
        let listed: HashMap<String, Arc<Vec<String>>, Fast> = self
            .run_all(
                listings.into_iter().collect(),
                "listing",
                |inner, p| async move {
                    let keys = inner.list(&p).await?;
                    Ok((p, keys))
                },
            )
            .await?
            .into_iter()
            .collect();
        // The keys of one layer: its listing, or its range of the cluster's
        // (listings are sorted).
        let layer_keys = |t: &Target, layer: Layer| -> (String, &[String]) {
            let prefix = layout.layer_prefix(t, layer);
            let all = listed[&listing_of(t, layer)].as_slice();
            let from = all.partition_point(|k| k.as_str() < prefix.as_str());
            let to = from + all[from..].partition_point(|k| k.starts_with(&prefix));
            (prefix, &all[from..to])
        };

        // Winners per target, by name (borrowing the listed keys).
        let mut plans = Vec::with_capacity(targets.len());
        let mut wanted: HashSet<&str, Fast> = HashSet::default();
        for t in targets {
            let mut winners: BTreeMap<&str, (Layer, &str, Vec<&str>)> = BTreeMap::new();
            let mut warnings = Vec::new();
            for &layer in t.layers() {
                let (prefix, keys) = layer_keys(t, layer);
                for key in keys {
                    let rest = &key[prefix.len()..];
                    if rest.is_empty() || rest.ends_with('/') {
                        continue; // folder marker
                    }
                    if rest.contains('/') {
                        warnings.push(format!(
                            "ignored '{}': secrets in sub-folders of a layer are not read",
                            printable(key)
                        ));
                        continue;
                    }
                    if !is_valid_name(rest) {
                        return Err(Error::InvalidName {
                            key: key.clone(),
                            name: rest.into(),
                        });
                    }
                    if changes_process_startup(rest) && !self.inner.allowed.contains(rest) {
                        return Err(Error::StartupVariable {
                            key: key.clone(),
                            name: rest.into(),
                        });
                    }
                    let entry = winners
                        .entry(rest)
                        .or_insert_with(|| (layer, key.as_str(), Vec::new()));
                    if entry.1 != key {
                        let old = std::mem::replace(&mut entry.1, key.as_str());
                        entry.0 = layer;
                        entry.2.push(old);
                    }
                }
            }
            wanted.extend(winners.values().map(|w| w.1));
            plans.push((t, winners, warnings));
        }

        // Fetched in name order: objects of one folder one after another.
        let mut wanted: Vec<&str> = wanted.into_iter().collect();
        wanted.sort_unstable();
        let values: HashMap<String, SecretValue, Fast> = self
            .run_all(
                wanted.into_iter().map(str::to_owned).collect(),
                "fetching",
                |inner, key| async move {
                    let v = inner.value(&key).await?;
                    Ok((key, v))
                },
            )
            .await?
            .into_iter()
            .collect();

        let trim = self.inner.trim;
        Ok(plans
            .into_iter()
            .map(|(t, winners, mut warnings)| {
                if !trim {
                    for (name, (_, key, _)) in &winners {
                        if values[*key].expose().ends_with(['\n', '\r']) {
                            // A name that equals some secret value is not shown.
                            let hidden = values.values().any(|v| v.expose() == *name);
                            let (name, key) = if hidden {
                                ("<redacted>".to_owned(), "<redacted>".to_owned())
                            } else {
                                ((*name).to_owned(), printable(key).to_string())
                            };
                            warnings.push(format!(
                                "secret '{name}' ({key}) ends in a line break, kept byte-exact (kit --trim, or trim_secrets: true in kit.yaml, removes trailing white space)"
                            ));
                        }
                    }
                }
                Resolution {
                    target: t.clone(),
                    variables: winners
                        .into_iter()
                        .map(|(name, (layer, key, overridden))| Variable {
                            name: name.to_owned(),
                            value: values[key].clone(),
                            layer,
                            key: key.to_owned(),
                            overridden: overridden.into_iter().map(str::to_owned).collect(),
                        })
                        .collect(),
                    warnings,
                }
            })
            .collect())
    }

    /// Runs `job` for every item and collects the results: one task each
    /// (within the request bound) for a remote store, so that requests
    /// overlap; for a store that reads in place
    /// ([`SecretStore::reads_in_place`]), where a task per item would cost
    /// more than the read, on a few threads ([`in_place`]). Reports
    /// progress as `phase`.
    async fn run_all<T, R, F, Fut>(
        &self,
        items: Vec<T>,
        phase: &'static str,
        job: F,
    ) -> Result<Vec<R>, Error>
    where
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(Arc<Inner>, T) -> Fut + Sync,
        Fut: Future<Output = Result<R, Error>> + Send + 'static,
    {
        let total = items.len();
        if self.inner.store.reads_in_place() {
            let threads = std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(self.inner.limiter.max())
                .min(total.div_ceil(IN_PLACE_ITEMS_PER_THREAD))
                .clamp(1, IN_PLACE_THREADS);
            let done = std::sync::atomic::AtomicUsize::new(0);
            return in_place(items, threads, |item| {
                // Unconstrained: on the runtime's thread, tokio's
                // cooperative budget would otherwise make its primitives
                // answer "not yet" until the task yields, which it never
                // does here.
                let r = drive(tokio::task::unconstrained(job(self.inner.clone(), item)));
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                self.report(phase, n, total);
                r
            });
        }
        let mut out = Vec::with_capacity(total);
        let mut tasks = JoinSet::new();
        for item in items {
            tasks.spawn(job(self.inner.clone(), item));
        }
        while let Some(joined) = tasks.join_next().await {
            out.push(joined.expect("store task panicked")?);
            self.report(phase, out.len(), total);
        }
        Ok(out)
    }
}

/// The most threads [`in_place`] reads on (a local directory's reads are
/// mostly kernel work, which scales with cores until the file system's
/// locks do not).
pub(crate) const IN_PLACE_THREADS: usize = 4;

/// The fewest items worth a thread of their own in [`in_place`]: below,
/// starting the thread costs more than the reads it takes over.
const IN_PLACE_ITEMS_PER_THREAD: usize = 256;

/// Runs `job` for every item on `threads` threads (this one included),
/// each taking a contiguous share of `items` in order (the objects of one
/// folder stay together). Each share stops at its first error; the error
/// returned is the one of the earliest share, the one a run in order would
/// have met first, so that the message does not depend on timing.
fn in_place<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    job: impl Fn(T) -> Result<R, Error> + Sync,
) -> Result<Vec<R>, Error> {
    let run = |share: Vec<T>| {
        share
            .into_iter()
            .map(&job)
            .collect::<Result<Vec<R>, Error>>()
    };
    if threads <= 1 {
        return run(items);
    }
    let per = items.len().div_ceil(threads);
    let mut shares: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut rest = items.into_iter();
    for _ in 0..threads {
        shares.push(rest.by_ref().take(per).collect());
    }
    let first = shares.remove(0);
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = shares.into_iter().map(|s| scope.spawn(|| run(s))).collect();
        let mut results = vec![run(first)];
        results.extend(
            handles
                .into_iter()
                .map(|h| h.join().expect("a store read does not panic")),
        );
        results
    });
    let mut out = Vec::with_capacity(per * threads);
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// Polls a future of a store that reads in place to its end on this
/// thread. It finishes on its first poll unless it waits for a permit of
/// the request bound another thread holds, which is released within one
/// read: then it tries again.
fn drive<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// The cell for `key` in a run's cache (created empty on first use).
fn cell<T>(cache: &Cache<T>, key: &str) -> Cell<T> {
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = cache.get(key) {
        return c.clone();
    }
    cache.entry(key.to_owned()).or_default().clone()
}

impl Inner {
    /// Runs one store request within the concurrency bound.
    async fn bounded<T>(
        &self,
        request: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let slot = self.limiter.acquire().await;
        let out = request.await;
        slot.finish(self.store.stats().throttled);
        out
    }

    /// Every key under `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Arc<Vec<String>>, Error> {
        cell(&self.lists, prefix)
            .get_or_try_init(|| {
                self.bounded(async {
                    let mut keys = self.store.list(prefix).await?;
                    if !keys.is_sorted() {
                        keys.sort_unstable();
                    }
                    Ok(Arc::new(keys))
                })
            })
            .await
            .cloned()
    }

    async fn value(&self, key: &str) -> Result<SecretValue, Error> {
        cell(&self.values, key)
            .get_or_try_init(|| {
                self.bounded(async {
                    let bytes = self.store.get(key).await?;
                    if bytes.len() > crate::MAX_VALUE_BYTES {
                        return Err(Error::TooLarge { key: key.into() });
                    }
                    if bytes.contains(&0) {
                        return Err(Error::HasNul { key: key.into() });
                    }
                    let mut text =
                        String::from_utf8(bytes).map_err(|_| Error::NotUtf8 { key: key.into() })?;
                    if self.trim {
                        let kept = text.trim_end_matches([' ', '\t', '\r', '\n']).len();
                        text.truncate(kept);
                    }
                    Ok(SecretValue::new(text))
                })
            })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on;
    use crate::{LocalStore, MemoryStore};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn in_place_runs_every_item_once_on_any_number_of_threads() {
        for threads in 1..=IN_PLACE_THREADS {
            let calls = AtomicUsize::new(0);
            let mut out = in_place((0..1_001).collect(), threads, |i: usize| {
                calls.fetch_add(1, Ordering::Relaxed);
                Ok(i * 2)
            })
            .unwrap();
            out.sort_unstable();
            assert_eq!(out, (0..1_001).map(|i| i * 2).collect::<Vec<_>>());
            assert_eq!(calls.into_inner(), 1_001, "{threads} threads");
        }
    }

    #[test]
    fn in_place_returns_the_error_a_run_in_order_meets_first() {
        // The second share meets its error first (the first share's error
        // waits for it): the first share's error is still the one.
        let calls = AtomicUsize::new(0);
        let second_failed = std::sync::atomic::AtomicBool::new(false);
        let e = in_place((0..2_000).collect(), 2, |i: usize| {
            calls.fetch_add(1, Ordering::Relaxed);
            if i == 1_000 {
                second_failed.store(true, Ordering::Release);
            }
            if i == 100 {
                let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
                while !second_failed.load(Ordering::Acquire) {
                    assert!(
                        std::time::Instant::now() < until,
                        "the second share never ran"
                    );
                    std::thread::yield_now();
                }
            }
            if i == 100 || i == 1_000 {
                return Err(Error::HasNul { key: i.to_string() });
            }
            Ok(i)
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            Error::HasNul { key: "100".into() }.to_string()
        );
        // Each share stops at its first error.
        assert_eq!(calls.into_inner(), 101 + 1);
    }

    /// A fleet of `clusters` x `services` targets with secrets in every
    /// layer, written to a local directory and to memory.
    fn fleet(clusters: usize, services: usize) -> (Vec<Target>, Vec<(String, String)>) {
        let mut targets = Vec::new();
        let mut objects = vec![("prod/common/SHARED".to_owned(), "env".to_owned())];
        for c in 0..clusters {
            objects.push((format!("prod/c{c}/common/SHARED"), format!("cluster-{c}")));
            for s in 0..services {
                targets.push(Target::new("prod", &format!("c{c}"), &format!("s{s}")));
                for k in 0..4 {
                    objects.push((format!("prod/c{c}/s{s}/K{k}"), format!("v-{c}-{s}-{k}")));
                }
            }
        }
        (targets, objects)
    }

    /// Every target's variables as (name, value, winning key), in order.
    fn flat(rs: &[Resolution]) -> Vec<Vec<(String, String, String)>> {
        rs.iter()
            .map(|r| {
                r.variables
                    .iter()
                    .map(|v| (v.name.clone(), v.value.expose().to_owned(), v.key.clone()))
                    .collect()
            })
            .collect()
    }

    /// `objects` written under a new temporary directory named by `tag`.
    fn write_dir(tag: &str, objects: &[(String, String)]) -> std::path::PathBuf {
        let root = std::env::temp_dir().join(format!("kit-resolve-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (k, v) in objects {
            let path = root.join(k);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, v).unwrap();
        }
        root
    }

    #[test]
    fn a_local_directory_read_on_threads_resolves_as_memory_and_reads_each_object_once() {
        let (targets, objects) = fleet(6, 50);
        let root = write_dir("threads", &objects);
        let memory = MemoryStore::new();
        for (k, v) in &objects {
            memory.insert(k, v.as_str());
        }
        let local = Arc::new(LocalStore::new(&root));
        let reports = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&reports);
        let resolver =
            Resolver::new(local.clone(), Layout::new("")).with_progress(move |_, _, _| {
                counted.fetch_add(1, Ordering::Relaxed);
            });
        let from_dir = block_on(resolver.resolve_many(&targets)).unwrap();
        let from_memory =
            block_on(Resolver::new(Arc::new(memory), Layout::new("")).resolve_many(&targets))
                .unwrap();
        assert_eq!(flat(&from_dir), flat(&from_memory));
        let first = &flat(&from_dir)[0];
        assert_eq!(
            first[..2],
            [
                ("K0".into(), "v-0-0-0".into(), "prod/c0/s0/K0".into()),
                ("K1".into(), "v-0-0-1".into(), "prod/c0/s0/K1".into()),
            ]
        );
        assert_eq!(
            first[4],
            (
                "SHARED".into(),
                "cluster-0".into(),
                "prod/c0/common/SHARED".into()
            )
        );
        // 1 + 6 + 300 layers listed, 1,206 winners fetched: each once, and
        // reported once each.
        let stats = local.stats();
        assert_eq!((stats.lists, stats.gets), (307, 1_206));
        assert_eq!(reports.load(Ordering::Relaxed), 307 + 1_206);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn an_instance_reads_its_base_layers_under_its_own_and_leaves_the_base_alone() {
        let memory = MemoryStore::new();
        for (k, v) in [
            ("staging/common/DB_HOST", "db.staging"),
            ("staging/common/DB_NAME", "shop"),
            ("staging/eu-1/common/REGION", "eu"),
            ("staging/eu-1/web/TOKEN", "base-token"),
            ("staging/eu-1/api/TOKEN", "api-token"),
            ("preview/instances/pr-7/common/DB_NAME", "shop_pr_7"),
            ("preview/instances/pr-7/web/TOKEN", "pr-token"),
            ("preview/instances/pr-8/common/DB_NAME", "shop_pr_8"),
        ] {
            memory.insert(k, v);
        }
        let base = Target::new("staging", "eu-1", "web");
        let pr7 = Target::new("preview", "eu-1", "web").in_instance("pr-7", "staging");
        let pr7_api = Target::new("preview", "eu-1", "api").in_instance("pr-7", "staging");
        let store = Arc::new(memory);
        let got = block_on(
            Resolver::new(store.clone(), Layout::new("")).resolve_many(&[base, pr7, pr7_api]),
        )
        .unwrap();
        let got = flat(&got);
        let kv = |n: &str, v: &str, k: &str| (n.to_owned(), v.to_owned(), k.to_owned());
        assert_eq!(
            got[0],
            [
                kv("DB_HOST", "db.staging", "staging/common/DB_HOST"),
                kv("DB_NAME", "shop", "staging/common/DB_NAME"),
                kv("REGION", "eu", "staging/eu-1/common/REGION"),
                kv("TOKEN", "base-token", "staging/eu-1/web/TOKEN"),
            ]
        );
        assert_eq!(
            got[1],
            [
                kv("DB_HOST", "db.staging", "staging/common/DB_HOST"),
                kv(
                    "DB_NAME",
                    "shop_pr_7",
                    "preview/instances/pr-7/common/DB_NAME"
                ),
                kv("REGION", "eu", "staging/eu-1/common/REGION"),
                kv("TOKEN", "pr-token", "preview/instances/pr-7/web/TOKEN"),
            ]
        );
        assert_eq!(
            got[2][3],
            kv("TOKEN", "api-token", "staging/eu-1/api/TOKEN")
        );
        assert_eq!(got[2][1].2, "preview/instances/pr-7/common/DB_NAME");
    }

    #[test]
    fn of_two_bad_objects_read_on_threads_the_first_in_key_order_is_named() {
        let (targets, mut objects) = fleet(6, 50);
        // One near the start of the sorted keys and one near the end: they
        // fall in different threads' shares.
        for (k, v) in objects.iter_mut() {
            if k == "prod/c0/s1/K0" || k == "prod/c5/s48/K3" {
                v.push('\0');
            }
        }
        let root = write_dir("two-bad", &objects);
        for _ in 0..5 {
            let resolver = Resolver::new(Arc::new(LocalStore::new(&root)), Layout::new(""));
            let e = block_on(resolver.resolve_many(&targets)).unwrap_err();
            assert_eq!(
                e.to_string(),
                Error::HasNul {
                    key: "prod/c0/s1/K0".into()
                }
                .to_string()
            );
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
