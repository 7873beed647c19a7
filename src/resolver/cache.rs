//! Answers per function until they expire.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use super::Endpoints;

/// Empty answers are kept briefly, so that a function coming up is seen at once.
pub const EMPTY_ANSWER_TTL: Duration = Duration::from_millis(250);

#[derive(Default)]
pub struct AddressCache {
    entries: RwLock<HashMap<String, (Endpoints, Instant)>>,
}

impl AddressCache {
    /// A fresh answer, if one is cached.
    pub fn get(&self, name: &str) -> Option<Endpoints> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (endpoints, until) = entries.get(name)?;
        (Instant::now() < *until).then(|| endpoints.clone())
    }

    /// Keeps an answer until `until` (shortened for empty answers).
    pub fn put(&self, name: &str, endpoints: Endpoints, until: Instant) {
        let until = if endpoints.is_empty() {
            until.min(Instant::now() + EMPTY_ANSWER_TTL)
        } else {
            until
        };
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.insert(name.to_string(), (endpoints, until));
    }

    /// Names asked for recently, for a background refresh.
    pub fn names(&self) -> Vec<String> {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Forgets names whose answers expired before `before`.
    pub fn prune(&self, before: Instant) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (_, until)| *until >= before);
    }
}
