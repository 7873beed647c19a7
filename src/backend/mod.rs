//! The seam between the HTTP API and the orchestrator, in the provider's own types.
//! No AWS type crosses it.

pub mod ecs;
mod error;
pub mod memory;

pub use error::Error;

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::model::{
    FunctionId, FunctionSpec, FunctionStatus, LogMessage, LogRequest, Namespace, NamespaceSpec,
    SecretName,
};

/// Where functions run. Every method takes validated names; implementations answer
/// [`Error::NotFound`] for functions they do not have and [`Error::Invalid`] for changes in
/// namespaces that do not exist ([`Error::no_such_namespace`]).
#[async_trait]
pub trait FunctionBackend: Send + Sync + 'static {
    /// Every function in a namespace, sorted by name.
    async fn list(&self, namespace: &Namespace) -> Result<Vec<FunctionStatus>, Error>;

    /// Every function of every namespace, by id, from memory (for the scaler).
    fn every_function(&self) -> Vec<(FunctionId, FunctionStatus)>;

    /// One function; `None` when it does not exist.
    async fn get(&self, id: &FunctionId) -> Result<Option<FunctionStatus>, Error>;

    /// Creates a function; [`Error::Conflict`] when it exists.
    async fn deploy(&self, spec: &FunctionSpec) -> Result<(), Error>;

    /// Replaces a function's definition, keeping its desired count.
    async fn update(&self, spec: &FunctionSpec) -> Result<(), Error>;

    /// Removes a function and everything made for it.
    async fn delete(&self, id: &FunctionId) -> Result<(), Error>;

    /// The desired count as last known, from memory (no AWS call); `None` for a function not
    /// known here. Asked on the invocation path when a function has no ready task.
    fn desired_replicas(&self, id: &FunctionId) -> Option<u64>;

    /// Sets the desired count.
    async fn scale(&self, id: &FunctionId, replicas: u32) -> Result<(), Error>;

    /// Reads every function again from the orchestrator, for a caller that may have missed
    /// changes (the scaler after a pause).
    async fn reload(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Functions this replica changed lately, for the other replicas to read again.
    fn recently_changed(&self) -> Vec<FunctionId> {
        Vec::new()
    }

    /// Functions another replica changed lately: to be read again soon.
    fn changed_elsewhere(&self, _ids: Vec<FunctionId>) {}
}

/// Where namespaces are kept, with their labels and annotations. Which namespaces a request may
/// use is decided by `crate::namespace_resolver`, which asks this.
#[async_trait]
pub trait NamespaceStore: Send + Sync + 'static {
    /// The namespace of requests that name none; it always exists.
    fn default_namespace(&self) -> &Namespace;

    /// Namespaces that exist, sorted; from memory.
    fn namespaces(&self) -> Vec<Namespace>;

    /// Whether a namespace exists; from memory, asked on every invocation.
    fn has_namespace(&self, namespace: &Namespace) -> bool;

    /// Whether a namespace exists, asking the orchestrator when it is not known here (another
    /// provider replica may have just made it). For the `/system` API, not for invocations.
    async fn find_namespace(&self, namespace: &Namespace) -> Result<bool, Error> {
        Ok(self.has_namespace(namespace))
    }

    /// A namespace as stored, from memory; `None` when it does not exist.
    fn namespace(&self, name: &Namespace) -> Option<NamespaceSpec>;

    /// [`Error::Conflict`] when it exists.
    async fn create_namespace(&self, spec: &NamespaceSpec) -> Result<(), Error>;

    /// Replaces labels and annotations; [`Error::NotFound`] when it does not exist.
    async fn update_namespace(&self, spec: &NamespaceSpec) -> Result<(), Error>;

    /// [`Error::NotFound`] when it does not exist; [`Error::Conflict`] while it holds functions
    /// or secrets ([`Error::namespace_not_empty`]); [`Error::Invalid`] for the default namespace.
    async fn delete_namespace(&self, name: &Namespace) -> Result<(), Error>;
}

/// Where secrets are kept. Values go in and never come out: functions read them as files.
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// Names of the namespace's secrets, sorted.
    async fn list_secrets(&self, namespace: &Namespace) -> Result<Vec<SecretName>, Error>;

    /// [`Error::Conflict`] when it exists.
    async fn create_secret(
        &self,
        namespace: &Namespace,
        name: &SecretName,
        value: &[u8],
    ) -> Result<(), Error>;

    /// [`Error::NotFound`] when it does not exist.
    async fn update_secret(
        &self,
        namespace: &Namespace,
        name: &SecretName,
        value: &[u8],
    ) -> Result<(), Error>;

    /// [`Error::NotFound`] when it does not exist.
    async fn delete_secret(&self, namespace: &Namespace, name: &SecretName) -> Result<(), Error>;
}

/// Where function output is kept.
#[async_trait]
pub trait LogSource: Send + Sync + 'static {
    /// The lines asked for, oldest first; with `follow`, new lines as they come, until the
    /// stream is dropped.
    async fn logs(
        &self,
        request: LogRequest,
    ) -> Result<BoxStream<'static, Result<LogMessage, Error>>, Error>;
}

/// Everything a backend serves: functions, namespaces, secrets and logs.
pub trait Backend: FunctionBackend + NamespaceStore + SecretStore + LogSource {}

impl<B: FunctionBackend + NamespaceStore + SecretStore + LogSource> Backend for B {}
