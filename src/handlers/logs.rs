//! GET /system/logs: NDJSON, one line per message, flushed as each arrives.

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;

use crate::error::Error;
use crate::failure::DisplayChain;
use crate::model::{FunctionName, LogRequest, Namespace};
use crate::namespace_resolver::{Access, parse_namespace};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    name: Option<String>,
    namespace: Option<String>,
    instance: Option<String>,
    tail: Option<String>,
    follow: Option<String>,
    since: Option<String>,
}

/// Go's strconv.ParseBool, which the OpenFaaS clients expect.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn unprocessable(what: &str, value: &str) -> Error {
    Error::Unprocessable(format!("{what} {value:?} cannot be parsed"))
}

/// Turns the query into a request; every fault is a 422. No namespace means `default`.
pub fn parse(query: LogQuery, default: &Namespace) -> Result<LogRequest, Error> {
    let name = query
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::Unprocessable("name is required".into()))?;
    let name = FunctionName::parse(&name).map_err(|e| Error::Unprocessable(e.to_string()))?;
    let namespace = parse_namespace(None, query.namespace.as_deref(), default)
        .map_err(|e| Error::Unprocessable(e.to_string()))?;
    let tail = match query.tail.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => {
            let n: i64 = t.parse().map_err(|_| unprocessable("tail", t))?;
            usize::try_from(n).ok().filter(|n| *n > 0)
        }
    };
    let follow = match query.follow.as_deref().filter(|f| !f.is_empty()) {
        None => false,
        Some(f) => parse_bool(f).ok_or_else(|| unprocessable("follow", f))?,
    };
    let since = match query.since.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(crate::model::parse_rfc3339(s).ok_or_else(|| unprocessable("since", s))?),
    };
    let instance = query.instance.filter(|i| !i.is_empty());
    Ok(LogRequest {
        name,
        namespace,
        instance,
        tail,
        since,
        follow,
    })
}

pub async fn logs(
    State(state): State<AppState>,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> Result<Response, Error> {
    // A parameter given twice, say: unparsable, as the README says, so 422.
    let Query(query) = query.map_err(|e| Error::Unprocessable(e.body_text()))?;
    let request = parse(query, state.backend.default_namespace())?;
    state
        .namespaces()
        .require(&request.namespace, Access::Read)
        .await?;
    let function = request.name.to_string();
    let messages = state.backend.logs(request).await?;
    let lines = messages
        .take_while(move |m| {
            if let Err(e) = m {
                tracing::warn!(function.name = %function, error = %DisplayChain(e), "log stream ended early");
            }
            futures::future::ready(m.is_ok())
        })
        .filter_map(|m| async move {
            let mut line = serde_json::to_vec(&m.ok()?).ok()?;
            line.push(b'\n');
            Some(Ok::<_, std::convert::Infallible>(Bytes::from(line)))
        });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> LogQuery {
        let mut q = LogQuery::default();
        for (key, value) in pairs {
            let value = Some(value.to_string());
            match *key {
                "name" => q.name = value,
                "namespace" => q.namespace = value,
                "instance" => q.instance = value,
                "tail" => q.tail = value,
                "follow" => q.follow = value,
                "since" => q.since = value,
                other => panic!("no parameter {other}"),
            }
        }
        q
    }

    fn parse_default(query: LogQuery) -> Result<LogRequest, Error> {
        parse(query, &Namespace::default_namespace())
    }

    #[test]
    fn parameters_parse_as_the_clients_send_them() {
        let r = parse_default(query(&[
            ("name", "echo"),
            ("tail", "5"),
            ("follow", "true"),
            ("since", "2026-11-26T10:00:00Z"),
        ]))
        .unwrap();
        assert_eq!(r.tail, Some(5));
        assert!(r.follow);
        assert!(r.since.is_some());
        assert_eq!(r.namespace.as_str(), "openfaas-fn");
        let r = parse_default(query(&[("name", "echo"), ("tail", "-1"), ("follow", "0")])).unwrap();
        assert_eq!(r.tail, None);
        assert!(!r.follow);
    }

    #[test]
    fn unparsable_parameters_are_422() {
        for bad in [
            vec![("tail", "x")],
            vec![("name", "echo"), ("tail", "x")],
            vec![("name", "echo"), ("follow", "yes")],
            vec![("name", "echo"), ("since", "yesterday")],
            vec![("name", "Bad_Name")],
        ] {
            assert!(
                matches!(parse_default(query(&bad)), Err(Error::Unprocessable(_))),
                "{bad:?}"
            );
        }
    }
}
