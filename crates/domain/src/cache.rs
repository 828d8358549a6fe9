//! Short-lived in-process caches for what every request would otherwise read again:
//! resolved tokens and the chat list's capped totals. Local changes invalidate them
//! at once; changes made through another replica show within the time-to-live.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A map whose entries expire after a time-to-live.
pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<K, (V, Instant, u64)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        TtlCache {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value, if it is younger than the TTL and was stored at `generation`.
    pub fn get(&self, key: &K, generation: u64) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(_, at, stored)| at.elapsed() < self.ttl && *stored == generation)
            .map(|(v, _, _)| v.clone())
    }

    /// The value stored at `generation` if it is younger than `max_age`, and whether
    /// it is still fresh (younger than the TTL). A stale value is marked fresh again
    /// as it is handed out, so that one caller, not every caller, refreshes it.
    pub fn get_or_refresh(&self, key: &K, generation: u64, max_age: Duration) -> Option<(V, bool)> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (value, at, stored) = entries.get_mut(key)?;
        if *stored != generation || at.elapsed() >= max_age {
            return None;
        }
        if at.elapsed() < self.ttl {
            return Some((value.clone(), true));
        }
        // Only this caller sees it stale; the next ones wait for its refresh.
        *at = Instant::now() - self.ttl / 2;
        Some((value.clone(), false))
    }

    pub fn put(&self, key: K, value: V, generation: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity {
            let ttl = self.ttl;
            entries.retain(|_, (_, at, _)| at.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (value, Instant::now(), generation));
    }

    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// One computation at a time per key: callers that find a computation of their key
/// under way wait for it (`wait`) or leave it to finish (`try_start`), instead of
/// running the same one beside it.
pub struct Flights {
    keys: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// The right to compute one key's value; the next caller for that key may start when
/// it is dropped.
pub struct Flight<'a> {
    flights: &'a Flights,
    key: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Flights {
    pub fn new() -> Self {
        Flights {
            keys: Mutex::new(HashMap::new()),
        }
    }

    fn lock_of(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.entry(key.to_owned()).or_default().clone()
    }

    /// Waits until no other computation of `key` is under way, then starts this one.
    pub async fn wait(&self, key: &str) -> Flight<'_> {
        let guard = self.lock_of(key).lock_owned().await;
        Flight {
            flights: self,
            key: key.to_owned(),
            guard: Some(guard),
        }
    }

    /// Starts a computation of `key` unless one is under way.
    pub fn try_start(&self, key: &str) -> Option<Flight<'_>> {
        // A key that is taken stays known: its holder forgets it when done.
        let guard = self.lock_of(key).try_lock_owned().ok()?;
        Some(Flight {
            flights: self,
            key: key.to_owned(),
            guard: Some(guard),
        })
    }
}

impl Default for Flights {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut keys = self.flights.keys.lock().unwrap_or_else(|p| p.into_inner());
        // Only the map holds the key's lock once no caller holds or waits for it.
        if keys.get(&self.key).is_some_and(|lock| Arc::strong_count(lock) == 1) {
            keys.remove(&self.key);
        }
    }
}

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// How many changes this process has seen; cached results carry the generation they
/// were computed at. It moves when an event is written and again when a write
/// request has been answered (after its commit), so a result computed from data a
/// transaction was still changing is not kept.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

/// Marks a change.
pub fn bump() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_gone_after_its_ttl_or_a_new_generation() {
        let cache = TtlCache::new(Duration::from_millis(30), 10);
        cache.put("k", 1, 5);
        assert_eq!(cache.get(&"k", 5), Some(1));
        assert_eq!(cache.get(&"k", 6), None);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get(&"k", 5), None);
    }

    #[test]
    fn a_stale_entry_is_handed_out_once_for_refreshing_until_its_limit() {
        let cache = TtlCache::new(Duration::from_millis(30), 10);
        let limit = Duration::from_millis(200);
        cache.put("k", 1, 5);
        assert_eq!(cache.get_or_refresh(&"k", 5, limit), Some((1, true)));
        assert_eq!(cache.get_or_refresh(&"k", 6, limit), None, "another generation");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(
            cache.get_or_refresh(&"k", 5, limit),
            Some((1, false)),
            "stale: refresh it"
        );
        assert_eq!(cache.get_or_refresh(&"k", 5, limit), Some((1, true)), "being refreshed");
        std::thread::sleep(Duration::from_millis(220));
        assert_eq!(cache.get_or_refresh(&"k", 5, limit), None, "too old to hand out");
    }

    #[tokio::test]
    async fn one_flight_per_key_at_a_time() {
        let flights = Flights::new();
        let first = flights.wait("a").await;
        assert!(flights.try_start("a").is_none(), "a is under way");
        let other = flights.try_start("b").expect("b is another key");
        drop(other);
        // A waiter starts only once the flight under way has ended.
        let mut waiting = Box::pin(flights.wait("a"));
        let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(waiting.as_mut().poll(cx).is_ready())).await;
        assert!(!polled, "waits while a is under way");
        drop(first);
        drop(waiting.await);
        assert!(flights.keys.lock().unwrap().is_empty(), "ended keys are forgotten");
        assert!(flights.try_start("a").is_some());
    }
}
