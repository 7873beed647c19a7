//! An in-memory backend with the same answers as the ECS one; the API tests run on it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::FunctionBackend;
use crate::error::Error;
use crate::model::{FunctionName, FunctionSpec, FunctionStatus, Namespace};

#[derive(Default)]
pub struct MemoryBackend {
    functions: Mutex<BTreeMap<(Namespace, FunctionName), FunctionStatus>>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    fn functions(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<(Namespace, FunctionName), FunctionStatus>> {
        self.functions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl FunctionBackend for MemoryBackend {
    fn namespaces(&self) -> Vec<Namespace> {
        vec![Namespace::default_namespace()]
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<FunctionStatus>, Error> {
        self.check_namespace(namespace)?;
        Ok(self
            .functions()
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn get(
        &self,
        namespace: &Namespace,
        name: &FunctionName,
    ) -> Result<Option<FunctionStatus>, Error> {
        self.check_namespace(namespace)?;
        Ok(self
            .functions()
            .get(&(namespace.clone(), name.clone()))
            .cloned())
    }

    async fn deploy(&self, spec: &FunctionSpec) -> Result<(), Error> {
        self.check_namespace(&spec.namespace)?;
        let mut functions = self.functions();
        let key = (spec.namespace.clone(), spec.name.clone());
        if functions.contains_key(&key) {
            return Err(Error::Conflict(format!(
                "function {} already exists",
                spec.name
            )));
        }
        let replicas = u64::from(spec.initial_replicas());
        let mut status = FunctionStatus::from_deployment(
            &spec.deployment,
            spec.namespace.as_str(),
            replicas,
            replicas,
        );
        status.created_at = Some("1970-01-01T00:00:00Z".into());
        functions.insert(key, status);
        Ok(())
    }

    async fn update(&self, spec: &FunctionSpec) -> Result<(), Error> {
        self.check_namespace(&spec.namespace)?;
        let mut functions = self.functions();
        let key = (spec.namespace.clone(), spec.name.clone());
        let old = functions
            .get(&key)
            .ok_or_else(|| Error::NotFound(format!("function {}", spec.name)))?;
        let mut status = FunctionStatus::from_deployment(
            &spec.deployment,
            spec.namespace.as_str(),
            old.replicas,
            old.replicas,
        );
        status.created_at = old.created_at.clone();
        functions.insert(key, status);
        Ok(())
    }

    async fn delete(&self, namespace: &Namespace, name: &FunctionName) -> Result<(), Error> {
        self.check_namespace(namespace)?;
        self.functions()
            .remove(&(namespace.clone(), name.clone()))
            .map(|_| ())
            .ok_or_else(|| Error::NotFound(format!("function {name}")))
    }

    async fn scale(
        &self,
        namespace: &Namespace,
        name: &FunctionName,
        replicas: u32,
    ) -> Result<(), Error> {
        self.check_namespace(namespace)?;
        let mut functions = self.functions();
        let status = functions
            .get_mut(&(namespace.clone(), name.clone()))
            .ok_or_else(|| Error::NotFound(format!("function {name}")))?;
        status.replicas = replicas.into();
        status.available_replicas = replicas.into();
        Ok(())
    }
}
