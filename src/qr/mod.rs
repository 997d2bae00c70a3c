//! Check-in codes: signing, rendering, and the image routes.

pub mod code;
pub mod mask;
pub mod poster;
pub mod presence;
pub mod render;
pub mod routes;
