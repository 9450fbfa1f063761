//! The request and response bodies of the APIs a producer needs, one module
//! per API, each with its `API_KEY` and supported versions.
//!
//! | API | key | versions | flexible from |
//! |---|---|---|---|
//! | Produce | 0 | 3–13 | 9 |
//! | Metadata | 3 | 0–13 | 9 |
//! | SaslHandshake | 17 | 0–1 | – |
//! | ApiVersions | 18 | 0–4 | 3 |
//! | InitProducerId | 22 | 0–5 (response 0–6) | 2 |
//! | SaslAuthenticate | 36 | 0–2 | 2 |

pub mod api_versions;
