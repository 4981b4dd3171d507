//! What can go wrong talking to the Synergy API, as data. No variant carries the token: the
//! token lives only in a request header, and transport errors are stripped of their URL.

use std::time::Duration;

use crate::model::Unavailable;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("no server URL is configured")]
    NotConfigured,
    #[error("no Personal Access Token is configured")]
    NoToken,
    #[error("{0}")]
    BadUrl(String),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("the server did not answer in time")]
    Timeout,
    #[error("the server rejected the token (HTTP {0})")]
    Unauthorized(u16),
    #[error("the server is rate-limiting requests (HTTP 429)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the server answered HTTP {0}")]
    Status(u16),
    #[error("the server redirected to another host; not followed")]
    Redirected,
    #[error("the server's answer was not a job search result: {0}")]
    BadBody(String),
    #[error("the server's answer was larger than {0} bytes")]
    TooLarge(usize),
}

impl ApiError {
    /// Whether the failure says something about the server's state (as opposed to our setup).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Connect(_) | ApiError::Timeout | ApiError::RateLimited { .. } => true,
            ApiError::Status(s) => *s >= 500,
            _ => false,
        }
    }

    /// The domain view of this failure.
    pub fn to_unavailable(&self) -> Unavailable {
        match self {
            ApiError::NotConfigured => Unavailable::NotConfigured,
            ApiError::NoToken => Unavailable::NoToken,
            ApiError::BadUrl(m) => Unavailable::BadUrl(m.clone()),
            ApiError::Connect(m) => Unavailable::Unreachable(m.clone()),
            ApiError::Timeout => Unavailable::Unreachable("the server did not answer in time".into()),
            ApiError::Unauthorized(s) => Unavailable::TokenRejected(*s),
            ApiError::RateLimited { retry_after } => Unavailable::RateLimited(retry_after.map(|d| d.as_secs())),
            ApiError::Status(s) => Unavailable::ServerError(*s),
            ApiError::Redirected | ApiError::BadBody(_) | ApiError::TooLarge(_) => {
                Unavailable::BadResponse(self.to_string())
            }
        }
    }
}
