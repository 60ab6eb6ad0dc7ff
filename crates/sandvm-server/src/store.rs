//! Stored scripts, behind a trait so that a shared store (a database, a key-value service)
//! can replace the in-memory one when several servers run side by side.
//!
//! The store keeps the durable part (the source, per tenant); each server compiles a stored
//! script into its own pool the first time it runs it there.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::ServerError;

/// A boxed future returned by [`ScriptStore`] methods.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ServerError>> + Send + 'a>>;

/// A stored script.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScriptRecord {
    /// The public id (`s_` and 24 hex digits), unique per store.
    pub id: String,
    /// The owning tenant. A record is only ever returned to its tenant.
    pub tenant: String,
    /// The source text.
    pub code: String,
    /// The file name shown in stack traces.
    pub filename: String,
    /// Compiled in strict mode.
    pub strict: bool,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: u64,
}

/// Where stored scripts live. Every method is scoped by tenant: a store never returns one
/// tenant's record to another (the server answers 404, which hides that it exists).
pub trait ScriptStore: Send + Sync + 'static {
    /// Stores a record (its `id` and `tenant` are set by the caller) unless the tenant
    /// already has `max` scripts.
    ///
    /// # Errors
    /// [`ServerError::QuotaExceeded`] (`max_scripts`) when the tenant is full; a backend
    /// error otherwise.
    fn insert(&self, record: ScriptRecord, max: usize) -> StoreFuture<'_, ()>;
    /// The tenant's record with this id, if any.
    ///
    /// # Errors
    /// A backend error.
    fn get<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, Option<ScriptRecord>>;
    /// Removes the tenant's record; true when it existed.
    ///
    /// # Errors
    /// A backend error.
    fn remove<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, bool>;
    /// How many scripts the tenant has.
    ///
    /// # Errors
    /// A backend error.
    fn count<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, usize>;
}

/// The in-memory [`ScriptStore`] (lost on restart; one server only).
#[derive(Debug, Default)]
pub struct MemoryStore {
    tenants: RwLock<HashMap<String, HashMap<String, Arc<ScriptRecord>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl ScriptStore for MemoryStore {
    fn insert(&self, record: ScriptRecord, max: usize) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut m = self.tenants.write().unwrap_or_else(|p| p.into_inner());
            let scripts = m.entry(record.tenant.clone()).or_default();
            if scripts.len() >= max {
                return Err(ServerError::QuotaExceeded {
                    reason: "max_scripts".into(),
                    message: format!("the tenant already stores {max} scripts"),
                    retry_after: None,
                });
            }
            scripts.insert(record.id.clone(), Arc::new(record));
            Ok(())
        })
    }

    fn get<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, Option<ScriptRecord>> {
        Box::pin(async move {
            let m = self.tenants.read().unwrap_or_else(|p| p.into_inner());
            Ok(m.get(tenant).and_then(|s| s.get(id)).map(|r| ScriptRecord::clone(r)))
        })
    }

    fn remove<'a>(&'a self, tenant: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut m = self.tenants.write().unwrap_or_else(|p| p.into_inner());
            Ok(m.get_mut(tenant).is_some_and(|s| s.remove(id).is_some()))
        })
    }

    fn count<'a>(&'a self, tenant: &'a str) -> StoreFuture<'a, usize> {
        Box::pin(async move {
            let m = self.tenants.read().unwrap_or_else(|p| p.into_inner());
            Ok(m.get(tenant).map_or(0, HashMap::len))
        })
    }
}

/// A fresh script id: `s_` and 24 random hex digits.
pub(crate) fn new_id() -> Result<String, ServerError> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| ServerError::internal(format!("no random source: {e}")))?;
    let mut s = String::from("s_");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(tenant: &str, id: &str) -> ScriptRecord {
        ScriptRecord {
            id: id.into(),
            tenant: tenant.into(),
            code: "1".into(),
            filename: "s.js".into(),
            strict: false,
            created_ms: 0,
        }
    }

    #[tokio::test]
    async fn records_are_scoped_by_tenant_and_bounded() {
        let s = MemoryStore::new();
        s.insert(rec("a", "s_1"), 2).await.expect("insert");
        s.insert(rec("a", "s_2"), 2).await.expect("insert");
        assert!(matches!(s.insert(rec("a", "s_3"), 2).await, Err(ServerError::QuotaExceeded { .. })));
        assert!(s.get("a", "s_1").await.expect("get").is_some());
        assert!(s.get("b", "s_1").await.expect("get").is_none());
        assert!(!s.remove("b", "s_1").await.expect("remove"));
        assert!(s.remove("a", "s_1").await.expect("remove"));
        assert_eq!(s.count("a").await.expect("count"), 1);
        let id = new_id().expect("id");
        assert_eq!(id.len(), 26);
        assert_ne!(id, new_id().expect("id"));
    }
}
