//! Function statuses in memory, so that status reads (one per invocation with scale-from-zero)
//! make no AWS call. Changes made here are written through at once; a background refresh
//! brings in what others changed.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::model::{FunctionDeployment, FunctionStatus};

/// How long a name found missing in ECS is answered as missing without asking again: the gateway
/// asks for a function's status on every invocation, unknown functions included.
const MISSING_FOR: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Default)]
struct Inner {
    functions: BTreeMap<String, FunctionStatus>,
    /// Names ECS did not have, and when that was seen.
    missing: HashMap<String, Instant>,
    /// When this provider last changed each name: a refresh that started earlier must not undo it.
    changed: HashMap<String, Instant>,
}

/// Statuses by function name, plus deployments by task definition ARN (revisions never change).
#[derive(Default)]
pub struct Cache {
    inner: RwLock<Inner>,
    deployments: RwLock<HashMap<String, Arc<FunctionDeployment>>>,
}

impl Cache {
    pub fn get(&self, name: &str) -> Option<FunctionStatus> {
        self.read().functions.get(name).cloned()
    }

    /// A function's desired count.
    pub fn replicas(&self, name: &str) -> Option<u64> {
        self.read().functions.get(name).map(|s| s.replicas)
    }

    /// Every function, sorted by name.
    pub fn list(&self) -> Vec<FunctionStatus> {
        self.read().functions.values().cloned().collect()
    }

    /// Whether ECS was just asked about this name and did not have it.
    pub fn recently_missing(&self, name: &str) -> bool {
        self.read()
            .missing
            .get(name)
            .is_some_and(|at| at.elapsed() < MISSING_FOR)
    }

    pub fn mark_missing(&self, name: &str) {
        let mut inner = self.write();
        inner.missing.retain(|_, at| at.elapsed() < MISSING_FOR);
        inner.missing.insert(name.to_string(), Instant::now());
    }

    pub fn put(&self, status: FunctionStatus) {
        let mut inner = self.write();
        inner.missing.remove(&status.name);
        inner.changed.insert(status.name.clone(), Instant::now());
        inner.functions.insert(status.name.clone(), status);
    }

    pub fn remove(&self, name: &str) {
        let mut inner = self.write();
        inner.changed.insert(name.to_string(), Instant::now());
        inner.functions.remove(name);
    }

    /// Replaces the contents with a snapshot read from AWS since `started`, keeping what this
    /// provider changed after that.
    pub fn replace(&self, snapshot: Vec<FunctionStatus>, started: Instant) {
        let mut inner = self.write();
        let mut fresh: BTreeMap<String, FunctionStatus> =
            snapshot.into_iter().map(|s| (s.name.clone(), s)).collect();
        let changed: Vec<String> = inner
            .changed
            .iter()
            .filter(|(_, at)| **at >= started)
            .map(|(name, _)| name.clone())
            .collect();
        for name in &changed {
            match inner.functions.get(name) {
                Some(current) => fresh.insert(name.clone(), current.clone()),
                None => fresh.remove(name),
            };
        }
        inner.functions = fresh;
        inner.changed.retain(|_, at| *at >= started);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, replicas: u64) -> FunctionStatus {
        FunctionStatus {
            name: name.into(),
            replicas,
            ..Default::default()
        }
    }

    #[test]
    fn a_refresh_replaces_what_nobody_changed_since_it_started() {
        let cache = Cache::default();
        cache.put(status("a", 1));
        cache.put(status("gone", 1));
        let started = Instant::now();
        cache.replace(vec![status("a", 2), status("b", 1)], started);
        let names: Vec<_> = cache
            .list()
            .into_iter()
            .map(|s| (s.name, s.replicas))
            .collect();
        assert_eq!(names, vec![("a".into(), 2), ("b".into(), 1)]);
    }

    #[test]
    fn a_missing_name_is_remembered_briefly_and_forgotten_on_deploy() {
        let cache = Cache::default();
        cache.mark_missing("f");
        assert!(cache.recently_missing("f"));
        cache.put(status("f", 1));
        assert!(!cache.recently_missing("f"));
        cache.mark_missing("g");
        std::thread::sleep(MISSING_FOR);
        assert!(!cache.recently_missing("g"));
    }

    #[test]
    fn a_refresh_does_not_undo_changes_made_while_it_ran() {
        let cache = Cache::default();
        cache.put(status("deleted", 1));
        let started = Instant::now();
        cache.put(status("new", 3));
        cache.remove("deleted");
        cache.replace(vec![status("deleted", 1)], started);
        assert_eq!(cache.get("new").map(|s| s.replicas), Some(3));
        assert_eq!(cache.get("deleted"), None);
        // A later refresh is authoritative again.
        cache.replace(vec![status("deleted", 1)], Instant::now());
        assert!(cache.get("deleted").is_some());
        assert!(cache.get("new").is_none());
    }
}
