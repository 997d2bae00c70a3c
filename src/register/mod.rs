//! The lodging register (sổ lưu trú) of a place: stays entered at the desk,
//! the register as JSON, CSV and a page, and check-out by the staff.

pub mod corrections;
pub mod corrections_routes;
pub mod desk;
pub mod pages;
pub mod police;
pub mod police_routes;
pub mod repo;
pub mod routes;
pub mod team;
pub mod team_routes;
