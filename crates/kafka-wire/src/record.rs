//! Record batch v2.
