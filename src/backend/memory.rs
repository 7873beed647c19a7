//! An in-memory backend with the same answers as the ECS one; the API tests run on it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use futures::stream::BoxStream;

use super::{FunctionBackend, LogSource, SecretStore};
use crate::backend::Error;
use crate::model::{
    FunctionName, FunctionSpec, FunctionStatus, LogMessage, LogRequest, Namespace, SecretName,
};

#[derive(Default)]
pub struct MemoryBackend {
    functions: Mutex<BTreeMap<(Namespace, FunctionName), FunctionStatus>>,
    secrets: Mutex<BTreeMap<(Namespace, SecretName), Vec<u8>>>,
    logs: Mutex<Vec<LogMessage>>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a line of function output, as a task would.
    pub fn record_log(&self, message: LogMessage) {
        self.logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message);
    }

    fn check_secrets(&self, spec: &FunctionSpec) -> Result<(), Error> {
        let secrets = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let missing = spec
            .secrets
            .iter()
            .find(|s| !secrets.contains_key(&(spec.namespace.clone(), (*s).clone())));
        match missing {
            Some(missing) => Err(Error::Invalid(format!("secret {missing} does not exist"))),
            None => Ok(()),
        }
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

    fn desired_replicas(&self, namespace: &Namespace, name: &FunctionName) -> Option<u64> {
        self.functions()
            .get(&(namespace.clone(), name.clone()))
            .map(|s| s.replicas)
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<FunctionStatus>, Error> {
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
        Ok(self
            .functions()
            .get(&(namespace.clone(), name.clone()))
            .cloned())
    }

    async fn deploy(&self, spec: &FunctionSpec) -> Result<(), Error> {
        self.check_secrets(spec)?;
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
        self.check_secrets(spec)?;
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
        let mut functions = self.functions();
        let status = functions
            .get_mut(&(namespace.clone(), name.clone()))
            .ok_or_else(|| Error::NotFound(format!("function {name}")))?;
        status.replicas = replicas.into();
        status.available_replicas = replicas.into();
        Ok(())
    }
}

#[async_trait]
impl SecretStore for MemoryBackend {
    async fn list_secrets(&self, namespace: &Namespace) -> Result<Vec<SecretName>, Error> {
        let secrets = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
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
        let mut secrets = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
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
        let mut secrets = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let stored = secrets
            .get_mut(&(namespace.clone(), name.clone()))
            .ok_or_else(|| Error::NotFound(format!("secret {name}")))?;
        *stored = value.to_vec();
        Ok(())
    }

    async fn delete_secret(&self, namespace: &Namespace, name: &SecretName) -> Result<(), Error> {
        let mut secrets = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
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
        let logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
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
