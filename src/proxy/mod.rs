//! The invocation proxy: `/function/<name>/<rest>` goes to `http://<task>:<port>/<rest>`.
//! Bodies stream both ways, redirects are passed back, upgrades (WebSocket) are spliced, and a
//! connection that fails before any byte of the request was sent is retried on another task.
//! Header rules are in [`headers`], the replayable request body in [`body`], connections to
//! tasks in [`pool`], polled as [`signals`] says.

mod body;
mod headers;
mod pool;
mod signals;

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::{self, HeaderValue};
use axum::http::uri::PathAndQuery;
use axum::http::{Request, Response, StatusCode, Uri, Version};
use axum::response::IntoResponse;
use http_body::{Body as _, Frame};
use http_body_util::{BodyExt, Either};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use self::body::Reclaimable;
pub use self::headers::forwarded_for;
use self::headers::{framing_error, is_upgrade, strip_hop_by_hop, upstream_headers};
use self::pool::{Exchange, Pool};
use crate::error::{Error, ProxyError};
use crate::model::FunctionId;
use crate::resolver::{Endpoints, Resolver};
use crate::scaling::meter::{InFlight, Metered};
use crate::scaling::wake::{ColdStart, Unready};

/// A function's answer streamed as it comes, or one the provider made.
pub type ProxyBody = Either<Metered<Exchange>, Body>;

pub struct Proxy {
    /// This serving thread's connections to tasks.
    pool: Arc<Pool>,
    resolver: Arc<dyn Resolver>,
    timeout: Duration,
}

impl Proxy {
    /// `timeout`: longest wait for a function's response headers (`write_timeout`).
    pub fn new(resolver: Arc<dyn Resolver>, timeout: Duration) -> Self {
        Self {
            pool: Arc::default(),
            resolver,
            timeout,
        }
    }

    /// Forwards `request` to one of the function's tasks; `path_and_query` is what follows the
    /// name, `forwarded_for` the client's address as X-Forwarded-For gets it. `in_flight` goes
    /// with the function's answer until it has been sent; `cold_start` says what to do when no
    /// task is ready.
    pub async fn forward(
        &self,
        id: &FunctionId,
        path_and_query: PathAndQuery,
        mut request: Request<Incoming>,
        forwarded_for: Option<&HeaderValue>,
        in_flight: Option<InFlight>,
        cold_start: &dyn ColdStart,
    ) -> Response<ProxyBody> {
        if let Some(reason) = framing_error(request.headers()) {
            return internal(ProxyError::Malformed(reason.to_string()));
        }
        let upgrade = is_upgrade(request.headers()).then(|| hyper::upgrade::on(&mut request));
        // Only the method and headers go on: the rest (the URI above all) would keep the buffer
        // the head was read into, and the body's first bytes with it, for the whole exchange.
        let (
            axum::http::request::Parts {
                method, headers, ..
            },
            mut body,
        ) = request.into_parts();
        let first = match self.first_frame(&mut body).await {
            Ok(first) => first,
            Err(answer) => return answer,
        };
        let endpoints = match self.endpoints(id, cold_start).await {
            Ok(endpoints) => endpoints,
            Err(answer) => return answer,
        };
        let mut headers = Some(upstream_headers(headers, upgrade.is_some(), forwarded_for));
        let body = Reclaimable::new(first, body);

        let mut last_error = None;
        let attempts = endpoints.len();
        for (attempt, endpoint) in endpoints.rotation().enumerate() {
            let addr = endpoint.addr;
            let mut upstream = Request::new(body.clone());
            *upstream.method_mut() = method.clone();
            *upstream.uri_mut() = Uri::from(path_and_query.clone());
            *upstream.version_mut() = Version::HTTP_11;
            // Only a request that may be retried needs its headers again.
            let last = attempt + 1 == attempts;
            *upstream.headers_mut() = if last {
                headers.take().unwrap_or_default()
            } else {
                headers.clone().unwrap_or_default()
            };
            // Set here, hyper would format the same text for every request.
            upstream
                .headers_mut()
                .insert(header::HOST, endpoint.host.clone());
            let answer = async {
                if upgrade.is_some() {
                    pool::upgrade(addr, upstream).await
                } else {
                    self.pool.request(addr, upstream).await
                }
            };
            match tokio::time::timeout(self.timeout, answer).await {
                Err(_) => {
                    return internal(ProxyError::Timeout(id.clone()));
                }
                Ok(Ok(response)) => return downstream(response, upgrade, in_flight),
                Ok(Err(e)) => {
                    // Another task may take a request none of which went out: one whose connection
                    // failed or closed before it was sent, or a safe one whose pooled connection
                    // the task closed (it stopped).
                    let unsent = !body.started();
                    let retry = unsent && (e.unsent() || method.is_safe());
                    tracing::debug!(function.name = %id.name, function.namespace = %id.namespace, upstream = %addr, error = %e, retry, "upstream failed");
                    last_error = Some(e);
                    if !retry {
                        break;
                    }
                }
            }
        }
        if body.failed() {
            return internal(ProxyError::Malformed(
                "Malformed request body: the request was cut short.".to_string(),
            ));
        }
        if let Some(e) = last_error {
            tracing::warn!(function.name = %id.name, function.namespace = %id.namespace, error = %crate::failure::DisplayChain(&e), "cannot reach function");
        }
        internal(ProxyError::Unreachable(id.clone()))
    }
}

impl Proxy {
    /// Waits for the body's first bytes before going to a task: a malformed start is a 400 that
    /// no function sees, and a client that sends nothing holds no task's connection.
    async fn first_frame(
        &self,
        body: &mut Incoming,
    ) -> Result<Option<Frame<Bytes>>, Response<ProxyBody>> {
        if body.is_end_stream() {
            return Ok(None);
        }
        match tokio::time::timeout(self.timeout, body.frame()).await {
            Err(_) => Err(internal(ProxyError::BodyTimeout(self.timeout))),
            Ok(Some(Err(e))) => Err(malformed_body(&e)),
            Ok(Some(Ok(frame))) => Ok(Some(frame)),
            Ok(None) => Ok(None),
        }
    }

    /// The function's ready tasks; with none, what `cold_start` makes of it.
    async fn endpoints(
        &self,
        id: &FunctionId,
        cold_start: &dyn ColdStart,
    ) -> Result<Endpoints, Response<ProxyBody>> {
        let endpoints = self.resolver.resolve(id).await;
        if !endpoints.is_empty() && !cold_start.at_zero(id) {
            return Ok(endpoints);
        }
        cold_start
            .endpoints(id, &*self.resolver)
            .await
            .map_err(|unready| match unready {
                Unready::NoEndpoints => internal(ProxyError::NoEndpoints(id.clone())),
                Unready::TimedOut(after) => internal(ProxyError::NotReady(id.clone(), after)),
            })
    }
}

fn malformed_body(e: &hyper::Error) -> Response<ProxyBody> {
    internal(ProxyError::Malformed(format!(
        "Malformed request body: {e}."
    )))
}

/// An answer of the proxy itself.
fn internal(error: ProxyError) -> Response<ProxyBody> {
    Error::Proxy(error).into_response().map(Either::Right)
}

fn downstream(
    mut response: Response<Exchange>,
    upgrade: Option<hyper::upgrade::OnUpgrade>,
    mut in_flight: Option<InFlight>,
) -> Response<ProxyBody> {
    let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
    if switching && let Some(client_side) = upgrade {
        let upstream_side = hyper::upgrade::on(&mut response);
        // A spliced connection is an invocation in flight until it closes.
        let in_flight = in_flight.take();
        tokio::spawn(async move {
            let _in_flight = in_flight;
            match tokio::try_join!(client_side, upstream_side) {
                Ok((client, upstream)) => {
                    let _ = tokio::io::copy_bidirectional(
                        &mut TokioIo::new(client),
                        &mut TokioIo::new(upstream),
                    )
                    .await;
                }
                Err(e) => tracing::debug!(error = %e, "upgrade failed"),
            }
        });
    }
    strip_hop_by_hop(response.headers_mut(), switching);
    response.map(|body| Either::Left(Metered::new(body, in_flight)))
}
