//! murmur2.
