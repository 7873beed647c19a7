//! Header rules of the proxy hop: hop-by-hop headers dropped (RFC 9110, 7.6.1) except for an
//! upgrade, the original Host kept in X-Forwarded-Host, the client's address in X-Forwarded-For,
//! and the framings that cannot be passed on as sent.

use std::net::SocketAddr;

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};

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

/// Why a request's framing is refused: a transfer coding other than chunked alone, whose body could
/// not be passed on as sent. (hyper itself refuses conflicting lengths, and drops a Content-Length
/// that comes with chunked, as RFC 9112, 6.3 says.)
pub(super) fn framing_error(headers: &HeaderMap) -> Option<&'static str> {
    let mut codings = headers.get_all(header::TRANSFER_ENCODING).iter();
    let first = codings.next()?;
    let chunked = first
        .as_bytes()
        .trim_ascii()
        .eq_ignore_ascii_case(b"chunked");
    (codings.next().is_some() || !chunked)
        .then_some("Unsupported Transfer-Encoding: only chunked is accepted.")
}

pub(super) fn is_upgrade(headers: &HeaderMap) -> bool {
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
pub(super) fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
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

pub(super) fn upstream_headers(
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
