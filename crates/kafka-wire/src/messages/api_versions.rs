//! ApiVersions (key 18). Placeholder until the message modules land.

/// The API key.
pub const API_KEY: i16 = 18;
