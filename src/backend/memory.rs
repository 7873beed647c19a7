//! An in-memory backend with the same answers as the ECS one; the API tests run on it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use futures::stream::BoxStream;

use super::{FunctionBackend, LogSource, NamespaceStore, SecretStore};
use crate::backend::Error;
use crate::model::{
    FunctionId, FunctionSpec, FunctionStatus, LogMessage, LogRequest, Namespace, NamespaceSpec,
    SecretName,
};

pub struct MemoryBackend {
    default_namespace: Namespace,
    namespaces: Mutex<BTreeMap<Namespace, NamespaceSpec>>,
    functions: Mutex<BTreeMap<FunctionId, FunctionStatus>>,
    secrets: Mutex<BTreeMap<(Namespace, SecretName), Vec<u8>>>,
    logs: Mutex<Vec<LogMessage>>,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::with_default_namespace(Namespace::default_namespace())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_default_namespace(default_namespace: Namespace) -> Self {
        let namespaces = BTreeMap::from([(
            default_namespace.clone(),
            NamespaceSpec::bare(default_namespace.clone()),
        )]);
        Self {
            default_namespace,
            namespaces: Mutex::new(namespaces),
            functions: Mutex::default(),
            secrets: Mutex::default(),
            logs: Mutex::default(),
        }
    }

    /// Adds a line of function output, as a task would.
    pub fn record_log(&self, message: LogMessage) {
        lock(&self.logs).push(message);
    }

    /// Refuses a change in a namespace that does not exist.
    fn check_namespace(&self, namespace: &Namespace) -> Result<(), Error> {
        if self.has_namespace(namespace) {
            Ok(())
        } else {
            Err(Error::no_such_namespace(namespace))
        }
    }

    fn check_secrets(&self, spec: &FunctionSpec) -> Result<(), Error> {
        self.check_namespace(&spec.namespace)?;
        let secrets = lock(&self.secrets);
        let missing = spec
            .secrets
            .iter()
            .find(|s| !secrets.contains_key(&(spec.namespace.clone(), (*s).clone())));
        match missing {
            Some(missing) => Err(Error::Invalid(format!("secret {missing} does not exist"))),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl FunctionBackend for MemoryBackend {
    fn every_function(&self) -> Vec<(FunctionId, FunctionStatus)> {
        lock(&self.functions)
            .iter()
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect()
    }

    fn desired_replicas(&self, id: &FunctionId) -> Option<u64> {
        lock(&self.functions).get(id).map(|s| s.replicas)
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<FunctionStatus>, Error> {
        Ok(lock(&self.functions)
            .iter()
            .filter(|(id, _)| id.namespace == *namespace)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn get(&self, id: &FunctionId) -> Result<Option<FunctionStatus>, Error> {
        Ok(lock(&self.functions).get(id).cloned())
    }

    async fn deploy(&self, spec: &FunctionSpec) -> Result<(), Error> {
        self.check_secrets(spec)?;
        let mut functions = lock(&self.functions);
        let key = spec.id();
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
        self.check_secrets(spec)?;
        let mut functions = lock(&self.functions);
        let key = spec.id();
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

    async fn delete(&self, id: &FunctionId) -> Result<(), Error> {
        lock(&self.functions)
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| Error::NotFound(format!("function {}", id.name)))
    }

    async fn scale(&self, id: &FunctionId, replicas: u32) -> Result<(), Error> {
        let mut functions = lock(&self.functions);
        let status = functions
            .get_mut(id)
            .ok_or_else(|| Error::NotFound(format!("function {}", id.name)))?;
        status.replicas = replicas.into();
        status.available_replicas = replicas.into();
        Ok(())
    }
}

#[async_trait]
impl NamespaceStore for MemoryBackend {
    fn default_namespace(&self) -> &Namespace {
        &self.default_namespace
    }

    fn namespaces(&self) -> Vec<Namespace> {
        lock(&self.namespaces).keys().cloned().collect()
    }

    fn has_namespace(&self, namespace: &Namespace) -> bool {
        lock(&self.namespaces).contains_key(namespace)
    }

    fn namespace(&self, name: &Namespace) -> Option<NamespaceSpec> {
        lock(&self.namespaces).get(name).cloned()
    }

    async fn create_namespace(&self, spec: &NamespaceSpec) -> Result<(), Error> {
        let mut namespaces = lock(&self.namespaces);
        if namespaces.contains_key(&spec.name) {
            return Err(Error::Conflict(format!(
                "namespace {} already exists",
                spec.name
            )));
        }
        namespaces.insert(spec.name.clone(), spec.clone());
        Ok(())
    }

    async fn update_namespace(&self, spec: &NamespaceSpec) -> Result<(), Error> {
        let mut namespaces = lock(&self.namespaces);
        let stored = namespaces
            .get_mut(&spec.name)
            .ok_or_else(|| Error::NotFound(format!("namespace {}", spec.name)))?;
        *stored = spec.clone();
        Ok(())
    }

    async fn delete_namespace(&self, name: &Namespace) -> Result<(), Error> {
        if *name == self.default_namespace {
            return Err(Error::Invalid(format!(
                "namespace {name} is the default namespace and cannot be removed"
            )));
        }
        if !self.has_namespace(name) {
            return Err(Error::NotFound(format!("namespace {name}")));
        }
        let functions = lock(&self.functions)
            .keys()
            .filter(|id| id.namespace == *name)
            .count();
        let secrets = lock(&self.secrets)
            .keys()
            .filter(|(ns, _)| ns == name)
            .count();
        if functions + secrets > 0 {
            return Err(Error::namespace_not_empty(name, functions, secrets));
        }
        lock(&self.namespaces).remove(name);
        Ok(())
    }
}

#[async_trait]
impl SecretStore for MemoryBackend {
    async fn list_secrets(&self, namespace: &Namespace) -> Result<Vec<SecretName>, Error> {
        let secrets = lock(&self.secrets);
        Ok(secrets
            .keys()
            .filter(|(ns, _)| ns == namespace)
            .map(|(_, n)| n.clone())
            .collect())
    }

    async fn create_secret(
        &self,
        namespace: &Namespace,
        name: &SecretName,
        value: &[u8],
    ) -> Result<(), Error> {
        self.check_namespace(namespace)?;
        let mut secrets = lock(&self.secrets);
        let key = (namespace.clone(), name.clone());
        if secrets.contains_key(&key) {
            return Err(Error::Conflict(format!("secret {name} already exists")));
        }
        secrets.insert(key, value.to_vec());
        Ok(())
    }

    async fn update_secret(
        &self,
        namespace: &Namespace,
        name: &SecretName,
        value: &[u8],
    ) -> Result<(), Error> {
        let mut secrets = lock(&self.secrets);
        let stored = secrets
            .get_mut(&(namespace.clone(), name.clone()))
            .ok_or_else(|| Error::NotFound(format!("secret {name}")))?;
        *stored = value.to_vec();
        Ok(())
    }

    async fn delete_secret(&self, namespace: &Namespace, name: &SecretName) -> Result<(), Error> {
        let mut secrets = lock(&self.secrets);
        secrets
            .remove(&(namespace.clone(), name.clone()))
            .map(|_| ())
            .ok_or_else(|| Error::NotFound(format!("secret {name}")))
    }
}

#[async_trait]
impl LogSource for MemoryBackend {
    async fn logs(
        &self,
        request: LogRequest,
    ) -> Result<BoxStream<'static, Result<LogMessage, Error>>, Error> {
        let logs = lock(&self.logs);
        let mut lines: Vec<LogMessage> = logs
            .iter()
            .filter(|m| {
                m.name == request.name.as_str() && m.namespace == request.namespace.as_str()
            })
            .filter(|m| request.instance.as_ref().is_none_or(|i| *i == m.instance))
            .cloned()
            .collect();
        if let Some(tail) = request.tail {
            lines.drain(..lines.len().saturating_sub(tail));
        }
        Ok(Box::pin(futures::stream::iter(lines.into_iter().map(Ok))))
    }
}
