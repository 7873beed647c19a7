//! The other provider replicas (`FAAS_ECS_PEERS`): each publishes its own load at
//! `GET /system/scaling`; every replica reads the others' each round, so all of them see the
//! same total, and only the replica with the lowest id among those that answered and scale
//! (`FAAS_ECS_AUTOSCALING`) changes desired counts. A replica that cannot be reached is left out of
//! both the total and the election; one that does not scale still reports its load.
//! A peer URL's host name is looked up each round and every address it has is a replica, so one
//! Cloud Map name (the gateway service's) finds them all as tasks come and go.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderValue, Request, Uri, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};

use crate::model::shared::PEERS_PATH;

/// Longest wait for one replica's load; a slow one is left out of the round.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Largest load report read from a replica.
const MAX_REPORT_BYTES: usize = 4 * 1024 * 1024;

/// One replica's load, per function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub id: String,
    /// Whether the replica scales, and so stands in the election (replicas from before this field
    /// all stood).
    #[serde(default = "yes")]
    pub scales: bool,
    pub functions: Vec<FunctionReport>,
    /// Functions the replica changed lately, for the others to read again from AWS.
    #[serde(default)]
    pub changed: Vec<Changed>,
}

/// A function a replica changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Changed {
    pub name: String,
    pub namespace: String,
}

fn yes() -> bool {
    true
}

/// The id of the replica that leads: the lowest among those that scale, this one (`me`) included
/// when `i_scale`; `None` when none scales.
pub fn leader<'a>(me: &'a str, i_scale: bool, others: &'a [Report]) -> Option<&'a str> {
    let me = i_scale.then_some(me);
    others
        .iter()
        .filter(|r| r.scales)
        .map(|r| r.id.as_str())
        .chain(me)
        .min()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionReport {
    pub name: String,
    /// Absent in reports of replicas from before namespaces: theirs are all `openfaas-fn`.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Invocations started per second over the window.
    pub rate: f64,
    /// Invocations in flight, averaged over the window.
    pub in_flight: f64,
    /// Invocations held until a task is ready, now (absent from replicas before it was sent).
    #[serde(default)]
    pub waiting: f64,
    /// Seconds since the last invocation started or ended; 0 while one is in flight; absent
    /// when the replica saw none.
    pub idle_seconds: Option<f64>,
}

fn default_namespace() -> String {
    crate::model::DEFAULT_NAMESPACE.to_string()
}

pub struct Peers {
    id: String,
    urls: Vec<Uri>,
    /// The Authorization header the replicas' /system API wants, when basic auth is on.
    auth: Option<HeaderValue>,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl Peers {
    /// `urls`: every replica's base URL (this one's may be among them; it is recognised by id).
    pub fn new(urls: Vec<Uri>, auth: Option<HeaderValue>) -> Self {
        Self {
            id: new_id(),
            urls,
            auth,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// A replica on its own.
    pub fn none() -> Self {
        Self::new(Vec::new(), None)
    }

    /// This replica's id: random, made at start.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The other replicas' reports.
    pub async fn gather(&self) -> Vec<Report> {
        let mut addrs = BTreeSet::new();
        for url in &self.urls {
            let host = url.host().unwrap_or_default().trim_matches(['[', ']']);
            let port = url.port_u16().unwrap_or(80);
            match tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((host, port))).await {
                Ok(Ok(found)) => addrs.extend(found),
                Ok(Err(e)) => {
                    tracing::warn!(peer = %url, error = %e, "could not look up provider replicas")
                }
                Err(_) => tracing::warn!(peer = %url, "looking up provider replicas timed out"),
            }
        }
        let reports = futures::future::join_all(addrs.iter().map(|addr| self.fetch(*addr))).await;
        reports
            .into_iter()
            .flatten()
            .filter(|r| r.id != self.id)
            .collect()
    }

    async fn fetch(&self, addr: SocketAddr) -> Option<Report> {
        let uri = format!("http://{addr}{PEERS_PATH}");
        let mut request = Request::get(&uri).body(Empty::new()).ok()?;
        if let Some(auth) = &self.auth {
            request
                .headers_mut()
                .insert(header::AUTHORIZATION, auth.clone());
        }
        let read = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("answered {}", response.status()));
            }
            let body = http_body_util::Limited::new(response.into_body(), MAX_REPORT_BYTES)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            serde_json::from_slice::<Report>(&body).map_err(|e| e.to_string())
        };
        match tokio::time::timeout(TIMEOUT, read).await {
            Ok(Ok(report)) => Some(report),
            Ok(Err(e)) => {
                tracing::warn!(peer = %uri, error = %e, "could not read a provider replica's load; left out of this round");
                None
            }
            Err(_) => {
                tracing::warn!(peer = %uri, "a provider replica's load did not come in time; left out of this round");
                None
            }
        }
    }
}

/// 16 hex digits, different for every process.
fn new_id() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_between_replicas() {
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
    }

    fn report(id: &str, scales: bool) -> Report {
        Report {
            id: id.into(),
            scales,
            functions: Vec::new(),
            changed: Vec::new(),
        }
    }

    #[tokio::test]
    async fn alone_a_replica_leads_if_it_scales() {
        let others = Peers::none().gather().await;
        assert!(others.is_empty());
        assert_eq!(leader("a", true, &others), Some("a"));
        assert_eq!(leader("a", false, &others), None);
    }

    #[test]
    fn only_replicas_that_scale_stand_in_the_election() {
        let others = [report("1", false), report("3", true), report("2", false)];
        assert_eq!(leader("5", true, &others), Some("3"));
        assert_eq!(
            leader("0", false, &others),
            Some("3"),
            "the lowest id does not scale"
        );
        assert_eq!(leader("0", true, &others), Some("0"));
        let none = [report("1", false)];
        assert_eq!(leader("0", false, &none), None);
        // A report without the field is from a replica that stood.
        let old: Report = serde_json::from_str(r#"{"id":"1","functions":[]}"#).unwrap();
        assert_eq!(leader("5", true, &[old]), Some("1"));
    }

    #[tokio::test]
    async fn a_replica_that_cannot_be_reached_is_left_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url: Uri = format!("http://{}", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        drop(listener);
        let others = Peers::new(vec![url], None).gather().await;
        assert!(others.is_empty());
        assert_eq!(leader("a", true, &others), Some("a"));
    }
}
