//! One change per function at a time in this process: a deploy, update, scale or delete of a
//! function waits for the one under way, then sees what it left (so the second of two deploys
//! is a 409, the second of two deletes a 404) instead of racing it through AWS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// Held while a change of one function is under way.
pub type ChangeGuard = OwnedMutexGuard<()>;

#[derive(Default)]
pub struct FunctionLocks {
    // Weak: a function's lock lives only while a change holds or awaits it.
    locks: Mutex<HashMap<String, Weak<AsyncMutex<()>>>>,
}

impl FunctionLocks {
    /// Waits for the changes of `key` under way (first come, first served), then holds it.
    pub async fn lock(&self, key: String) -> ChangeGuard {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            match locks.get(&key).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    locks.retain(|_, lock| lock.strong_count() > 0);
                    let lock = Arc::new(AsyncMutex::new(()));
                    locks.insert(key, Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    // A paused clock: the wait below passes at once, after every task has gone as far as it can.
    #[tokio::test(start_paused = true)]
    async fn changes_of_one_key_wait_and_other_keys_do_not() {
        let locks = Arc::new(FunctionLocks::default());
        let first = locks.lock("ns/a".into()).await;
        // Another function is not held up.
        let other = tokio::time::timeout(Duration::from_secs(1), locks.lock("ns/b".into())).await;
        assert!(other.is_ok());
        let waiting = tokio::spawn({
            let locks = locks.clone();
            async move { locks.lock("ns/a".into()).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the same function waits");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("runs once the first is done")
            .unwrap();
        drop((second, other));
        // Nothing is kept for functions no change holds.
        let _ = locks.lock("ns/c".into()).await;
        assert_eq!(locks.locks.lock().unwrap().len(), 1);
    }
}
