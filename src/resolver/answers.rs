//! Answers per function until they expire.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use super::Endpoints;

/// Empty answers are kept briefly, so that a function coming up is seen at once.
pub const EMPTY_ANSWER_TTL: Duration = Duration::from_millis(250);

/// Retired addresses stay excluded until they have been out of the answers this long: cached
/// answers elsewhere (a resolver's own cache) may still carry them for a TTL or two.
const RETIRED_UNTIL_GONE_FOR: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct AddressCache {
    entries: RwLock<HashMap<String, (Endpoints, Instant)>>,
    /// Addresses of a function's tasks that must no longer be sent requests, with when they were
    /// last in an answer. Applied when an answer is stored, so lookups pay nothing for it.
    retired: RwLock<HashMap<String, (Vec<IpAddr>, Instant)>>,
}

impl AddressCache {
    /// A fresh answer, if one is cached.
    pub fn get(&self, name: &str) -> Option<Endpoints> {
        self.get_at(name, Instant::now())
    }

    /// The answer cached for `name` as it stands at `now`.
    fn get_at(&self, name: &str, now: Instant) -> Option<Endpoints> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (endpoints, until) = entries.get(name)?;
        (now < *until).then(|| endpoints.clone())
    }

    /// Keeps an answer until `until` (shortened for empty answers), less retired addresses;
    /// returns what it kept.
    pub fn put(&self, name: &str, endpoints: Endpoints, until: Instant) -> Endpoints {
        let endpoints = self.without_retired(name, endpoints);
        let until = if endpoints.is_empty() {
            until.min(Instant::now() + EMPTY_ANSWER_TTL)
        } else {
            until
        };
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.insert(name.to_string(), (endpoints.clone(), until));
        endpoints
    }

    /// Stops sending requests to these addresses of a function, from the next lookup on.
    pub fn retire(&self, name: &str, addrs: Vec<IpAddr>) {
        let mut retired = self.retired.write().unwrap_or_else(|e| e.into_inner());
        retired.insert(name.to_string(), (addrs, Instant::now()));
        drop(retired);
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }

    fn without_retired(&self, name: &str, endpoints: Endpoints) -> Endpoints {
        let mut retired = self.retired.write().unwrap_or_else(|e| e.into_inner());
        let Some((addrs, last_seen)) = retired.get_mut(name) else {
            return endpoints;
        };
        if endpoints.addrs().any(|a| addrs.contains(&a.ip())) {
            *last_seen = Instant::now();
        } else if last_seen.elapsed() > RETIRED_UNTIL_GONE_FOR {
            retired.remove(name);
            return endpoints;
        }
        endpoints.filter(|a| !addrs.contains(&a.ip()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(ips: &[&str]) -> Endpoints {
        Endpoints::new(
            ips.iter()
                .map(|ip| format!("{ip}:8080").parse().unwrap())
                .collect(),
        )
    }

    #[test]
    fn retired_addresses_are_left_out_even_when_a_stale_answer_brings_them_back() {
        let cache = AddressCache::default();
        let later = Instant::now() + Duration::from_secs(60);
        cache.put("f", endpoints(&["10.0.0.1"]), later);
        cache.retire("f", vec!["10.0.0.1".parse().unwrap()]);
        assert_eq!(cache.get("f"), None, "retiring forgets the cached answer");
        cache.put("f", endpoints(&["10.0.0.1", "10.0.0.2"]), later);
        assert_eq!(cache.get("f"), Some(endpoints(&["10.0.0.2"])));
        cache.put("f", endpoints(&["10.0.0.2"]), later);
        cache.put("f", endpoints(&["10.0.0.1", "10.0.0.2"]), later);
        assert_eq!(cache.get("f"), Some(endpoints(&["10.0.0.2"])));
    }

    #[test]
    fn empty_answers_are_kept_briefly() {
        let cache = AddressCache::default();
        cache.put(
            "f",
            Endpoints::default(),
            Instant::now() + Duration::from_secs(60),
        );
        assert!(cache.get("f").is_some());
        assert!(
            cache
                .get_at("f", Instant::now() + EMPTY_ANSWER_TTL)
                .is_none()
        );
    }
}
