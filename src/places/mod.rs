//! Places: accommodation establishments and tourist sites, registered by the
//! tourism office, each with its signed check-in code.

pub mod local;
pub mod model;
pub mod repo;
pub mod routes;
