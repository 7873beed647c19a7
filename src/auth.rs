//! HTTP basic auth for /system/*, with credentials read once from the secret mount path.

use std::path::{Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;

use std::sync::Arc;

/// The one user and password the gateway sends.
pub struct Credentials {
    user: String,
    password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
        }
    }

    /// Reads `basic-auth-user` and `basic-auth-password` from `dir`, trimmed.
    pub fn load(dir: &Path) -> Result<Self, CredentialsError> {
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read_to_string(&path)
                .map(|s| s.trim().to_string())
                .map_err(|source| CredentialsError { path, source })
        };
        Ok(Self::new(
            read("basic-auth-user")?,
            read("basic-auth-password")?,
        ))
    }

    /// The Authorization header that carries these credentials (for the other provider replicas).
    pub fn header(&self) -> Option<HeaderValue> {
        let pair = format!("{}:{}", self.user, self.password);
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        let mut value = HeaderValue::try_from(format!("Basic {encoded}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// Whether the request carries these credentials; compared in constant time.
    pub fn accepts(&self, headers: &HeaderMap) -> bool {
        let Some(encoded) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
        else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Some((user, password)) = std::str::from_utf8(&decoded)
            .ok()
            .and_then(|s| s.split_once(':'))
        else {
            return false;
        };
        let user_ok = user.as_bytes().ct_eq(self.user.as_bytes());
        let password_ok = password.as_bytes().ct_eq(self.password.as_bytes());
        (user_ok & password_ok).into()
    }
}

/// Middleware: 401 with a Basic challenge unless the request is authorised.
pub async fn require(
    State(auth): State<Option<Arc<Credentials>>>,
    request: Request,
    next: Next,
) -> Response {
    match &auth {
        Some(credentials) if !credentials.accepts(request.headers()) => (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Restricted\""),
            )],
            "Unauthorized",
        )
            .into_response(),
        _ => next.run(request).await,
    }
}

/// A credentials file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("basic_auth is on but {} cannot be read", path.display())]
pub struct CredentialsError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn only_the_exact_pair_is_accepted() {
        let c = Credentials::new("admin", "s3cret");
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert!(c.accepts(&headers(&format!("Basic {}", b64("admin:s3cret")))));
        assert!(!c.accepts(&headers(&format!("Basic {}", b64("admin:s3cre")))));
        assert!(!c.accepts(&headers(&format!("Basic {}", b64("admin")))));
        assert!(!c.accepts(&headers("Bearer x")));
        assert!(!c.accepts(&HeaderMap::new()));
    }

    #[test]
    fn the_header_made_for_other_replicas_is_accepted() {
        let c = Credentials::new("admin", "s3cret");
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, c.header().unwrap());
        assert!(c.accepts(&h));
        assert!(h[header::AUTHORIZATION].is_sensitive());
    }

    #[test]
    fn files_are_read_trimmed() {
        let dir = std::env::temp_dir().join(format!("faas-ecs-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("basic-auth-user"), "admin\n").unwrap();
        std::fs::write(dir.join("basic-auth-password"), " pw \n").unwrap();
        let c = Credentials::load(&dir).unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("admin", "pw"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            Credentials::load(&dir)
                .unwrap_err()
                .to_string()
                .contains("basic-auth-user")
        );
    }
}
