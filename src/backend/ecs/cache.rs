//! What the backend keeps in memory, so that reads make no AWS call: function statuses (one read
//! per invocation with scale-from-zero), the deployments of revisions, and the namespaces.
//! Changes made here are written through at once; a background refresh brings in what others
//! changed. Names AWS was just asked about and did not have are remembered for a second.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use super::cloudmap::CloudMapService;
use crate::model::{FunctionDeployment, FunctionId, FunctionStatus, Namespace, NamespaceSpec};

/// How long a name AWS did not have is answered as missing without asking again: the gateway
/// asks for a function's status on every invocation, unknown functions included.
const MISSING_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// Names AWS was just asked about and did not have, and when.
pub struct Misses<K>(HashMap<K, Instant>);

impl<K> Default for Misses<K> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<K: Eq + Hash> Misses<K> {
    /// Whether AWS was asked about `key` less than [`MISSING_FOR`] ago and did not have it.
    pub fn recent(&self, key: &K) -> bool {
        self.recent_at(key, Instant::now())
    }

    fn recent_at(&self, key: &K, now: Instant) -> bool {
        self.0
            .get(key)
            .is_some_and(|at| now.saturating_duration_since(*at) < MISSING_FOR)
    }

    pub fn mark(&mut self, key: K) {
        self.0.retain(|_, at| at.elapsed() < MISSING_FOR);
        self.0.insert(key, Instant::now());
    }

    pub fn forget(&mut self, key: &K) {
        self.0.remove(key);
    }
}

/// Entries read from AWS, plus when this provider last changed each key: a refresh that started
/// earlier must not undo a change.
pub struct Table<K, V> {
    entries: BTreeMap<K, V>,
    changed: HashMap<K, Instant>,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
            changed: HashMap::new(),
        }
    }
}

impl<K: Ord + Hash + Clone, V: Clone> Table<K, V> {
    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key)
    }

    pub fn contains(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    pub fn entries(&self) -> &BTreeMap<K, V> {
        &self.entries
    }

    pub fn put(&mut self, key: K, value: V) {
        self.changed.insert(key.clone(), Instant::now());
        self.entries.insert(key, value);
    }

    pub fn remove(&mut self, key: &K) {
        self.changed.insert(key.clone(), Instant::now());
        self.entries.remove(key);
    }

    /// Takes what AWS answered since `started` for `keys` (a key it did not answer for is gone),
    /// keeping what this provider changed after that.
    pub fn merge(&mut self, keys: &[K], found: Vec<(K, V)>, started: Instant) {
        for key in keys {
            if self.changed.get(key).is_some_and(|at| *at >= started) {
                continue;
            }
            match found.iter().find(|(k, _)| k == key) {
                Some((_, value)) => self.entries.insert(key.clone(), value.clone()),
                None => self.entries.remove(key),
            };
        }
    }

    /// Replaces the contents with a snapshot read from AWS since `started`, keeping what this
    /// provider changed after that.
    pub fn replace(&mut self, snapshot: impl IntoIterator<Item = (K, V)>, started: Instant) {
        let mut fresh: BTreeMap<K, V> = snapshot.into_iter().collect();
        for (key, at) in &self.changed {
            if *at < started {
                continue;
            }
            match self.entries.get(key) {
                Some(current) => fresh.insert(key.clone(), current.clone()),
                None => fresh.remove(key),
            };
        }
        self.entries = fresh;
        self.changed.retain(|_, at| *at >= started);
    }
}

#[derive(Default)]
struct Inner {
    functions: Table<FunctionId, FunctionStatus>,
    /// Functions ECS did not have.
    missing: Misses<FunctionId>,
}

/// Statuses by function, plus deployments by task definition ARN (revisions never change).
#[derive(Default)]
pub struct Cache {
    inner: RwLock<Inner>,
    deployments: RwLock<HashMap<String, Arc<FunctionDeployment>>>,
}

impl Cache {
    pub fn get(&self, id: &FunctionId) -> Option<FunctionStatus> {
        self.read().functions.get(id).cloned()
    }

    /// A function's desired count.
    pub fn replicas(&self, id: &FunctionId) -> Option<u64> {
        self.read().functions.get(id).map(|s| s.replicas)
    }

    /// How many functions there are, in every namespace.
    pub fn len(&self) -> usize {
        self.read().functions.entries().len()
    }

    /// Every function of every namespace.
    pub fn all(&self) -> Vec<(FunctionId, FunctionStatus)> {
        self.read()
            .functions
            .entries()
            .iter()
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect()
    }

    /// Every function of a namespace, sorted by name.
    pub fn list(&self, namespace: &Namespace) -> Vec<(FunctionId, FunctionStatus)> {
        self.read()
            .functions
            .entries()
            .iter()
            .filter(|(id, _)| id.namespace == *namespace)
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect()
    }

    /// Whether ECS was just asked about this function and did not have it.
    pub fn recently_missing(&self, id: &FunctionId) -> bool {
        self.read().missing.recent(id)
    }

    pub fn mark_missing(&self, id: &FunctionId) {
        self.write().missing.mark(id.clone());
    }

    pub fn put(&self, id: FunctionId, status: FunctionStatus) {
        let mut inner = self.write();
        inner.missing.forget(&id);
        inner.functions.put(id, status);
    }

    pub fn remove(&self, id: &FunctionId) {
        self.write().functions.remove(id);
    }

    /// Takes what AWS answered since `started` for some functions; one it did not answer for is
    /// gone.
    pub fn merge(
        &self,
        ids: &[FunctionId],
        found: Vec<(FunctionId, FunctionStatus)>,
        started: Instant,
    ) {
        self.write().functions.merge(ids, found, started);
    }

    /// Replaces the contents with a snapshot read from AWS since `started`, keeping what this
    /// provider changed after that.
    pub fn replace(&self, snapshot: Vec<(FunctionId, FunctionStatus)>, started: Instant) {
        self.write().functions.replace(snapshot, started);
    }

    pub fn deployment(&self, task_definition_arn: &str) -> Option<Arc<FunctionDeployment>> {
        self.deployments
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(task_definition_arn)
            .cloned()
    }

    pub fn put_deployment(&self, task_definition_arn: &str, deployment: Arc<FunctionDeployment>) {
        self.deployments
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(task_definition_arn.to_string(), deployment);
    }

    /// Forgets deployments of revisions no service uses any more.
    pub fn retain_deployments(&self, in_use: &[&str]) {
        self.deployments
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|arn, _| in_use.contains(&arn.as_str()));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A namespace as stored, with the Cloud Map service that records it (none for the default
/// namespace until labels are set on it).
pub type NamespaceEntry = (NamespaceSpec, Option<CloudMapService>);

/// The namespaces, by name, and those AWS was just asked about and did not have.
#[derive(Default)]
pub struct Namespaces {
    table: RwLock<Table<Namespace, NamespaceEntry>>,
    missing: std::sync::Mutex<Misses<Namespace>>,
}

impl Namespaces {
    // Called on every invocation: no allocation.
    pub fn contains(&self, name: &Namespace) -> bool {
        self.read().contains(name)
    }

    pub fn names(&self) -> Vec<Namespace> {
        self.read().entries().keys().cloned().collect()
    }

    pub fn get(&self, name: &Namespace) -> Option<NamespaceEntry> {
        self.read().get(name).cloned()
    }

    pub fn put(&self, name: Namespace, entry: NamespaceEntry) {
        self.write().put(name, entry);
    }

    pub fn remove(&self, name: &Namespace) {
        self.write().remove(name);
    }

    /// Replaces the table with what AWS listed since `started`, keeping later changes.
    pub fn replace(&self, snapshot: Vec<(Namespace, NamespaceEntry)>, started: Instant) {
        self.write().replace(snapshot, started);
    }

    pub fn recently_missing(&self, name: &Namespace) -> bool {
        self.missing().recent(name)
    }

    pub fn mark_missing(&self, name: &Namespace) {
        self.missing().mark(name.clone());
    }

    fn missing(&self) -> std::sync::MutexGuard<'_, Misses<Namespace>> {
        self.missing.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table<Namespace, NamespaceEntry>> {
        self.table.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table<Namespace, NamespaceEntry>> {
        self.table.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DEFAULT_NAMESPACE;
    use crate::model::FunctionName;

    fn id(name: &str) -> FunctionId {
        FunctionId::parse(DEFAULT_NAMESPACE, name).unwrap()
    }

    fn entry(name: &str, replicas: u64) -> (FunctionId, FunctionStatus) {
        (
            id(name),
            FunctionStatus {
                name: name.into(),
                replicas,
                ..Default::default()
            },
        )
    }

    fn put(cache: &Cache, name: &str, replicas: u64) {
        let (id, status) = entry(name, replicas);
        cache.put(id, status);
    }

    fn names(cache: &Cache) -> Vec<(String, u64)> {
        cache
            .list(&Namespace::default_namespace())
            .into_iter()
            .map(|(_, s)| (s.name, s.replicas))
            .collect()
    }

    #[test]
    fn a_refresh_replaces_what_nobody_changed_since_it_started() {
        let cache = Cache::default();
        put(&cache, "a", 1);
        put(&cache, "gone", 1);
        let started = Instant::now();
        cache.replace(vec![entry("a", 2), entry("b", 1)], started);
        assert_eq!(names(&cache), vec![("a".into(), 2), ("b".into(), 1)]);
    }

    #[test]
    fn a_missing_name_is_remembered_briefly_and_forgotten_on_deploy() {
        let cache = Cache::default();
        cache.mark_missing(&id("f"));
        assert!(cache.recently_missing(&id("f")));
        put(&cache, "f", 1);
        assert!(!cache.recently_missing(&id("f")));
        cache.mark_missing(&id("g"));
        let later = Instant::now() + MISSING_FOR;
        assert!(!cache.read().missing.recent_at(&id("g"), later));
    }

    #[test]
    fn a_partial_read_updates_what_it_read_and_nothing_else() {
        let cache = Cache::default();
        put(&cache, "a", 1);
        put(&cache, "b", 1);
        put(&cache, "gone", 1);
        let started = Instant::now();
        cache.merge(&[id("a"), id("gone")], vec![entry("a", 4)], started);
        assert_eq!(names(&cache), vec![("a".into(), 4), ("b".into(), 1)]);
        // A change made while the read ran is kept.
        let started = Instant::now();
        put(&cache, "b", 2);
        cache.merge(&[id("b")], vec![entry("b", 1)], started);
        assert_eq!(cache.replicas(&id("b")), Some(2));
    }

    #[test]
    fn a_refresh_does_not_undo_changes_made_while_it_ran() {
        let cache = Cache::default();
        put(&cache, "deleted", 1);
        let started = Instant::now();
        put(&cache, "new", 3);
        cache.remove(&id("deleted"));
        cache.replace(vec![entry("deleted", 1)], started);
        assert_eq!(cache.replicas(&id("new")), Some(3));
        assert_eq!(cache.get(&id("deleted")), None);
        // A later refresh is authoritative again.
        cache.replace(vec![entry("deleted", 1)], Instant::now());
        assert!(cache.get(&id("deleted")).is_some());
        assert!(cache.get(&id("new")).is_none());
    }

    #[test]
    fn namespaces_are_listed_apart() {
        let cache = Cache::default();
        put(&cache, "echo", 1);
        let team_a = Namespace::parse("team-a").unwrap();
        let other = FunctionId::new(team_a.clone(), FunctionName::parse("echo").unwrap());
        cache.put(
            other.clone(),
            FunctionStatus {
                name: "echo".into(),
                namespace: "team-a".into(),
                replicas: 5,
                ..Default::default()
            },
        );
        assert_eq!(names(&cache), vec![("echo".into(), 1)]);
        assert_eq!(cache.list(&team_a)[0].1.replicas, 5);
        cache.remove(&other);
        assert!(cache.list(&team_a).is_empty());
        assert_eq!(names(&cache), vec![("echo".into(), 1)]);
    }
}
