//! The invocation proxy: `/function/<name>/<rest>` goes to `http://<task>:<port>/<rest>`.
//! Bodies stream both ways, redirects are passed back, upgrades (WebSocket) are spliced, and a
//! connection that fails before any byte of the request was sent is retried on another task.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::uri::{self, PathAndQuery, Scheme};
use axum::http::{Request, Response, StatusCode, Uri, Version};
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::Either;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tower::ServiceExt;
use tower::util::MapResponse;

use crate::error::{Error, ProxyError};
use crate::io::CappedReads;
use axum::response::IntoResponse;

use crate::model::FunctionId;
use crate::resolver::{Endpoints, Resolver};
use crate::scaling::meter::{InFlight, Metered};
use crate::scaling::wake::{ColdStart, Unready};

/// A function's answer streamed as it comes, or one the provider made.
pub type ProxyBody = Either<Metered<Incoming>, Body>;

// A task that is gone in a VPC does not refuse connections, it never answers: give up on it soon.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

// Headers that describe one connection, not the message (RFC 9110, 7.6.1).
const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// Connections to tasks, whose reads are capped like the server's (see io.rs): a function's answer
/// moves in chunks of under 8 KiB per connection, whatever its size.
type Connector = MapResponse<HttpConnector, fn(TokioIo<TcpStream>) -> TokioIo<CappedReads>>;

pub struct Proxy {
    client: Client<Connector, Reclaimable>,
    resolver: Arc<dyn Resolver>,
    timeout: Duration,
}

impl Proxy {
    /// `timeout`: longest wait for a function's response headers (`write_timeout`).
    pub fn new(resolver: Arc<dyn Resolver>, timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let connector: Connector =
            connector.map_response(|io| TokioIo::new(CappedReads(io.into_inner())));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .build(connector);
        Self {
            client,
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
        let body = Reclaimable(Arc::new(Shared {
            end_stream: first.is_none() && body.is_end_stream(),
            size_hint: body.size_hint(),
            started: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            body: Mutex::new(Unread { first, rest: body }),
        }));

        let mut last_error = None;
        let attempts = endpoints.len();
        for (attempt, endpoint) in endpoints.rotation().enumerate() {
            let addr = endpoint.addr;
            let mut uri = uri::Parts::default();
            uri.scheme = Some(Scheme::HTTP);
            uri.authority = Some(endpoint.authority.clone());
            uri.path_and_query = Some(path_and_query.clone());
            let uri = Uri::from_parts(uri).expect("scheme, authority and path make a URI");
            let mut upstream = Request::new(body.clone());
            *upstream.method_mut() = method.clone();
            *upstream.uri_mut() = uri;
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
            match tokio::time::timeout(self.timeout, self.client.request(upstream)).await {
                Err(_) => {
                    return internal(ProxyError::Timeout(id.clone()));
                }
                Ok(Ok(response)) => return downstream(response, upgrade, in_flight),
                Ok(Err(e)) => {
                    // Another task may take a request none of which went out: one whose connection
                    // failed, or a safe one whose pooled connection the task closed (it stopped).
                    let unsent = !body.0.started.load(Ordering::Relaxed);
                    let retry = unsent && (e.is_connect() || method.is_safe());
                    tracing::debug!(function.name = %id.name, function.namespace = %id.namespace, upstream = %addr, error = %e, retry, "upstream failed");
                    last_error = Some(e);
                    if !retry {
                        break;
                    }
                }
            }
        }
        if body.0.failed.load(Ordering::Relaxed) {
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
        if !endpoints.is_empty() {
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

/// Why a request's framing is refused: a transfer coding other than chunked alone, whose body could
/// not be passed on as sent. (hyper itself refuses conflicting lengths, and drops a Content-Length
/// that comes with chunked, as RFC 9112, 6.3 says.)
fn framing_error(headers: &HeaderMap) -> Option<&'static str> {
    let mut codings = headers.get_all(header::TRANSFER_ENCODING).iter();
    let first = codings.next()?;
    let chunked = first
        .as_bytes()
        .trim_ascii()
        .eq_ignore_ascii_case(b"chunked");
    (codings.next().is_some() || !chunked)
        .then_some("Unsupported Transfer-Encoding: only chunked is accepted.")
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

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
}

/// Drops hop-by-hop headers, and those the Connection header names.
fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    // Most messages have none: one pass over their few names costs less than a lookup of each.
    if !keep_upgrade
        && !headers
            .keys()
            .any(|k| k == header::UPGRADE || HOP_BY_HOP.contains(k))
    {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::try_from(t.trim()).ok())
        .filter(|h| !(keep_upgrade && h == header::UPGRADE))
        .collect();
    for h in named.iter().chain(&HOP_BY_HOP) {
        headers.remove(h);
    }
    if keep_upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(header::UPGRADE);
    }
}

const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The client's address as X-Forwarded-For carries it; made once per connection.
pub fn forwarded_for(client: SocketAddr) -> Option<HeaderValue> {
    HeaderValue::try_from(client.ip().to_string()).ok()
}

fn upstream_headers(
    mut headers: HeaderMap,
    upgrade: bool,
    forwarded_for: Option<&HeaderValue>,
) -> HeaderMap {
    strip_hop_by_hop(&mut headers, upgrade);
    // Each attempt sets Host to its task's address; the original goes in X-Forwarded-Host.
    if let Some(host) = headers.remove(header::HOST) {
        headers.entry(X_FORWARDED_HOST).or_insert(host);
    }
    if let Some(ip) = forwarded_for {
        headers.entry(X_FORWARDED_FOR).or_insert_with(|| ip.clone());
    }
    headers
}

fn downstream(
    mut response: Response<Incoming>,
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

/// The request body, shared by every attempt: the client reads it, and a request none of whose
/// body was read can go to another task. Small, since hyper queues requests by value.
#[derive(Clone)]
struct Reclaimable(Arc<Shared>);

struct Shared {
    body: Mutex<Unread>,
    /// Whether a client began to read the body: from then on it cannot be sent again.
    started: AtomicBool,
    /// Whether the client's body ended in an error (bad framing, or cut short).
    failed: AtomicBool,
    end_stream: bool,
    size_hint: SizeHint,
}

/// What is left of the client's body: the frame read before forwarding, then the rest.
struct Unread {
    first: Option<Frame<Bytes>>,
    rest: Incoming,
}

impl http_body::Body for Reclaimable {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        self.0.started.store(true, Ordering::Relaxed);
        let mut body = self.0.body.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(frame) = body.first.take() {
            return Poll::Ready(Some(Ok(frame)));
        }
        let polled = Pin::new(&mut body.rest).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &polled {
            self.0.failed.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.0.end_stream
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_dropped_and_host_is_forwarded() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "gateway:8080".parse().unwrap());
        h.insert(
            header::CONNECTION,
            "keep-alive, x-secret-hop".parse().unwrap(),
        );
        h.insert("x-secret-hop", "1".parse().unwrap());
        h.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        h.insert("x-call-id", "abc".parse().unwrap());
        let out = upstream_headers(
            h,
            false,
            forwarded_for("10.0.0.9:1234".parse().unwrap()).as_ref(),
        );
        assert!(out.get(header::CONNECTION).is_none());
        assert!(out.get("x-secret-hop").is_none());
        assert!(out.get(header::TRANSFER_ENCODING).is_none());
        assert!(out.get(header::HOST).is_none());
        assert_eq!(out["x-forwarded-host"], "gateway:8080");
        assert_eq!(out["x-forwarded-for"], "10.0.0.9");
        assert_eq!(out["x-call-id"], "abc");
    }

    #[test]
    fn forwarded_headers_already_set_are_kept() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "inner".parse().unwrap());
        h.insert("x-forwarded-host", "outer".parse().unwrap());
        h.insert("x-forwarded-for", "1.2.3.4".parse().unwrap());
        let out = upstream_headers(
            h,
            false,
            forwarded_for("10.0.0.9:1234".parse().unwrap()).as_ref(),
        );
        assert_eq!(out["x-forwarded-host"], "outer");
        assert_eq!(out["x-forwarded-for"], "1.2.3.4");
    }

    #[test]
    fn messages_without_hop_by_hop_headers_keep_all_of_theirs() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        h.insert("x-call-id", "abc".parse().unwrap());
        let before = h.clone();
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h, before);
        h.insert(header::UPGRADE, "websocket".parse().unwrap());
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h, before, "an Upgrade without an upgrade request goes");
    }

    #[test]
    fn upgrades_keep_their_headers() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "Upgrade".parse().unwrap());
        h.insert(header::UPGRADE, "websocket".parse().unwrap());
        assert!(is_upgrade(&h));
        let out = upstream_headers(h, true, None);
        assert_eq!(out[header::UPGRADE], "websocket");
        assert_eq!(out[header::CONNECTION], "upgrade");
    }
}
