//! Checking in: a visitor's own check-in from a scanned code, a site visit,
//! and check-out. The desk's entry of a stay shares the same parser and the
//! same insert (see `register`).

pub mod batch;
pub mod countries;
pub mod departures;
pub mod forms;
pub mod model;
pub mod pages;
pub mod repo;
pub mod routes;
pub mod service;
pub mod stay_batch;
